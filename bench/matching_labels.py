"""Precision and recall of `auto` matching on the hand-labelled groups
(tests/data/matching_labels.jsonl; docs/matching.md quotes the figures).

A group labelled "disagree" holds replies that all say different things: any two of
them in one cluster is a false agreement. A group labelled "agree" holds replies
that all say the same thing: it is found when they form one cluster. Figures are
given for the development half (the rules were tuned on it), the held-out half
(written with it, never looked at while tuning) and both.

    .venv/bin/python bench/matching_labels.py [--show]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from llm_consortium.judging.matching import AUTO

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "matching_labels.jsonl"


def load() -> list[dict[str, Any]]:
    with DATA.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def outcome(item: dict[str, Any]) -> bool:
    """Whether the matcher got this group right."""
    clusters = AUTO.clusters(item["replies"], item["prompt"])
    if item["label"] == "agree":
        return len(clusters) == 1
    return all(len(c.members) == 1 for c in clusters)


def figures(items: list[dict[str, Any]]) -> str:
    agree = [i for i in items if i["label"] == "agree"]
    disagree = [i for i in items if i["label"] == "disagree"]
    kept_apart = sum(outcome(i) for i in disagree)
    found = sum(outcome(i) for i in agree)
    return (f"disagree kept apart {kept_apart}/{len(disagree)} ({kept_apart / max(1, len(disagree)):.1%}), "
            f"agree found {found}/{len(agree)} ({found / max(1, len(agree)):.1%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", action="store_true", help="print every group the matcher got wrong")
    args = parser.parse_args()
    items = load()
    for split in ("dev", "held-out"):
        print(f"{split:9} {figures([i for i in items if i['split'] == split])}")
    print(f"{'all':9} {figures(items)}")
    if args.show:
        for item in items:
            if not outcome(item):
                clusters = AUTO.clusters(item["replies"], item["prompt"])
                print(f"\n#{item['id']} {item['split']} {item['label']} {item['prompt']!r}")
                for c in clusters:
                    print("  ", [item["replies"][m] for m in c.members], [(r.value, r.rule) for r in c.reduced])


if __name__ == "__main__":
    main()
