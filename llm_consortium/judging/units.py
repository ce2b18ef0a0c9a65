"""Units: every spelling of each unit an answer may give, and what it measures.

`UNIT_OF` maps a spelling ("metres", "km", "°f", "us gallons") to one canonical unit
("m", "km", "°F", "gal"): only spellings of one unit meet, so "5 km" and "5 miles"
are different answers. `FACTORS` gives a unit's dimension and how it converts to
the dimension's base unit, for `estimates` to compare amounts in different units.
Bytes convert nowhere (their prefixes are read two ways), nor do currencies.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["FACTORS", "UNIT_OF", "named_in"]

_UNITS: dict[str, tuple[str, ...]] = {
    "m": ("m", "metre", "metres", "meter", "meters"),
    "km": ("km", "kms", "kilometre", "kilometres", "kilometer", "kilometers"),
    "cm": ("cm", "centimetre", "centimetres", "centimeter", "centimeters"),
    "mm": ("mm", "millimetre", "millimetres", "millimeter", "millimeters"),
    "µm": ("µm", "μm", "um", "micrometre", "micrometres", "micrometer", "micrometers", "micron", "microns"),
    "nm": ("nm", "nanometre", "nanometres", "nanometer", "nanometers"),
    "mi": ("mi", "mile", "miles"),
    "ft": ("ft", "foot", "feet"),
    "in": ("inch", "inches"),
    "yd": ("yd", "yard", "yards"),
    "au": ("au", "astronomical unit", "astronomical units"),
    "ly": ("ly", "light year", "light years", "light-year", "light-years"),
    "kg": ("kg", "kgs", "kilogram", "kilograms", "kilo", "kilos"),
    "g": ("g", "gram", "grams"),
    "mg": ("mg", "milligram", "milligrams"),
    "lb": ("lb", "lbs", "pound", "pounds"),
    "oz": ("oz", "ounce", "ounces"),
    "t": ("t", "tonne", "tonnes", "metric ton", "metric tons"),
    "s": ("s", "sec", "secs", "second", "seconds"),
    "min": ("min", "mins", "minute", "minutes"),
    "h": ("h", "hr", "hrs", "hour", "hours"),
    "day": ("day", "days"),
    "week": ("week", "weeks"),
    "month": ("month", "months"),
    "year": ("year", "years", "yr", "yrs"),
    "gyr": ("gyr", "ga"),
    "l": ("l", "litre", "litres", "liter", "liters"),
    "cup": ("cup", "cups"),
    "tbsp": ("tbsp", "tablespoon", "tablespoons"),
    "tsp": ("tsp", "teaspoon", "teaspoons"),
    "pt": ("pint", "pints"),
    "qt": ("quart", "quarts"),
    "fl oz": ("fl oz", "fluid ounce", "fluid ounces"),
    "Pa": ("pa", "pascal", "pascals"),
    "kPa": ("kpa", "kilopascal", "kilopascals"),
    "atm": ("atm", "atmosphere", "atmospheres"),
    "bar": ("bar", "bars"),
    "psi": ("psi",),
    "mmHg": ("mmhg", "mm hg"),
    "ha": ("ha", "hectare", "hectares"),
    "acre": ("acre", "acres"),
    "kJ": ("kj", "kilojoule", "kilojoules"),
    "kWh": ("kwh", "kilowatt-hour", "kilowatt-hours", "kilowatt hour", "kilowatt hours"),
    "kn": ("knot", "knots"),
    "ml": ("ml", "millilitre", "millilitres", "milliliter", "milliliters"),
    "gal": ("us gallon", "us gallons", "us gal"),
    "m^2": ("m^2", "square metre", "square metres", "square meter", "square meters", "sq m"),
    "cm^2": ("cm^2", "square centimetre", "square centimetres", "square centimeter", "square centimeters"),
    "km^2": ("km^2", "square kilometre", "square kilometres", "square kilometer", "square kilometers"),
    "ft^2": ("ft^2", "square foot", "square feet", "sq ft"),
    "m^3": ("m^3", "cubic metre", "cubic metres", "cubic meter", "cubic meters"),
    "cm^3": ("cm^3", "cubic centimetre", "cubic centimetres", "cubic centimeter", "cubic centimeters", "cc"),
    "°C": ("°c", "° c", "degrees celsius", "degree celsius", "celsius", "deg c", "degrees c", "ºc", "℃"),
    "°F": ("°f", "° f", "degrees fahrenheit", "degree fahrenheit", "fahrenheit", "degrees f", "ºf", "℉"),
    "K": ("kelvin", "kelvins", "kelvin"),
    "°": ("°", "degrees", "degree", "deg"),
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
    "bpm": ("bpm", "beats per minute"),
    "kHz": ("khz", "kilohertz"),
    "MHz": ("mhz", "megahertz"),
    "GHz": ("ghz", "gigahertz"),
    "%": ("%", "percent", "per cent", "pct"),
    "$": ("dollars", "dollar", "usd", "us dollars", "$"),
    "€": ("euros", "euro", "eur", "€"),
    "£": ("£", "gbp"),
    "¥": ("¥", "yen", "jpy"),
}
UNIT_OF = {alias: unit for unit, aliases in _UNITS.items() for alias in aliases}

# unit: (dimension, scale to the dimension's base unit, offset), base = value * scale + offset
FACTORS: dict[str, tuple[str, float, float]] = {
    "m": ("length", 1.0, 0.0), "km": ("length", 1e3, 0.0), "cm": ("length", 1e-2, 0.0), "mm": ("length", 1e-3, 0.0),
    "µm": ("length", 1e-6, 0.0), "nm": ("length", 1e-9, 0.0),
    "mi": ("length", 1609.344, 0.0), "ft": ("length", 0.3048, 0.0), "in": ("length", 0.0254, 0.0),
    "yd": ("length", 0.9144, 0.0), "au": ("length", 1.495978707e11, 0.0), "ly": ("length", 9.4607304725808e15, 0.0),
    "kg": ("mass", 1.0, 0.0), "g": ("mass", 1e-3, 0.0), "mg": ("mass", 1e-6, 0.0), "t": ("mass", 1e3, 0.0),
    "lb": ("mass", 0.45359237, 0.0), "oz": ("mass", 0.028349523125, 0.0),
    "s": ("time", 1.0, 0.0), "min": ("time", 60.0, 0.0), "h": ("time", 3600.0, 0.0), "day": ("time", 86400.0, 0.0),
    "week": ("time", 604800.0, 0.0), "year": ("time", 31557600.0, 0.0), "gyr": ("time", 31557600e9, 0.0),
    "l": ("volume", 1e-3, 0.0), "ml": ("volume", 1e-6, 0.0), "m^3": ("volume", 1.0, 0.0),
    "cm^3": ("volume", 1e-6, 0.0), "gal": ("volume", 3.785411784e-3, 0.0),
    "cup": ("volume", 2.365882365e-4, 0.0), "tbsp": ("volume", 1.478676478125e-5, 0.0),
    "tsp": ("volume", 4.92892159375e-6, 0.0), "pt": ("volume", 4.73176473e-4, 0.0),
    "qt": ("volume", 9.46352946e-4, 0.0), "fl oz": ("volume", 2.95735295625e-5, 0.0),
    "Pa": ("pressure", 1.0, 0.0), "kPa": ("pressure", 1e3, 0.0), "atm": ("pressure", 101325.0, 0.0),
    "bar": ("pressure", 1e5, 0.0), "psi": ("pressure", 6894.757293168, 0.0), "mmHg": ("pressure", 133.322387415, 0.0),
    "ha": ("area", 1e4, 0.0), "acre": ("area", 4046.8564224, 0.0), "kJ": ("energy", 1e3, 0.0),
    "kWh": ("energy", 3.6e6, 0.0), "kn": ("speed", 1852 / 3600, 0.0),
    "m^2": ("area", 1.0, 0.0), "cm^2": ("area", 1e-4, 0.0), "km^2": ("area", 1e6, 0.0),
    "ft^2": ("area", 0.09290304, 0.0),
    "m/s": ("speed", 1.0, 0.0), "km/h": ("speed", 1 / 3.6, 0.0), "mph": ("speed", 0.44704, 0.0),
    "K": ("temperature", 1.0, 0.0), "°C": ("temperature", 1.0, 273.15), "°F": ("temperature", 5 / 9, 273.15 - 160 / 9),
    "J": ("energy", 1.0, 0.0), "kcal": ("energy", 4184.0, 0.0),
    "W": ("power", 1.0, 0.0), "kW": ("power", 1e3, 0.0), "°": ("angle", 1.0, 0.0),
    "Hz": ("frequency", 1.0, 0.0), "kHz": ("frequency", 1e3, 0.0), "MHz": ("frequency", 1e6, 0.0),
    "GHz": ("frequency", 1e9, 0.0),
}


def named_in(folds: Sequence[str]) -> dict[int, str]:
    """The units a run of case-folded tokens names, by the index of each token that
    spells one ("100 °F": {1: "°F", 2: "°F"}; "five kilometres": {1: "km"})."""
    found: dict[int, str] = {}
    i = 0
    while i < len(folds):
        pair = " ".join(folds[i : i + 2])
        width = 2 if i + 1 < len(folds) and pair in UNIT_OF else 1
        unit = UNIT_OF.get(pair if width == 2 else folds[i])
        if unit is not None:
            found.update(dict.fromkeys(range(i, i + width), unit))
        i += width
    return found
