"""The hand-labelled set (tests/data/matching_labels.jsonl): `auto` never groups two
replies a person calls different. Recall on "agree" is measured by
bench/matching_labels.py and reported in docs/matching.md."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from llm_consortium.judging.matching import AUTO

ITEMS = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "matching_labels.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]
DISAGREE = [item for item in ITEMS if item["label"] == "disagree"]
AGREE = [item for item in ITEMS if item["label"] == "agree"]


def test_the_set_is_large_varied_and_split_before_tuning():
    assert len(ITEMS) >= 200
    assert set(Counter(item["category"] for item in ITEMS)) == {
        "arithmetic", "yes/no", "choice", "entities", "dates", "negation", "swapped", "prose", "code", "languages"
    }
    assert {item["split"] for item in ITEMS} == {"dev", "held-out"}
    assert all(len(item["replies"]) >= 2 for item in ITEMS)


@pytest.mark.parametrize("item", DISAGREE, ids=[f"{i['id']}-{i['category']}" for i in DISAGREE])
def test_replies_labelled_different_are_never_one_group(item):
    clusters = AUTO.clusters(item["replies"], item["prompt"])
    assert [len(c.members) for c in clusters] == [1] * len(item["replies"]), [
        ([item["replies"][m] for m in c.members], c.label) for c in clusters
    ]


def test_most_replies_labelled_alike_are_one_group():
    """Not a target (docs/matching.md has the figure): a floor, so a rule that
    stops finding agreement altogether cannot pass unnoticed."""
    found = sum(len(AUTO.clusters(item["replies"], item["prompt"])) == 1 for item in AGREE)
    assert found / len(AGREE) >= 0.9
