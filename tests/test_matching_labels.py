"""The hand-labelled sets: `auto` never groups two replies a person calls different.

* tests/data/matching_labels.jsonl, written for an earlier round's rules;
* tests/data/matching_blind.jsonl, written by a session that never read the matching
  code (tests/data/matching_blind.md), with `mixed` groups whose true partition is
  given;
* tests/data/matching_final.jsonl, written by another session that had read neither
  the code nor the other sets, measured once when the rules were done
  (tests/data/matching_final.md);
* tests/data/matching_adversarial.jsonl, a red-team set written blind by another
  session: replies that look alike but commit to different answers, disagree and
  mixed groups only (tests/data/matching_adversarial.md).

Recall is measured by bench/matching_labels.py and reported in docs/matching.md;
the floors below only catch a rule that stops finding agreement altogether."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from llm_consortium.judging.matching import AUTO

DATA = Path(__file__).parent / "data"


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


ITEMS = load("matching_labels.jsonl")
DISAGREE = [item for item in ITEMS if item["label"] == "disagree"]
AGREE = [item for item in ITEMS if item["label"] == "agree"]
BLIND = load("matching_blind.jsonl")
FINAL = load("matching_final.jsonl")
ADVERSARIAL = load("matching_adversarial.jsonl")
APART = [(name, item) for name, items in (("blind", BLIND), ("final", FINAL), ("adversarial", ADVERSARIAL))
         for item in items if len(item["groups"]) > 1]


def test_the_set_is_large_varied_and_split_before_tuning():
    assert len(ITEMS) >= 200
    assert set(Counter(item["category"] for item in ITEMS)) == {
        "arithmetic", "yes/no", "choice", "entities", "dates", "negation", "swapped", "prose", "code", "languages"
    }
    assert {item["split"] for item in ITEMS} == {"dev", "held-out"}
    assert all(len(item["replies"]) >= 2 for item in ITEMS)


def test_the_blind_set_is_large_split_and_partitioned():
    assert len(BLIND) >= 300
    assert {item["split"] for item in BLIND} == {"dev", "held-out"}
    for item in BLIND:
        assert sorted(i for group in item["groups"] for i in group) == list(range(len(item["replies"])))
        assert (len(item["groups"]) == 1) == (item["label"] == "agree")


@pytest.mark.parametrize("item", DISAGREE, ids=[f"{i['id']}-{i['category']}" for i in DISAGREE])
def test_replies_labelled_different_are_never_one_group(item):
    clusters = AUTO.clusters(item["replies"], item["prompt"])
    assert [len(c.members) for c in clusters] == [1] * len(item["replies"]), [
        ([item["replies"][m] for m in c.members], c.label) for c in clusters
    ]


def test_the_adversarial_set_is_disagree_and_mixed_only_and_partitioned():
    assert len(ADVERSARIAL) >= 280
    assert {item["label"] for item in ADVERSARIAL} == {"disagree", "mixed"}
    for item in ADVERSARIAL:
        assert sorted(i for group in item["groups"] for i in group) == list(range(len(item["replies"])))
        assert len(item["groups"]) > 1


@pytest.mark.parametrize("item", [i for _, i in APART], ids=[f"{n}-{i['id']}-{i['kind']}-{i['label']}" for n, i in APART])
def test_replies_of_different_true_groups_are_never_one_group(item):
    """Every disagree and mixed group of the blind, final and adversarial sets."""
    truth = {m: g for g, members in enumerate(item["groups"]) for m in members}
    for cluster in AUTO.clusters(item["replies"], item["prompt"]):
        assert len({truth[m] for m in cluster.members}) == 1, (
            [item["replies"][m] for m in cluster.members], cluster.label
        )


def test_most_replies_labelled_alike_are_one_group():
    """Not a target (docs/matching.md has the figure): a floor at what is measured,
    so a rule that stops finding agreement cannot pass unnoticed."""
    found = sum(len(AUTO.clusters(item["replies"], item["prompt"])) == 1 for item in AGREE)
    assert found >= 90


@pytest.mark.parametrize("split, floor", [("dev", 75), ("held-out", 49)])
def test_blind_short_answers_that_agree_are_found(split, floor):
    """Floors at the measured figures (docs/matching.md: 75 of 94 on the half the
    rules were tuned on, 49 of 95 on the held-out half), not targets."""
    short = [item for item in BLIND if item["label"] == "agree" and item["short"] and item["split"] == split]
    found = sum(len(AUTO.clusters(item["replies"], item["prompt"])) == 1 for item in short)
    assert found >= floor
