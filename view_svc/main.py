"""Start the view service: settings from the environment, wiring, serve until SIGTERM."""

from __future__ import annotations

from bnb.view.v1 import view_pb2, view_pb2_grpc
from svckit import wiring
from svckit.config import Settings
from svckit.policies import Subscription
from svckit.server import App
from view_svc import handlers, service
from view_svc.unit_of_work import ViewUnitOfWork

UNIT_OF_WORK = ViewUnitOfWork  # with the context's repositories; its consumers (and svckit.deadletters) use it


def subscriptions() -> list[Subscription]:
    """The projection's consumers, one per stream; the rebuild replays through the same ones."""
    return wiring.consumers("view", "projection", handlers.POLICIES, handlers.locks)


def build(settings: Settings) -> App:
    db = wiring.database(settings, UNIT_OF_WORK)
    return App(
        settings=settings,
        db=db,
        servicers=[
            wiring.servicer(
                view_pb2_grpc.add_RoomViewServiceServicer_to_server,
                service.RoomViewService(db, UNIT_OF_WORK.on(db)),
                view_pb2.DESCRIPTOR,
                "RoomViewService",
            ),
        ],
        subscriptions=subscriptions(),
    )


def main() -> None:
    wiring.run("view", build)
