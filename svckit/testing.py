"""Fakes of svckit for the contexts' unit tests: a unit of work in memory, whose repositories a test adds."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self, TypeVar

from svckit.idempotency import Key

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")
# The base of a test double of a third-party type (a gRPC servicer context, a JetStream context): typed as Any,
# so that the double is taken where that type is, while its own code is checked; a plain object at run time.
StandIn: Any = object


class FakeKeys:
    """Idempotency keys in memory: what each key's work answered (claimed: None), and what was undone."""

    def __init__(self) -> None:
        self.answers: dict[str, object] = {}
        self.undone_refs: list[str] = []

    def claim(self, key: Key | None, ref: str = "") -> None:
        if key is not None:
            self.answers.setdefault(key.value, None)

    def finish(self, key: Key | None, result: object, ref: str = "") -> None:
        if key is not None:
            self.answers[key.value] = result

    def undone(self, ref: str, key: Key | None = None, error: BaseException | None = None) -> None:
        self.undone_refs.append(ref)


class FakeUnitOfWork:
    """A unit of work in memory, and its own maker (`units()` returns it): events are kept once committed.

    A context's fake subclasses it and adds in-memory repositories; they are not rolled back, so a handler
    must (as the real ones do) check before it changes anything.
    """

    def __init__(self) -> None:
        self.keys = FakeKeys()
        self.events: list[DataclassInstance] = []  # committed, in order
        self.commits = 0
        self.locked: list[str] = []
        self._emitted: list[DataclassInstance] = []
        self._after: list[Callable[[], None]] = []

    def __call__(self, *, read_only: bool = False) -> Self:
        return self

    def __enter__(self) -> Self:
        self._emitted, self._after = [], []
        return self

    def __exit__(self, *exc: object) -> None:
        self._emitted, self._after = [], []

    def lock(self, key: str) -> None:
        self.locked.append(key)

    def emit(self, event: DataclassInstance, *, aggregate_id: str) -> None:
        self._emitted.append(event)

    def after_commit(self, callback: Callable[[], None]) -> None:
        if callback not in self._after:
            self._after.append(callback)

    def commit(self) -> None:
        self.commits += 1
        self.events += self._emitted
        callbacks, self._emitted, self._after = self._after, [], []
        for callback in callbacks:
            callback()


class Inline:
    """Runs a handler's blocking work inline, as svckit.db.Database does for SQLite (a svckit.uow.Runner)."""

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)
