"""Start the payment service: settings from the environment, wiring, serve until SIGTERM."""

from __future__ import annotations

import asyncio

from bnb.payment.v1 import approvals_pb2, approvals_pb2_grpc, payment_pb2, payment_pb2_grpc
from payment_svc import handlers, repository, service
from svckit import logs
from svckit.config import Settings
from svckit.consumer import Subscription
from svckit.db import Database
from svckit.server import App, Servicer, serve


def build(settings: Settings) -> App:
    db = Database(settings.database_url, producer="payment")
    db.create(repository.metadata)
    return App(
        settings=settings,
        db=db,
        servicers=[
            Servicer(
                payment_pb2_grpc.add_PaymentServiceServicer_to_server,
                service.PaymentService(db),
                payment_pb2.DESCRIPTOR.services_by_name["PaymentService"].full_name,
            ),
            Servicer(
                approvals_pb2_grpc.add_PaymentApprovalsServicer_to_server,
                service.PaymentApprovals(db),
                approvals_pb2.DESCRIPTOR.services_by_name["PaymentApprovals"].full_name,
            ),
        ],
        produces=True,
        subscriptions=[
            Subscription(f"payment-{producer}-policy", producer, policies)
            for producer, policies in handlers.POLICIES.items()
        ],
    )


def main() -> None:
    settings = Settings.from_env("payment")
    logs.configure(settings.service, settings.log_level)
    asyncio.run(serve(build(settings)))
