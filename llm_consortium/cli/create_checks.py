"""What `create` warns about before saving a consortium that would run, but not as
the user expects: a peer review that can never happen, and an arbiter whose context
window cannot hold a typical judging prompt (every round would overflow and fall
back to a vote).

Warnings, not refusals: the file is still saved (the user may install other members
or configure a larger window later), but they hear it now rather than after an eval.

llm has no common field for a model's context window. A plugin that states one does
so as an attribute or an option (llm-gguf's `n_ctx`, Ollama's `num_ctx`, ...), so
those names are looked for, in the arbiter's options first; a model that states none
is not guessed at (the overflow is explained when it happens: calls/context_window.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..calls.context_window import Overflow, explain
from ..judging import prompts
from ..saved.config import ConsortiumConfig

WINDOW_NAMES = ("context_window", "context_length", "max_context_length", "n_ctx", "num_ctx")
"""Where plugins state a model's context window in tokens (attributes or options)."""

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


def context_window(model: Any, options: Mapping[str, Any]) -> int | None:
    """The context window (tokens) a model states through an option or an attribute,
    else None. 0 or a non-number means "not stated" (llm-gguf's n_ctx 0: from the model)."""
    for source in (options, _attributes(model), _option_defaults(model)):
        for name in WINDOW_NAMES:
            value = source.get(name)
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
    return None


def _attributes(model: Any) -> dict[str, Any]:
    return {name: getattr(model, name, None) for name in WINDOW_NAMES}


def _option_defaults(model: Any) -> dict[str, Any]:
    fields = getattr(getattr(model, "Options", None), "model_fields", None) or {}
    return {name: fields[name].default for name in WINDOW_NAMES if name in fields}


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
    window = context_window(known[arbiter.model_id], arbiter.options)
    members = sum(m.count for m in config.models)
    needed = typical_judging_tokens(members)
    if window is None or window >= needed:
        return ""
    size = explain(Overflow(window, needed), whose=f"the arbiter {arbiter.model_id!r}'s",
                   prompt_name=f"a typical judging prompt with {members} answers and its reply")
    return (
        f"{size}: each round may fail and fall back to a vote; use an arbiter with a larger "
        "context window (or a larger n_ctx), or fewer members"
    )
