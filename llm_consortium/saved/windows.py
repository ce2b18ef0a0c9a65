"""The context windows learned from overflow errors, remembered per model across runs.

A local engine's plugin often states no window (llm has no field for it), so the
first call that overflows teaches it (`calls.context_window.learned`). It is kept in
a small JSON file in the llm user dir, `consortium-windows.json`, so the next run,
and `create`'s warning, know it from the start:

    {"SmolLM2": {"tokens": 512, "token_scale": 1.09}}

The file is
the plugin's own memory, not the user's: one that cannot be read counts as empty and
is written afresh, and a write that fails costs only the memory (debug log).
"""

from __future__ import annotations

import json
import logging
import math
import pathlib
from typing import Any

import llm

from .. import files
from ..errors import FileRefused, OutsideFolder
from ..types import ContextWindow

FILE_NAME = "consortium-windows.json"
MAX_FILE_BYTES = 1 << 20
"""The file may hold at most this many bytes (1 MiB: thousands of models)."""

REMEMBERED = "remembered"
"""A window's source (`ContextWindow.source`) when it comes from this file."""

logger = logging.getLogger(__name__)


def path() -> pathlib.Path:
    return llm.user_dir() / FILE_NAME


def _load() -> dict[str, Any]:
    try:
        data = json.loads(files.read_text(path(), MAX_FILE_BYTES))
    except FileNotFoundError:
        return {}
    except (FileRefused, OSError, ValueError) as ex:
        logger.debug("the remembered context windows cannot be read (%s); counted as none", ex)
        return {}
    return data if isinstance(data, dict) else {}


def recall(model_id: str) -> ContextWindow:
    """What is remembered of `model_id`'s window (`tokens` None: nothing)."""
    row = _load().get(model_id)
    if not isinstance(row, dict):
        return ContextWindow()
    tokens, scale = row.get("tokens"), row.get("token_scale")
    if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens <= 0:
        return ContextWindow()
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale < 1:
        scale = None
    return ContextWindow(tokens, REMEMBERED, scale)


def remember(model_id: str, window: ContextWindow) -> None:
    """Keep `model_id`'s learned window for later runs; never raises."""
    if window.tokens is None:
        return
    table = _load()
    table[model_id] = {"tokens": window.tokens, "token_scale": window.token_scale}
    try:
        files.write_text_atomic(path(), json.dumps(table, indent=2, sort_keys=True) + "\n")
    except (FileRefused, OutsideFolder, OSError) as ex:
        logger.debug("the learned context window of %s could not be remembered: %s", model_id, ex)
