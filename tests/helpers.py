"""Every helper the tests share, defined once: saving consortiums, running llm's
real CLI (in-process and as a subprocess), scripted engine participants, arbiter
replies, engine settings.

Fixtures live in conftest.py; the loopback server and the tagged-verdict builder in
loopback.py (the bench and the demo use those too).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

from click.testing import CliRunner, Result
from llm.cli import cli

from llm_consortium.saved import store
from llm_consortium.saved.config import ConsortiumConfig
from llm_consortium.types import Call, Participant, Reply, Settings

from loopback import reply, tagged_verdict

#: The `llm` executable of the interpreter running the tests.
LLM_BIN = str(Path(sys.executable).with_name("llm"))

#: Variables that change what a user would see (a real key, raw tracebacks, HTTP
#: logging); every test runs without them.
SCRUBBED_ENV = ("OPENAI_API_KEY", "LLM_RAISE_ERRORS", "LLM_OPENAI_SHOW_RESPONSES")


# ------------------------------------------------------------------ consortiums


def save(
    name: str, members: Sequence[Any], arbiter: str | dict[str, Any] | None = "judge", **extra: Any
) -> ConsortiumConfig:
    """Save consortium `name`; members are model ids or member dicts, the arbiter a
    model id or an arbiter dict; no arbiter with `arbiter=None`."""
    config = ConsortiumConfig(
        name=name,
        models=[{"model_id": m} if isinstance(m, str) else m for m in members],
        arbiter={"model_id": arbiter} if isinstance(arbiter, str) else arbiter,
        **extra,
    )
    store.save(config)
    return config


def full_config(name: str, member: str, arbiter: str | None, strategy: str) -> dict[str, Any]:
    """What `show --json` and `list --json` print for a one-member consortium saved
    with every other setting at its default: each field, defaults filled in."""
    return {
        "name": name,
        "models": [{"model_id": member, "options": {}, "max_concurrent": None, "limit_group": member, "context_window": None, "count": 1, "tier": 1}],
        "arbiter": {"model_id": arbiter, "options": {}, "max_concurrent": None, "limit_group": arbiter, "context_window": None} if arbiter else None,
        "strategy": strategy,
        "confidence_threshold": 0.7,
        "max_iterations": 3,
        "min_iterations": 1,
        "system_prompt": None,
        "timeout": 120.0,
        "retries": 2,
        "min_members": 1,
        "call_mode": "auto",
        "skip_arbiter_on_agreement": True,
        "agreement": 1.0,
        "waves": False,
        "budget_tokens": None,
        "budget_usd": None,
        "matching": "auto",
        "matching_model": None,
        "matching_tolerance": 0.0,
        "matching_threshold": None,
        "tools": {"chain_limit": 5, "share_identical": True, "unshared": [], "arbiter": False},
        "final_answer_line": False,
        "review": False,
    }


@contextlib.contextmanager
def registered(plugin: Any, name: str) -> Iterator[Any]:
    """`plugin` registered with llm's plugin manager for the block, as an installed
    plugin would be (a test plugin: the local engine, an embedding model)."""
    from llm.plugins import pm

    pm.register(plugin, name=name)
    try:
        yield plugin
    finally:
        pm.unregister(name=name)


class Clock:
    """A monotonic clock a test moves by hand (`advance`), for durations that must be
    exact: put in place of a module's `time` with monkeypatch."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# ------------------------------------------------------------------ llm's CLI


def llm_run(*args: str, input: str | None = None) -> Result:
    """`llm ARGS...` through llm's real click CLI, in this process."""
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def logged_traces(count: int = 1) -> list[dict[str, Any]]:
    """The traces of the last `count` logged turns (0: all), newest first."""
    rows = json.loads(llm_run("logs", "--json", "-n", str(count)).stdout)
    return [row["response_json"] for row in rows]


def consortiums_run(*args: str, input: str | None = None) -> Result:
    """`llm consortiums ARGS...`; exceptions are kept on the Result for `refused`."""
    return CliRunner().invoke(cli, ["consortiums", *args], input=input)


def ok(*args: str, input: str | None = None) -> Result:
    """`llm consortiums ARGS...`, which must succeed."""
    result = consortiums_run(*args, input=input)
    assert result.exit_code == 0, result.output
    return result


def refused(*args: str, input: str | None = None) -> str:
    """Run a command that must fail with exactly one `Error:` line and no traceback;
    returns that line."""
    result = consortiums_run(*args, input=input)
    assert result.exit_code not in (0, None), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def subprocess_env(user_path: Path, **extra: str) -> dict[str, str]:
    """The environment for a real `llm` process: this test's user dir, nothing
    that would change what a user sees."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    return {**env, "LLM_USER_PATH": str(user_path), **extra}


def llm_subprocess(user_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    """Run the real `llm` executable to completion (text mode, 60 s cap)."""
    return subprocess.run(
        [LLM_BIN, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=subprocess_env(user_path, **env),
        timeout=60,
    )


def default_sigint() -> None:
    """`preexec_fn` for a child a test interrupts with SIGINT: the default handler
    back, since a suite started with SIGINT ignored (a background job) passes that
    on, and a Python started with SIGINT ignored never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(user_path: Path, *args: str, **kwargs: Any) -> subprocess.Popen:
    """Start a process (e.g. `LLM_BIN, "-m", ...`) with this test's user dir."""
    return subprocess.Popen(
        [*args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env(user_path), **kwargs
    )


# ------------------------------------------------------------------ arbiter replies


def verdict(synthesis: str, confidence: Any = 0.9, needs_iteration: bool = False, areas: str = "") -> str:
    """An arbiter reply in the tagged form the engine asks for."""
    return tagged_verdict(synthesis, confidence, needs_iteration=needs_iteration, areas=areas)


def streamed(text: str, size: int = 3, wait: Callable[[str], Any] | None = None):
    """A Scripted step that streams `text` in `size`-character pieces through the
    call's `on_text` (when the engine asks for it) and then returns it whole. After
    each piece `wait(sent_so_far)` is awaited when given, so a test can hold the
    arbiter mid-reply until it has seen what it expects."""

    async def step(call: Call) -> str:
        sent = ""
        for start in range(0, len(text), size):
            if call.on_text is not None:
                await call.on_text(text[start : start + size])
            sent += text[start : start + size]
            if wait is not None:
                await wait(sent)
        return text

    return step


def judge_saying(text: str, confidence: float = 0.9):
    """A loopback behaviour for an arbiter: always this tagged verdict."""
    return reply(lambda request: verdict(text, confidence))


# ------------------------------------------------------------------ the engine


def settings(**overrides: Any) -> Settings:
    """Engine settings for unit tests: short timeout, no retries."""
    values: dict[str, Any] = dict(max_iterations=3, min_iterations=1, confidence_threshold=0.7, timeout=5, retries=0)
    values.update(overrides)
    return Settings(**values)


class ProviderError(Exception):
    """A provider SDK's HTTP error as the failure policy reads it: the status, the
    message, the response's headers, an error code, and the retry count the SDK's
    client stamped on the last request it sent (`x-stainless-retry-count`)."""

    def __init__(
        self,
        status: int,
        message: str = "provider trouble",
        *,
        headers: dict[str, str] | None = None,
        code: str | None = None,
        sdk_retries: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status
        self.code = code
        sent = {} if sdk_retries is None else {"x-stainless-retry-count": str(sdk_retries)}
        request = type("Request", (), {"headers": sent})()
        self.response = type("Response", (), {"headers": headers or {}, "request": request})()


class Sleeps:
    """Records the waits the failure policy asks for, without waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


Step = str | Exception | Callable[[Call], Any]


class Scripted:
    """A participant whose answers are a script: one step per call, the last repeats.

    A step is the answer text, an exception to raise, or a callable given the Call
    (it may return text, raise, or be a coroutine function).
    """

    def __init__(self, model_id: str, *steps: Step, tokens: tuple[int, int] = (10, 5)) -> None:
        self.model_id = model_id
        self.steps = list(steps) or ["ok"]
        self.tokens = tokens
        self.calls: list[Call] = []

    async def __call__(self, call: Call) -> Reply:
        self.calls.append(call)
        step = self.steps[min(len(self.calls), len(self.steps)) - 1]
        if isinstance(step, Exception):
            raise step
        if callable(step):
            step = step(call)
            if asyncio.iscoroutine(step):
                step = await step
        return Reply(step, *self.tokens)

    def participant(self, instance: int = 1) -> Participant:
        return Participant(self.model_id, self, instance)


# ------------------------------------------------------------------ HTML pages


class PageParser(HTMLParser):
    """Collects what the checks need: unbalanced tags, URL-bearing attributes, text
    (the style sheet apart)."""

    VOID: ClassVar[set[str]] = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack[-1:] != ["style"]:
            self.text.append(data)


def parse_page(path: Path) -> PageParser:
    """Parse a page that must open from disk, offline, safely: every tag closed in
    order, no script, nothing loaded from anywhere (no src, href, url() or @import)."""
    page = path.read_text(encoding="utf-8")
    parser = PageParser()
    parser.feed(page)
    parser.close()
    assert parser.problems == [] and parser.stack == []
    names = [tag for tag, _ in parser.tags]
    assert {"script", "link", "iframe", "img", "object", "embed"}.isdisjoint(names)
    for tag, attrs in parser.tags:
        assert "src" not in attrs and "href" not in attrs, tag
        assert not any(name.startswith("on") for name in attrs), tag
        assert not any("://" in (value or "") or "url(" in (value or "") for value in attrs.values()), tag
    assert "url(" not in page and "@import" not in page
    return parser


def kept_apart(prompt: str, answers: Sequence[str]) -> bool:
    """Whether `auto` keeps every answer in a group of its own."""
    from llm_consortium.judging import vote

    return [g.members for g in vote.group(list(answers), prompt=prompt)] == [(i,) for i in range(len(answers))]


def one_group(prompt: str, answers: Sequence[str]) -> bool:
    """Whether `auto` puts all the answers in one group."""
    from llm_consortium.judging import vote

    return [g.members for g in vote.group(list(answers), prompt=prompt)] == [tuple(range(len(answers)))]
