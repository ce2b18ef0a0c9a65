"""A stored eval result, made from a run's trace: the answer, what it cost and how
long it took.

Unknown stays unknown: a plugin that reports no token usage gives `None` tokens (and
so no cost), never 0. Time is split in two: what the system's own calls took, and
what it spent waiting for a concurrency slot or a rate limit, which depends on what
else was running (with a sync-only model, every other system's calls).
"""

from __future__ import annotations

import time
from typing import Any

from ..trace import read_trace
from .agreement import unanimous


def ms(since: float) -> int:
    return round((time.monotonic() - since) * 1000)


def empty(error: str, started: float) -> dict[str, Any]:
    """A failed run: no answer, nothing known to be spent."""
    latency = ms(started)
    return {
        "answer": None, "error": error, "calls": 0, "input_tokens": 0, "output_tokens": 0,
        "usage": {}, "latency_ms": latency, "own_ms": latency, "wait_ms": 0,
    }


def _reviews(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A round's peer-review calls (members ranking each other's answers), if any."""
    review = record.get("review")
    return [c for c in review.get("reviewers") or [] if isinstance(c, dict)] if isinstance(review, dict) else []


def _calls(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A round's call records: its members', its reviewers' and its arbiter's."""
    found = list(record.get("members") or []) + _reviews(record)
    if isinstance(record.get("arbiter"), dict) and "model" in record["arbiter"]:
        found.append(record["arbiter"])
    return found


def member_calls(trace: dict[str, Any]) -> int:
    """Calls the run made to its members, answers and reviews: the budget of its
    same-budget baseline."""
    return sum(len(record.get("members") or []) + len(_reviews(record)) for record in trace["rounds"])


def unknown_usage(trace: dict[str, Any]) -> set[str]:
    """Models that answered without saying how many tokens they used."""
    unknown = set()
    for record in trace["rounds"]:
        for call in _calls(record):
            answered = "text" in call or "raw" in call or "ranking" in call
            if answered and (call.get("usage") or {}).get("input") is None:
                unknown.add(call["model"])
    return unknown


def _waited(call: dict[str, Any]) -> int:
    return int(call.get("queued_ms") or 0) + int(call.get("rate_limit_wait_ms") or 0)


def waited_ms(trace: dict[str, Any]) -> int:
    """Time the run spent waiting for a slot or a rate limit: per round, the longest
    wait among its concurrent member calls, the same for its review calls, plus the
    arbiter's."""
    total = 0
    for record in trace["rounds"]:
        for concurrent in (record.get("members") or [], _reviews(record)):
            total += max((_waited(call) for call in concurrent), default=0)
        if isinstance(record.get("arbiter"), dict):
            total += _waited(record["arbiter"])
    return total


def _round_answers(trace: dict[str, Any]) -> list[dict[str, Any]]:
    rounds = []
    for record in trace["rounds"]:
        answer = None
        if "vote" in record:
            answer = record["vote"]["groups"][0]["answer"]
        elif isinstance(record.get("arbiter"), dict) and "synthesis" in record["arbiter"]:
            answer = record["arbiter"]["synthesis"]
        if answer is not None:
            rounds.append({"round": record["round"], "answer": answer})
    return rounds


def from_trace(trace: dict[str, Any], started: float) -> dict[str, Any]:
    """A stored result from a run's trace (plus its "text"): the answer, the usage,
    each judged round's answer."""
    text = trace["text"]
    trace = dict(read_trace(trace))
    unknown = unknown_usage(trace)
    usage = trace["usage"]
    per_model = {
        model: {**row, **({"input": None, "output": None} if model in unknown else {})}
        for model, row in usage.get("per_model", {}).items()
    }
    latency = ms(started)
    wait = min(latency, waited_ms(trace))
    return {
        "answer": text,
        "error": None,
        "calls": sum(row["calls"] for row in per_model.values()),
        "input_tokens": None if unknown else usage.get("input", 0),
        "output_tokens": None if unknown else usage.get("output", 0),
        "usage": per_model,
        "latency_ms": latency,
        "own_ms": latency - wait,
        "wait_ms": wait,
        "confidence": trace.get("confidence"),
        "final_round": trace.get("final_round"),
        "rounds": _round_answers(trace),
        "member_calls": member_calls(trace),
        "unanimous": unanimous(trace),
    }
