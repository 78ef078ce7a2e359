from bnb.payment.v1 import payment_pb2 as _payment_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class ApprovePaymentRequest(_message.Message):
    __slots__ = ("reservation_id", "guest_id", "room_id", "amount")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    GUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    guest_id: str
    room_id: str
    amount: int
    def __init__(self, reservation_id: _Optional[str] = ..., guest_id: _Optional[str] = ..., room_id: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...

class RefundPaymentRequest(_message.Message):
    __slots__ = ("reservation_id",)
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    def __init__(self, reservation_id: _Optional[str] = ...) -> None: ...
