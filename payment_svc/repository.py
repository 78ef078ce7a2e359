"""The payments table and its repository; one payment per reservation, enforced by a unique key."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Connection, MetaData, String, Table, bindparam, select

from payment_svc.domain import Payment
from svckit.compiled import Compiled
from svckit.tables import UtcDateTime

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
    Column("created_at", UtcDateTime(), nullable=False),
)

# Compiled once (svckit.compiled).
_ADD = Compiled(payments.insert())
_BY_ID = Compiled(select(payments).where(payments.c.payment_id == bindparam("key")))
_BY_RESERVATION = Compiled(select(payments).where(payments.c.reservation_id == bindparam("key")))
_SET_STATUS = Compiled(payments.update().where(payments.c.payment_id == bindparam("key")))


class SqlPayments:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, payment: Payment) -> None:
        _ADD.run(self.conn, vars(payment))

    def set_status(self, payment: Payment) -> None:
        _SET_STATUS.run(self.conn, {"status": payment.status, "key": payment.payment_id})

    def _one(self, query: Compiled, key: str) -> Payment | None:
        row = query.first(self.conn, {"key": key})
        return Payment(**row) if row else None

    def by_id(self, payment_id: str) -> Payment | None:
        return self._one(_BY_ID, payment_id)

    def by_reservation(self, reservation_id: str) -> Payment | None:
        return self._one(_BY_RESERVATION, reservation_id)

    def listing(self, guest_id: str, reservation_id: str, limit: int, offset: int) -> list[Payment]:
        query = select(payments).order_by(payments.c.created_at, payments.c.payment_id).limit(limit).offset(offset)
        if guest_id:
            query = query.where(payments.c.guest_id == guest_id)
        if reservation_id:
            query = query.where(payments.c.reservation_id == reservation_id)
        return [Payment(**row) for row in self.conn.execute(query).mappings()]
