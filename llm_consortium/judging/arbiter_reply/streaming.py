"""Printing the final answer while the arbiter writes it.

The arbiter writes its verdict first and its synthesis last. `ArbiterStream` wraps
one round's arbiter call: every attempt reads the reply through a `ReplyReader` as it
arrives, and when the verdict is complete it asks the engine whether this round's
answer will be the final one (`decide`). Only then does the synthesis go to the
caller's `answer` function, chunk by chunk; otherwise nothing of it is shown. An
arbiter that does not stream is read the same way from its whole reply, so both give
the same answer.

Once part of an answer is out it cannot be taken back, so a call that fails after
that is not retried (`AnswerBrokeOff`), and the engine ends the run with an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from ...calls.policy import describe
from ...errors import AnswerBrokeOff
from ...types import Call, CallFn, Reply
from .reader import ReplyReader
from .verdict import Verdict

__all__ = ["AnswerBrokeOff", "AnswerFn", "ArbiterStream"]

AnswerFn = Callable[[str], Awaitable[None]]


class _Attempt:
    """One call to the arbiter: its reader, and whether its synthesis is shown."""

    def __init__(self, owner: ArbiterStream) -> None:
        self.owner = owner
        self.reader = ReplyReader()
        self.show: bool | None = None  # decided when the verdict is complete
        self.over = False  # a late chunk (from an abandoned call) is ignored
        self.fed = False  # chunks arrived: the reply streamed

    async def feed(self, chunk: str) -> None:
        if not self.over:
            self.fed = True
            await self._pass(self.reader.feed(chunk))

    async def finish(self, reply: Reply) -> None:
        if not self.fed:  # the arbiter did not stream: read its whole reply
            await self._pass(self.reader.feed(reply.text))
        await self._pass(self.reader.finish())

    async def _pass(self, text: str) -> None:
        owner = self.owner
        if self.show is None and self.reader.head is not None:
            self.show = owner.answer is not None and owner.decide(self.reader.head)
        if self.show and text and owner.answer is not None:
            owner.printed = True
            await owner.answer(text)


class ArbiterStream:
    """One round's arbiter reply, read as it streams; see the module docstring.

    `decide(head)` gets the verdict written before the synthesis (its synthesis is
    empty) and says whether the round's answer will be final. `answer` is where the
    answer goes; None reads the reply the same way but shows nothing.
    """

    def __init__(self, decide: Callable[[Verdict], bool], answer: AnswerFn | None) -> None:
        self.decide = decide
        self.answer = answer
        self.printed = False  # some of this round's synthesis has been shown
        self._last: _Attempt | None = None

    def wrap(self, fn: CallFn) -> CallFn:
        """`fn`, with the reply read (and shown) as it arrives, attempt by attempt."""

        async def call(request: Call) -> Reply:
            if self.printed:
                raise AnswerBrokeOff("the arbiter's answer had already begun")
            attempt = self._last = _Attempt(self)
            streaming = dataclasses.replace(request, on_text=attempt.feed if self.answer else None)
            try:
                reply = await fn(streaming)
                await attempt.finish(reply)
                return reply
            except Exception as ex:
                if self.printed:
                    raise AnswerBrokeOff(describe(ex)) from ex  # not transient: never retried
                raise
            finally:
                attempt.over = True

        return call

    def verdict(self) -> Verdict:
        """The verdict of the last (successful) attempt's reply."""
        assert self._last is not None
        return self._last.reader.verdict()
