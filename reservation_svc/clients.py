"""The saga's sync dependencies, reached through Envoy's mesh listener; gRPC failures -> domain errors."""

from __future__ import annotations

import grpc

from bnb.payment.v1 import approvals_pb2, approvals_pb2_grpc, payment_pb2
from bnb.room.v1 import holds_pb2, holds_pb2_grpc
from reservation_svc import domain
from reservation_svc.domain import Held, Reservation
from svckit.caller import GUEST, on_behalf_of
from svckit.calls import Deadline, call


def _translate(exc: grpc.aio.AioRpcError, service: str) -> domain.ReservationError:
    code, detail = exc.code(), exc.details() or ""
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return domain.DependencyTimeout(f"{service} did not answer in time")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.CANCELLED):
        return domain.DependencyUnavailable(f"{service} is unavailable, please retry later")
    if service == "room" and code == grpc.StatusCode.NOT_FOUND:
        return domain.RoomNotFound(detail)
    if service == "room" and code == grpc.StatusCode.ALREADY_EXISTS:
        return domain.RoomUnavailable(detail)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return domain.InvalidReservation(detail) if service == "room" else domain.PaymentDeclined(detail)
    return domain.DependencyUnavailable(f"{service} failed: {code.name} {detail}")


class MeshRooms:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.stub = holds_pb2_grpc.RoomHoldsStub(channel)

    async def hold(self, r: Reservation, deadline: Deadline) -> Held:
        request = holds_pb2.HoldRoomRequest(
            reservation_id=r.reservation_id, room_id=r.room_id, guest_id=r.guest_id,
            check_in=str(r.check_in), check_out=str(r.check_out),
        )  # fmt: skip
        try:
            hold: holds_pb2.Hold = await call(self.stub.HoldRoom, request, deadline, on_behalf_of(r.guest_id, GUEST))
        except grpc.aio.AioRpcError as exc:
            raise _translate(exc, "room") from None
        return Held(host_id=hold.host_id, price_per_night=hold.price_per_night)

    async def release(self, reservation_id: str, deadline: Deadline, missing_ok: bool = True) -> None:
        """Release the reservation's hold; none found is done, unless `missing_ok` is False (a hold may still land)."""
        request = holds_pb2.ReleaseRoomRequest(reservation_id=reservation_id)
        try:
            await call(self.stub.ReleaseRoom, request, deadline)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise _translate(exc, "room") from None
            if not missing_ok:
                raise domain.DependencyUnavailable(f"no hold for {reservation_id} yet; one may still land") from None


class MeshPayments:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.stub = approvals_pb2_grpc.PaymentApprovalsStub(channel)

    async def approve(self, r: Reservation, amount: int, deadline: Deadline) -> str:
        request = approvals_pb2.ApprovePaymentRequest(
            reservation_id=r.reservation_id, guest_id=r.guest_id, room_id=r.room_id, amount=amount
        )
        try:
            payment: payment_pb2.Payment = await call(
                self.stub.ApprovePayment, request, deadline, on_behalf_of(r.guest_id, GUEST)
            )
        except grpc.aio.AioRpcError as exc:
            raise _translate(exc, "payment") from None
        return payment.payment_id

    async def refund(self, reservation_id: str, deadline: Deadline) -> None:
        request = approvals_pb2.RefundPaymentRequest(reservation_id=reservation_id)
        try:
            await call(self.stub.RefundPayment, request, deadline)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:  # never approved: nothing to refund
                raise _translate(exc, "payment") from None
