from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Payment(_message.Message):
    __slots__ = ("payment_id", "reservation_id", "guest_id", "room_id", "amount", "status", "created_at")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    GUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    reservation_id: str
    guest_id: str
    room_id: str
    amount: int
    status: str
    created_at: str
    def __init__(self, payment_id: _Optional[str] = ..., reservation_id: _Optional[str] = ..., guest_id: _Optional[str] = ..., room_id: _Optional[str] = ..., amount: _Optional[int] = ..., status: _Optional[str] = ..., created_at: _Optional[str] = ...) -> None: ...

class GetPaymentRequest(_message.Message):
    __slots__ = ("payment_id",)
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    def __init__(self, payment_id: _Optional[str] = ...) -> None: ...

class ListPaymentsRequest(_message.Message):
    __slots__ = ("guest_id", "reservation_id", "page_size", "page_token")
    GUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    guest_id: str
    reservation_id: str
    page_size: int
    page_token: str
    def __init__(self, guest_id: _Optional[str] = ..., reservation_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPaymentsResponse(_message.Message):
    __slots__ = ("payments", "next_page_token")
    PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    payments: _containers.RepeatedCompositeFieldContainer[Payment]
    next_page_token: str
    def __init__(self, payments: _Optional[_Iterable[_Union[Payment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
