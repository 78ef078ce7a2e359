"""Start the view service: settings from the environment, wiring, serve until SIGTERM."""

from __future__ import annotations

import asyncio

from bnb.view.v1 import view_pb2, view_pb2_grpc
from svckit import logs
from svckit.config import Settings
from svckit.consumer import Subscription
from svckit.db import Database
from svckit.server import App, Servicer, serve
from view_svc import handlers, repository, service


def subscriptions() -> list[Subscription]:
    """The projection's consumers, one per stream; the rebuild replays through the same ones."""
    return [
        Subscription(f"view-{producer}-projection", producer, policies)
        for producer, policies in handlers.POLICIES.items()
    ]


def build(settings: Settings) -> App:
    db = Database(settings.database_url, producer="view")
    db.create(repository.metadata)
    return App(
        settings=settings,
        db=db,
        servicers=[
            Servicer(
                view_pb2_grpc.add_RoomViewServiceServicer_to_server,
                service.RoomViewService(db),
                view_pb2.DESCRIPTOR.services_by_name["RoomViewService"].full_name,
            ),
        ],
        produces=False,
        subscriptions=subscriptions(),
    )


def main() -> None:
    settings = Settings.from_env("view")
    logs.configure(settings.service, settings.log_level)
    asyncio.run(serve(build(settings)))
