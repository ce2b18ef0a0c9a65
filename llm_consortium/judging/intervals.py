"""A set of numbers given as an interval, an inequality or an inclusive range, in
one form.

"[2, 5]", "2 ≤ x ≤ 5", "5 ≥ x ≥ 2" and "from 2 to 5, inclusive" are "[2,5]"; "x < 4",
"(-∞, 4)" and "less than 4" are "(-∞,4)"; "x < 2 or x > 3" is "(-∞,2)∪(3,∞)", and so
is "x ≠ 2" with 2 for 3. Which ends are
included is part of the value: "x ≥ 2" and "x > 2", "[0, ∞)" and "(0, ∞)" stay
apart. An end is a number or a short expression written as it stands ("-π/2").
A range with no word on its ends ("from 2 to 5", "between 7 and 8") is no interval:
`quantities` reads it as a range, and the two never meet.

Standard library only; reads a few tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import numbers
from .tokens import Token

__all__ = ["read"]

_LESS = {"<": False, "≤": True, "⩽": True}
_WORDED = {  # "greater than or equal to 2", "at least 2": (lower end?, closed?)
    ("greater", "than", "or", "equal", "to"): (True, True), ("more", "than", "or", "equal", "to"): (True, True),
    ("less", "than", "or", "equal", "to"): (False, True), ("greater", "than"): (True, False),
    ("more", "than"): (True, False), ("less", "than"): (False, False), ("at", "least"): (True, True),
    ("at", "most"): (False, True), ("no", "less", "than"): (True, True), ("no", "more", "than"): (False, True),
}
_LEADING = frozenset({"the", "open", "closed", "interval", "set", "all", "any", "real", "numbers", "values", "x", "y"})
_MORE = {">": False, "≥": True, "⩾": True}
_INFINITE = {"∞": "∞", "inf": "∞", "infinity": "∞"}
_END_TOKENS = frozenset({"π", "pi", "/", "√", "e", "-", "−", "+"})
_LONGEST_END = 6
_LONGEST_NAME = 3
_UNION = frozenset({"or", "∪", "u"})
_MEMBER = frozenset({"∈", "in"})
_INCLUSIVE = {"inclusive": True, "exclusive": False}


def _joined(ts: Sequence[Token]) -> list[Token]:
    """"<" and "=" written together as "≤" (and ">=" as "≥")."""
    out: list[Token] = []
    for t in ts:
        if t.fold == "=" and t.glued and out and out[-1].fold in ("<", ">"):
            out[-1] = Token("sym", out[-1].raw + "=", "≤" if out[-1].fold == "<" else "≥", out[-1].glued)
        else:
            out.append(t)
    return out


def _end(ts: Sequence[Token]) -> str | None:
    """A number, ±∞ or a short expression ("-π/2"), written in one form."""
    if not ts or len(ts) > _LONGEST_END:
        return None
    sign = ""
    if len(ts) > 1 and ts[0].fold in ("-", "−", "+"):
        sign, ts = ("-" if ts[0].fold != "+" else ""), ts[1:]
    if len(ts) == 1 and ts[0].fold in _INFINITE:
        return sign + "∞"
    if len(ts) == 1 and ts[0].kind == "num":
        value = numbers.canonical(ts[0].raw)
        if value is None:
            return None
        return value.removeprefix("-") if sign and value.startswith("-") else sign + value
    if not all(t.kind == "num" or t.fold in _END_TOKENS for t in ts):
        return None
    return sign + "".join("π" if t.fold == "pi" else t.raw.replace("−", "-") for t in ts)


def _value(low: str, high: str, closed_low: bool, closed_high: bool) -> str | None:
    """The interval's form, None when its ends do not run upwards."""
    if low == high or low == "∞" or high == "-∞":
        return None
    a, b = numbers.to_float(low), numbers.to_float(high)
    if a is not None and b is not None and a >= b:
        return None
    left = "[" if closed_low and low != "-∞" else "("
    right = "]" if closed_high and high != "∞" else ")"
    return f"{left}{low},{high}{right}"


def _name(ts: Sequence[Token]) -> bool:
    """A variable: a few words, no number ("x", "sin x"), or a root ("√20")."""
    if len(ts) == 2 and ts[0].fold == "√" and ts[1].kind == "num":
        return True
    return 0 < len(ts) <= _LONGEST_NAME and all(t.kind == "word" and t.fold not in _UNION for t in ts)


def _worded(ts: Sequence[Token]) -> str | None:
    """"(all x) greater than or equal to 2", "at least 2", "x ≠ 0"."""
    i = 0
    while i < len(ts) and ts[i].fold in _LEADING:
        i += 1
    if len(ts) - i == 2 and ts[i].fold == "≠":
        end = _end(ts[i + 1 :])
        return f"(-∞,{end})∪({end},∞)" if end is not None and end not in ("∞", "-∞") else None
    words = tuple(t.fold for t in ts[i:])
    for phrase, (lower, closed) in _WORDED.items():
        if words[: len(phrase)] == phrase:
            end = _end(ts[i + len(phrase) :])
            if end is None:
                return None
            return _value(end, "∞", closed, False) if lower else _value("-∞", end, False, closed)
    return None


def _split(ts: Sequence[Token], signs: dict[str, bool]) -> list[int]:
    return [i for i, t in enumerate(ts) if t.fold in signs]


def _inequality(ts: Sequence[Token]) -> str | None:
    """"2 ≤ x ≤ 5", "x < 4", "4 > x", "< 4" (the variable already read off)."""
    less, more = _split(ts, _LESS), _split(ts, _MORE)
    if less and more:
        return None
    signs = _LESS if less else _MORE
    at = less or more
    if len(at) == 2:
        i, j = at
        low, high = _end(ts[:i]), _end(ts[j + 1 :])
        if not _name(ts[i + 1 : j]) or low is None or high is None:
            return None
        if signs is _MORE:
            low, high = high, low
            return _value(low, high, signs[ts[j].fold], signs[ts[i].fold])
        return _value(low, high, signs[ts[i].fold], signs[ts[j].fold])
    if len(at) != 1:
        return None
    i = at[0]
    left, right = ts[:i], ts[i + 1 :]
    upper = signs is _LESS  # "x < 4": 4 is the upper end
    if not left or _name(left):
        end = _end(right)
    elif _name(right):
        end, upper = _end(left), not upper  # "4 > x"
    else:
        return None
    if end is None:
        return None
    closed = signs[ts[i].fold]
    return _value("-∞", end, False, closed) if upper else _value(end, "∞", closed, False)


def _notation(ts: Sequence[Token]) -> str | None:
    """"[2, 5]", "(-∞, 4)", "[0, ∞)"."""
    if len(ts) < 5 or ts[0].fold not in "[(" or ts[-1].fold not in "])":
        return None
    commas = [i for i, t in enumerate(ts) if t.fold == ","]
    if len(commas) != 1:
        return None
    low, high = _end(ts[1 : commas[0]]), _end(ts[commas[0] + 1 : -1])
    if low is None or high is None:
        return None
    return _value(low, high, ts[0].fold == "[", ts[-1].fold == "]")


def _inclusive(ts: Sequence[Token]) -> str | None:
    """"from 2 to 5, inclusive", "between 0 and 1 inclusive"."""
    words = [t for t in ts if t.fold != ","]
    if len(words) < 4 or words[-1].fold not in _INCLUSIVE:
        return None
    closed = _INCLUSIVE[words[-1].fold]
    words = words[1:-1] if words[0].fold in ("from", "between") else words[:-1]
    joins = [i for i, t in enumerate(words) if t.fold in ("to", "and", "–", "-")]
    if len(joins) != 1:
        return None
    low, high = _end(words[: joins[0]]), _end(words[joins[0] + 1 :])
    if low is None or high is None:
        return None
    return _value(low, high, closed, closed)


def _one(ts: Sequence[Token], notation: bool) -> str | None:
    if len(ts) > 2 and _name(ts[:1]) and ts[1].fold in _MEMBER:  # "x ∈ [2, 5]"
        ts = ts[2:]
    elif ts and ts[0].fold in _MEMBER:
        ts = ts[1:]
    while len(ts) > 1 and ts[0].fold in _LEADING - {"x", "y"}:  # "the open interval (−1, 5)"
        ts = ts[1:]
    return (_notation(ts) if notation else None) or _inequality(ts) or _inclusive(ts) or _worded(ts)


def read(ts: Sequence[Token], notation: bool = True) -> str | None:
    """The interval (or union of two) the tokens are, in one form, else None;
    `notation`: brackets may be an interval (not in a list a program prints)."""
    ts = _joined([t for t in ts if t.fold not in ("*", "_", "`", "$")])
    if not ts or len(ts) > 4 * _LONGEST_END:
        return None
    unions = [i for i, t in enumerate(ts) if t.fold in _UNION and not (i + 1 < len(ts) and ts[i + 1].fold == "equal")]
    if len(unions) > 1:
        return None
    if unions:
        first, second = _one(ts[: unions[0]], notation), _one(ts[unions[0] + 1 :], notation)
        if first is None or second is None:
            return None
        return "∪".join(sorted((first, second)))
    return _one(ts, notation)
