"""The figures of an eval, from its scored results: per-system accuracy with Wilson
intervals, calls, tokens, cost, errors and latency; the consortium's answer flips,
final rounds and calibration; and the verdict.

Input and output are plain JSON-ready dicts, so the report is the `--json` output
as it is, and the table and the HTML page are views of it.

A result row (one item, one system) holds: item, line, system, kind, name, answer,
correct, error, calls, input_tokens, output_tokens, usage (per model: calls, input,
output), latency_ms, and for the consortium confidence, final_round and rounds (each
round's answer and whether it was right); for the baseline, samples.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from . import stats
from .agreement import unanimity

Prices = dict[str, tuple[float, float]]  # model id -> (input, output) USD per million tokens


def cost(usage: dict[str, dict[str, int]], prices: Prices) -> float | None:
    """What `usage` cost at `prices`; None without prices or when a model it used has none."""
    if not prices:
        return None
    total = 0.0
    for model_id, row in usage.items():
        if model_id not in prices:
            return None
        price_in, price_out = prices[model_id]
        total += (row.get("input", 0) * price_in + row.get("output", 0) * price_out) / 1_000_000
    return round(total, 10)


def _sum_costs(values: Sequence[float | None]) -> float | None:
    if any(value is None for value in values):
        return None
    return round(sum(value for value in values if value is not None), 10)


def system_summary(kind: str, name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One system's line of the report. A failed item counts as answered wrong: the
    user asked and got no right answer."""
    total = len(rows)
    correct = sum(1 for row in rows if row.get("correct"))
    low, high = stats.wilson(correct, total)
    latencies = [row["latency_ms"] for row in rows if row.get("latency_ms") is not None]
    return {
        "kind": kind,
        "name": name,
        "correct": correct,
        "total": total,
        "accuracy": correct / total if total else None,
        "ci95": [low, high],
        "calls": sum(row.get("calls", 0) for row in rows),
        "input_tokens": sum(row.get("input_tokens", 0) for row in rows),
        "output_tokens": sum(row.get("output_tokens", 0) for row in rows),
        "errors": sum(1 for row in rows if row.get("error")),
        "unanimous": unanimity(rows),  # share of voted results all in one group
        "latency_ms_p50": stats.percentile(latencies, 50),
        "latency_ms_p95": stats.percentile(latencies, 95),
        "cost": _sum_costs([row.get("cost") for row in rows]) if rows else None,
    }


def flips(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Changes of correctness between consecutive answered rounds, over all items."""
    counts = {"right_to_wrong": 0, "wrong_to_right": 0}
    for row in rows:
        marks = [r["correct"] for r in row.get("rounds") or [] if r.get("correct") is not None]
        for before, after in itertools.pairwise(marks):
            if before and not after:
                counts["right_to_wrong"] += 1
            elif after and not before:
                counts["wrong_to_right"] += 1
    return counts


def final_rounds(rows: list[dict[str, Any]]) -> dict[str, int]:
    """How many final answers came from each round ("1": 14, "2": 6)."""
    counts: dict[int, int] = {}
    for row in rows:
        if row.get("final_round") is not None and not row.get("error"):
            counts[row["final_round"]] = counts.get(row["final_round"], 0) + 1
    return {str(number): counts[number] for number in sorted(counts)}


def calibration(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """ECE and bins of the consortium's final confidence against correctness, over
    the items that have a confidence."""
    pairs = [
        (row["confidence"], bool(row.get("correct")))
        for row in rows
        if row.get("confidence") is not None and not row.get("error")
    ]
    ece, bins = stats.calibration(pairs)
    return {
        "ece": ece,
        "items": len(pairs),
        "bins": [
            {"low": b.low, "high": b.high, "count": b.count, "confidence": b.confidence, "accuracy": b.accuracy}
            for b in bins
        ],
    }


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def describe_system(system: dict[str, Any]) -> str:
    low, high = system["ci95"]
    return f"{system['name']} {_percent(system['accuracy'])} [{_percent(low)}, {_percent(high)}]"


def verdict(systems: list[dict[str, Any]]) -> dict[str, Any]:
    """The consortium against the best member alone and against the baseline:
    better / no better / worse, from whether the 95% intervals overlap."""
    consortium = next((s for s in systems if s["kind"] == "consortium"), None)
    members = [s for s in systems if s["kind"] == "member"]
    baseline = next((s for s in systems if s["kind"] == "baseline"), None)
    out: dict[str, Any] = {"best_member": None, "baseline": None, "line": ""}
    if consortium is None:
        return out
    best = max(members, key=lambda s: s["correct"], default=None)  # first of equals
    parts = []
    pairs = (("best_member", best, "the best member alone"), ("baseline", baseline, "the same-budget baseline"))
    for key, other, label in pairs:
        if other is None:
            continue
        word = stats.compare(tuple(consortium["ci95"]), tuple(other["ci95"]))
        out[key] = {"name": other["name"], "result": word}
        parts.append(f"{word} than {label} ({describe_system(other)})")
    if parts:
        out["line"] = (
            f"Verdict: the consortium ({describe_system(consortium)}) is "
            + " and ".join(parts)
            + ". Better or worse means the 95% intervals do not overlap."
        )
        if best is not None:
            out["line"] += " " + _spend(consortium, best)
    return out


def _spend(consortium: dict[str, Any], other: dict[str, Any]) -> str:
    """How much more the consortium spent than `other`, in dollars when both have a
    cost, else in tokens."""
    if consortium["cost"] is not None and other["cost"]:
        return f"It cost {consortium['cost'] / other['cost']:.1f}x as much as {other['name']} alone."
    ours = consortium["input_tokens"] + consortium["output_tokens"]
    theirs = other["input_tokens"] + other["output_tokens"]
    if not theirs:
        return ""
    return f"It used {ours / theirs:.1f}x the tokens of {other['name']} alone."


def build(
    *,
    consortium: str,
    dataset: str,
    items: int,
    systems: Sequence[tuple[str, str, str]],
    rows: list[dict[str, Any]],
    prices: Prices | None = None,
    scorer: str = "exact",
    judge: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole report. `systems` is (key, kind, name) in display order; `rows` are
    the scored results (each row's `system` is one of the keys); `judge` is the
    judge's own usage (model, calls, input_tokens, output_tokens, usage, errors)."""
    prices = prices or {}
    rows = [{**row, "cost": cost(row.get("usage") or {}, prices)} for row in rows]
    by_system: dict[str, list[dict[str, Any]]] = {key: [] for key, _, _ in systems}
    for row in rows:
        by_system[row["system"]].append(row)
    summaries = [system_summary(kind, name, by_system[key]) for key, kind, name in systems]
    consortium_rows = [row for row in rows if row["kind"] == "consortium"]
    report: dict[str, Any] = {
        "consortium": consortium,
        "dataset": dataset,
        "items": items,
        "scorer": scorer,
        "systems": summaries,
        "flips": flips(consortium_rows),
        "final_rounds": final_rounds(consortium_rows),
        "calibration": calibration(consortium_rows),
        "verdict": verdict(summaries),
        "judge": None,
        "results": [{k: v for k, v in row.items() if k != "usage"} for row in rows],
    }
    if judge is not None:
        report["judge"] = {
            **{k: v for k, v in judge.items() if k != "usage"},
            "cost": cost(judge.get("usage") or {}, prices),
        }
    return report


def disagreements(report: dict[str, Any]) -> list[int]:
    """Items on which the systems were not all right or all wrong, in item order."""
    marks: dict[int, set[bool]] = {}
    for row in report["results"]:
        marks.setdefault(row["item"], set()).add(bool(row.get("correct")))
    return sorted(item for item, seen in marks.items() if len(seen) > 1)
