"""The drill's invariant checks on hand-made states: a consistent one passes, and each broken rule is caught."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from tools.demos.drill import invariants
from tools.demos.drill.state import State
from tools.demos.drill.workload import Ledger, Stay

DAY = dt.date(2031, 5, 1)
NEXT, AFTER = DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2)


def consistent() -> tuple[Ledger, State]:
    """Room A (100 a night): r1 confirmed for two nights, r2 cancelled; a saga undone after its payment (r3)."""
    ledger = Ledger(rooms={"A": 100})
    ledger.accepted = {"r1": Stay("A", DAY, AFTER, "g1"), "r2": Stay("A", AFTER, AFTER + dt.timedelta(1), "g2")}
    ledger.cancelled = {"r2"}
    state = State(rooms={"A": "reserved"}, views={"A": "reserved"})
    state.reservations = {
        "r1": {"room_id": "A", "status": "confirmed", "check_in": DAY, "check_out": AFTER, "amount": 200},
        "r2": {"room_id": "A", "status": "cancelled", "check_in": str(AFTER), "check_out": "2031-05-04", "amount": 100},
    }
    state.payments = {
        "r1": [{"payment_id": "p1", "amount": 200, "status": "approved"}],
        "r2": [{"payment_id": "p2", "amount": 100, "status": "refunded"}],
        "r3": [{"payment_id": "p3", "amount": 100, "status": "refunded"}],
    }
    state.holds = {"r1": "reserved", "r2": "released", "r3": "released"}
    state.nights = [("A", DAY, "r1"), ("A", NEXT, "r1")]
    state.seen = {"r1": ("confirmed", "approved"), "r2": ("cancelled", "refunded"), "r3": ("", "refunded")}
    told = {"r1": invariants.TOLD["confirmed"], "r2": invariants.TOLD["cancelled"], "r3": invariants.UNDONE_TOLD}
    state.messages = [(rid, kind, who) for rid, made in told.items() for kind, who in sorted(made)]
    state.consumers_behind = {"view-room-projection": 0}
    return ledger, state


def broken(ledger: Ledger, state: State) -> dict[str, int]:
    return {c.name: len(c.violations) for c in invariants.check_all(ledger, state) if c.violations}


def test_a_consistent_state_passes_every_check() -> None:
    assert broken(*consistent()) == {}


def _double_booked(ledger: Ledger, state: State) -> None:
    state.reservations["r4"] = {**state.reservations["r1"], "check_in": NEXT, "check_out": AFTER, "amount": 100}
    state.payments["r4"] = [{"payment_id": "p4", "amount": 100, "status": "approved"}]


BREAKS: dict[str, tuple[Callable[[Ledger, State], None], str]] = {
    "lost confirmation": (lambda _, s: s.reservations["r1"].update(status="cancelled"), "every accepted"),
    "cancel not done": (lambda _, s: s.reservations["r2"].update(status="confirmed"), "every accepted"),
    "wrong amount": (lambda _, s: s.payments["r1"][0].update(amount=150), "paid (or refunded)"),
    "refund lost": (lambda _, s: s.payments["r2"][0].update(status="approved"), "nothing is charged"),
    "charged for nothing": (lambda _, s: s.payments["r3"][0].update(status="approved"), "nothing is charged"),
    "a night twice": (_double_booked, "no room night"),
    "a held night orphaned": (lambda _, s: s.nights.append(("A", AFTER, "r2")), "no room night"),
    "a saga left pending": (lambda _, s: s.reservations["r1"].update(status="approved"), "nothing is left pending"),
    "a consumer behind": (lambda _, s: s.consumers_behind.update({"view-room-projection": 3}), "nothing is left"),
    "a dead letter": (lambda _, s: s.dead_letters.update(view=1), "nothing is left pending"),
    "a stale view": (lambda _, s: s.views.update(A="available"), "the view agrees"),
    "a stale payment in the view": (lambda _, s: s.seen.update(r2=("cancelled", "approved")), "the view agrees"),
    "a doubled notification": (
        lambda _, s: s.messages.append(("r1", "PaymentApproved", "guest")),
        "every notification",
    ),
    "a lost notification": (lambda _, s: s.messages.remove(("r2", "PaymentRefunded", "guest")), "every notification"),
}


@pytest.mark.parametrize("name", BREAKS)
def test_each_broken_rule_is_caught(name: str) -> None:
    ledger, state = consistent()
    breaks, check = BREAKS[name]
    breaks(ledger, state)
    assert any(violated.startswith(check) for violated in broken(ledger, state)), broken(ledger, state)
