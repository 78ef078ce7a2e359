"""The message rules: who hears of which event, told what."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from message_svc import domain

AT = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def test_confirmed_reservation_tells_guest_and_host_with_their_ids() -> None:
    event = SimpleNamespace(reservation_id="r1", room_id="room1", guest_id="g1", host_id="h1")
    made = domain.notifications("e1", "ReservationConfirmed", event, AT)
    assert [(n.recipient_kind, n.recipient_id) for n in made] == [("guest", "g1"), ("host", "h1")]
    assert all(n.reservation_id == "r1" and n.created_at == AT for n in made)
    assert "r1" in made[0].text and "room1" in made[0].text


def test_recipient_the_event_does_not_name_is_not_told() -> None:
    event = SimpleNamespace(reservation_id="r1", room_id="room1", guest_id="g1", host_id="")
    made = domain.notifications("e1", "ReservationCancelled", event, AT)
    assert [n.recipient_kind for n in made] == ["guest"]


def test_room_event_has_no_reservation_id() -> None:
    event = SimpleNamespace(room_id="room1", host_id="h1", description="Loft")
    (made,) = domain.notifications("e1", "RoomRegistered", event, AT)
    assert made.reservation_id == ""
    assert made.text == 'Your room room1 "Loft" is registered.'


def test_unlisted_event_makes_no_notification() -> None:
    assert domain.notifications("e1", "RoomReserved", SimpleNamespace(host_id="h1"), AT) == []


def test_message_ids_are_the_same_on_replay_and_differ_per_recipient() -> None:
    assert domain.message_id("e1", "guest", "g1") == domain.message_id("e1", "guest", "g1")
    assert domain.message_id("e1", "guest", "g1") != domain.message_id("e1", "host", "g1")
