from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class RoomRegistered(_message.Message):
    __slots__ = ("room_id", "host_id", "description", "price_per_night", "room_status")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PRICE_PER_NIGHT_FIELD_NUMBER: _ClassVar[int]
    ROOM_STATUS_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    host_id: str
    description: str
    price_per_night: int
    room_status: str
    def __init__(self, room_id: _Optional[str] = ..., host_id: _Optional[str] = ..., description: _Optional[str] = ..., price_per_night: _Optional[int] = ..., room_status: _Optional[str] = ...) -> None: ...

class ReviewCreated(_message.Message):
    __slots__ = ("review_id", "room_id", "guest_id", "rating", "text", "review_count", "host_id")
    REVIEW_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    GUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    REVIEW_COUNT_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    review_id: str
    room_id: str
    guest_id: str
    rating: int
    text: str
    review_count: int
    host_id: str
    def __init__(self, review_id: _Optional[str] = ..., room_id: _Optional[str] = ..., guest_id: _Optional[str] = ..., rating: _Optional[int] = ..., text: _Optional[str] = ..., review_count: _Optional[int] = ..., host_id: _Optional[str] = ...) -> None: ...

class RoomReserved(_message.Message):
    __slots__ = ("room_id", "reservation_id", "room_status", "host_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_STATUS_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    reservation_id: str
    room_status: str
    host_id: str
    def __init__(self, room_id: _Optional[str] = ..., reservation_id: _Optional[str] = ..., room_status: _Optional[str] = ..., host_id: _Optional[str] = ...) -> None: ...

class RoomHeld(_message.Message):
    __slots__ = ("room_id", "reservation_id", "guest_id", "host_id", "check_in", "check_out")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    GUEST_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    CHECK_IN_FIELD_NUMBER: _ClassVar[int]
    CHECK_OUT_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    reservation_id: str
    guest_id: str
    host_id: str
    check_in: str
    check_out: str
    def __init__(self, room_id: _Optional[str] = ..., reservation_id: _Optional[str] = ..., guest_id: _Optional[str] = ..., host_id: _Optional[str] = ..., check_in: _Optional[str] = ..., check_out: _Optional[str] = ...) -> None: ...

class RoomReleased(_message.Message):
    __slots__ = ("room_id", "reservation_id", "room_status", "host_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_STATUS_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    reservation_id: str
    room_status: str
    host_id: str
    def __init__(self, room_id: _Optional[str] = ..., reservation_id: _Optional[str] = ..., room_status: _Optional[str] = ..., host_id: _Optional[str] = ...) -> None: ...

class ReservationRequested(_message.Message):
    __slots__ = ("reservation_id", "room_id", "guest_id", "host_id", "check_in", "check_out", "amount", "payment_id")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    GUEST_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    CHECK_IN_FIELD_NUMBER: _ClassVar[int]
    CHECK_OUT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    room_id: str
    guest_id: str
    host_id: str
    check_in: str
    check_out: str
    amount: int
    payment_id: str
    def __init__(self, reservation_id: _Optional[str] = ..., room_id: _Optional[str] = ..., guest_id: _Optional[str] = ..., host_id: _Optional[str] = ..., check_in: _Optional[str] = ..., check_out: _Optional[str] = ..., amount: _Optional[int] = ..., payment_id: _Optional[str] = ...) -> None: ...

class ReservationConfirmed(_message.Message):
    __slots__ = ("reservation_id", "room_id", "guest_id", "host_id")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    GUEST_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    room_id: str
    guest_id: str
    host_id: str
    def __init__(self, reservation_id: _Optional[str] = ..., room_id: _Optional[str] = ..., guest_id: _Optional[str] = ..., host_id: _Optional[str] = ...) -> None: ...

class ReservationCancelled(_message.Message):
    __slots__ = ("reservation_id", "room_id", "guest_id", "host_id")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    GUEST_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    room_id: str
    guest_id: str
    host_id: str
    def __init__(self, reservation_id: _Optional[str] = ..., room_id: _Optional[str] = ..., guest_id: _Optional[str] = ..., host_id: _Optional[str] = ...) -> None: ...

class PaymentApproved(_message.Message):
    __slots__ = ("payment_id", "reservation_id", "room_id", "guest_id", "amount")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    GUEST_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    reservation_id: str
    room_id: str
    guest_id: str
    amount: int
    def __init__(self, payment_id: _Optional[str] = ..., reservation_id: _Optional[str] = ..., room_id: _Optional[str] = ..., guest_id: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...

class PaymentRefunded(_message.Message):
    __slots__ = ("payment_id", "reservation_id", "room_id", "guest_id", "amount")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    GUEST_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    reservation_id: str
    room_id: str
    guest_id: str
    amount: int
    def __init__(self, payment_id: _Optional[str] = ..., reservation_id: _Optional[str] = ..., room_id: _Optional[str] = ..., guest_id: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...
