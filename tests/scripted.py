"""Scripted participants for driving the engine without any model or network."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from llm_consortium.types import Call, Participant, Reply

Step = str | Exception | Callable[[Call], Any]


class Scripted:
    """A participant whose answers are a script: one step per call, the last repeats.

    A step is the answer text, an exception to raise, or a callable given the Call
    (it may return text, raise, or be a coroutine function).
    """

    def __init__(self, model_id: str, *steps: Step, tokens: tuple[int, int] = (10, 5)) -> None:
        self.model_id = model_id
        self.steps = list(steps) or ["ok"]
        self.tokens = tokens
        self.calls: list[Call] = []

    async def __call__(self, call: Call) -> Reply:
        self.calls.append(call)
        step = self.steps[min(len(self.calls), len(self.steps)) - 1]
        if isinstance(step, Exception):
            raise step
        if callable(step):
            step = step(call)
            if asyncio.iscoroutine(step):
                step = await step
        return Reply(step, *self.tokens)

    def participant(self, instance: int = 1) -> Participant:
        return Participant(self.model_id, self, instance)


def verdict(synthesis: str, confidence: Any = 0.9, needs_iteration: bool = False, areas: str = "") -> str:
    """An arbiter reply in the tagged form the engine asks for."""
    return (
        f"<analysis>compared</analysis>\n<dissent>none</dissent>\n"
        f"<synthesis>{synthesis}</synthesis>\n<confidence>{confidence}</confidence>\n"
        f"<needs_iteration>{str(needs_iteration).lower()}</needs_iteration>\n"
        f"<refinement_areas>{areas}</refinement_areas>"
    )
