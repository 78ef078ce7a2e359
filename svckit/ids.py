"""Ids in requests and tokens: 1 to 64 printable ASCII characters, no spaces; checked before any lookup or write."""

from __future__ import annotations

MAX_ID_LENGTH = 64
# ASCII: an id travels in gRPC metadata (x-bnb-subject on the saga's internal calls), whose values must be ASCII.
_ID_CHARACTERS = frozenset(chr(c) for c in range(0x21, 0x7F))


class InvalidId(ValueError):
    """An id is missing where one is required, too long, or holds anything but printable ASCII (or a space)."""


def is_id(value: str) -> bool:
    """Whether `value` could name a room, a reservation, a payment, a guest or a host."""
    return 0 < len(value) <= MAX_ID_LENGTH and _ID_CHARACTERS.issuperset(value)


def check_id(field: str, value: str, required: bool = False) -> str:
    """`value` when it is an id (or empty and not `required`); InvalidId naming `field` otherwise.

    The message never repeats the value: it may be 60 KiB long or hold a NUL byte.
    """
    if not value and not required:
        return value
    if not value:
        raise InvalidId(f"{field} is required")
    if not is_id(value):
        raise InvalidId(f"{field} must be an id of at most {MAX_ID_LENGTH} printable ASCII characters without spaces")
    return value
