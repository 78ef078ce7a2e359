"""Start the message service: settings from the environment, wiring, serve until SIGTERM."""

from __future__ import annotations

from bnb.message.v1 import message_pb2, message_pb2_grpc
from message_svc import handlers, service
from message_svc.delivery import NotificationRelay
from message_svc.senders import LogSender, Sender
from svckit import wiring
from svckit.config import Settings
from svckit.server import App


def build(settings: Settings, sender: Sender | None = None) -> App:
    db = wiring.database(settings)
    relay = NotificationRelay(db, sender or LogSender())
    return App(
        settings=settings,
        db=db,
        servicers=[
            wiring.servicer(
                message_pb2_grpc.add_MessageServiceServicer_to_server,
                service.MessageService(db),
                message_pb2.DESCRIPTOR,
                "MessageService",
            ),
        ],
        subscriptions=wiring.consumers("message", "notify", handlers.policies(relay.wake)),
        background=[relay.run],
    )


def main() -> None:
    wiring.run("message", build)
