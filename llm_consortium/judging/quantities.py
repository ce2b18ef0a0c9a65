"""An answer that is one amount: a number with its sign, currency, percent or unit, a
range of two, or a date, written in one comparable form.

"8,849 m" and "8849 metres" are "8849 m"; "Minus five." is "-5"; "0 to 65,535" and
"0–65535" are "0..65535"; "July 20, 1969" and "20 July 1969" are "1969-07-20". A unit
or currency is part of the value, so "5 km" and "5 miles", "$12" and "€12" stay
different answers; only spellings of one unit meet (the table below). Anything else
in the tokens (a word that is no unit, a second number) and they are no amount:
the caller compares them as text.

Standard library only; linear in the tokens read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from . import numbers
from .tokens import Token

__all__ = ["UNIT_OF", "read"]

_UNITS: dict[str, tuple[str, ...]] = {
    "m": ("m", "metre", "metres", "meter", "meters"),
    "km": ("km", "kms", "kilometre", "kilometres", "kilometer", "kilometers"),
    "cm": ("cm", "centimetre", "centimetres", "centimeter", "centimeters"),
    "mm": ("mm", "millimetre", "millimetres", "millimeter", "millimeters"),
    "mi": ("mi", "mile", "miles"),
    "ft": ("ft", "foot", "feet"),
    "in": ("inch", "inches"),
    "kg": ("kg", "kgs", "kilogram", "kilograms", "kilo", "kilos"),
    "g": ("g", "gram", "grams"),
    "mg": ("mg", "milligram", "milligrams"),
    "lb": ("lb", "lbs"),
    "t": ("tonne", "tonnes"),
    "s": ("s", "sec", "secs", "second", "seconds"),
    "min": ("min", "mins", "minute", "minutes"),
    "h": ("h", "hr", "hrs", "hour", "hours"),
    "day": ("day", "days"),
    "week": ("week", "weeks"),
    "month": ("month", "months"),
    "year": ("year", "years", "yr", "yrs"),
    "l": ("l", "litre", "litres", "liter", "liters"),
    "ml": ("ml", "millilitre", "millilitres", "milliliter", "milliliters"),
    "m^2": ("m^2", "square metre", "square metres", "square meter", "square meters", "sq m"),
    "cm^2": ("cm^2", "square centimetre", "square centimetres", "square centimeter", "square centimeters"),
    "km^2": ("km^2", "square kilometre", "square kilometres", "square kilometer", "square kilometers"),
    "ft^2": ("ft^2", "square foot", "square feet", "sq ft"),
    "m^3": ("m^3", "cubic metre", "cubic metres", "cubic meter", "cubic meters"),
    "cm^3": ("cm^3", "cubic centimetre", "cubic centimetres", "cubic centimeter", "cubic centimeters", "cc"),
    "°C": ("°c", "° c", "degrees celsius", "degree celsius", "celsius", "deg c", "degrees c", "ºc", "℃"),
    "°F": ("°f", "° f", "degrees fahrenheit", "degree fahrenheit", "fahrenheit", "degrees f", "ºf", "℉"),
    "K": ("kelvin", "kelvins", "kelvin"),
    "km/h": ("km/h", "kph", "kmh", "kilometres per hour", "kilometers per hour"),
    "mph": ("mph", "miles per hour"),
    "m/s": ("m/s", "metres per second", "meters per second"),
    "B": ("bytes", "byte"),
    "bit": ("bits", "bit"),
    "KB": ("kb", "kilobytes", "kilobyte"),
    "MB": ("mb", "megabytes", "megabyte"),
    "GB": ("gb", "gigabytes", "gigabyte"),
    "TB": ("tb", "terabytes", "terabyte"),
    "W": ("w", "watt", "watts"),
    "kW": ("kw", "kilowatt", "kilowatts"),
    "J": ("j", "joule", "joules"),
    "kcal": ("kcal", "kilocalories", "kilocalorie"),
    "V": ("v", "volt", "volts"),
    "Hz": ("hz", "hertz"),
    "%": ("%", "percent", "per cent", "pct"),
    "$": ("dollars", "dollar", "usd", "us dollars", "$"),
    "€": ("euros", "euro", "eur", "€"),
    "£": ("£", "gbp"),
    "¥": ("¥", "yen", "jpy"),
}
UNIT_OF = {alias: unit for unit, aliases in _UNITS.items() for alias in aliases}
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


def _amount(ts: Sequence[Token]) -> str | None:
    """One signed amount with its currency, percent or unit, in one form."""
    sign = currency = ""
    if ts and ts[0].fold in _SIGN_WORDS:
        sign, ts = _SIGN_WORDS[ts[0].fold], ts[1:]
    if ts and ts[0].fold in _CURRENCY:
        currency, ts = ts[0].fold, ts[1:]
    if not ts:
        return None
    if ts[0].kind == "num":
        value, used = _power(ts)
        rest = ts[used:]
        if rest and value is not None and (rest[0].fold in _SCALE_WORDS or (rest[0].raw == "k" and rest[0].glued)):
            scale = numbers.SCALES[_SCALE_WORDS.get(rest[0].fold, "thousand")]
            value, rest = numbers.canonical(f"{value}e{len(str(scale)) - 1}"), rest[1:]
    else:
        count = 0
        while count < len(ts) and (ts[count].fold in numbers.NUMBER_WORDS or ts[count].fold in ("and", "-")):
            count += 1
        value, rest = numbers.spelled([t.fold for t in ts[:count] if t.fold != "-"]), ts[count:]
    if len(rest) >= 3 and rest[-2].fold == "^" and rest[-1].raw in ("2", "3") and rest[-1].glued and rest[-2].glued:
        rest = [*rest[:-3], Token("word", rest[-3].raw + "^" + rest[-1].raw, rest[-3].fold + "^" + rest[-1].raw,
                                  rest[-3].glued)]
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
    return f"{sign}{currency}{value}" + (f" {unit}" if unit and unit != "%" else unit)


def _numeric_date(words: list[str]) -> str | None:
    """2024-02-14 (ISO), or 14/02/2024 and 14.02.2024 when the day is over 12 (so it
    cannot be read month first); 02/14/2024 when the second is over 12."""
    if len(words) != 5 or words[1] != words[3] or words[1] not in "-/." or not all(w.isdigit() for w in words[::2]):
        return None
    a, b, c = (int(w) for w in words[::2])
    if len(words[0]) == 4 and words[1] == "-":
        y, m, d = a, b, c
    elif len(words[4]) == 4 and a > 12 >= b:
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
        elif w.isdigit() and len(w) == 4 and year is None:
            year = int(w)
        elif w.rstrip("stndrh").isdigit() and day is None and (w.isdigit() or w.endswith(_ORDINAL)):
            day = int(w.rstrip("stndrh"))
        elif w not in _ORDINAL and w != "of":
            return None
    if month is None or year is None or (day is not None and not 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}" + (f"-{day:02d}" if day is not None else "")


def _ascending(low: str, high: str) -> bool:
    """Whether a range runs upwards ("7 - 5" is a sum, never the range 7..5)."""
    a = numbers.to_float(low.partition(" ")[0].lstrip("-$€£¥").rstrip("%"))
    b = numbers.to_float(high.partition(" ")[0].lstrip("-$€£¥").rstrip("%"))
    if a is None or b is None:
        return False
    return (-a if low.startswith("-") else a) < (-b if high.startswith("-") else b)


_ORDINAL_WORDS = {
    w: i for i, w in enumerate([
        "zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
        "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
        "nineteenth", "twentieth",
    ])
}


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
    """Two amounts joined by "to", a dash, or "between … and …" / "from … to …"."""
    words = [t.fold for t in ts]
    if words and words[0] in ("between", "from"):
        ts, words = ts[1:], words[1:]
    for i, w in enumerate(words):
        if 0 < i < len(words) - 1 and (w in _RANGE_WORDS or w == "and"):
            low, high = _amount(ts[:i]), _amount(ts[i + 1 :])
            if low is not None and high is not None and _ascending(low, high):
                low_unit, high_unit = low.partition(" ")[2], high.partition(" ")[2]
                if low_unit and not high_unit:
                    return None
                if high_unit and not low_unit:
                    low = f"{low} {high_unit}"
                return f"{low}..{high}"
    return None


def read(ts: Sequence[Token]) -> tuple[str, str] | None:
    """(kind, value) when the tokens are one amount ("number"), a range ("range")
    or a date ("date"); None otherwise."""
    if not ts or len(ts) > 12:
        return None
    dotted = _DOTTED_DATE_RE.fullmatch("".join((" " if not t.glued else "") + t.raw for t in ts).strip())
    if dotted is not None:
        found = _numeric_date([dotted.group(1), "/", dotted.group(2), "/", dotted.group(3)])
        return ("date", found) if found is not None else None
    if len(ts) == 2 and ts[0].kind == "num" and ts[1].fold in ("s", "'s", "’s") and ts[1].glued:
        decade = numbers.canonical(ts[0].raw)
        if decade is not None and decade.endswith("0") and decade.isdigit():
            return "decade", f"{decade}s"
    amount = _amount(ts)
    if amount is not None:
        return "number", amount
    ordinal = _ordinal(ts)
    if ordinal is not None:
        return "ordinal", ordinal
    date = _date([t.fold for t in ts])
    if date is not None:
        return "date", date
    found = _range(ts)
    if found is not None:
        return "range", found
    return None
