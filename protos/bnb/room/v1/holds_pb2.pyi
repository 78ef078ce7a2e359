from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class HoldRoomRequest(_message.Message):
    __slots__ = ("reservation_id", "room_id", "guest_id", "check_in", "check_out")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    GUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHECK_IN_FIELD_NUMBER: _ClassVar[int]
    CHECK_OUT_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    room_id: str
    guest_id: str
    check_in: str
    check_out: str
    def __init__(self, reservation_id: _Optional[str] = ..., room_id: _Optional[str] = ..., guest_id: _Optional[str] = ..., check_in: _Optional[str] = ..., check_out: _Optional[str] = ...) -> None: ...

class ReleaseRoomRequest(_message.Message):
    __slots__ = ("reservation_id",)
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    def __init__(self, reservation_id: _Optional[str] = ...) -> None: ...

class Hold(_message.Message):
    __slots__ = ("reservation_id", "room_id", "host_id", "price_per_night", "nights", "status")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_PER_NIGHT_FIELD_NUMBER: _ClassVar[int]
    NIGHTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    room_id: str
    host_id: str
    price_per_night: int
    nights: int
    status: str
    def __init__(self, reservation_id: _Optional[str] = ..., room_id: _Optional[str] = ..., host_id: _Optional[str] = ..., price_per_night: _Optional[int] = ..., nights: _Optional[int] = ..., status: _Optional[str] = ...) -> None: ...
