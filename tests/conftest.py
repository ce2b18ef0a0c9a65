"""Shared fixtures: an isolated llm user dir for every test, and the loopback server.

Isolation is autouse because llm reads and writes `LLM_USER_PATH` (keys, logs.db,
extra models, our consortium files) on almost every call; no test may see or touch
the developer's real files or real OpenAI key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from helpers import SCRUBBED_ENV
from loopback import LoopbackServer, write_models_file


@pytest.fixture(autouse=True)
def user_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty LLM_USER_PATH for this test."""
    path = tmp_path / "llm-user"
    path.mkdir()
    monkeypatch.setenv("LLM_USER_PATH", str(path))
    # A real key must never reach any request, and tests must see what a user sees
    # (no raw tracebacks, no HTTP logging).
    for name in SCRUBBED_ENV:
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture(autouse=True)
def fresh_gates() -> Iterator[None]:
    """Every test starts with no per-model gates: a limit one test's 429s lowered
    (gates live as long as the process) must not throttle the next test."""
    from llm_consortium.calls.gate import reset_gates
    from llm_consortium.calls.leases import share_limits

    reset_gates()
    yield
    reset_gates()
    share_limits(None)  # the next test's user dir holds its own shared state


@pytest.fixture
def no_sdk_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The openai client's own retries of a connection error, without its 0.5-8 s
    backoff: the requests and errors are real, only the waiting between them goes.
    (Responses can say so themselves with loopback.FAST_RETRY; a refused connection
    has no response to say it with.)"""
    import openai._base_client

    monkeypatch.setattr(openai._base_client, "INITIAL_RETRY_DELAY", 0.001)
    monkeypatch.setattr(openai._base_client, "MAX_RETRY_DELAY", 0.001)


@pytest.fixture(scope="session")
def _loopback_server() -> Iterator[LoopbackServer]:
    """One server for the whole session: starting threads per test buys nothing."""
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def loopback(_loopback_server: LoopbackServer) -> Iterator[LoopbackServer]:
    """The session's server with no scripts or recorded requests from other tests."""
    _loopback_server.reset()
    yield _loopback_server
    # Release anything this test left hanging so its threads end now.
    _loopback_server.reset()


@pytest.fixture
def openai_models(
    user_path: Path, loopback: LoopbackServer
) -> Callable[..., list[str]]:
    """Factory: `openai_models(["alpha", "beta"], beta={"vision": True})`.

    Registers the names as llm OpenAI-compatible models served by `loopback`
    (rewriting the models file each call) and returns the names.
    """

    def register(names: Sequence[str], **extras: Mapping[str, Any]) -> list[str]:
        write_models_file(user_path, loopback.url, list(names), **extras)
        return list(names)

    return register
