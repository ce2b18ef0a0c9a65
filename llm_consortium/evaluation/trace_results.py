"""A stored eval result, made from a run's trace: the answer, what it cost and how
long it took.

Unknown stays unknown: a plugin that reports no token usage gives `None` tokens (and
so no cost), never 0. Time is split in two: what the system's own calls took, and
what it spent waiting for a concurrency slot or a rate limit while none of its own
calls ran, which depends on what else was running (with a sync-only model, every
other system's calls). A consortium's copies of a sync-only model taking turns is
its own time.
"""

from __future__ import annotations

import time
from typing import Any

from ..trace import read_trace


def ms(since: float) -> int:
    return round((time.monotonic() - since) * 1000)


def empty(error: str, started: float, usage: dict[str, Any] | None = None) -> dict[str, Any]:
    """A failed run: no answer, and what it spent (`usage`, the engine's: a failed
    run's calls are calls, counted and charged); nothing when it is not known."""
    latency = ms(started)
    usage = usage or {}
    per_model = usage.get("per_model") or {}
    return {
        "answer": None, "error": error, "calls": sum(row.get("calls") or 0 for row in per_model.values()),
        "input_tokens": usage.get("input", 0), "output_tokens": usage.get("output", 0),
        "usage": per_model, "latency_ms": latency, "own_ms": latency, "wait_ms": 0,
    }


def _reviews(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A round's peer-review calls (members ranking each other's answers), if any."""
    review = record.get("review")
    return [c for c in review.get("reviewers") or [] if isinstance(c, dict)] if isinstance(review, dict) else []


def _calls(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A round's call records: its members', its reviewers', its arbiter's and its
    matcher's."""
    found = list(record.get("members") or []) + _reviews(record)
    if isinstance(record.get("arbiter"), dict) and "model" in record["arbiter"]:
        found.append(record["arbiter"])
    found += [c for c in record.get("matching") or [] if isinstance(c, dict)]
    return found


def _made(call: dict[str, Any]) -> bool:
    """Whether a call reached its model: one that never got a slot (or was never
    sent) is a failed call, but nothing was asked."""
    return bool(call.get("requests", 1))


def member_calls(trace: dict[str, Any]) -> int:
    """Calls the run really made to its members, answers and reviews, failed ones
    included: the budget of its same-budget baseline."""
    return sum(
        sum(1 for call in [*(record.get("members") or []), *_reviews(record)] if _made(call))
        for record in trace["rounds"]
    )


def failed_calls(trace: dict[str, Any]) -> int:
    """Calls of the run that failed (members, reviewers, the arbiter, the matcher),
    whether or not they reached their model: each is counted in the calls. A reply
    that came back unusable (its text kept as `raw` or `rejected`) is an answer
    rejected, not a call that failed."""
    return sum(
        1
        for record in trace["rounds"]
        for call in _calls(record)
        if "error" in call and "raw" not in call and "rejected" not in call
    )


def unknown_usage(trace: dict[str, Any]) -> set[str]:
    """Models that answered without saying how many tokens they used."""
    unknown = set()
    for record in trace["rounds"]:
        for call in _calls(record):
            answered = "text" in call or "raw" in call or "ranking" in call
            if answered and (call.get("usage") or {}).get("input") is None:
                unknown.add(call["model"])
    return unknown


RESOLUTION_MS = 1
"""Each time in a trace is rounded to the millisecond, so a call that took over the
slot the moment another released it can seem to start up to 1 ms after it ended."""


def _idle_ms(concurrent: list[dict[str, Any]]) -> int:
    """Time calls started together spent with none of them running.

    Each call is laid on the timeline from the moment they all asked for a slot: it
    queued (`queued_ms`), then ran for `duration_ms`, of which `rate_limit_wait_ms`
    went to rate limits (counted at its end). The phase lasted until its last call
    ended; whatever part of that none of its calls was running went to waiting for
    other systems' calls or a provider. Waiting behind a sibling, as copies of a
    sync-only model do (one call at a time), is the system's own time: a sibling
    was running all along."""
    spans = []
    end = 0
    for call in concurrent:
        start = int(call.get("queued_ms") or 0)
        duration = int(call.get("duration_ms") or 0)
        running = max(0, duration - int(call.get("rate_limit_wait_ms") or 0))
        spans.append((start, start + running))
        end = max(end, start + duration)
    busy = reached = 0
    for start, stop in sorted(spans):
        if reached and start - reached <= RESOLUTION_MS:
            start = min(start, reached)  # one call handing the slot to the next: no gap
        if stop > reached:
            busy += stop - max(start, reached)
            reached = stop
    return max(0, end - busy)


def waited_ms(trace: dict[str, Any]) -> int:
    """Time the run spent waiting for a slot or a rate limit while none of its own
    calls was running (`_idle_ms`), over the concurrent member calls of each round,
    then its review calls, then its arbiter."""
    total = 0
    for record in trace["rounds"]:
        for concurrent in (record.get("members") or [], _reviews(record)):
            total += _idle_ms(concurrent)
        if isinstance(record.get("arbiter"), dict):
            total += _idle_ms([record["arbiter"]])
    return total


def arbiter_fallbacks(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """The rounds whose arbiter failed and whose answer fell back to an earlier
    round, the peer review or the members' vote: each round, what was kept and why."""
    found = []
    for record in trace["rounds"]:
        fallback = record.get("fallback")
        if not isinstance(fallback, dict):
            continue
        arbiter = record.get("arbiter")
        error = arbiter.get("error") if isinstance(arbiter, dict) else None
        found.append({"round": record.get("round"), "kept": fallback.get("kept"), "error": error})
    return found


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


def unanimous(trace: dict[str, Any]) -> bool | None:
    """Whether the run's last vote put every answer in one group; None when no
    round of the run voted (an arbiter's run or a single call has no vote). A
    unanimous vote is what the arbiter skip and the trace's confidence rest on, so
    eval reports its share per system beside accuracy."""
    votes = [record["vote"] for record in trace.get("rounds", []) if isinstance(record.get("vote"), dict)]
    if not votes or "share" not in votes[-1]:
        return None
    return bool(votes[-1]["share"] == 1.0)


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
        "failed_calls": failed_calls(trace),
        "unanimous": unanimous(trace),
        "arbiter_fallbacks": arbiter_fallbacks(trace),
    }
