"""How a consortium's arbiter fared in a small context window, read from the runs an
eval logged (`llm consortiums eval ... --log`): the rounds that reached the arbiter,
those whose reply was used (no fallback), its tags, the overflows and when they
happened, the forms of the judging prompt, echoed fence markers, and calls per item.
Not part of the test suite; the figures are in docs/local-models.md.

    LLM_USER_PATH=/tmp/smol-eval python bench/small_windows.py smol3arb [--since 2026-12-07T12:00]
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llm_consortium.history.logged_runs import open_logs, recent_runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the consortium")
    parser.add_argument("--since", default="", help="only runs logged at or after this UTC time (ISO 8601)")
    args = parser.parse_args()
    runs = sorted(recent_runs(open_logs(), 0, args.name), key=lambda run: run.datetime_utc)
    runs = [run for run in runs if run.datetime_utc >= args.since]
    reached = used = tagged = 0
    overflows: list[int] = []  # the order (0-based, by start) of each round that overflowed
    forms: collections.Counter[str] = collections.Counter()
    echoes = calls = 0
    order = 0
    for run in runs:
        trace = run.trace
        calls += sum(row.get("calls", 0) for row in trace["usage"].get("per_model", {}).values())
        echoes += sum("fence marker" in note for note in trace["notes"])
        for round_ in trace["rounds"]:
            arbiter = round_.get("arbiter")
            if not arbiter:
                continue
            reached += 1
            if "overflow" in arbiter:
                overflows.append(order)
            order += 1
            forms[arbiter.get("fit", {}).get("form", "unknown window")] += 1
            if "fallback" not in round_ and arbiter.get("synthesis"):
                used += 1
                tagged += bool(arbiter.get("tagged"))
    print(f"{args.name}: {len(runs)} runs, {calls} calls ({calls / max(1, len(runs)):.2f} per run)")
    print(f"rounds that reached the arbiter: {reached}; its reply used: {used} ({used / max(1, reached):.0%})")
    print(f"replies with the <synthesis> tag: {tagged} of {used}; untagged (whole reply, confidence unknown): "
          f"{used - tagged}")
    print(f"rounds whose first arbiter call overflowed: {len(overflows)} (their order among arbiter rounds: "
          f"{overflows})")
    print(f"judging prompt forms: {dict(forms)}; notes on echoed fence markers: {echoes}")


if __name__ == "__main__":
    main()
