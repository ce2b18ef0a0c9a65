"""`Consortium("panel")`: an llm toolbox through which any tool-using model asks a
saved consortium mid-answer (`llm -m MODEL -T 'Consortium("panel")' ...`, `llm chat -T`).

It returns the same honest result as the MCP server's `consult`, as compact text,
and logs the consortium's run like a prompt, so `llm logs` holds both the model's
turn and the run. Registered by the package's `register_tools` hook; importing this
module costs nothing beyond `llm`, which is loaded already.
"""

from __future__ import annotations

import inspect
from typing import Any

import click
import llm

USAGE = """-T 'Consortium("NAME")' names one saved consortium (llm consortiums list shows them)"""


class Consortium(llm.Toolbox):
    """Ask a saved consortium of models for a considered second opinion."""

    def __init__(self, name: str | None = None, **unknown: Any) -> None:
        # llm's -T makes the toolbox, after binding the spec's arguments to this
        # signature: every argument is optional here, so a missing name or a wrong
        # keyword is one `Error:` line, no traceback.
        from ..saved.store import list_names

        if unknown:
            raise click.ClickException(f"Consortium takes no {', '.join(map(repr, unknown))} argument: {USAGE}")
        if not isinstance(name, str):
            raise click.ClickException(f"Consortium needs the name of a consortium: {USAGE}")
        if name not in list_names():
            raise click.ClickException(f"No saved consortium named {name!r} (llm consortiums list shows them)")
        # Read by saved/cycles.py: a run whose members get this tool must not lead back
        # to a consortium that is already running.
        self.consortium_name = name

    def ask(self, question: str) -> str:
        """Ask a panel of several language models, whose answers an arbiter compares and
        merges, for one considered answer to `question` (write it complete: the panel
        sees nothing else of this conversation). Slower and costlier than one model;
        use it for decisions and facts worth a second opinion. The reply starts with the
        status: `complete`; `partial` (some members failed: the answer lacks them);
        `stopped` (a budget ended it early); `fallback` (the arbiter failed, a vote
        decided); `failed` (no answer). Then the confidence (0-1, or unknown), the
        answer, the minority views, and what it cost."""
        from .consult import Request, consult_sync

        return consult_sync(Request(self.consortium_name, question)).as_text()


# llm sends the method's docstring as the tool's description: without the indentation
# Python before 3.13 keeps in it.
Consortium.ask.__doc__ = inspect.cleandoc(Consortium.ask.__doc__ or "")
