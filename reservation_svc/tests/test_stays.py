"""Which stays a guest may ask for: dates as YYYY-MM-DD, from today up to max_days_ahead, at most 365 nights."""

from __future__ import annotations

import datetime as dt

import pytest

from reservation_svc import domain

TODAY = dt.date(2030, 1, 1)
NOW = dt.datetime(2030, 1, 1, 9, tzinfo=dt.UTC)
FULLWIDTH = "\uff12\uff10\uff13\uff11-01-10"  # digits, but not 0-9


def ask(check_in: str, check_out: str, max_days_ahead: int = 730) -> domain.Reservation:
    return domain.request("r1", "room-1", "g1", check_in, check_out, TODAY, max_days_ahead, NOW)


def test_check_in_today_and_on_the_last_day_ahead_are_allowed() -> None:
    assert ask("2030-01-01", "2030-01-02").nights == 1
    last = TODAY + dt.timedelta(days=730)
    assert ask(str(last), str(last + dt.timedelta(days=365))).nights == 365


@pytest.mark.parametrize(
    ("check_in", "check_out", "max_days_ahead", "message"),
    [
        ("2032-01-02", "2032-01-03", 730, "check_in 2032-01-02 is more than 730 days ahead"),
        ("2050-01-01", "2050-01-02", 730, "check_in 2050-01-01 is more than 730 days ahead"),
        ("2030-01-12", "2030-01-13", 10, "check_in 2030-01-12 is more than 10 days ahead"),
        ("2030-02-01", "2031-02-02", 730, "a stay may last at most 365 nights"),
        ("2031-02-30", "2031-03-02", 730, "check_in must be a date YYYY-MM-DD, got '2031-02-30'"),
        ("20310110", "2031-01-12", 730, "check_in must be a date YYYY-MM-DD, got '20310110'"),
        ("2031-W02-1", "2031-01-12", 730, "check_in must be a date YYYY-MM-DD, got '2031-W02-1'"),
        ("2031-01-10", "2031-1-12", 730, "check_out must be a date YYYY-MM-DD, got '2031-1-12'"),
        (FULLWIDTH, "2031-01-12", 730, f"check_in must be a date YYYY-MM-DD, got {FULLWIDTH!r}"),
        ("9" * 40_000, "2031-01-12", 730, "check_in must be a date YYYY-MM-DD"),  # not echoed back
        ("2029-12-31", "2030-01-02", 730, "check_in 2029-12-31 is in the past"),
    ],
)
def test_stays_out_of_bounds_are_refused_with_the_rule_they_break(
    check_in: str, check_out: str, max_days_ahead: int, message: str
) -> None:
    with pytest.raises(domain.InvalidReservation) as refused:
        ask(check_in, check_out, max_days_ahead)
    assert str(refused.value) == message


def test_the_limit_is_the_setting_bnb_max_days_ahead() -> None:
    from reservation_svc.main import ReservationSettings
    from svckit.config import SettingsError

    assert ReservationSettings.from_env({}).max_days_ahead == 730
    assert ReservationSettings.from_env({"BNB_MAX_DAYS_AHEAD": "30"}).max_days_ahead == 30
    with pytest.raises(SettingsError, match="BNB_MAX_DAYS_AHEAD must be >= 1"):
        ReservationSettings.from_env({"BNB_MAX_DAYS_AHEAD": "0"})
