"""The one number grammar: what a number is in a reply, and its value, bounded.

The vote (`conclusions`), the arbiter's confidence (`grammar.parse_confidence`) and
eval's `number` scorer read numbers with this one grammar, so "1,200" is 1200 and
"0,85" is 0.85 wherever it is read:

* digits with an optional sign (`-`, `+`, `−`), decimal point or decimal comma, and
  exponent (`5e-1`);
* a comma between groups of exactly three digits is a thousands separator when the
  first group does not start with 0 (`1,200` and `12,345,678`); any other comma
  followed by digits is a decimal comma (`0,85`, `3,5`).

A token is at most `MAX_CHARS` long: a reply of a million digits or an exponent of
a million (`1e1000000`) is no comparable number, and reading it must neither raise
nor build a huge string. `canonical` writes a value in one form, plain for ordinary
magnitudes and `d.ddde±n` beyond them, so equal values compare equal as strings.

Number words ("eight", "twenty-one", "one hundred and five") are read by
`spelled`, a few words at most, so their value stays small.

Standard library only; every function is linear in its input.
"""

from __future__ import annotations

import re

__all__ = ["MAX_CHARS", "PATTERN", "canonical", "find", "spelled", "to_float"]

MAX_CHARS = 100
"""The longest token read as a number; longer ones are text."""

_PLAIN_DIGITS = 40
"""Values whose digits and zeros fit in this many characters are written plainly."""

_INTEGER = r"(?:[1-9]\d{0,2}(?:,\d{3})+(?![\d])|\d+)"
PATTERN = (
    r"(?<![\w.])(?<!\d,)[-+−]?(?:" + _INTEGER + r"(?:[.,]\d+(?!,?\d))?|\.\d+)(?:[eE][-+]?\d+(?!\w))?"
)
"""A number token, for use inside other patterns (no groups of its own)."""

_NUMBER_RE = re.compile(PATTERN)
_PARTS_RE = re.compile(
    r"(?P<sign>[-+−]?)(?P<int>[1-9]\d{0,2}(?:,\d{3})+(?!\d)|\d*)(?:[.,](?P<frac>\d+))?(?:[eE](?P<exp>[-+]?\d+))?"
)


def canonical(token: str) -> str | None:
    """A number token in one form ("1,200.50" -> "1200.5", "12.0" -> "12",
    "−3" -> "-3", "1e1000000" -> "1e1000000"); None when it is no number or longer
    than MAX_CHARS. Never raises, never writes more than 2 * MAX_CHARS characters."""
    token = token.strip()
    if not token or len(token) > MAX_CHARS:
        return None
    parts = _PARTS_RE.fullmatch(token)
    if parts is None or not (parts["int"] or parts["frac"]):
        return None
    whole, frac = parts["int"].replace(",", ""), parts["frac"] or ""
    point = int(parts["exp"] or 0) - len(frac)  # value = int(whole + frac) * 10**point
    digits = (whole + frac).lstrip("0")
    if not digits:
        return "0"
    kept = digits.rstrip("0")
    point += len(digits) - len(kept)
    sign = "-" if parts["sign"] in ("-", "−") else ""
    if point >= 0 and len(kept) + point <= _PLAIN_DIGITS:
        return sign + kept + "0" * point
    if -_PLAIN_DIGITS <= point < 0:
        places = -point
        if places >= len(kept):
            return sign + "0." + "0" * (places - len(kept)) + kept
        return sign + kept[:-places] + "." + kept[-places:]
    mantissa = kept[0] + ("." + kept[1:] if len(kept) > 1 else "")
    return f"{sign}{mantissa}e{point + len(kept) - 1}"


def find(text: str) -> list[str]:
    """Every number token in `text`, in order, canonical (over-long ones left out)."""
    found = (canonical(m.group(0)) for m in _NUMBER_RE.finditer(text))
    return [n for n in found if n is not None]


def to_float(token: str) -> float | None:
    """A number token's value as a float (inf beyond float's range), None when it is
    no number by this grammar."""
    value = canonical(token)
    if value is not None:
        return float(value)
    if _PARTS_RE.fullmatch(token.strip()) is None or len(token) > 100 * MAX_CHARS:
        return None
    try:  # over-long for a canonical form, still a magnitude ("9" * 400 is inf)
        return float(token.strip().replace(",", "").replace("−", "-"))
    except ValueError:
        return None


_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
UNIT_WORDS = {w: n for n, w in enumerate(f"{_ONES} seventeen eighteen nineteen".split())} | {
    w: 10 * n for n, w in enumerate(["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"], 2)
}
SCALES = {"dozen": 12, "thousand": 1000, "million": 10**6, "billion": 10**9, "trillion": 10**12}
NUMBER_WORDS = frozenset([*UNIT_WORDS, "hundred", *SCALES])
_MOST_NUMBER_WORDS = 8


def spelled(words: list[str]) -> str | None:
    """The value of a run made only of number words, case-folded ("twenty", "one",
    "hundred", "and", "five"), else None. "and" is allowed only after "hundred" or a
    scale ("three and two" is two numbers); at most a few words."""
    if any(w == "and" and (i == 0 or words[i - 1] not in ("hundred", *SCALES)) for i, w in enumerate(words)):
        return None
    words = [w for w in words if w != "and"]
    if not words or len(words) > _MOST_NUMBER_WORDS:
        return None
    total = current = 0
    for word in words:
        if word in UNIT_WORDS:
            current += UNIT_WORDS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in SCALES:
            total += (current or 1) * SCALES[word]
            current = 0
        else:
            return None
    return str(total + current)
