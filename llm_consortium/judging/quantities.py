"""An answer that is one amount: a number with its sign, currency, percent or unit, a
range of two, or a date, written in one comparable form.

"8,849 m" and "8849 metres" are "8849 m"; "Minus five." is "-5"; "0 to 65,535" and
"0–65535" are "0..65535"; "July 20, 1969" and "20 July 1969" are "1969-07-20", "July 4th"
and "4 July" are "--07-04" (a day of the year, never a date with its year). A unit
or currency is part of the value, so "5 km" and "5 miles", "$12" and "€12" stay
different answers; only spellings of one unit meet (the table below). Anything else
in the tokens (a word that is no unit, a second number) and they are no amount:
the caller compares them as text.

Standard library only; linear in the tokens read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from . import estimates, numbers
from .tokens import APPROXIMATE, Token
from .units import FACTORS, UNIT_OF

__all__ = ["ORDINAL_WORDS", "read"]

_LONGEST_UNIT = max(len(a.split()) for a in UNIT_OF)
_CURRENCY = {"$", "€", "£", "¥"}
_SCALE_WORDS = {"thousand": "thousand", "million": "million", "billion": "billion", "trillion": "trillion"}
_SIGN_WORDS = {"minus": "-", "negative": "-", "plus": "", "positive": ""}
_RANGE_WORDS = {"to", "–", "-", "through", "until", "…", "..."}
_MONTHS = {
    name: i
    for i, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
         ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
         ("november", "nov"), ("december", "dec")], 1)
    for name in names
}
_ORDINAL = ("st", "nd", "rd", "th")
_DOTTED_DATE_RE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


def _unit_words(ts: Sequence[Token]) -> list[str]:
    """Unit tokens as compared words, a glued "/" or "°" joined to its neighbours
    ("km", "/", "h" -> "km/h"; "°", "c" -> "°c"); "K" is kelvin, a glued "k" a
    thousand."""
    out: list[str] = []
    for t in ts:
        fold = "kelvin" if t.raw == "K" else t.fold
        if out and t.glued and (fold == "/" or out[-1].endswith(("/", "°", "º"))):
            out[-1] += fold
        else:
            out.append(fold)
    return out


def _unit(words: list[str]) -> str | None:
    """The canonical unit the words spell, "" for none, None when they are no unit."""
    if not words:
        return ""
    if len(words) > _LONGEST_UNIT:
        return None
    return UNIT_OF.get(" ".join(words))


def _power(ts: Sequence[Token]) -> tuple[str | None, int]:
    """A number token with an optional "× 10^n" after it: its canonical value and
    how many tokens it took."""
    value = numbers.canonical(ts[0].raw)
    if (value is not None and len(ts) >= 5 and ts[1].fold in ("×", "x", "*") and ts[2].raw == "10"
            and ts[3].fold == "^" and ts[4].kind == "num"):
        return numbers.canonical(f"{value}e{ts[4].raw}"), 5
    return value, 1


def _fraction(ts: Sequence[Token]) -> tuple[str | None, int]:
    """"3/10" (glued whole numbers) as written, "3/10": `estimates` knows it is 0.3,
    and a question that asks for a fraction keeps "1/8" apart from "0.125"."""
    if len(ts) < 3 or ts[1].fold != "/" or ts[2].kind != "num" or not (ts[1].glued and ts[2].glued):
        return None, 0
    top, bottom = numbers.canonical(ts[0].raw), numbers.canonical(ts[2].raw)
    if top is None or bottom is None or not top.isdecimal() or not bottom.isdecimal() or int(bottom) in (0, 1):
        return None, 0
    return f"{top}/{bottom}", 3


_PARTS = {"half": Decimal("0.5"), "quarter": Decimal("0.25")}


def _spelled(ts: Sequence[Token]) -> tuple[str | None, int]:
    """Number words ("twenty-one", "one and a half", "a quarter of an", "half a",
    "three quarters of a"): the value and how many tokens it took."""
    folds = [t.fold for t in ts[:8]]
    three = folds[:2] == ["three", "quarters"]
    lead = 1 if folds[:1] in (["a"], ["one"]) else 0
    if three or folds[lead : lead + 1] in (["half"], ["quarter"]):
        part, used = (Decimal("0.75"), 2) if three else (_PARTS[folds[lead]], lead + 1)
        if folds[used : used + 2] in (["of", "a"], ["of", "an"]):
            used += 2
        elif folds[used - 1] == "half" and folds[used : used + 1] in (["a"], ["an"]):
            used += 1
        return numbers.canonical(str(part)), used
    count = 0
    while count < len(ts) and (ts[count].fold in numbers.NUMBER_WORDS or ts[count].fold in ("and", "-")):
        count += 1
    half = count > 1 and folds[count - 1 : count + 2] == ["and", "a", "half"]
    value = numbers.spelled([t.fold for t in ts[: count - half] if t.fold != "-"])
    if half and value is not None:
        return numbers.canonical(str(Decimal(value) + Decimal("0.5"))), count + 2
    return value, count


def _amount(ts: Sequence[Token]) -> str | None:
    """One signed amount with its currency, percent or unit, in one form; "≈" first
    when the part marks it an estimate ("about 183 cm" is "≈183 cm")."""
    sign = currency = estimate = ""
    if ts and ts[0].fold in APPROXIMATE:
        estimate, ts = "≈", ts[1:]
    if ts and ts[0].fold in _SIGN_WORDS:
        sign, ts = _SIGN_WORDS[ts[0].fold], ts[1:]
    if ts and ts[0].fold in _CURRENCY:
        currency, ts = ts[0].fold, ts[1:]
    if not ts:
        return None
    if ts[0].kind == "num":
        value, used = _fraction(ts)
        if not used:
            value, used = _power(ts)
        rest = ts[used:]
        if rest and value is not None and (rest[0].fold in _SCALE_WORDS or (rest[0].raw == "k" and rest[0].glued)):
            scale = numbers.SCALES[_SCALE_WORDS.get(rest[0].fold, "thousand")]
            value, rest = numbers.canonical(f"{value}e{len(str(scale)) - 1}"), rest[1:]
    else:
        value, used = _spelled(ts)
        rest = ts[used:]
    if len(rest) >= 3 and rest[-2].fold == "^" and rest[-1].raw in ("2", "3") and rest[-1].glued and rest[-2].glued:
        rest = [*rest[:-3], Token("word", rest[-3].raw + "^" + rest[-1].raw, rest[-3].fold + "^" + rest[-1].raw,
                                  rest[-3].glued)]
    if rest and rest[-1].fold == "…":  # "1.41421356…": a figure cut short is an estimate
        estimate, rest = "≈", rest[:-1]
    if value is None or any(t.kind == "num" for t in rest):
        return None
    if value.startswith("-"):
        sign, value = ("" if sign == "-" else "-"), value[1:]
    unit = _unit(_unit_words(rest))
    if unit is None:
        return None
    if unit in _CURRENCY:
        if currency and currency != unit:
            return None
        currency, unit = unit, ""
    if value == "0":
        sign = ""
    return f"{estimate}{sign}{currency}{value}" + (f" {unit}" if unit and unit != "%" else unit)


def _compound(ts: Sequence[Token]) -> str | None:
    """"8 minutes 20 seconds", "5 ft 10 in", "2 hours and 30 minutes": two amounts of
    one dimension, the larger unit first, as "8 min 20 s"."""
    for cut in range(2, len(ts) - 1):
        head, tail = _amount(ts[:cut]), ts[cut + (ts[cut].fold in ("and", ",")) :]
        if head is None or " " not in head or not tail or tail[0].kind != "num":
            continue
        last = _amount(tail)
        if last is None or " " not in last or last.startswith("≈"):
            return None
        big, small = FACTORS.get(head.rpartition(" ")[2]), FACTORS.get(last.rpartition(" ")[2])
        if big is None or small is None or big[0] != small[0] or big[1] <= small[1] or big[2] or small[2]:
            return None
        if float(last.partition(" ")[0].lstrip("-")) * small[1] >= big[1]:  # "1 kg 1000 g" is no one amount
            return None
        return f"{head} {last}"
    return None


def _numeric_date(words: list[str]) -> str | None:
    """2024-02-14 (ISO); 14/02/2024 when the day is over 12 (so it cannot be read
    month first), 02/14/2024 when the second is over 12; 9.11.1989 day first, as
    dates with dots are written."""
    if len(words) != 5 or words[1] != words[3] or words[1] not in "-/." or not all(w.isdecimal() for w in words[::2]):
        return None
    a, b, c = (int(w) for w in words[::2])
    if len(words[0]) == 4 and words[1] == "-":
        y, m, d = a, b, c
    elif len(words[4]) == 4 and (a > 12 >= b or words[1] == "."):  # dots are always day first: 9.11.1989
        y, m, d = c, b, a
    elif len(words[4]) == 4 and b > 12 >= a and words[1] == "/":
        y, m, d = c, a, b
    else:
        return None
    return f"{y:04d}-{m:02d}-{d:02d}" if 1 <= m <= 12 and 1 <= d <= 31 else None


def _date(words: list[str]) -> str | None:
    """A date written with a month name (day first or month first) or in numbers."""
    words = [w for w in words if w != ","]
    numeric = _numeric_date(words)
    if numeric is not None:
        return numeric
    day = month = year = None
    for w in words:
        if w in _MONTHS and month is None:
            month = _MONTHS[w]
        elif w.isdecimal() and len(w) == 4 and year is None:
            year = int(w)
        elif w.rstrip("stndrh").isdecimal() and day is None and (w.isdecimal() or w.endswith(_ORDINAL)):
            day = int(w.rstrip("stndrh"))
        elif w not in _ORDINAL and w != "of":
            return None
    if month is None or (year is None and day is None) or (day is not None and not 1 <= day <= 31):
        return None
    if year is None:  # "25 December", "December 25th": a day of the year, written as ISO 8601 does
        return f"--{month:02d}-{day:02d}"
    return f"{year:04d}-{month:02d}" + (f"-{day:02d}" if day is not None else "")


_NAMED_TIMES = {("noon",): "12:00", ("midday",): "12:00", ("12", "noon"): "12:00", ("midnight",): "00:00"}
_HALF_DAY = {("am",): 0, ("a", "m"): 0, ("pm",): 12, ("p", "m"): 12, ("hours",): -1, ("hrs",): -1, (): -1}


def _time(ts: Sequence[Token]) -> str | None:
    """A time of day as "HH:MM": "15:00", "3 pm", "3:00 p.m.", "noon"."""
    words = tuple(t.fold for t in ts if t.fold != ".")
    if words in _NAMED_TIMES:
        return _NAMED_TIMES[words]
    if not words or not words[0].isdecimal() or len(words[0]) > 2:
        return None
    hour, minute, rest = int(words[0]), 0, words[1:]
    if len(rest) >= 2 and rest[0] == ":" and rest[1].isdecimal() and len(rest[1]) == 2:
        minute, rest = int(rest[1]), rest[2:]
    elif not rest or rest[0] in ("hours", "hrs"):
        return None  # "3" is no time, nor "3 hours"
    half = _HALF_DAY.get(rest)
    if half is None or minute > 59 or (half >= 0 and not 1 <= hour <= 12) or hour > 23:
        return None
    return f"{hour % 12 + half if half >= 0 else hour:02d}:{minute:02d}"


def _ascending(low: str, high: str) -> bool:
    """Whether a range runs upwards ("7 - 5" is a sum, never the range 7..5; "20 Hz
    to 20 kHz" does)."""
    a, b = estimates.parse(low), estimates.parse(high)
    if a is None or b is None:
        return False
    if a.unit != b.unit and a.unit and b.unit:
        base_a, base_b = a.base(), b.base()
        return base_a is not None and base_b is not None and base_a < base_b
    return a.value < b.value


_ORDINAL_WORDS = {
    w: i for i, w in enumerate([
        "zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
        "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
        "nineteenth", "twentieth",
    ])
}
ORDINAL_WORDS = frozenset(_ORDINAL_WORDS)


def _ordinal(ts: Sequence[Token]) -> str | None:
    """"16th", "16 th" or "sixteenth" as "16th"; a following word is kept
    ("16th century")."""
    if ts[0].kind == "num" and len(ts) >= 2 and ts[1].fold in _ORDINAL and ts[1].glued:
        value, rest = numbers.canonical(ts[0].raw), ts[2:]
    elif ts[0].fold in _ORDINAL_WORDS:
        value, rest = str(_ORDINAL_WORDS[ts[0].fold]), ts[1:]
    else:
        return None
    if value is None or len(rest) > 1 or any(t.kind != "word" for t in rest):
        return None
    return " ".join([f"{value}th", *(t.fold for t in rest)])


def _range(ts: Sequence[Token]) -> str | None:
    """Two amounts joined by "to", a dash, or "between … and …" / "from … to …"
    (only "between" makes "and" a range)."""
    words = [t.fold for t in ts]
    rough = "≈" if words and words[0] in APPROXIMATE else ""  # "about 20 to 20,000 Hz": both ends
    if rough:
        ts, words = ts[1:], words[1:]
    between = bool(words) and words[0] == "between"  # "2 and 3" alone is two numbers, not a range
    if words and words[0] in ("between", "from"):
        ts, words = ts[1:], words[1:]
    for i, w in enumerate(words):
        if 0 < i < len(words) - 1 and (w in _RANGE_WORDS or (w == "and" and between)):
            low, high = _amount(ts[:i]), _amount(ts[i + 1 :])
            if low is not None and high is not None and _ascending(low, high):
                low_unit, high_unit = low.partition(" ")[2], high.partition(" ")[2]
                if low_unit and not high_unit:
                    return None
                if high_unit and not low_unit:
                    low = f"{low} {high_unit}"
                return f"{rough}{low}..{rough}{high}"
    return None


def read(ts: Sequence[Token]) -> tuple[str, str] | None:
    """(kind, value) when the tokens are one amount ("number"), a range ("range")
    or a date ("date"); None otherwise."""
    if not ts or len(ts) > 12:
        return None
    dotted = _DOTTED_DATE_RE.fullmatch("".join((" " if not t.glued else "") + t.raw for t in ts).strip())
    if dotted is not None:
        found = _numeric_date([dotted.group(1), ".", dotted.group(2), ".", dotted.group(3)])
        return ("date", found) if found is not None else None
    if len(ts) == 2 and ts[0].kind == "num" and ts[1].fold in ("s", "'s", "’s") and ts[1].glued:
        decade = numbers.canonical(ts[0].raw)
        if decade is not None and decade.endswith("0") and decade.isdecimal():
            return "decade", f"{decade}s"
    amount = _amount(ts) or _compound(ts)
    if amount is not None:
        return "number", amount
    ordinal = _ordinal(ts)
    if ordinal is not None:
        return "ordinal", ordinal
    date = _date([t.fold for t in ts])
    if date is not None:
        return "date", date
    time = _time(ts)
    if time is not None:
        return "time", time
    found = _range(ts)
    if found is not None:
        return "range", found
    return None
