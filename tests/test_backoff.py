"""svckit.backoff.with_backoff: the relays' retrying, tried once plainly and only then with tenacity."""

from __future__ import annotations

import asyncio
import logging

import pytest

from svckit.backoff import with_backoff

LOG = logging.getLogger("test.backoff")


class Away(Exception):
    pass


class Flaky:
    """Raises `failures` times (Away), then returns how many calls it took."""

    def __init__(self, failures: int, error: type[Exception] = Away) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    async def __call__(self) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"away {self.calls}")
        return self.calls


def test_a_first_success_is_returned_without_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    flaky = Flaky(0)
    assert asyncio.run(with_backoff(flaky, Away, (0.001, 0.01), LOG)) == 1
    assert [r for r in caplog.records if r.name == LOG.name] == []


def test_each_failure_is_warned_of_and_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    flaky = Flaky(3)
    with caplog.at_level(logging.WARNING, LOG.name):
        assert asyncio.run(with_backoff(flaky, Away, (0.02, 0.02), LOG)) == 4
    assert [r.getMessage() for r in caplog.records if r.name == LOG.name] == [f"away {n}; retrying" for n in (1, 2, 3)]


def test_the_first_backoff_is_the_first_try_s(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tenacity numbers the retrying from the first try: the waits grow from the scale as they did before."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)  # what tenacity's waits call
    monkeypatch.setattr("random.uniform", lambda low, high: high)  # the longest wait of each attempt
    assert asyncio.run(with_backoff(Flaky(3), Away, (1.0, 60.0), LOG)) == 4
    assert waits == [1.0, 2.0, 4.0]


def test_another_error_is_raised_at_once() -> None:
    flaky = Flaky(1, error=ValueError)
    with pytest.raises(ValueError, match="away 1"):
        asyncio.run(with_backoff(flaky, Away, (0.001, 0.01), LOG))
    assert flaky.calls == 1
