"""What `create` warns about before saving a consortium that would run, but not as
the user expects: a peer review that can never happen, and an arbiter whose context
window cannot hold a typical judging prompt (it is sent the compact prompt, answers
cut to fit, or judges in steps: judging/fitting.py).

Warnings, not refusals: the file is still saved (the user may install other members
or configure a larger window later), but they hear it now rather than after an eval.

The arbiter's window is the one a run would use: set on its entry in the file
(`context_window`), stated by its plugin (`calls.context_window.stated`), or learned
from an overflow in an earlier run and remembered (`saved/windows.py`). A model that
states none and never overflowed is not guessed at.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..calls.context_window import Overflow, explain, stated
from ..judging import prompts
from ..saved import windows
from ..saved.config import ConsortiumConfig

CHARS_PER_TOKEN = 4  # the usual rough rule for English text
TYPICAL_QUESTION = "q" * 400  # characters: a question of a few sentences
TYPICAL_ANSWER = "a" * 1200  # characters: an answer of two short paragraphs, ~300 tokens
TYPICAL_VERDICT_TOKENS = 400  # the arbiter's own reply: analysis, tags and the synthesis

def warnings(config: ConsortiumConfig, known: Mapping[str, Any]) -> list[str]:
    """Each warning for this consortium, as one line (without "Warning: ")."""
    found = []
    review = _review_warning(config)
    if review:
        found.append(review)
    window = _window_warning(config, known)
    if window:
        found.append(window)
    return found


def _review_warning(config: ConsortiumConfig) -> str:
    """A reviewer ranks the answers of other models only (never its own, nor those of
    copies of its own model: engine/peer_review.py) and needs at least two of them."""
    if not config.review:
        return ""
    members = [m.model_id for m in config.models for _ in range(m.count)]
    if any(sum(1 for other in members if other != mine) >= 2 for mine in members):
        return ""
    if len(set(members)) == 1:
        why = f"every member is a copy of {members[0]!r}, and copies do not review each other"
    else:
        why = "no member has two other models' answers to rank (a reviewer needs two, not its own model's)"
    return f"--review: no review will happen: {why}; add members of other models or drop --review"


def typical_judging_tokens(members: int) -> int:
    """Tokens of a judging prompt with `members` answers of a typical length, plus
    the arbiter's reply: the built prompt's characters at about 4 per token."""
    answers = [prompts.LabelledAnswer(label, TYPICAL_ANSWER, None, []) for label in prompts.labels(members)]
    text = prompts.build_arbiter_prompt(
        prompt=TYPICAL_QUESTION, history=[], answers=answers, round_number=1, max_rounds=3
    )
    return math.ceil(len(text) / CHARS_PER_TOKEN) + TYPICAL_VERDICT_TOKENS


def _window_warning(config: ConsortiumConfig, known: Mapping[str, Any]) -> str:
    arbiter = config.arbiter
    if arbiter is None or config.strategy == "vote" or arbiter.model_id not in known:
        return ""
    model = known[arbiter.model_id]
    window, how = arbiter.context_window, "set in the file"
    if window is None:
        window, how = stated(model, arbiter.options), "stated by its plugin"
    if window is None:
        window, how = windows.recall(getattr(model, "model_id", arbiter.model_id)).tokens, "learned from an overflow"
    members = sum(m.count for m in config.models)
    needed = typical_judging_tokens(members)
    if window is None or window >= needed:
        return ""
    size = explain(Overflow(window, needed), whose=f"the arbiter {arbiter.model_id!r}'s",
                   prompt_name=f"a typical judging prompt with {members} answers and its reply")
    return (
        f"{size}; its window is {how}: it is sent a compact judging prompt, long answers cut to fit or judged "
        "in steps; an arbiter with a larger context window (or a larger n_ctx) judges with the full instructions"
    )
