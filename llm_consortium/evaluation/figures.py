"""The figures of an eval, from its scored results: per-system accuracy with Wilson
intervals, calls, tokens, cost, errors, latency and the share of unanimous votes;
each consortium's answer flips, final rounds and calibration; the paired comparisons
and the verdict.

Input and output are plain JSON-ready dicts, so the report is the `--json` output
as it is, and the table and the HTML page are views of it.

A result row (one item, one system) holds: item, line, system, kind, name, answer,
correct, error, calls, input_tokens, output_tokens, usage (per model: calls, input,
output; tokens None when a model reported none), latency_ms, own_ms, wait_ms, and for
a consortium confidence, final_round and rounds (each round's answer and whether it
was right); for the baseline, samples.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from ..calls import costs
from . import paired_verdict, stats


def cost(usage: dict[str, dict[str, Any]], prices: costs.Prices) -> float | None:
    """What `usage` (per model: calls, input, output, and `cost` when the provider
    reported one) cost: `calls.costs.cost`, the one implementation every command
    shares, except that a model whose tokens are unknown and which reported no cost
    of its own makes the whole cost unknown, never a cost from 0 tokens. Without a
    price table and without a provider's figure nothing is known: None, not $0."""
    if not prices and not any(row.get("cost") is not None for row in usage.values()):
        return None
    for row in usage.values():
        if row.get("cost") is None and (row.get("input") is None or row.get("output") is None):
            return None
    return costs.cost(usage, prices)


def _sum_costs(values: Sequence[float | None]) -> float | None:
    if any(value is None for value in values):
        return None
    return round(sum(value for value in values if value is not None), 10)


def _total(rows: list[dict[str, Any]], field: str) -> int | None:
    """A sum over rows, None when any row's value is unknown."""
    values = [row.get(field) for row in rows]
    if any(value is None for value in values):
        return None
    return sum(value for value in values if value is not None)


def _percentiles(rows: list[dict[str, Any]], field: str) -> tuple[float | None, float | None]:
    values = [row[field] for row in rows if row.get(field) is not None]
    return stats.percentile(values, 50), stats.percentile(values, 95)


def unanimity(rows: Sequence[dict[str, Any]]) -> float | None:
    """The share of a system's voted results that were unanimous (`trace_results.unanimous`);
    None when none voted."""
    voted = [row["unanimous"] for row in rows if row.get("unanimous") is not None]
    return sum(voted) / len(voted) if voted else None


def system_summary(system: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One system's line of the report. A failed item counts as answered wrong: the
    user asked and got no right answer. Latency is per item: `latency_ms` the wall
    time, `own_ms` the part spent in the system's own calls, `wait_ms` the part spent
    waiting for a concurrency slot or a rate limit (which other systems cause)."""
    total = len(rows)
    correct = sum(1 for row in rows if row.get("correct"))
    low, high = stats.wilson(correct, total)
    summary = {
        **system,
        "correct": correct,
        "total": total,
        "accuracy": correct / total if total else None,
        "ci95": [low, high],
        "calls": sum(row.get("calls", 0) for row in rows),
        "input_tokens": _total(rows, "input_tokens"),
        "output_tokens": _total(rows, "output_tokens"),
        "errors": sum(1 for row in rows if row.get("error")),
        "failed_calls": sum(row.get("failed_calls") or 0 for row in rows),  # counted in `calls` too
        "cost": _sum_costs([row.get("cost") for row in rows]) if rows else None,
        "unanimous": unanimity(rows),  # share of voted results all in one group
    }
    for field in ("latency_ms", "own_ms", "wait_ms"):
        summary[f"{field}_p50"], summary[f"{field}_p95"] = _percentiles(rows, field)
    return summary


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


def build(
    *,
    consortiums: Sequence[str],
    dataset: str,
    items: int,
    systems: Sequence[dict[str, Any]],
    rows: list[dict[str, Any]],
    prices: costs.Prices | None = None,
    scorer: str = "exact",
    judge: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole report, a pure function of its arguments. `systems` are
    `System.as_dict()` in display order; `rows` are the scored results (each row's
    `system` is one of the keys); `judge` is the judge's own usage (model, calls,
    input_tokens, output_tokens, usage, errors)."""
    prices = prices or {}
    rows = [{**row, "cost": cost(row.get("usage") or {}, prices)} for row in rows]
    by_system: dict[str, list[dict[str, Any]]] = {s["key"]: [] for s in systems}
    for row in rows:
        by_system[row["system"]].append(row)
    summaries = [system_summary(dict(s), by_system[s["key"]]) for s in systems]
    for summary in summaries:
        if summary["kind"] == "consortium":
            summary.update(_consortium_figures(by_system[summary["key"]]))
    found = paired_verdict.comparisons(summaries, rows)
    report: dict[str, Any] = {
        "consortiums": list(consortiums),
        "dataset": dataset,
        "items": items,
        "scorer": scorer,
        "systems": summaries,
        "comparisons": found,
        "verdict": paired_verdict.verdict(summaries, found),
        "judge": None,
        "results": [{k: v for k, v in row.items() if k != "usage"} for row in rows],
    }
    if judge is not None:
        report["judge"] = {
            **{k: v for k, v in judge.items() if k != "usage"},
            "cost": cost(judge.get("usage") or {}, prices),
        }
    return report


def _consortium_figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A consortium's answer flips, final rounds, calibration and arbiter fallbacks."""
    return {"flips": flips(rows), "final_rounds": final_rounds(rows), "calibration": calibration(rows),
            "arbiter_fallbacks": fallbacks(rows)}


def fallbacks(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """How often the arbiter failed and the answer fell back (to an earlier round,
    the peer review or the members' vote): the items (by line) and the rounds."""
    hit = [row for row in rows if row.get("arbiter_fallbacks")]
    return {
        "items": len(hit),
        "rounds": sum(len(row["arbiter_fallbacks"]) for row in hit),
        "lines": sorted(row["line"] for row in hit),
    }


def disagreements(report: dict[str, Any]) -> list[int]:
    """Items on which the systems were not all right or all wrong, in item order."""
    marks: dict[int, set[bool]] = {}
    for row in report["results"]:
        marks.setdefault(row["item"], set()).add(bool(row.get("correct")))
    return sorted(item for item, seen in marks.items() if len(seen) > 1)
