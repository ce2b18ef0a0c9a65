"""Every exception the package raises, in one hierarchy under `ConsortiumError`, so a
caller (the CLI, a host application) can catch the plugin's own failures in one place
and tell them from bugs. At the bottom of the package: the standard library only.

Those that also subclass ValueError are bad values (a name, a schema, an answer, a
model option, a ranking), which lets code that validates input catch them the usual
way. An exception that must also be one of `llm`'s (an `llm.ModelError`, which `llm`
prints as one line) cannot live here, since nothing at the bottom imports `llm`: it is
defined in the adapter and derives from one of these too.
"""

from __future__ import annotations

from typing import Any


class ConsortiumError(Exception):
    """The root: anything the plugin reports as a failure, not a bug."""


class ConsortiumFailed(ConsortiumError):
    """No usable answer could be produced; the message names every member's error.
    Set by the engine: `usage`, what the failed run spent (as in Result.usage, with
    its cost when every price is known), the `rounds` it played and its
    `failed_members` (as in Result.failed_members)."""

    usage: dict[str, Any] | None = None
    rounds: int = 0
    failed_members: list[dict[str, Any]] | None = None


class InvalidName(ConsortiumError, ValueError):
    """A consortium name that could not safely be a file name or a model id."""


class OptionError(ConsortiumError, ValueError):
    """Options a model refuses; the message is one line naming the model."""


class StoreError(ConsortiumError):
    """A saved consortium cannot be read, written or found; the message says why."""


class AlreadyExists(StoreError):
    """`create` lost to an existing file of the same name (perhaps written a moment ago)."""


class OutsideFolder(StoreError):
    """A write would go through a symlink to a file outside its folder, which the
    user has not asked for."""


class FileRefused(ConsortiumError, OSError):
    """A file the plugin reads or writes is not one it may use: not a regular file,
    too large, or a link out of its folder. The message is one line naming the file,
    the problem and what to do. An OSError too, so code that reports a file it cannot
    open reports this one the same way."""


class SharedStateError(ConsortiumError):
    """The store of shared rate limits cannot be used (a locked or corrupt file, a
    server that does not answer); this process falls back to its own limits."""


class BudgetStop(ConsortiumError):
    """The next call could pass the run's budget: the run stops before making it."""


class EmptyAnswer(ConsortiumError):
    """The model answered with nothing but whitespace."""


class AnswerBrokeOff(ConsortiumError):
    """The arbiter's reply failed after part of its answer had been printed."""


class ToolCancelled(ConsortiumError):
    """A tool's own work ended cancelled (its session closed, say) while the members
    that asked for it were not: an error result for them, as any tool error is."""


class UnreadableRanking(ConsortiumError, ValueError):
    """A reviewer's reply holds no ranking of at least two of the answers shown."""


class AttachmentError(ConsortiumError):
    """The attachments cannot be given to anyone; the message says why."""


class NoneAccepts(AttachmentError):
    """No member's model accepts the attachments: nothing could answer the request."""


class SchemaProblem(ConsortiumError, ValueError):
    """The user's schema itself cannot be used; the message is one line."""


class InvalidAnswer(ConsortiumError, ValueError):
    """A reply holds no JSON, or JSON that does not match the schema. The message is
    one line naming where and why."""


class RunsError(ConsortiumError):
    """The logs or the run asked for cannot be read; the message says why."""


class DatasetError(ConsortiumError):
    """The dataset cannot be used; the message names the file and, when it is about
    one item, its line number."""


class ScorerError(ConsortiumError):
    """An expected answer the scorer cannot use (say, not a number for `number`)."""


class ConsultError(ConsortiumError):
    """A consult that cannot start (an unknown consortium, a bad argument), or a job
    that cannot be started, found or kept."""
