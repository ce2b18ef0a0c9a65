"""How big the arbiter's request gets when a member replies with a huge answer, and
what the reviewers, a refinement and a vote's peers are sent (docs/safety.md#prompts).

The engine runs with one member replying N characters and two replying "12"; the
arbiter's prompt is measured as it is sent. Run: `python bench/prompt_caps.py`.
"""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from llm_consortium.engine import run
from llm_consortium.judging import prompts
from llm_consortium.judging.arbiter_reply.verdict import Verdict
from llm_consortium.judging.ballots import build_review_prompt
from llm_consortium.types import Call

from helpers import Scripted, settings, verdict


async def arbiter_prompt_chars(size: int) -> tuple[int, list[str]]:
    huge, small = Scripted("huge", "x" * size), Scripted("small", "12")
    arbiter = Scripted("judge", verdict("12"))
    result = await run(Call("What is 7+5?"), [huge.participant(), small.participant(1), small.participant(2)],
                       arbiter.participant(), settings())
    return len(arbiter.calls[0].prompt), result.notes


def main() -> None:
    print(f"{'member reply':>14} {'arbiter prompt':>15}  trace note")
    for size in (1_000, 100_000, 10_487_807):
        chars, notes = asyncio.run(arbiter_prompt_chars(size))
        print(f"{size:>14,} {chars:>15,}  {notes[0] if notes else '-'}")
    huge = "x" * 10_487_807
    answers = [huge] * 5
    sizes = {
        "refinement": len(prompts.build_refinement_prompt(
            prompt="q", previous_answer=huge, verdict=Verdict(synthesis=huge, dissent=huge))),
        "peer (vote)": max(len(p) for p in prompts.peer_prompts("q", answers, random.Random(0))),
        "review": len(build_review_prompt("q", list(zip("ABCDE", answers, strict=True)))),
    }
    for name, chars in sizes.items():
        print(f"{name:>14}: {chars:,} characters, every answer in it 10,487,807 characters long")


if __name__ == "__main__":
    main()
