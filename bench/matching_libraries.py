"""Would a library raise `auto`'s recall at 100 % precision? (docs/matching.md)

Each candidate is tried on top of today's `auto` (its own unit table and rounding,
`judging/estimates.py`, included), on both labelled sets (bench/matching_labels.py
defines the figures), and only where `auto` leaves two conclusions different:

* `pint`: two amounts with units are one answer when they are equal in base units
  ("1.5 km" and "1,500 m"; "212 °F" and "100 °C"), to 9 significant digits;
* `math-verify`: two conclusions that are mathematics only (digits, operators,
  LaTeX commands) and that math-verify parses are one answer when it verifies them
  equal ("3/10" and "0.3", "\\frac{7}{8}" and "0.875");
* `dateutil`: a text conclusion that dateutil parses strictly as a full date (day,
  month and year all written) is compared as that date.

Needs the libraries (not dependencies of the package):

    .venv/bin/pip install pint math-verify python-dateutil
    .venv/bin/python bench/matching_libraries.py
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import matching_labels

from llm_consortium.judging.asking import PromptForm
from llm_consortium.judging.conclusions import Conclusion, conclude
from llm_consortium.judging.matching import AUTO, Cluster, clusters_by

Key = Callable[[Conclusion], str]


@functools.cache
def _units() -> Any:
    import pint

    return pint.UnitRegistry()


def _in_base(label: str) -> str | None:
    kind, _, value = label.partition(":")
    if kind != "number" or value.count(" ") != 1 or value.startswith("≈"):
        return None
    number, unit = value.split(" ", 1)
    try:
        ureg = _units()
        quantity = ureg.Quantity(float(number.lstrip("$€£¥")), unit.replace("°C", "degC").replace("°F", "degF"))
        base = quantity.to_base_units()
        return f"{float(f'{base.magnitude:.9g}')} {base.units}"
    except Exception:
        return None


def pint_same(a: str, b: str) -> bool:
    """pint's verdict: two amounts with units equal in base units, to 9 digits."""
    base_a = _in_base(a)
    return base_a is not None and base_a == _in_base(b)


@functools.cache
def _parsed(value: str) -> Any:
    from math_verify import parse

    try:
        return parse(f"${value}$") or parse(value)
    except Exception:
        return None


_MATHS = re.compile(r"(?:[\d\s.,+\-−*/×÷^()\[\]{}=<>≤≥πe√%]|\\[a-z]+)+")


def math_same(a: str, b: str) -> bool:
    """math-verify's verdict on two conclusions that read as mathematics only
    (digits, operators, LaTeX commands): never on words."""
    from math_verify import verify

    value_a, value_b = a.split(":", 1)[1], b.split(":", 1)[1]
    if len(value_a) > 40 or len(value_b) > 40 or not (_MATHS.fullmatch(value_a) and _MATHS.fullmatch(value_b)):
        return False
    parsed_a, parsed_b = _parsed(value_a), _parsed(value_b)
    if not parsed_a or not parsed_b:
        return False
    try:
        return bool(verify(parsed_a, parsed_b, timeout_seconds=None))
    except Exception:
        return False


_NONE = object()


def date_key(found: Conclusion) -> str:
    if found.kind != "text" or len(found.value) > 40 or not any(c.isdigit() for c in found.value):
        return found.key
    from dateutil import parser

    try:  # strict: every field must come from the text, none from a default
        first = parser.parse(found.value, default=parser.parse("1901-02-03"), fuzzy=False)
        second = parser.parse(found.value, default=parser.parse("1904-05-06"), fuzzy=False)
    except (ValueError, OverflowError):
        return found.key
    return f"date:{first.date().isoformat()}" if first == second else found.key


def clusterer(key: Key = lambda c: c.key, same: Callable[[str, str], bool] | None = None) -> matching_labels.Clusterer:
    """`auto` with a library: keys as `key` reads them, one answer when `auto`'s own
    relation (`estimates`, `names`) or the library's says so."""
    def clusters(answers: Sequence[str], prompt: str = "") -> list[Cluster]:
        form = PromptForm.of(prompt)
        found = [conclude(a, form=form) for a in answers]
        keys = [key(c) for c in found]
        groups = clusters_by(keys, lambda a, b: AUTO.same(a, b, form) or (same is not None and same(a, b)))
        return [Cluster(tuple(g), found[g[0]].value, tuple(found[i] for i in g)) for g in groups]

    return clusters


def main() -> None:
    tries: dict[str, matching_labels.Clusterer] = {
        "auto": AUTO.clusters,
        "auto + pint": clusterer(same=pint_same),
        "auto + math-verify": clusterer(same=math_same),
        "auto + dateutil": clusterer(date_key),
    }
    for name in ("blind", "labels"):
        items = matching_labels.load(name)
        for label, clusters_of in tries.items():
            started = time.perf_counter()
            print(f"== {name}: {label}")
            for split in ("dev", "held-out"):
                mine = [i for i in items if i["split"] == split]
                print(f"{split:9} {matching_labels.figures(mine, clusters_of)}")
            print(f"   ({time.perf_counter() - started:.1f} s)")
    for code in ("import pint; pint.UnitRegistry()", "import math_verify", "import dateutil.parser"):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        print(f"{code}: {time.perf_counter() - started:.2f} s in a fresh process (Python itself included)")


if __name__ == "__main__":
    main()
