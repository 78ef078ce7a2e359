"""Start the reservation service: settings from the environment, wiring, serve until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bnb.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from reservation_svc import clients, handlers, service
from reservation_svc.saga import COMPENSATION_S, Saga, recover_stale
from reservation_svc.unit_of_work import ReservationUnitOfWork
from svckit import calls, idempotency, wiring
from svckit.config import Settings, SettingsError, env_float, env_int
from svckit.server import App

logger = logging.getLogger(__name__)

UNIT_OF_WORK = ReservationUnitOfWork  # with the context's repositories; its consumers (and svckit.deadletters) use it


@dataclass(frozen=True)
class ReservationSettings:
    max_per_guest: int
    deadline_s: float  # the longest a saga may take (callers' longer deadlines are cut to it)
    recover_after_s: float  # a saga pending this long was interrupted by a crash
    max_days_ahead: int  # the latest check-in a guest may ask for, in days from today

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ReservationSettings:
        settings = cls(
            max_per_guest=env_int("MAX_RESERVATIONS_PER_GUEST", 10, environ, minimum=1),
            deadline_s=env_float("BNB_SAGA_DEADLINE_SECONDS", 5.0, environ),
            recover_after_s=env_float("BNB_RECOVER_AFTER_SECONDS", 30.0, environ),
            max_days_ahead=env_int("BNB_MAX_DAYS_AHEAD", 730, environ, minimum=1),
        )
        if settings.recover_after_s <= settings.deadline_s + COMPENSATION_S:
            raise SettingsError(
                "BNB_RECOVER_AFTER_SECONDS must exceed BNB_SAGA_DEADLINE_SECONDS + "
                f"{COMPENSATION_S:g}s, or recovery could undo a saga still running"
            )
        return settings


async def _recovery(saga: Saga, after_s: float) -> None:
    while True:
        try:
            await recover_stale(saga, after_s)
        except Exception:
            logger.exception("recovery pass failed")
        await asyncio.sleep(max(after_s / 3, 0.5))


def build(settings: Settings, extra: ReservationSettings) -> App:
    db = wiring.database(settings, UNIT_OF_WORK)
    channel = calls.channel(settings.mesh_addr)
    saga = Saga(
        db,
        UNIT_OF_WORK.on(db),
        clients.MeshRooms(channel),
        clients.MeshPayments(channel),
        extra.max_per_guest,
        calls.Deadline,
        max_days_ahead=extra.max_days_ahead,
    )
    return App(
        settings=settings,
        db=db,
        servicers=[
            wiring.servicer(
                reservation_pb2_grpc.add_ReservationServiceServicer_to_server,
                service.ReservationService(db, saga, extra.deadline_s, settings.idempotency_ttl_s),
                reservation_pb2.DESCRIPTOR,
                "ReservationService",
            ),
        ],
        produces=True,
        subscriptions=wiring.consumers("reservation", "policy", handlers.POLICIES, handlers.locks),
        underway=saga.underway,  # a payment's event that overtakes its saga's commit waits for it, not a timer
        background=[
            lambda: _recovery(saga, extra.recover_after_s),
            lambda: idempotency.purging(db, settings.idempotency_ttl_s),
        ],
    )


def main() -> None:
    extra = ReservationSettings.from_env()
    wiring.run("reservation", lambda settings: build(settings, extra))
