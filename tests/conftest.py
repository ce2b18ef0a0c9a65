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

from loopback import LoopbackServer, write_models_file


@pytest.fixture(autouse=True)
def user_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty LLM_USER_PATH for this test."""
    path = tmp_path / "llm-user"
    path.mkdir()
    monkeypatch.setenv("LLM_USER_PATH", str(path))
    # A real key must never reach any request, even by a misconfigured model.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    # These change llm's user-visible behaviour (raw tracebacks, HTTP logging);
    # tests must see what a user sees.
    monkeypatch.delenv("LLM_RAISE_ERRORS", raising=False)
    monkeypatch.delenv("LLM_OPENAI_SHOW_RESPONSES", raising=False)
    return path


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
