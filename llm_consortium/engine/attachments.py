"""Which participants get a request's attachments (images, audio, PDFs).

A member whose model cannot take every attachment is skipped rather than called
without them: it would answer a different question than the others, and its answer
would still count. The arbiter judges text answers, so it merely goes without them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ..errors import AttachmentError, NoneAccepts

logger = logging.getLogger(__name__)

async def resolve_types(attachments: Sequence[Any]) -> set[str]:
    """The content types of `attachments`, worked out off the event loop.

    An attachment given only as a URL has its type asked of the server (a blocking
    HEAD request inside llm), and a file's is sniffed from its bytes: done in a
    thread of its own (`calls.threads`, as every blocking call is) so the loop, and
    every member call on it, keeps running, and a server that never answers cannot
    keep the process alive at exit. A server that fails or names no type is an
    AttachmentError saying which attachment."""
    from ..calls.threads import in_thread

    given = list(attachments)
    return set(await in_thread(lambda: _types_of(given)))


def _types_of(attachments: list[Any]) -> list[str]:
    # Imported here: `llm models` imports this module for the type list alone, and
    # registering consortiums must stay cheap.
    from ..calls.policy import describe

    types = []
    for attachment in attachments:
        where = getattr(attachment, "url", None) or getattr(attachment, "path", None) or "attachment"
        try:
            found = attachment.resolve_type()
        except Exception as ex:
            raise AttachmentError(f"cannot tell the type of {where}: {describe(ex)}") from ex
        if not found:
            raise AttachmentError(f"cannot tell the type of {where}: the server named none")
        types.append(found.split(";")[0].strip())
    return types


def _accepts(participant: Any, types: set[str]) -> bool:
    known: frozenset[str] | None = participant.attachment_types
    return known is None or types <= known


def fit(
    attachments: Sequence[Any], types: set[str], members: list[Any], arbiter: Any | None
) -> tuple[list[Any], list[Any], list[str]]:
    """(members that take every attachment, the attachments the arbiter gets, notes),
    given the attachments' `types` (from resolve_types).

    Each skipped member and an arbiter without them is a note and a warning on
    stderr. Raises NoneAccepts, before any call, when no member takes them.
    """
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
