"""Page tokens: an opaque offset, checked."""

from __future__ import annotations

import base64

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class BadPageToken(ValueError):
    """The page token was not one we issued."""


def page(page_size: int, page_token: str) -> tuple[int, int]:
    """(limit, offset) for a request's page_size and page_token."""
    if page_size < 0:
        raise BadPageToken("page_size must not be negative")
    limit = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    if not page_token:
        return limit, 0
    try:
        offset = int(base64.urlsafe_b64decode(page_token.encode()).decode())
    except ValueError:
        raise BadPageToken(f"invalid page_token {page_token!r}") from None
    if offset < 0:
        raise BadPageToken(f"invalid page_token {page_token!r}")
    return limit, offset


def next_token(limit: int, offset: int, returned: int) -> str:
    """The token of the next page, or '' when this one was the last."""
    if returned < limit:
        return ""
    return base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
