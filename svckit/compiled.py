"""Compiled statements: a Core statement rendered once by SQLAlchemy, then run on the driver's own cursor.

A Core `conn.execute` costs 20-35 µs of Python besides the driver's own work (an SQLite lookup by key is about
2 µs, psycopg's call about 17 µs): the compiled-cache lookup, an execution context, a result object. For a
statement built once at import, all of that is the same every time but the values. So SQLAlchemy renders it once
per dialect and set of value names (as its own cache would) and gives the conversions of its types (the bind and
result processors); each run then only converts the values and calls the cursor, inside the transaction (the
driver's, begun by svckit.uow, or the Connection's). A connection lost meanwhile is invalidated as Core would
invalidate it (svckit.db then takes a new one for the next transaction), and the error is SQLAlchemy's.

On PostgreSQL, two meshes taking turns (16 rounds of 300 sagas at c=32): 0.72 of Core's CPU per saga (paired
median; 13.1 against 19.4 ms on the scheduler's clock), 1.23 times its sagas/s. What cannot be rendered once
(expanding IN lists, defaults computed in Python) goes through `conn.execute` as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Delete, Insert, Select, Update
from sqlalchemy.sql.compiler import SQLCompiler

Params = Mapping[str, Any]
Row = dict[str, Any]
Processor = Callable[[Any], Any] | None
NONE: Params = MappingProxyType({})
Statement = Select[Any] | Insert | Update | Delete


@dataclass(frozen=True)
class _Rendered:
    sql: str
    names: tuple[str, ...]  # the values' names, in the order of the SQL's placeholders (or any, when named)
    named: bool  # the driver takes a dict (PostgreSQL's psycopg: %(name)s), else a list (SQLite: ?)
    fixed: dict[str, Any]  # values the statement itself holds (literals in a WHERE, a LIMIT)
    binds: tuple[Processor, ...]  # per placeholder
    columns: tuple[str, ...]  # a query's result keys
    results: tuple[Processor, ...]  # per result column

    def values(self, params: Params) -> list[Any] | dict[str, Any]:
        fixed = self.fixed
        values = [
            p(v) if p is not None and v is not None else v
            for n, p in zip(self.names, self.binds, strict=True)
            for v in (params[n] if n in params else fixed[n],)
        ]
        return dict(zip(self.names, values, strict=True)) if self.named else values

    def row(self, found: Sequence[Any]) -> Row:
        return {c: v if p is None else p(v) for c, v, p in zip(self.columns, found, self.results, strict=True)}


def _render(statement: Statement, dialect: Dialect, keys: Sequence[str]) -> _Rendered | None:
    """What running `statement` with values named `keys` needs, or None when it cannot be rendered once."""
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    assert isinstance(compiled, SQLCompiler)
    if compiled.insert_prefetch or compiled.update_prefetch or compiled.literal_execute_params:
        return None  # defaults computed per row in Python: SQLAlchemy's execution context does that
    if any(bind.expanding for bind in compiled.bind_names) or compiled.escaped_bind_names:
        return None  # an IN list: rendered anew for each length; names the driver could not take as they are
    named = not compiled.positional
    names = tuple(compiled.bind_names.values()) if named else tuple(compiled.positiontup or ())
    processors = {
        name: bind.type.dialect_impl(dialect).bind_processor(dialect) for bind, name in compiled.bind_names.items()
    }
    selected = getattr(statement, "selected_columns", None)
    columns = tuple(selected.keys()) if selected is not None else ()
    results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in selected or ())
    fixed = dict(compiled.construct_params(_check=False))
    return _Rendered(compiled.string, names, named, fixed, tuple(processors.get(n) for n in names), columns, results)


class Compiled:
    """A statement built once (at import), run with `conn`'s transaction; results as plain dicts."""

    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        self._rendered: dict[tuple[str, ...], _Rendered | None] = {}

    def _for(self, conn: Connection, params: Params) -> _Rendered | None:
        keys = (conn.dialect.name, *params)
        if keys not in self._rendered:
            self._rendered[keys] = _render(self.statement, conn.dialect, keys[1:])
        return self._rendered[keys]

    def _cursor(self, conn: Connection, rendered: _Rendered, params: Params | Sequence[Params]) -> Any:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None  # kept or borrowed for a transaction: checked out
        if not getattr(dbapi, "in_transaction", False) and not conn.in_transaction():  # SQLite's: the driver's BEGIN
            conn.begin()  # as Core's autobegin would: the engine's BEGIN (svckit.db) runs
        cursor = dbapi.cursor()
        try:
            if isinstance(params, Mapping):
                cursor.execute(rendered.sql, rendered.values(params))
            else:
                rows: list[Any] = [rendered.values(p) for p in params]  # all lists, or all dicts
                cursor.executemany(rendered.sql, rows)
        except conn.dialect.loaded_dbapi.Error as exc:
            lost = conn.dialect.is_disconnect(exc, dbapi, cursor)
            if lost:  # as Core would: the connection is dropped, the next transaction takes a new one (svckit.db)
                conn.invalidate(exc)
            raise DBAPIError.instance(
                rendered.sql, params, exc, conn.dialect.loaded_dbapi.Error, connection_invalidated=lost
            ) from exc
        return cursor

    def run(self, conn: Connection, params: Params | Sequence[Params] = NONE) -> int:
        """Execute (many, given a list of values); the rows it changed, as the driver counts them (-1: not counted)."""
        first = params if isinstance(params, Mapping) else (params[0] if params else NONE)
        if (rendered := self._for(conn, first)) is None:
            return int(conn.execute(self.statement, params).rowcount)
        return int(self._cursor(conn, rendered, params).rowcount)

    def rows(self, conn: Connection, params: Params = NONE) -> list[Row]:
        if (rendered := self._for(conn, params)) is None:
            return [dict(row) for row in conn.execute(self.statement, params).mappings()]
        return [rendered.row(found) for found in self._cursor(conn, rendered, params).fetchall()]

    def first(self, conn: Connection, params: Params = NONE) -> Row | None:
        if (rendered := self._for(conn, params)) is None:
            row = conn.execute(self.statement, params).mappings().first()
            return dict(row) if row is not None else None
        found = self._cursor(conn, rendered, params).fetchone()
        return rendered.row(found) if found is not None else None

    def scalar(self, conn: Connection, params: Params = NONE) -> Any:
        """The first column of the first row (None without one)."""
        row = self.first(conn, params)
        return next(iter(row.values())) if row is not None else None
