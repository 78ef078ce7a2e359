from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Reservation(_message.Message):
    __slots__ = ("reservation_id", "room_id", "guest_id", "host_id", "check_in", "check_out", "status", "payment_id", "amount", "created_at")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    GUEST_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    CHECK_IN_FIELD_NUMBER: _ClassVar[int]
    CHECK_OUT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    room_id: str
    guest_id: str
    host_id: str
    check_in: str
    check_out: str
    status: str
    payment_id: str
    amount: int
    created_at: str
    def __init__(self, reservation_id: _Optional[str] = ..., room_id: _Optional[str] = ..., guest_id: _Optional[str] = ..., host_id: _Optional[str] = ..., check_in: _Optional[str] = ..., check_out: _Optional[str] = ..., status: _Optional[str] = ..., payment_id: _Optional[str] = ..., amount: _Optional[int] = ..., created_at: _Optional[str] = ...) -> None: ...

class RequestReservationRequest(_message.Message):
    __slots__ = ("room_id", "guest_id", "check_in", "check_out")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    GUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHECK_IN_FIELD_NUMBER: _ClassVar[int]
    CHECK_OUT_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    guest_id: str
    check_in: str
    check_out: str
    def __init__(self, room_id: _Optional[str] = ..., guest_id: _Optional[str] = ..., check_in: _Optional[str] = ..., check_out: _Optional[str] = ...) -> None: ...

class GetReservationRequest(_message.Message):
    __slots__ = ("reservation_id",)
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    def __init__(self, reservation_id: _Optional[str] = ...) -> None: ...

class ListReservationsRequest(_message.Message):
    __slots__ = ("guest_id", "page_size", "page_token", "room_id", "host_id")
    GUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    guest_id: str
    page_size: int
    page_token: str
    room_id: str
    host_id: str
    def __init__(self, guest_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., room_id: _Optional[str] = ..., host_id: _Optional[str] = ...) -> None: ...

class ListReservationsResponse(_message.Message):
    __slots__ = ("reservations", "next_page_token")
    RESERVATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    reservations: _containers.RepeatedCompositeFieldContainer[Reservation]
    next_page_token: str
    def __init__(self, reservations: _Optional[_Iterable[_Union[Reservation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelReservationRequest(_message.Message):
    __slots__ = ("reservation_id", "guest_id")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    GUEST_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    guest_id: str
    def __init__(self, reservation_id: _Optional[str] = ..., guest_id: _Optional[str] = ...) -> None: ...
