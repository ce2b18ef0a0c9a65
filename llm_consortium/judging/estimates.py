"""When two amounts are one answer though written differently: the same quantity in
two units, or one figure the other rounded.

A written figure stands for every value that rounds to it: "8 minutes" for 7.5 to
8.5 minutes, "5,600 km" for 5,550 to 5,650 km (zeros ending a whole number are read
as not significant), "8.3 minutes" for 8.25 to 8.35. Two amounts of one dimension
are one answer when the finer one's span lies inside the coarser one's, once both
are in one unit (`units.FACTORS`: length, mass, time, volume (US cups, pints…), area, speed,
temperature, pressure, energy, power, angle, frequency; never bytes, whose prefixes are read two ways, nor currencies):

* always when they are exactly equal ("1.5 km" and "1,500 m");
* when the question asks for an estimate ("Roughly how far…": "About 5,600 km" and
  "5,570 km");
* when a reply marks its own figure as rounded ("≈", "about"), only at the digits it
  writes (zeros ending a whole number included) and only when those make it precise
  to 2 %: "About 183 cm" is "182.88 cm", "≈ 37.78" is "37.8", but to "How many
  seconds are in a day?" "About 86,000." is not "86,400" (its zeros are digits
  written), and "About 3." meets nothing but 3 (±17 % says too little);
* when they are in different units and each gives three significant digits or more
  ("8,849 m" and "29,032 feet": a conversion is always rounded). "5 km" and "3
  miles" stay apart: one digit says too little.

When the question asks for a precision ("exactly", "to 5 decimal places", "3
significant figures") only the first holds: "3.14159" and "3.1416" differ. To
"Roughly how long…", "8 minutes" and "8.3 minutes" are one estimate; "8.3" and "8"
are never one exact answer; "About 8 billion" and "7.6 billion" meet only because
7.6 rounds to 8.

Standard library only; constant time per pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .units import FACTORS

__all__ = ["Amount", "parse", "same"]

_ROUGHEST = 0.1
"""The roughest figure an estimate is compared at: "about 8 billion" (±6 %) is one,
"about 1,000 feet" (±50 %) and "3 miles" (±17 %) say too little to meet anything."""
_CONVERTED = 0.02
"""The roughest figure a conversion between units is compared at, unmarked: "330 m"
(±1.5 %) meets "1,083 feet"; "5 km" and "3 miles" stay apart."""
_EXACT = Decimal("1e-24")
_LARGEST_EXPONENT = 300  # beyond a float's range no estimate is compared
_CURRENCY = "$€£¥"


@dataclass(frozen=True)
class Amount:
    """A number conclusion taken apart: value, the place of its last significant
    digit, its unit ("" for none, "%", or a currency sign), and whether the reply
    marked it as an estimate."""

    value: Decimal
    place: Decimal
    unit: str
    estimate: bool

    def as_written(self) -> Amount:
        """The figure with the zeros ending a whole number read as significant."""
        return Amount(self.value, min(self.place, Decimal(1)), self.unit, self.estimate)

    def at_most(self, spread: float) -> Amount:
        """The figure with as few of the zeros ending it read as not significant as
        keep its spread within `spread` ("300,000" to ±5,000 rather than ±50,000)."""
        place = self.place
        while place > 1 and Amount(self.value, place, self.unit, self.estimate).spread > spread:
            place /= 10
        return Amount(self.value, place, self.unit, self.estimate)

    @property
    def spread(self) -> float:
        """Half the figure's last place, relative to its size (in kelvin for a
        temperature): how roughly it is given."""
        _, scale, offset = FACTORS.get(self.unit, ("", 1.0, 0.0))
        size = abs(float(self.value) * scale + offset)
        return float(self.place) / 2 * scale / size if size else float("inf")

    def base(self) -> Decimal | None:
        """The exact value in its dimension's base unit (None: no known unit)."""
        if self.unit not in FACTORS:
            return None
        _, scale, offset = FACTORS[self.unit]
        return self.value * Decimal(repr(scale)) + Decimal(repr(offset))

    def span(self, unit: str) -> tuple[float, float] | None:
        """The values the figure stands for, in `unit` (None: another dimension)."""
        mine, other = FACTORS.get(self.unit), FACTORS.get(unit)
        if self.unit == unit:
            mine = other = ("", 1.0, 0.0)
        if mine is None or other is None or mine[0] != other[0]:
            return None
        low, high = (((float(v) * mine[1] + mine[2]) - other[2]) / other[1] for v in (
            self.value - self.place / 2, self.value + self.place / 2))
        return low, high


def parse(value: str, unit: str = "") -> Amount | None:
    """A number conclusion's value ("≈-$12.5", "8849 m", "12%", "3/10", "8 min 20 s") as an
    Amount; a value without a unit takes `unit` (the one the question names)."""
    words = value.split(" ")
    if len(words) == 4:  # two amounts of one dimension, the larger unit first
        big, small = parse(" ".join(words[:2])), parse(" ".join(words[2:]))
        if big is None or small is None or big.unit not in FACTORS or small.unit not in FACTORS:
            return None
        ratio = Decimal(repr(round(FACTORS[big.unit][1] / FACTORS[small.unit][1], 9)))
        return Amount(big.value * ratio + small.value, min(small.place, Decimal(1)), small.unit, big.estimate)
    if len(words) > 2:
        return None
    estimate = value.startswith("≈")
    number, _, written_unit = value.lstrip("≈").partition(" ")
    sign = ""
    if number.startswith("-"):
        sign, number = "-", number[1:]
    currency = number[0] if number[:1] and number[0] in _CURRENCY else ""
    number = number.lstrip(_CURRENCY)
    if number.endswith("%"):
        number, written_unit = number[:-1], "%"
    top, slash, bottom = number.partition("/")
    try:
        amount = Decimal(sign + top) / Decimal(bottom) if slash else Decimal(sign + number)
    except (InvalidOperation, ZeroDivisionError):
        return None
    if slash:  # a fraction is exact: "3/10" is 0.3
        return Amount(amount, _EXACT, currency or written_unit or unit, estimate)
    if not amount.is_finite() or abs(amount.adjusted()) > _LARGEST_EXPONENT:
        return None
    exponent = amount.normalize().as_tuple().exponent
    place = Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)
    return Amount(amount, place, currency or written_unit or unit, estimate)


def _inside(inner: tuple[float, float], outer: tuple[float, float]) -> bool:
    slack = 1e-9 * max(abs(outer[0]), abs(outer[1]), 1e-300)
    return outer[0] - slack <= inner[0] and inner[1] <= outer[1] + slack


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return min(a[1], b[1]) - max(a[0], b[0]) > 1e-9 * max(abs(a[0]), abs(a[1]), 1e-300)


def same(a: Amount, b: Amount, estimate: bool = False, loose: bool = False, exact: bool = False) -> bool:
    """Whether two amounts are one answer (the module docstring says when);
    `estimate`: the question asks for one; `exact`: it asks for a precision
    ("exactly", "to 5 decimal places"), so only equal amounts are one; `loose`: one
    reply gives both side by side ("1 AU, about 1.5 × 10⁸ km"), so only that they
    can be one is checked when one is marked as rough; unmarked, each must be as
    precise as a conversion ("1 km, 1 mile" are two amounts)."""
    if a.unit == b.unit and a.value == b.value:
        return True
    span_a, span_b = a.span(b.unit), b.span(b.unit)
    if span_a is None or span_b is None:
        return False
    base_a = a.base()
    if a.unit != b.unit and base_a is not None and base_a == b.base():
        return True
    if exact:
        return False
    rounded = estimate or (loose and (a.estimate or b.estimate))  # a reply's own "about" rounds only as written
    if not rounded:  # taken as written: "100 °C" is 99.5 to 100.5
        a, b = a.as_written(), b.as_written()
        span_a, span_b = a.span(b.unit), b.span(b.unit)
        if span_a is None or span_b is None:
            return False
    if rounded:  # "about 300,000 km/s": its zeros are read as significant as they must be to say something
        a, b = a.at_most(_ROUGHEST), b.at_most(_ROUGHEST)
        span_a, span_b = a.span(b.unit), b.span(b.unit)
        if span_a is None or span_b is None:
            return False
    marked = a.estimate or b.estimate  # "1 AU, about 1.5 × 10⁸ km": side by side, one says it is rough
    if not (loose and marked) and max(a.spread, b.spread) > (_ROUGHEST if rounded or a.unit == b.unit else _CONVERTED):
        return False
    if a.unit == b.unit:  # the finer figure rounded is the coarser one
        finer, coarser = (span_a, span_b) if a.place <= b.place else (span_b, span_a)
        # a reply's own "about": its digits as written, precise to 2 % ("About 183 cm" is 182.88 cm)
        return (rounded or (marked and max(a.spread, b.spread) <= _CONVERTED)) and _inside(finer, coarser)
    return _overlap(span_a, span_b)  # two roundings of one quantity
