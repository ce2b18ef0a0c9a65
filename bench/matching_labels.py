"""Precision and recall of `auto` matching on the hand-labelled sets
(docs/matching.md quotes the figures):

* tests/data/matching_labels.jsonl: written for the rules of an earlier round;
* tests/data/matching_blind.jsonl: written by a session that never read the
  matching code (tests/data/matching_blind.md), with `mixed` groups whose true
  partition is given;
* tests/data/matching_final.jsonl: written later by another session that read
  neither the code nor the other sets, the final measurement: its figures are
  reported, its groups are never shown (`--show` refuses it);
* tests/data/matching_adversarial.jsonl: a red-team set written by a session that
  read neither the code nor the other sets, only replies that look alike but say
  different things (disagree and mixed groups): a precision set, no halves.

Precision: a group that holds replies saying different things (disagree, mixed) is
kept apart when no cluster holds two replies of different true groups. Recall: a
true group of two or more replies that say the same thing (an agree group, each
such part of a mixed group) is found when all its replies form one cluster.
Figures are given per split (dev: the rules may be tuned on it; held-out: never
looked at while tuning), for both and by kind; "short" counts only the groups whose
question asks for a short answer.

    .venv/bin/python bench/matching_labels.py [--set blind|labels|final|adversarial|both|all] [--by-kind] [--show]

`--show` lists the dev half's misses only (the adversarial set, which has no
halves, whole; pass `--split held-out` to see the held-out half's, once tuning is
over).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_consortium.judging.matching import AUTO, Cluster

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SETS = {"labels": DATA / "matching_labels.jsonl", "blind": DATA / "matching_blind.jsonl",
        "final": DATA / "matching_final.jsonl", "adversarial": DATA / "matching_adversarial.jsonl"}
NEVER_SHOWN = {"final"}


def load(name: str) -> list[dict[str, Any]]:
    with SETS[name].open(encoding="utf-8") as lines:
        items = [json.loads(line) for line in lines if line.strip()]
    for item in items:
        item.setdefault("kind", item.get("category", "?"))
        item.setdefault("short", True)
        if "groups" not in item:
            n = len(item["replies"])
            item["groups"] = [list(range(n))] if item["label"] == "agree" else [[i] for i in range(n)]
    return items


Clusterer = Callable[[Sequence[str], str], list[Cluster]]


@dataclass
class Score:
    """One group's outcome: whether it was kept apart (None when it has nothing to
    keep apart), and how many of its true groups of two or more were found."""

    apart: bool | None
    found: int
    findable: int


def score(item: dict[str, Any], clusters_of: Clusterer = AUTO.clusters) -> Score:
    clusters = clusters_of(item["replies"], item["prompt"])
    home = {m: i for i, c in enumerate(clusters) for m in c.members}
    truth = {m: g for g, members in enumerate(item["groups"]) for m in members}
    mixed_up = any(len({truth[m] for m in c.members}) > 1 for c in clusters)
    apart = None if len(item["groups"]) == 1 else not mixed_up
    big = [g for g in item["groups"] if len(g) >= 2]
    found = sum(len({home[m] for m in g}) == 1 for g in big)
    return Score(apart, found, len(big))


def figures(items: list[dict[str, Any]], clusters_of: Clusterer = AUTO.clusters) -> str:
    scores = [score(i, clusters_of) for i in items]
    judged = [s for s in scores if s.apart is not None]
    apart = sum(bool(s.apart) for s in judged)
    found, findable = sum(s.found for s in scores), sum(s.findable for s in scores)
    short = [score(i, clusters_of) for i in items if i["short"] and i["label"] == "agree"]
    short_found = sum(s.found for s in short)
    return (f"kept apart {apart}/{len(judged)} ({apart / max(1, len(judged)):.1%}), "
            f"found {found}/{findable} ({found / max(1, findable):.1%}), "
            f"short agree found {short_found}/{len(short)} ({short_found / max(1, len(short)):.1%})")


def report(name: str, items: list[dict[str, Any]], by_kind: bool, clusters_of: Clusterer = AUTO.clusters) -> None:
    print(f"== {name} ({len(items)} groups)")
    splits = [split for split in ("dev", "held-out") if any(i.get("split") == split for i in items)]
    for split in splits:
        print(f"{split:9} {figures([i for i in items if i.get('split') == split], clusters_of)}")
    print(f"{'all':9} {figures(items, clusters_of)}")
    if by_kind:
        for kind in sorted({i["kind"] for i in items}):
            for split in splits or ["all"]:
                mine = [i for i in items if i["kind"] == kind and split in (i.get("split"), "all")]
                print(f"  {kind:18} {split:9} {figures(mine, clusters_of)}")


def show(items: list[dict[str, Any]], split: str) -> None:
    for item in items:
        if item.get("split", split) != split:  # a set without halves (adversarial) is shown whole
            continue
        result = score(item)
        if result.apart is False or result.found < result.findable:
            clusters = AUTO.clusters(item["replies"], item["prompt"])
            print(f"\n#{item['id']} {item['kind']} {item['label']} {item['prompt']!r} truth={item['groups']}")
            for c in clusters:
                print("  ", [item["replies"][m][:150] for m in c.members], [(r.value[:60], r.rule) for r in c.reduced])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", choices=(*SETS, "both", "all"), default="both",
                        help="both: blind, labels and adversarial; all: the final set too, when it is there")
    parser.add_argument("--by-kind", action="store_true", help="figures per kind (category) and split")
    parser.add_argument("--show", action="store_true", help="print every group the matcher got wrong")
    parser.add_argument("--split", default="dev", help="which split --show lists (dev unless told)")
    args = parser.parse_args()
    names = {"both": ("blind", "labels", "adversarial"),
             "all": ("blind", "labels", "adversarial", "final")}.get(args.set, (args.set,))
    for name in names:
        if not SETS[name].exists():
            print(f"== {name}: {SETS[name].name} is not there")
            continue
        items = load(name)
        report(name, items, args.by_kind)
        if args.show and name not in NEVER_SHOWN:
            show(items, args.split)


if __name__ == "__main__":
    main()
