"""gRPC servicers of the payment context; domain errors -> status in one place."""

from __future__ import annotations

import grpc

from bnb.payment.v1 import approvals_pb2, approvals_pb2_grpc, payment_pb2, payment_pb2_grpc
from payment_svc import domain, handlers
from payment_svc.domain import Payment
from svckit import caller
from svckit.caller import GUEST, Context, require_mesh, resolve_caller
from svckit.db import Database
from svckit.grpcerrors import maps_errors
from svckit.ids import check_id
from svckit.paging import BadPageToken, next_token, page

ERRORS = {
    domain.InvalidPayment: grpc.StatusCode.INVALID_ARGUMENT,
    BadPageToken: grpc.StatusCode.INVALID_ARGUMENT,
    domain.PaymentNotFound: grpc.StatusCode.NOT_FOUND,
    domain.PaymentMismatch: grpc.StatusCode.ALREADY_EXISTS,
    domain.PaymentVoided: grpc.StatusCode.FAILED_PRECONDITION,
    **caller.ERRORS,
}


def payment_reply(payment: Payment, created_at: str = "") -> payment_pb2.Payment:
    return payment_pb2.Payment(**payment.__dict__, created_at=created_at)


@maps_errors(ERRORS)
class PaymentService(payment_pb2_grpc.PaymentServiceServicer):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def GetPayment(
        self, request: payment_pb2.GetPaymentRequest, context: Context
    ) -> payment_pb2.Payment:
        guest = resolve_caller(context, GUEST)  # a payment is its guest's: a host gets none
        payment_id = check_id("payment_id", request.payment_id, required=True)
        return payment_reply(*await self.db.run(handlers.get_payment, self.db, payment_id, guest.subject))

    async def ListPayments(
        self, request: payment_pb2.ListPaymentsRequest, context: Context
    ) -> payment_pb2.ListPaymentsResponse:
        guest = resolve_caller(context, GUEST, guest_id=request.guest_id)
        limit, offset = page(request.page_size, request.page_token)
        reservation_id = check_id("reservation_id", request.reservation_id)
        found = await self.db.run(handlers.list_payments, self.db, guest.subject, reservation_id, limit, offset)
        return payment_pb2.ListPaymentsResponse(
            payments=[payment_reply(*p) for p in found], next_page_token=next_token(limit, offset, len(found))
        )


@maps_errors(ERRORS)
class PaymentApprovals(approvals_pb2_grpc.PaymentApprovalsServicer):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def ApprovePayment(
        self, request: approvals_pb2.ApprovePaymentRequest, context: Context
    ) -> payment_pb2.Payment:
        require_mesh(context)
        resolve_caller(context, GUEST, guest_id=request.guest_id)  # the guest the edge verified
        payment = await self.db.run(
            handlers.approve_payment, self.db, request.reservation_id, request.guest_id, request.room_id, request.amount
        )
        return payment_reply(payment)

    async def RefundPayment(
        self, request: approvals_pb2.RefundPaymentRequest, context: Context
    ) -> payment_pb2.Payment:
        require_mesh(context)  # also with no caller: a crashed saga is undone by recovery, for no one
        return payment_reply(await self.db.run(handlers.refund_payment, self.db, request.reservation_id))
