"""The rebuild: reset, replay every stream from its first message, and get the rows the live view has."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy import func, select

from svckit.db import Database
from svckit.tables import dead_letters, inbox
from view_svc import repository
from view_svc.rebuild import rebuild
from view_svc.tests.fakes import FakeJetStream, all_rows, apply, story


def published(events: list) -> FakeJetStream:
    js = FakeJetStream()
    for envelope in events:
        js.publish(envelope)
    return js


def test_rebuild_into_a_fresh_database_matches_the_live_view(make_db) -> None:
    events = story()
    js = published(events)
    live, fresh = make_db("live"), make_db("fresh")
    random.Random(7).shuffle(events)  # the live view saw the streams interleaved
    apply(live, *events)
    assert asyncio.run(rebuild(fresh, js)) == len(events)
    assert all_rows(fresh) == all_rows(live) != []
    assert all(sub.closed for sub in js.subscriptions)


def test_rebuild_in_place_drops_stale_rows_and_reapplies_handled_events(db: Database) -> None:
    events = story()
    apply(db, *events)
    expected = all_rows(db)
    with db.uow() as uow:
        uow.conn.execute(repository.room_views.update().values(description="stale"))
        uow.conn.execute(
            inbox.insert().values(
                consumer="other-svc", event_id="keep-me", handled_at=events[0].occurred_at.ToDatetime()
            )
        )
        uow.commit()
    assert asyncio.run(rebuild(db, published(events))) == len(events)
    assert all_rows(db) == expected
    with db.read() as conn:
        others = conn.execute(select(func.count()).select_from(inbox).where(inbox.c.consumer == "other-svc"))
        assert others.scalar_one() == 1


def test_rebuild_records_an_undecodable_message_once(db: Database) -> None:
    js = published(story())
    js.publish_raw("payment", "bnb.payment.PaymentApproved.v1", b"\xffnot an envelope")
    asyncio.run(rebuild(db, js))
    asyncio.run(rebuild(db, js))
    with db.read() as conn:
        assert conn.execute(select(dead_letters.c.consumer)).scalars().all() == ["view-payment-projection"]


def test_rebuild_skips_a_stream_that_does_not_exist_yet(db: Database) -> None:
    room_events = [e for e in story() if e.producer == "room"]
    assert asyncio.run(rebuild(db, published(room_events))) == len(room_events)
    assert [r[0] for r in all_rows(db)] == ["room1", "room2"]
