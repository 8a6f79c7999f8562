"""Input at the boundary (web API, JSON API, CLI): checked here, answered with a clear error that names the field.

Item positions are whole numbers from 1 (NaN, Infinity, booleans, fractions, strings and huge values are refused,
never rounded or guessed); stars are whole numbers from 1 to 5; every string that may be echoed back is cut to
`MAX_ECHO` characters.
"""
from __future__ import annotations

import math

from chatrec.errors import InputError

MAX_ECHO = 200
MAX_POSITION = 1000  # far beyond any list the app shows (at most 10 cards)


def show(value) -> str:
    """A value as an error message may quote it: its repr, bounded."""
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


def whole_number(value, field: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(field, f"expected a whole number from {lo} to {hi}, got {show(value)}")
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        raise InputError(field, f"expected a whole number from {lo} to {hi}, got {show(value)}")
    if not lo <= value <= hi:
        raise InputError(field, f"expected a whole number from {lo} to {hi}, got {show(value)}")
    return int(value)


def position(value, field: str = "position") -> int:
    """A 1-based item position (whether the last list has that many items is the session's to say)."""
    return whole_number(value, field, 1, MAX_POSITION)


def optional_position(value, field: str = "position") -> int | None:
    return None if value is None or value == "" else position(value, field)


def stars(value, field: str = "stars") -> int:
    return whole_number(value, field, 1, 5)


def text(value, field: str, limit: int = MAX_ECHO) -> str:
    """A short string argument (a feedback kind, a critique name): a string, at most `limit` characters."""
    if not isinstance(value, str):
        raise InputError(field, f"expected text, got {show(value)}")
    if len(value) > limit:
        raise InputError(field, f"at most {limit} characters, got {len(value)}")
    return value


def bounded(value, limit: int = MAX_ECHO) -> str:
    value = str(value)
    return value if len(value) <= limit else value[:limit] + "…"
