"""The reply each prompt asks for: the arbiter's tags (the full verdict, or the
compact one a small context window leaves room for), and with the user's JSON schema
(`llm --schema`) what a member that cannot take a schema is told, the JSON verdict of
an arbiter that can, and what a tag-only arbiter puts in its synthesis. Pure text,
the standard library only.
"""

from __future__ import annotations

import json
import re
from typing import Any

FULL_REPLY_FORMAT = (
    "## Reply format\n"
    "Reply with these tags, in this order, and nothing outside them. Judge first: "
    "the synthesis comes last, after your verdict on it.\n"
    "<analysis>Where the responses agree and differ, and which points are right "
    "or wrong and why.</analysis>\n"
    "<dissent>Substantive disagreements or minority views worth keeping, including "
    "ones you rejected and why. Empty if none.</dissent>\n"
    "<confidence>One number from 0 to 1: how likely the synthesis you are about to "
    "write is correct and complete.</confidence>\n"
    "<needs_iteration>true if another round, in which the models revise their "
    "answers using your feedback, would clearly improve the synthesis; otherwise "
    "false.</needs_iteration>\n"
    "<refinement_areas>\n"
    "One specific improvement per line if needs_iteration is true; otherwise empty.\n"
    "</refinement_areas>\n"
    "<synthesis>The complete final answer to the user's request, written for the "
    "user. It must stand on its own: do not mention the responses, their labels, "
    "the panel or this review.</synthesis>"
)
"""The reply the arbiter is asked for: its verdict first, the synthesis last."""

COMPACT_REPLY_FORMAT = (
    "Reply with these two tags and nothing else:\n"
    "<confidence>0 to 1: how likely your answer is right</confidence>\n"
    "<synthesis>the complete answer to the request, on its own</synthesis>"
)
"""The reply a small window leaves room for: a confidence, then the answer."""

_PLACEHOLDERS = frozenset(
    " ".join(match.split()).lower().rstrip(".")
    for form in (FULL_REPLY_FORMAT, COMPACT_REPLY_FORMAT)
    for match in re.findall(r"<synthesis>(.*?)</synthesis>", form, re.S)
)


def copies_the_format(synthesis: str) -> bool:
    """Whether a synthesis is the reply format's own placeholder, copied (a small
    model restating its instructions), rather than an answer."""
    return " ".join(synthesis.split()).lower().rstrip(".") in _PLACEHOLDERS


def _schema_block(schema: dict[str, Any]) -> str:
    return "```json\n" + json.dumps(schema, indent=2, ensure_ascii=False) + "\n```"


def schema_instructions(schema: dict[str, Any]) -> str:
    """What a member whose model cannot take a schema is told after its prompt.
    Last in the prompt, so it wins over any reply format asked for above it (a
    vote's "Final answer:" line, a refinement's "answer only")."""
    return (
        "## Reply format\n"
        "Whatever the text above says about the form of your reply: reply with exactly "
        "one JSON value that matches the JSON schema below, and nothing else - no prose "
        "before or after it.\n" + _schema_block(schema)
    )


def json_verdict_format(schema: dict[str, Any]) -> str:
    """The reply format for an arbiter whose model takes a schema: the whole
    verdict as one JSON object (its schema is sent with the call), the synthesis
    last and an instance of the user's schema."""
    return (
        "## Reply format\n"
        "Reply with one JSON object, and nothing outside it, with these fields in this order:\n"
        "- analysis: where the responses agree and differ, and which points are right "
        "or wrong and why.\n"
        "- dissent: substantive disagreements or minority views worth keeping, including "
        "ones you rejected and why; an empty string if none.\n"
        "- confidence: one number from 0 to 1: how likely the synthesis is correct and complete.\n"
        "- needs_iteration: true if another round, in which the models revise their "
        "answers using your feedback, would clearly improve the synthesis; otherwise false.\n"
        "- refinement_areas: one specific improvement per item if needs_iteration is "
        "true; otherwise an empty list.\n"
        "- synthesis: the complete final answer to the user's request, as a JSON value "
        "that matches the user's schema below. It must stand on its own: nothing in it "
        "may mention the responses, their labels, the panel or this review.\n"
        "The user's schema for the synthesis:\n" + _schema_block(schema)
    )


def json_synthesis_note(schema: dict[str, Any]) -> str:
    """Added to a tag-only arbiter's reply format: what goes inside <synthesis>."""
    return (
        "## Answer format\n"
        "The user asked for structured data: the content of <synthesis> must be exactly "
        "one JSON value that matches the JSON schema below, with nothing else inside the "
        "tag.\n" + _schema_block(schema)
    )
