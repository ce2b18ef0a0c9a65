"""The context window each participant starts a run with: set on its entry in the
consortium's file (`context_window`), else stated by its plugin or its options
(`calls.context_window.stated`), else learned in an earlier run (`saved/windows.py`).

A model without a window of its own on its entry gets one `ContextWindow` object for
the whole process (per llm user dir), shared by every run and every consortium that
calls it: a window the engine learns from one call's overflow is known to the next
call, the next item of an eval, the next `llm chat` turn. Every window the engine
learns is also remembered in the file for later processes.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import llm

from ..calls.context_window import stated
from ..saved import windows
from ..saved.config import ArbiterConfig
from ..types import ContextWindow

_SHARED: dict[tuple[str, str], ContextWindow] = {}
_LOCK = threading.Lock()


def window_for(model: Any, entry: ArbiterConfig) -> ContextWindow:
    """The window a participant of `model`, configured by `entry`, starts with
    (its `tokens` None when nothing is known yet)."""
    model_id = str(getattr(model, "model_id", entry.model_id))
    keep = functools.partial(windows.remember, model_id)
    if entry.context_window is not None:
        return ContextWindow(entry.context_window, "file", keep=keep)
    said = stated(model, entry.options)
    if said is not None:
        return ContextWindow(said, "stated", keep=keep)
    key = (str(llm.user_dir()), model_id)
    with _LOCK:
        shared = _SHARED.get(key)
        if shared is None:
            shared = _SHARED[key] = windows.recall(model_id)
            shared.keep = keep
    return shared
