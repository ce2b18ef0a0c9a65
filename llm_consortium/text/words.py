"""Counts in words, the same way in every message, table and page: `1 round`,
`2 rounds`, `12,345 tokens`, and `?` for a count nobody reported (never 0, which
would claim a measurement)."""

from __future__ import annotations

UNKNOWN = "?"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 round`, `2 rounds`, `0 rounds`; `nouns` for an irregular plural."""
    word = noun if count == 1 else (nouns or noun + "s")
    return f"{count:,} {word}"


def says_no(value: str) -> bool:
    """Whether a setting's word turns something off: `0`, `false`, `no` or `off`, in
    any case, spaces ignored (environment switches)."""
    return value.strip().lower() in ("0", "false", "no", "off")


def number(value: object) -> str:
    """A count with thousands separators, `?` when it is unknown (None or not a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return UNKNOWN
    return f"{value:,}" if isinstance(value, int) else f"{value:,.0f}"
