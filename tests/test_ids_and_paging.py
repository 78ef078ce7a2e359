"""svckit's request bounds: what an id may be, and which page sizes and tokens a listing takes."""

from __future__ import annotations

import base64
import time
import uuid

import pytest

from svckit.ids import InvalidId, check_id, is_id, new_id
from svckit.paging import MAX_PAGE_SIZE, BadPageToken, next_token, page

ID_RULE = "must be an id of at most 64 printable ASCII characters without spaces"


@pytest.mark.parametrize(
    "value", ["g1", "3f1c2e9a-0b1d-4c8e-9f00-1a2b3c4d5e6f", "x" * 64, "../../etc/passwd", "<b>&'\"", "a|b;c%00"]
)
def test_ids_may_hold_any_printable_ascii_character(value: str) -> None:
    assert check_id("room_id", value, required=True) == value


@pytest.mark.parametrize(
    "value", ["x" * 65, "x" * 10_000, "nul\x00", "a b", "tab\there", "line\n", "del\x7f", "방-1", "🙂", "nbsp\u00a0"]
)
def test_other_ids_are_refused_without_repeating_them(value: str) -> None:
    with pytest.raises(InvalidId) as refused:
        check_id("host_id", value)
    assert str(refused.value) == f"host_id {ID_RULE}"


def test_an_empty_id_is_refused_only_where_one_is_required() -> None:
    assert check_id("room_id", "") == ""
    with pytest.raises(InvalidId, match=r"^room_id is required$"):
        check_id("room_id", "", required=True)


def test_page_size_is_clamped_to_100_and_defaults_to_50() -> None:
    assert MAX_PAGE_SIZE == 100
    assert page(0, "") == (50, 0)
    assert page(7, "") == (7, 0)
    assert page(2**31 - 1, "") == (100, 0)
    with pytest.raises(BadPageToken, match=r"^page_size must not be negative$"):
        page(-1, "")


def test_tokens_we_issue_walk_on() -> None:
    token = next_token(100, 200, 100)
    assert page(100, token) == (100, 300)
    assert next_token(100, 200, 99) == ""


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "token",
    ["%%%", "!!nope", _b64("-5"), _b64("abc"), _b64("1e3"), _b64(" 5"), _b64("1_0"), _b64("٣"), _b64("9" * 30),
     _b64("5").rstrip("="), "방", "x" * 60_000],
)  # fmt: skip
def test_forged_page_tokens_are_refused(token: str) -> None:
    with pytest.raises(BadPageToken) as refused:
        page(10, token)
    assert str(refused.value) == "invalid page_token: send the next_page_token of the page before"


def test_new_ids_are_uuid7_that_sort_by_the_millisecond_they_were_made() -> None:
    before = time.time_ns() // 1_000_000
    first = new_id()
    after = time.time_ns() // 1_000_000
    parsed = uuid.UUID(first)
    assert (parsed.version, parsed.variant, str(parsed)) == (7, uuid.RFC_4122, first)
    assert before <= parsed.int >> 80 <= after and is_id(first)
    while time.time_ns() // 1_000_000 == after:
        pass  # the next millisecond: an id made then sorts after every id made before it
    later = [new_id() for _ in range(10_000)]
    assert min(later) > first and len(set(later)) == len(later)
