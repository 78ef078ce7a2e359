"""The drill's invariants over what the guests were told (the ledger) and what the databases hold (the state)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tools.demos.drill.state import State
from tools.demos.drill.workload import Ledger

CONFIRMED, CANCELLED = "confirmed", "cancelled"
APPROVED, REFUNDED = "approved", "refunded"
PAYMENT_OF = {CONFIRMED: APPROVED, CANCELLED: REFUNDED}  # a settled reservation's payment status
# Notifications a settled reservation makes, each exactly once; a cancelled one may have been confirmed first.
TOLD = {
    CONFIRMED: {("ReservationConfirmed", "guest"), ("ReservationConfirmed", "host"), ("PaymentApproved", "guest")},
    CANCELLED: {("ReservationCancelled", "guest"), ("ReservationCancelled", "host"), ("PaymentApproved", "guest"),
                ("PaymentRefunded", "guest")},
}  # fmt: skip
MAYBE_TOLD = {CANCELLED: {("ReservationConfirmed", "guest"), ("ReservationConfirmed", "host")}}
UNDONE_TOLD = {("PaymentApproved", "guest"), ("PaymentRefunded", "guest")}  # a saga undone after its payment


@dataclass
class Check:
    """One invariant: how many things it looked at, and each violation found."""

    name: str
    checked: int = 0
    violations: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.violations.append(message)


def _nights(row: dict[str, Any]) -> list[dt.date]:
    start, end = (
        v if isinstance(v, dt.date) else dt.date.fromisoformat(v) for v in (row["check_in"], row["check_out"])
    )
    return [start + dt.timedelta(days=i) for i in range((end - start).days)]


def accepted_settled(ledger: Ledger, state: State) -> Check:
    check = Check("every accepted reservation is confirmed (or cancelled, if it was)")
    for rid in ledger.accepted:
        check.checked += 1
        status = state.reservations.get(rid, {}).get("status", "missing")
        wanted = {CONFIRMED}
        if rid in ledger.cancelled or rid in ledger.cancel_unknown:  # a failed cancellation may have been done
            wanted = {CANCELLED} if rid in ledger.cancelled else {CONFIRMED, CANCELLED}
        if status not in wanted:
            check.fail(f"{rid}: {status}, told the guest {'/'.join(sorted(wanted))}")
    return check


def paid_once(ledger: Ledger, state: State) -> Check:
    check = Check("paid (or refunded) exactly once, at nights x price")
    for rid, row in state.reservations.items():
        if row["status"] not in PAYMENT_OF:
            continue
        check.checked += 1
        payments, price = state.payments.get(rid, []), ledger.rooms.get(row["room_id"], 0)
        due = len(_nights(row)) * price
        if len(payments) != 1:
            check.fail(f"{rid}: {len(payments)} payments")
        elif (p := payments[0])["status"] != PAYMENT_OF[row["status"]] or p["amount"] != due or row["amount"] != due:
            check.fail(
                f"{rid} {row['status']}: payment {p['status']} of {p['amount']}, reservation {row['amount']}, due {due}"
            )
    return check


def charged_only_for_reservations(state: State) -> Check:
    check = Check("nothing is charged without a reservation")
    for rid, payments in state.payments.items():
        for payment in payments:
            check.checked += 1
            status = state.reservations.get(rid, {}).get("status", "missing")
            if payment["status"] == APPROVED and status != CONFIRMED:
                check.fail(f"payment {payment['payment_id']} approved; reservation {rid} {status}")
    return check


def booked_once(state: State) -> Check:
    check = Check("no room night is booked twice")
    booked: Counter[tuple[str, dt.date]] = Counter()
    confirmed = {rid: row for rid, row in state.reservations.items() if row["status"] == CONFIRMED}
    for row in confirmed.values():
        booked.update((row["room_id"], night) for night in _nights(row))
    check.checked = len(booked)
    check.violations += [
        f"room {room} night {night}: {n} confirmed reservations" for (room, night), n in booked.items() if n > 1
    ]
    held = {(room, night): rid for room, night, rid in state.nights}
    for rid, row in confirmed.items():
        if state.holds.get(rid) != "reserved" or any(held.get((row["room_id"], n)) != rid for n in _nights(row)):
            check.fail(f"{rid} confirmed, but the room holds it as {state.holds.get(rid)} with other nights")
    unconfirmed = [(room, night, rid) for (room, night), rid in held.items() if rid not in confirmed]
    check.violations += [f"room {room} night {night} held by {rid}, not confirmed" for room, night, rid in unconfirmed]
    return check


def nothing_pending(state: State) -> Check:
    check = Check("nothing is left pending (sagas, holds, outbox, consumers, notifications, dead letters)")
    check.checked = len(state.reservations) + len(state.holds) + len(state.messages) + len(state.consumers_behind)
    check.violations += [f"{n} {what}" for what, n in state.pending.items()]
    check.violations += [f"{n} dead letters in {service}" for service, n in state.dead_letters.items() if n]
    return check


def view_agrees(state: State) -> Check:
    check = Check("the view agrees with the rooms, reservations and payments")
    for room, status in state.rooms.items():
        check.checked += 1
        if state.views.get(room) != status:
            check.fail(f"room {room} is {status}, the view says {state.views.get(room)}")
    for rid, row in state.reservations.items():
        check.checked += 1
        payment = (state.payments.get(rid) or [{}])[0].get("status", "")
        if row["status"] in PAYMENT_OF and state.seen.get(rid) != (row["status"], payment):
            check.fail(f"{rid} {row['status']}/{payment}, the view says {state.seen.get(rid)}")
    return check


def told_once(state: State) -> Check:
    check = Check("every notification is made once, none doubled")
    made = Counter((rid, kind, who) for rid, kind, who in state.messages)
    check.violations += [f"{rid}: {kind} to the {who} {n} times" for (rid, kind, who), n in made.items() if n > 1]
    told: dict[str, set[tuple[str, str]]] = {}
    for rid, kind, who in made:
        told.setdefault(rid, set()).add((kind, who))
    for rid in set(state.reservations) | set(state.payments):
        status = state.reservations.get(rid, {}).get("status", "undone")
        wanted = TOLD.get(status, UNDONE_TOLD if status == "undone" else set())
        if status == "undone" and not any(p["status"] != "voided" for p in state.payments[rid]):
            wanted = set()
        got = told.get(rid, set())
        check.checked += 1
        if missing := wanted - got:
            check.fail(f"{rid} {status}: never told {sorted(missing)}")
        if extra := got - wanted - MAYBE_TOLD.get(status, set()):
            check.fail(f"{rid} {status}: told {sorted(extra)}")
    return check


def check_all(ledger: Ledger, state: State) -> list[Check]:
    return [
        accepted_settled(ledger, state),
        paid_once(ledger, state),
        charged_only_for_reservations(state),
        booked_once(state),
        nothing_pending(state),
        view_agrees(state),
        told_once(state),
    ]
