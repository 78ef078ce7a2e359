"""Payment table and queries; one payment per reservation, enforced by a unique key."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Connection, DateTime, MetaData, Select, String, Table, bindparam, select

from payment_svc.domain import Payment
from svckit.db import stamp
from svckit.tables import now

metadata = MetaData()
payments = Table(
    "payments",
    metadata,
    Column("payment_id", String(36), primary_key=True),
    Column("reservation_id", String(36), nullable=False, unique=True),
    Column("guest_id", String(100), nullable=False, index=True),
    Column("room_id", String(36), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

FIELDS = list(Payment.__dataclass_fields__)
# Built once: SQLAlchemy then skips building and keying them per call.
_ADD = payments.insert()
_BY_ID = select(payments).where(payments.c.payment_id == bindparam("key"))
_BY_RESERVATION = select(payments).where(payments.c.reservation_id == bindparam("key"))
_SET_STATUS = payments.update().where(payments.c.payment_id == bindparam("key"))


def add(conn: Connection, payment: Payment) -> None:
    conn.execute(_ADD, {**payment.__dict__, "created_at": now()})


def set_status(conn: Connection, payment: Payment) -> None:
    conn.execute(_SET_STATUS, {"status": payment.status, "key": payment.payment_id})


def _one(conn: Connection, query: Select, key: str) -> tuple[Payment, str] | None:
    row = conn.execute(query, {"key": key}).mappings().first()
    return (Payment(**{k: row[k] for k in FIELDS}), stamp(row["created_at"])) if row else None


def by_id(conn: Connection, payment_id: str) -> tuple[Payment, str] | None:
    return _one(conn, _BY_ID, payment_id)


def by_reservation(conn: Connection, reservation_id: str) -> tuple[Payment, str] | None:
    return _one(conn, _BY_RESERVATION, reservation_id)


def listing(conn: Connection, guest_id: str, reservation_id: str, limit: int, offset: int) -> list[tuple[Payment, str]]:
    query = select(payments).order_by(payments.c.created_at, payments.c.payment_id).limit(limit).offset(offset)
    if guest_id:
        query = query.where(payments.c.guest_id == guest_id)
    if reservation_id:
        query = query.where(payments.c.reservation_id == reservation_id)
    return [(Payment(**{k: r[k] for k in FIELDS}), stamp(r["created_at"])) for r in conn.execute(query).mappings()]
