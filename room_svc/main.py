"""Start the room service: settings from the environment, wiring, serve until SIGTERM."""

from __future__ import annotations

from bnb.room.v1 import holds_pb2, holds_pb2_grpc, room_pb2, room_pb2_grpc
from room_svc import handlers, service
from room_svc.unit_of_work import RoomUnitOfWork
from svckit import idempotency, wiring
from svckit.config import Settings
from svckit.server import App

UNIT_OF_WORK = RoomUnitOfWork  # with the context's repositories; its consumers (and svckit.deadletters) use it


def build(settings: Settings) -> App:
    db = wiring.database(settings, UNIT_OF_WORK)
    units = UNIT_OF_WORK.on(db)
    return App(
        settings=settings,
        db=db,
        servicers=[
            wiring.servicer(
                room_pb2_grpc.add_RoomServiceServicer_to_server,
                service.RoomService(db, units, settings.idempotency_ttl_s),
                room_pb2.DESCRIPTOR,
                "RoomService",
            ),
            wiring.servicer(
                holds_pb2_grpc.add_RoomHoldsServicer_to_server,
                service.RoomHolds(db, units),
                holds_pb2.DESCRIPTOR,
                "RoomHolds",
            ),
        ],
        produces=True,
        subscriptions=wiring.consumers("room", "policy", handlers.POLICIES, handlers.locks),
        background=[lambda: idempotency.purging(db, settings.idempotency_ttl_s)],
    )


def main() -> None:
    wiring.run("room", build)
