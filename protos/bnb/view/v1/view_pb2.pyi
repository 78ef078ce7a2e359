from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RoomView(_message.Message):
    __slots__ = ("room_id", "description", "room_status", "review_count", "reservation_id", "reservation_status", "payment_id", "payment_status", "updated_at", "host_id")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ROOM_STATUS_FIELD_NUMBER: _ClassVar[int]
    REVIEW_COUNT_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    description: str
    room_status: str
    review_count: int
    reservation_id: str
    reservation_status: str
    payment_id: str
    payment_status: str
    updated_at: str
    host_id: str
    def __init__(self, room_id: _Optional[str] = ..., description: _Optional[str] = ..., room_status: _Optional[str] = ..., review_count: _Optional[int] = ..., reservation_id: _Optional[str] = ..., reservation_status: _Optional[str] = ..., payment_id: _Optional[str] = ..., payment_status: _Optional[str] = ..., updated_at: _Optional[str] = ..., host_id: _Optional[str] = ...) -> None: ...

class GetRoomViewRequest(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: str
    def __init__(self, room_id: _Optional[str] = ...) -> None: ...

class ListRoomViewsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRoomViewsResponse(_message.Message):
    __slots__ = ("room_views", "next_page_token")
    ROOM_VIEWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    room_views: _containers.RepeatedCompositeFieldContainer[RoomView]
    next_page_token: str
    def __init__(self, room_views: _Optional[_Iterable[_Union[RoomView, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class TimelineStep(_message.Message):
    __slots__ = ("step", "service", "at", "event_type", "event_id")
    STEP_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    step: str
    service: str
    at: str
    event_type: str
    event_id: str
    def __init__(self, step: _Optional[str] = ..., service: _Optional[str] = ..., at: _Optional[str] = ..., event_type: _Optional[str] = ..., event_id: _Optional[str] = ...) -> None: ...

class GetReservationTimelineRequest(_message.Message):
    __slots__ = ("reservation_id",)
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    def __init__(self, reservation_id: _Optional[str] = ...) -> None: ...

class ReservationTimeline(_message.Message):
    __slots__ = ("reservation_id", "room_id", "steps")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    room_id: str
    steps: _containers.RepeatedCompositeFieldContainer[TimelineStep]
    def __init__(self, reservation_id: _Optional[str] = ..., room_id: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[TimelineStep, _Mapping]]] = ...) -> None: ...
