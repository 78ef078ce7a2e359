"""Start the message service: settings from the environment, wiring, serve until SIGTERM."""

from __future__ import annotations

import asyncio

from bnb.message.v1 import message_pb2, message_pb2_grpc
from message_svc import handlers, repository, service
from message_svc.senders import LogSender, Sender
from svckit import logs
from svckit.config import Settings
from svckit.consumer import Subscription
from svckit.db import Database
from svckit.server import App, Servicer, serve


def subscriptions(sender: Sender) -> list[Subscription]:
    return [
        Subscription(f"message-{producer}-notify", producer, policies)
        for producer, policies in handlers.policies(sender).items()
    ]


def build(settings: Settings, sender: Sender | None = None) -> App:
    db = Database(settings.database_url, producer="message")
    db.create(repository.metadata)
    return App(
        settings=settings,
        db=db,
        servicers=[
            Servicer(
                message_pb2_grpc.add_MessageServiceServicer_to_server,
                service.MessageService(db),
                message_pb2.DESCRIPTOR.services_by_name["MessageService"].full_name,
            ),
        ],
        produces=False,
        subscriptions=subscriptions(sender or LogSender()),
    )


def main() -> None:
    settings = Settings.from_env("message")
    logs.configure(settings.service, settings.log_level)
    asyncio.run(serve(build(settings)))
