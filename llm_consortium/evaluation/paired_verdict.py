"""Paired comparisons and the verdict: every system answers the same items, so two
systems are compared item by item, not by whether their separate intervals overlap.

For each consortium: against the best of its members alone, against its same-budget
baseline, and against every other consortium. Each comparison gives the accuracy
difference (a - b) with its 95% interval (Newcombe's paired score interval), the
discordant items (right for a only, right for b only) and the exact McNemar p-value.
"""

from __future__ import annotations

import itertools
from typing import Any

from . import stats

AGAINST = {"best_member": "the best member alone", "baseline": "the same-budget baseline",
           "consortium": "consortium"}


def _marks(rows: list[dict[str, Any]]) -> dict[str, dict[int, bool]]:
    """Right or wrong per item, per system key. A failed item is wrong."""
    marks: dict[str, dict[int, bool]] = {}
    for row in rows:
        marks.setdefault(row["system"], {})[row["item"]] = bool(row.get("correct"))
    return marks


def compare(a: dict[str, Any], b: dict[str, Any], against: str, marks: dict[str, dict[int, bool]]) -> dict[str, Any]:
    """One paired comparison of system summaries `a` and `b` over the items both answered."""
    ours, theirs = marks.get(a["key"], {}), marks.get(b["key"], {})
    shared = sorted(set(ours) & set(theirs))
    pair = stats.paired([ours[i] for i in shared], [theirs[i] for i in shared])
    low, high = pair.ci95
    return {
        "a": a["key"],
        "b": b["key"],
        "against": against,
        "items": pair.items,
        "difference": pair.difference,
        "ci95": [low, high],
        "discordant": [pair.a_only, pair.b_only],
        "p_value": pair.p_value,
        "items_needed": stats.items_needed(pair),
        "result": result(pair),
    }


def result(pair: stats.Paired) -> str:
    """"better" or "worse" only when the exact test and the interval agree; "no
    difference seen" when the discordant items split evenly; else "not enough items
    to tell"."""
    if pair.a_only == pair.b_only:
        return "no difference seen"
    low, high = pair.ci95
    if pair.p_value < stats.SIGNIFICANCE and low > 0:
        return "better"
    if pair.p_value < stats.SIGNIFICANCE and high < 0:
        return "worse"
    return "not enough items to tell"


def best_member(consortium: dict[str, Any], systems: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The consortium's member that did best alone (the first of equals)."""
    members = [s for s in systems if s["kind"] == "member" and consortium["name"] in s["of"]]
    return max(members, key=lambda s: s["correct"], default=None)


def comparisons(systems: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    marks = _marks(rows)
    consortiums = [s for s in systems if s["kind"] == "consortium"]
    found = []
    for consortium in consortiums:
        best = best_member(consortium, systems)
        if best is not None:
            found.append(compare(consortium, best, "best_member", marks))
        for s in systems:
            if s["kind"] == "baseline" and s["of"] == [consortium["name"]]:
                found.append(compare(consortium, s, "baseline", marks))
    for a, b in itertools.combinations(consortiums, 2):
        found.append(compare(a, b, "consortium", marks))
    return found


def points(value: float) -> str:
    """A difference in accuracy as signed percentage points."""
    return f"{value * 100:+.1f}"


def p_text(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3g}"


def describe(comparison: dict[str, Any], by_key: dict[str, dict[str, Any]]) -> str:
    """One comparison as a clause of the verdict."""
    a, b = by_key[comparison["a"]], by_key[comparison["b"]]
    other = f"consortium {b['name']}" if comparison["against"] == "consortium" else (
        f"{AGAINST[comparison['against']]} ({b['name']})")
    low, high = comparison["ci95"]
    a_only, b_only = comparison["discordant"]
    text = (
        f"{a['name']} against {other}: {points(comparison['difference'] or 0.0)} points "
        f"[95% CI {points(low)}, {points(high)}], {a_only} vs {b_only} discordant items, "
        f"McNemar {p_text(comparison['p_value'])}: {comparison['result']}"
    )
    if comparison["result"] == "not enough items to tell" and comparison["items_needed"]:
        text += f" (about {comparison['items_needed']:,} items would show a difference this size)"
    return text


def spend(consortium: dict[str, Any], other: dict[str, Any]) -> str:
    """How much more the consortium spent than `other`: in dollars when both have a
    cost, else in tokens when both are known, else in calls."""
    for field, unit in (("cost", "as much as"), ("tokens", "the tokens of"), ("calls", "the calls of")):
        ours, theirs = _spent(consortium, field), _spent(other, field)
        if ours is not None and theirs:
            verb = "cost" if field == "cost" else "used"
            return f"{consortium['name']} {verb} {ours / theirs:.1f}x {unit} {other['name']} alone."
    return ""


def _spent(system: dict[str, Any], field: str) -> float | None:
    if field != "tokens":
        return system[field]
    if system["input_tokens"] is None or system["output_tokens"] is None:
        return None
    return float(system["input_tokens"] + system["output_tokens"])


def verdict(systems: list[dict[str, Any]], found: list[dict[str, Any]]) -> dict[str, Any]:
    """The verdict: one line per consortium, from its paired comparisons."""
    by_key = {s["key"]: s for s in systems}
    lines = []
    for consortium in (s for s in systems if s["kind"] == "consortium"):
        clauses = [describe(c, by_key) for c in found if c["a"] == consortium["key"]]
        if not clauses:
            continue
        line = "Verdict: " + "; ".join(clauses) + "."
        best = best_member(consortium, systems)
        extra = spend(consortium, best) if best is not None else ""
        lines.append(f"{line} {extra}" if extra else line)
    return {
        "line": "\n".join(lines),
        "results": [{"a": c["a"], "b": c["b"], "against": c["against"], "result": c["result"]} for c in found],
    }
