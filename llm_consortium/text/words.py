"""Counts in words, the same way in every message, table and page: `1 round`,
`2 rounds`, `12,345 tokens`, `consortiums 'a', 'b'`, and `?` for a count nobody
reported (never 0, which would claim a measurement)."""

from __future__ import annotations

import math
from collections.abc import Sequence

UNKNOWN = "?"


def noun_for(count: int, noun: str, nouns: str | None = None) -> str:
    """The word alone for `count` things: `round` for 1, `rounds` for any other
    count; `nouns` for an irregular plural."""
    return noun if count == 1 else (nouns or noun + "s")


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 round`, `2 rounds`, `0 rounds`; `nouns` for an irregular plural."""
    return f"{count:,} {noun_for(count, noun, nouns)}"


def naming(noun: str, names: Sequence[str]) -> str:
    """Things named: `consortium 'a'`, `consortiums 'a', 'b'`."""
    return f"{noun_for(len(names), noun)} {', '.join(repr(name) for name in names)}"


def says_no(value: str) -> bool:
    """Whether a setting's word turns something off: `0`, `false`, `no` or `off`, in
    any case, spaces ignored (environment switches)."""
    return value.strip().lower() in ("0", "false", "no", "off")


def number(value: object) -> str:
    """A count with thousands separators, `?` when it is unknown (None or not a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return UNKNOWN
    return f"{value:,}" if isinstance(value, int) else f"{value:,.0f}"


def dollars(value: float | None) -> str:
    """US dollars with enough digits to mean something: `$1,234.50`, `$0.42`,
    `$0.000012` (a cheap call is not shown as `$0.0000`), `-` when unknown."""
    if value is None:
        return "-"
    if value == 0:
        return "$0"
    if abs(value) >= 10:
        return f"${value:,.2f}"
    decimals = max(2, 2 - math.floor(math.log10(abs(value))))  # three significant digits
    if decimals > 12:
        return f"${value:.2e}"
    whole, _, fraction = f"{value:.{decimals}f}".partition(".")
    return f"${whole}.{fraction.rstrip('0').ljust(2, '0')}"
