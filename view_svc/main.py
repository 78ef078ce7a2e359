"""Start the view service: settings from the environment, wiring, serve until SIGTERM."""

from __future__ import annotations

from bnb.view.v1 import view_pb2, view_pb2_grpc
from svckit import wiring
from svckit.config import Settings
from svckit.consumer import Subscription
from svckit.server import App
from view_svc import handlers, service


def subscriptions() -> list[Subscription]:
    """The projection's consumers, one per stream; the rebuild replays through the same ones."""
    return wiring.consumers("view", "projection", handlers.POLICIES)


def build(settings: Settings) -> App:
    db = wiring.database(settings)
    return App(
        settings=settings,
        db=db,
        servicers=[
            wiring.servicer(
                view_pb2_grpc.add_RoomViewServiceServicer_to_server,
                service.RoomViewService(db),
                view_pb2.DESCRIPTOR,
                "RoomViewService",
            ),
        ],
        subscriptions=subscriptions(),
    )


def main() -> None:
    wiring.run("view", build)
