"""Loops through nested consortiums are found before any call: through members,
through an arbiter, and a consortium that includes itself."""

from __future__ import annotations

from llm_consortium.saved.config import ConsortiumConfig
from llm_consortium.saved.cycles import find_cycle

from helpers import save


def test_find_cycle_names_the_loop():
    save("b", ["alpha", "a"], arbiter=None)
    a = save("a", ["beta", "b"], arbiter=None)
    assert find_cycle(a) == ["a", "b", "a"]


def test_find_cycle_through_an_arbiter_and_itself():
    assert find_cycle(save("selfish", ["alpha", "selfish"], arbiter=None)) == ["selfish", "selfish"]
    save("inner", ["alpha"], arbiter="outer")
    assert find_cycle(save("outer", ["inner"], arbiter=None)) == ["outer", "inner", "outer"]


def test_find_cycle_on_an_unsaved_config_and_a_clean_nesting():
    save("leaf", ["alpha", "beta"], arbiter=None)
    assert find_cycle(save("top", ["leaf", "leaf"], arbiter=None)) is None
    unsaved = ConsortiumConfig(name="new", models=[{"model_id": "new"}])
    assert find_cycle(unsaved) == ["new", "new"]
