"""Start the payment service: settings from the environment, wiring, serve until SIGTERM."""

from __future__ import annotations

from bnb.payment.v1 import approvals_pb2, approvals_pb2_grpc, payment_pb2, payment_pb2_grpc
from payment_svc import handlers, service
from payment_svc.unit_of_work import PaymentUnitOfWork
from svckit import wiring
from svckit.config import Settings
from svckit.server import App

UNIT_OF_WORK = PaymentUnitOfWork  # with the context's repositories; its consumers (and svckit.deadletters) use it


def build(settings: Settings) -> App:
    db = wiring.database(settings, UNIT_OF_WORK)
    units = UNIT_OF_WORK.on(db)
    return App(
        settings=settings,
        db=db,
        servicers=[
            wiring.servicer(
                payment_pb2_grpc.add_PaymentServiceServicer_to_server,
                service.PaymentService(db, units),
                payment_pb2.DESCRIPTOR,
                "PaymentService",
            ),
            wiring.servicer(
                approvals_pb2_grpc.add_PaymentApprovalsServicer_to_server,
                service.PaymentApprovals(db, units),
                approvals_pb2.DESCRIPTOR,
                "PaymentApprovals",
            ),
        ],
        produces=True,
        subscriptions=wiring.consumers("payment", "policy", handlers.POLICIES),
    )


def main() -> None:
    wiring.run("payment", build)
