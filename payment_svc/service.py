"""gRPC servicers of the payment context; domain errors -> status in one place."""

from __future__ import annotations

import grpc

from bnb.payment.v1 import approvals_pb2, approvals_pb2_grpc, payment_pb2, payment_pb2_grpc
from payment_svc import domain, handlers
from payment_svc.domain import Payment
from payment_svc.unit_of_work import PaymentWork
from svckit import caller
from svckit.caller import GUEST, Context, require_mesh, resolve_caller
from svckit.db import Database
from svckit.grpcerrors import maps_errors
from svckit.ids import check_id
from svckit.paging import BadPageToken, Page
from svckit.uow import Units

ERRORS = {
    domain.InvalidPayment: grpc.StatusCode.INVALID_ARGUMENT,
    BadPageToken: grpc.StatusCode.INVALID_ARGUMENT,
    domain.PaymentNotFound: grpc.StatusCode.NOT_FOUND,
    domain.PaymentMismatch: grpc.StatusCode.ALREADY_EXISTS,
    domain.PaymentVoided: grpc.StatusCode.FAILED_PRECONDITION,
    **caller.ERRORS,
}


def payment_reply(payment: Payment) -> payment_pb2.Payment:
    return payment_pb2.Payment(**{**vars(payment), "created_at": payment.created_at.isoformat()})


@maps_errors(ERRORS)
class PaymentService(payment_pb2_grpc.PaymentServiceServicer):
    def __init__(self, db: Database, units: Units[PaymentWork]) -> None:
        self.db = db
        self.units = units

    async def GetPayment(self, request: payment_pb2.GetPaymentRequest, context: Context) -> payment_pb2.Payment:
        guest = resolve_caller(context, GUEST)  # a payment is its guest's: a host gets none
        payment_id = check_id("payment_id", request.payment_id, required=True)
        return payment_reply(await self.db.run(handlers.get_payment, self.units, payment_id, guest.subject))

    async def ListPayments(
        self, request: payment_pb2.ListPaymentsRequest, context: Context
    ) -> payment_pb2.ListPaymentsResponse:
        guest = resolve_caller(context, GUEST, guest_id=request.guest_id)
        page = Page.of(request)
        reservation_id = check_id("reservation_id", request.reservation_id)
        found = await self.db.run(
            handlers.list_payments, self.units, guest.subject, reservation_id, page.limit, page.offset
        )
        return payment_pb2.ListPaymentsResponse(
            payments=[payment_reply(p) for p in found], next_page_token=page.next_token(found)
        )


@maps_errors(ERRORS)
class PaymentApprovals(approvals_pb2_grpc.PaymentApprovalsServicer):
    def __init__(self, db: Database, units: Units[PaymentWork]) -> None:
        self.db = db
        self.units = units

    async def ApprovePayment(
        self, request: approvals_pb2.ApprovePaymentRequest, context: Context
    ) -> payment_pb2.Payment:
        require_mesh(context)
        resolve_caller(context, GUEST, guest_id=request.guest_id)  # the guest the edge verified
        payment = await self.db.run(
            handlers.approve_payment,
            self.units,
            request.reservation_id,
            request.guest_id,
            request.room_id,
            request.amount,
        )
        return payment_reply(payment)

    async def RefundPayment(self, request: approvals_pb2.RefundPaymentRequest, context: Context) -> payment_pb2.Payment:
        require_mesh(context)  # also with no caller: a crashed saga is undone by recovery, for no one
        return payment_reply(await self.db.run(handlers.refund_payment, self.units, request.reservation_id))
