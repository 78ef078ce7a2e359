from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Notification(_message.Message):
    __slots__ = ("message_id", "event_id", "event_type", "reservation_id", "recipient_kind", "recipient_id", "text", "created_at")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_KIND_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    event_id: str
    event_type: str
    reservation_id: str
    recipient_kind: str
    recipient_id: str
    text: str
    created_at: str
    def __init__(self, message_id: _Optional[str] = ..., event_id: _Optional[str] = ..., event_type: _Optional[str] = ..., reservation_id: _Optional[str] = ..., recipient_kind: _Optional[str] = ..., recipient_id: _Optional[str] = ..., text: _Optional[str] = ..., created_at: _Optional[str] = ...) -> None: ...

class ListMessagesRequest(_message.Message):
    __slots__ = ("guest_id", "host_id", "reservation_id", "page_size", "page_token")
    GUEST_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    guest_id: str
    host_id: str
    reservation_id: str
    page_size: int
    page_token: str
    def __init__(self, guest_id: _Optional[str] = ..., host_id: _Optional[str] = ..., reservation_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMessagesResponse(_message.Message):
    __slots__ = ("messages", "next_page_token")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[Notification]
    next_page_token: str
    def __init__(self, messages: _Optional[_Iterable[_Union[Notification, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
