"""Matching inside a run (issue 31): no reply ends a run, one grouping per round,
model-backed matchers under the call policy, and the matching model in the cycle
check. Scripted members; the CLI path is in test_matching_e2e.py."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_consortium.adapter.model_matchers import JudgeMatcher, SemanticMatcher
from llm_consortium.engine import run
from llm_consortium.errors import ConsortiumFailed
from llm_consortium.saved.cycles import find_cycle
from llm_consortium.types import Call

from helpers import Scripted, save
from helpers import settings as engine_settings

MODES = {
    "arbiter": {"strategy": "arbiter"},
    "vote": {"strategy": "vote"},
    "review": {"strategy": "vote", "review": True},
    "tier": {"strategy": "arbiter", "agreement": 1.0},
}


async def _run_mode(mode: str, replies: list[str], arbiter_reply: str):
    members = [Scripted(f"m{i}", text).participant() for i, text in enumerate(replies)]
    if mode == "tier":
        members[-1].tier = 2
    arbiter = Scripted("judge", arbiter_reply).participant()
    return await run(Call("What is 7 + 5?"), members, arbiter, engine_settings(max_iterations=2, **MODES[mode]))


def _answers_or_fails_in_one_line(mode: str, replies: list[str], arbiter_reply: str) -> None:
    try:
        result = asyncio.run(_run_mode(mode, replies, arbiter_reply))
    except ConsortiumFailed as failed:
        assert "\n" not in str(failed), str(failed)[:200]
        return
    assert isinstance(result.text, str)


HUGE = ["The answer is 1e1000000", "1e999999", "The answer is " + "9" * 200_000, "-1e-1000000"]


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("reply", HUGE[:2])
def test_a_huge_exponent_from_every_member_still_gives_an_answer(mode, reply):
    result = asyncio.run(_run_mode(mode, [reply] * 3, f"<confidence>0.9</confidence><synthesis>{reply}</synthesis>"))
    assert result.text == reply


strange = st.one_of(
    st.sampled_from(HUGE),
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),  # control characters, any script
    st.builds(lambda a, b: f"{a} = {b}", st.text(max_size=10), st.from_regex(r"[-+]?\d{1,30}(e[-+]?\d{1,9})?")),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(MODES)), st.lists(strange, min_size=3, max_size=3), strange)
def test_no_reply_however_strange_ends_a_run(mode, replies, arbiter_reply):
    _answers_or_fails_in_one_line(mode, replies, arbiter_reply)


# ------------------------------------------------------------ one grouping per round


def test_each_round_groups_its_answers_once_even_with_a_paid_matcher():
    """Tiers ask `disagreement` first, then the vote counts: one judge call, not two."""
    grouper = Scripted("grouper", "GROUPS: 1,2")
    members = [Scripted("a", "12").participant(), Scripted("b", "12").participant(),
               Scripted("c", "13").participant()]
    members[2].tier = 2
    matcher = JudgeMatcher(grouper.participant(), timeout=5, retries=0)
    result = asyncio.run(run(
        Call("What is 7 + 5?"), members, None,
        engine_settings(strategy="vote", agreement=1.0, max_iterations=1, matcher=matcher),
    ))
    assert result.text == "12" and len(grouper.calls) == 1
    assert result.usage["per_model"]["grouper"]["calls"] == 1


def test_the_arbiter_skip_reuses_the_escalation_grouping():
    grouper = Scripted("grouper", "GROUPS: 1,2")
    members = [Scripted("a", "12").participant(), Scripted("b", "The answer is 12.").participant(),
               Scripted("c", "13").participant()]
    members[2].tier = 2
    matcher = JudgeMatcher(grouper.participant(), timeout=5, retries=0)
    result = asyncio.run(run(
        Call("What is 7 + 5?"), members, Scripted("judge", "unused").participant(),
        engine_settings(agreement=1.0, max_iterations=1, matcher=matcher),
    ))
    assert result.rounds[0]["arbiter_skipped"] == "all 2 answers agree"
    assert len(grouper.calls) == 1


# ------------------------------------------------------------ model-backed matchers


class _Embedder:
    """An embedding model whose `embed_multi` fails, or blocks until released."""

    model_id = "embedder"

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.release = threading.Event()

    def embed_multi(self, texts):
        if self.error is not None:
            raise self.error
        self.release.wait(30)
        return [[1.0, 0.0] for _ in texts]


def test_a_failing_embedding_model_falls_back_to_auto_and_the_run_goes_on():
    matcher = SemanticMatcher(_Embedder(RuntimeError("no key set")), timeout=5, retries=0)
    members = [Scripted(n, text).participant() for n, text in (("a", "12"), ("b", "7 + 5 = 12"), ("c", "13"))]
    result = asyncio.run(run(Call("What is 7 + 5?"), members, None,
                             engine_settings(strategy="vote", max_iterations=1, matcher=matcher)))
    assert result.text == "12" and result.confidence == pytest.approx(2 / 3)
    assert any("could not embed the answers (no key set)" in note and "grouped by auto" in note
               for note in result.notes)
    assert result.usage["per_model"]["embedder"]["calls"] == 1


def test_an_embedding_call_is_bounded_by_the_timeout():
    model = _Embedder()
    try:
        grouping = asyncio.run(SemanticMatcher(model, timeout=0.2, retries=0).group(["12", "13"], "What is 7 + 5?"))
    finally:
        model.release.set()
    assert "timed out after 0.2s" in grouping.notes[0]
    assert [c.members for c in grouping.clusters] == [(0,), (1,)]


def test_a_judge_matcher_records_each_answers_conclusion_with_its_mode():
    grouping = asyncio.run(JudgeMatcher(Scripted("grouper", "GROUPS: 1,2").participant(), timeout=5, retries=0)
                           .group(["Twelve.", "It is 12"], "What is 7 + 5?"))
    [cluster] = grouping.clusters
    assert [(c.value, c.rule) for c in cluster.reduced] == [("12", "judge"), ("12", "judge")]


# ------------------------------------------------------------ the cycle check


def test_a_judge_matcher_naming_its_own_consortium_is_a_cycle():
    config = save("selfjudge", ["alpha", "beta"], arbiter=None, matching="judge", matching_model="selfjudge")
    assert find_cycle(config, models={}, aliases={}) == ["selfjudge", "selfjudge"]


def test_a_semantic_matching_model_is_no_member_of_the_cycle_check():
    config = save("embeds", ["alpha"], arbiter=None, matching="semantic", matching_model="embeds")
    assert find_cycle(config, models={}, aliases={}) is None
