"""Which participants get a request's attachments (images, audio, PDFs).

A member whose model cannot take every attachment is skipped rather than called
without them: it would answer a different question than the others, and its answer
would still count. The arbiter judges text answers, so it merely goes without them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

logger = logging.getLogger(__name__)

# What a consortium model declares to llm, which validates attachments before the
# consortium runs: the usual image, audio and PDF types. Whether a member really
# takes them is decided per member at run time by `fit`.
CONSORTIUM_ATTACHMENT_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/gif",
        "image/heic",
        "image/heif",
        "audio/wav",
        "audio/mpeg",
        "audio/mp3",
        "audio/ogg",
        "audio/flac",
        "audio/aac",
        "application/pdf",
    }
)


class NoneAccepts(Exception):
    """No member's model accepts the attachments: nothing could answer the request."""


def _accepts(participant: Any, types: set[str]) -> bool:
    known: frozenset[str] | None = participant.attachment_types
    return known is None or types <= known


def fit(
    attachments: Sequence[Any], members: list[Any], arbiter: Any | None
) -> tuple[list[Any], list[Any], list[str]]:
    """(members that take every attachment, the attachments the arbiter gets, notes).

    Each skipped member and an arbiter without them is a note and a warning on
    stderr. Raises NoneAccepts, before any call, when no member takes them.
    """
    types = {attachment.resolve_type() for attachment in attachments}
    wanted = ", ".join(sorted(types))
    capable = [member for member in members if _accepts(member, types)]
    if not capable:
        raise NoneAccepts(f"no member's model accepts attachments of type {wanted}")
    notes = [
        f"skipped member {member.name}: its model does not accept {wanted}"
        for member in members
        if not _accepts(member, types)
    ]
    arbiter_gets = list(attachments)
    if arbiter is not None and not _accepts(arbiter, types):
        arbiter_gets = []
        notes.append(f"arbiter {arbiter.model_id} judged without the attachments ({wanted})")
    for note in notes:
        logger.warning("Consortium: %s", note)
    return capable, arbiter_gets, notes
