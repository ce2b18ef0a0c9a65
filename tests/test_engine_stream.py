"""The engine's answer stream: the final round's synthesis goes out while the arbiter
writes it, nothing of a losing round ever does, and what goes out is the Result's text,
exactly once. Scripted participants, no llm."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from llm_consortium.engine import run
from llm_consortium.errors import ConsortiumFailed
from llm_consortium.types import Call

from helpers import Scripted, settings, streamed, verdict

pytestmark = pytest.mark.asyncio

TAGS = ("<synthesis", "</", "<confidence", "<analysis")


class Screen:
    """Collects what the engine sends to the user, chunk by chunk."""

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.seen = asyncio.Event()
        self.waiting_for: str | None = None

    async def __call__(self, text: str) -> None:
        self.chunks.append(text)
        if self.waiting_for is not None and self.waiting_for in self.text:
            self.seen.set()

    @property
    def text(self) -> str:
        return "".join(self.chunks)


async def deliberate(members, arbiter, screen: Screen, **overrides):
    return await run(
        Call("q"), [m.participant() for m in members], arbiter.participant() if arbiter else None,
        settings(**overrides), answer=screen,
    )


async def test_the_first_words_go_out_while_the_arbiter_is_still_writing():
    screen = Screen()
    screen.waiting_for = "Paris is"
    reply = verdict("Paris is the capital of France.")

    async def hold(sent: str) -> None:
        # The arbiter goes on only once the user has seen the first words: a run
        # that printed nothing until the end would stop here (and time out).
        if "Paris is" in sent and "France" not in sent:
            await screen.seen.wait()

    arbiter = Scripted("judge", streamed(reply, size=4, wait=hold))
    result = await deliberate([Scripted("m", "a")], arbiter, screen)
    assert result.text == screen.text == "Paris is the capital of France."
    assert len(screen.chunks) > 3
    assert not any(tag in chunk for chunk in screen.chunks for tag in TAGS)
    assert result.rounds[0]["arbiter"]["raw"] == reply


async def test_a_round_that_goes_on_prints_nothing_and_the_final_round_streams():
    screen = Screen()
    first_round_done = []

    def arbiter_reply(call: Call):
        if "round 1 of" in call.prompt:
            text = verdict("A rough draft.", 0.4, needs_iteration=True, areas="be exact")
        else:
            first_round_done.append(screen.text)
            text = verdict("The exact answer.", 0.9)
        return streamed(text)(call)

    result = await deliberate([Scripted("m", "a")], Scripted("judge", arbiter_reply), screen)
    assert first_round_done == [""]  # nothing of round 1 reached the user
    assert screen.text == result.text == "The exact answer."
    assert len(screen.chunks) > 1


async def test_a_more_confident_earlier_round_wins_and_is_printed_whole_at_the_end():
    screen = Screen()

    def arbiter_reply(call: Call):
        if "round 1 of" in call.prompt:
            return streamed(verdict("The better answer.", 0.6, needs_iteration=True))(call)
        return streamed(verdict("A worse answer.", 0.5))(call)

    result = await deliberate([Scripted("m", "a")], Scripted("judge", arbiter_reply), screen, max_iterations=2)
    assert (result.text, result.final_round) == ("The better answer.", 1)
    assert screen.chunks == ["The better answer."]


async def test_on_a_tie_the_later_round_wins_and_streams():
    screen = Screen()

    def arbiter_reply(call: Call):
        if "round 1 of" in call.prompt:
            return streamed(verdict("First.", 0.9, needs_iteration=True))(call)
        return streamed(verdict("Second, streamed.", 0.9))(call)

    result = await deliberate([Scripted("m", "a")], Scripted("judge", arbiter_reply), screen, max_iterations=2)
    assert (result.text, result.final_round) == ("Second, streamed.", 2)
    assert len(screen.chunks) > 1 and screen.text == "Second, streamed."


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("<synthesis>Answer first.</synthesis><confidence>0.9</confidence>"
         "<needs_iteration>false</needs_iteration>", "Answer first."),
        ("No tags at all, just an answer.", "No tags at all, just an answer."),
        ("<think>hmm <synthesis>draft</synthesis></think><confidence>0.9</confidence>"
         "<needs_iteration>false</needs_iteration><synthesis>Real.</synthesis>", "Real."),
    ],
)
async def test_an_arbiter_off_the_format_gets_its_answer_printed_whole_and_tag_free(reply, expected):
    screen = Screen()
    result = await deliberate([Scripted("m", "a")], Scripted("judge", streamed(reply, size=2)), screen)
    assert screen.chunks == [expected] == [result.text]


async def test_an_arbiter_that_cannot_stream_gives_the_same_answer_once():
    screen = Screen()
    arbiter = Scripted("judge", verdict("Whole answer."))  # ignores on_text
    result = await deliberate([Scripted("m", "a")], arbiter, screen)
    assert screen.chunks == ["Whole answer."] and result.text == "Whole answer."


async def test_vote_prints_the_winner_once_decided():
    screen = Screen()
    members = [Scripted("m1", "yes"), Scripted("m2", "yes"), Scripted("m3", "no")]
    result = await deliberate(members, None, screen, max_iterations=1)
    assert screen.chunks == ["yes"] == [result.text]


async def test_a_retry_before_the_answer_began_prints_only_the_retry():
    screen = Screen()

    async def broken(call: Call) -> str:
        await call.on_text(verdict("Lost.")[:40])  # the verdict only: nothing printed yet
        raise ConnectionError("dropped")

    arbiter = Scripted("judge", broken, streamed(verdict("Retried answer.")))
    result = await deliberate([Scripted("m", "a")], arbiter, screen, retries=2)
    assert screen.text == result.text == "Retried answer."
    assert len(arbiter.calls) == 2


async def test_an_arbiter_failing_mid_answer_is_an_error_and_never_retried():
    screen = Screen()
    text = verdict("Half of an answer that breaks.")

    async def breaks(call: Call) -> str:
        await streamed(text[: text.index("that")])(call)
        raise ConnectionError("dropped")

    arbiter = Scripted("judge", breaks, streamed(text))
    with pytest.raises(ConsortiumFailed, match=r"stopped in the middle of the answer.*dropped"):
        await deliberate([Scripted("m", "a")], arbiter, screen, retries=2)
    assert screen.text == "Half of an answer"
    assert len(arbiter.calls) == 1


async def test_without_an_answer_function_nothing_is_streamed_from_the_arbiter():
    arbiter = Scripted("judge", streamed(verdict("Quiet.")))
    result = await run(Call("q"), [Scripted("m", "a").participant()], arbiter.participant(), settings())
    assert result.text == "Quiet."
    assert arbiter.calls[0].on_text is None


@hsettings(max_examples=60, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=12),
    body=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60),
    confidence=st.sampled_from([0.2, 0.9]),
)
async def test_what_is_printed_is_the_result_for_any_chunking(size, body, confidence):
    screen = Screen()
    arbiter = Scripted("judge", streamed(verdict(body, confidence), size=size))
    try:
        result = await deliberate([Scripted("m", "a")], arbiter, screen, max_iterations=2)
    except ConsortiumFailed:
        return  # a body that is nothing but whitespace or tags: no answer at all
    assert screen.text == result.text
