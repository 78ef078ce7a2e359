"""Page tokens: an opaque offset, checked; pages of at most MAX_PAGE_SIZE items."""

from __future__ import annotations

import base64
from collections.abc import Sized
from dataclasses import dataclass
from typing import Protocol

DEFAULT_PAGE_SIZE = 50
# With every text at its longest, 100 items stay within the edge's reply buffer (tests/test_largest_page.py).
MAX_PAGE_SIZE = 100
_MAX_OFFSET_DIGITS = 9


class BadPageToken(ValueError):
    """The page token was not one we issued."""


def page(page_size: int, page_token: str) -> tuple[int, int]:
    """(limit, offset) for a request's page_size (clamped to MAX_PAGE_SIZE) and page_token."""
    if page_size < 0:
        raise BadPageToken("page_size must not be negative")
    limit = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    if not page_token:
        return limit, 0
    try:
        offset = base64.urlsafe_b64decode(page_token.encode()).decode()
    except ValueError:
        offset = ""
    # Only a token next_token made: a plain number, spelled exactly so (a forged one can hold anything).
    issued = offset.isascii() and offset.isdigit() and len(offset) <= _MAX_OFFSET_DIGITS
    if not issued or _token(offset) != page_token:
        raise BadPageToken("invalid page_token: send the next_page_token of the page before")
    return limit, int(offset)


def _token(offset: str) -> str:
    return base64.urlsafe_b64encode(offset.encode()).decode()


def next_token(limit: int, offset: int, returned: int) -> str:
    """The token of the next page, or '' when this one was the last."""
    if returned < limit:
        return ""
    return _token(str(offset + limit))


class PageRequest(Protocol):
    """A List* request: every one has these two fields."""

    @property
    def page_size(self) -> int: ...
    @property
    def page_token(self) -> str: ...


@dataclass(frozen=True)
class Page:
    """The page a List* request asks for, as a servicer uses it: `limit` and `offset` to query, `next_token`."""

    limit: int
    offset: int

    @classmethod
    def of(cls, request: PageRequest) -> Page:
        """BadPageToken unless the request's page_size and page_token are ones we accept."""
        return cls(*page(request.page_size, request.page_token))

    def next_token(self, found: Sized) -> str:
        """The next page's token, given what this page found."""
        return next_token(self.limit, self.offset, len(found))
