"""Start the message service: settings from the environment, wiring, serve until SIGTERM."""

from __future__ import annotations

from bnb.message.v1 import message_pb2, message_pb2_grpc
from message_svc import handlers, service
from message_svc.delivery import NotificationRelay
from message_svc.senders import LogSender
from message_svc.unit_of_work import MessageUnitOfWork
from svckit import wiring
from svckit.config import Settings
from svckit.server import App

UNIT_OF_WORK = MessageUnitOfWork  # with the context's repositories; its consumers (and svckit.deadletters) use it
# A notification may wait this long for the events after it: one transaction and one pass of the relay for a
# batch of sagas instead of one per event (side by side at c=32: 0.54-0.56 -> 0.41-0.44 ms of CPU per saga).
# The room view (the event lag) and the saga's own policies take each event as it comes.
NOTIFY_LINGER_S = 0.1


def build(settings: Settings) -> App:
    db = wiring.database(settings, UNIT_OF_WORK)
    units = UNIT_OF_WORK.on(db)
    relay = NotificationRelay(db, units, LogSender())
    return App(
        settings=settings,
        db=db,
        servicers=[
            wiring.servicer(
                message_pb2_grpc.add_MessageServiceServicer_to_server,
                service.MessageService(db, units),
                message_pb2.DESCRIPTOR,
                "MessageService",
            ),
        ],
        subscriptions=wiring.consumers("message", "notify", handlers.policies(relay.wake), linger_s=NOTIFY_LINGER_S),
        background=[relay.run],
    )


def main() -> None:
    wiring.run("message", build)
