"""Start the room service: settings from the environment, wiring, serve until SIGTERM."""

from __future__ import annotations

import asyncio

from bnb.room.v1 import holds_pb2, holds_pb2_grpc, room_pb2, room_pb2_grpc
from room_svc import handlers, repository, service
from svckit import logs
from svckit.config import Settings
from svckit.consumer import Subscription
from svckit.db import Database
from svckit.server import App, Servicer, serve


def build(settings: Settings) -> App:
    db = Database(settings.database_url, producer="room")
    db.create(repository.metadata)
    return App(
        settings=settings,
        db=db,
        servicers=[
            Servicer(
                room_pb2_grpc.add_RoomServiceServicer_to_server,
                service.RoomService(db),
                room_pb2.DESCRIPTOR.services_by_name["RoomService"].full_name,
            ),
            Servicer(
                holds_pb2_grpc.add_RoomHoldsServicer_to_server,
                service.RoomHolds(db),
                holds_pb2.DESCRIPTOR.services_by_name["RoomHolds"].full_name,
            ),
        ],
        produces=True,
        subscriptions=[
            Subscription(f"room-{producer}-policy", producer, policies)
            for producer, policies in handlers.POLICIES.items()
        ],
    )


def main() -> None:
    settings = Settings.from_env("room")
    logs.configure(settings.service, settings.log_level)
    asyncio.run(serve(build(settings)))
