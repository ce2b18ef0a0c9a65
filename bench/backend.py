"""The loopback backend for the full-stack benchmarks, run in its own process.

Why a separate process: the client under test and the server would otherwise share
one GIL, and the server's per-request work would be billed to the consortium. The
server itself is the test suite's `tests/loopback.py`, imported by path.

Run as a child: `python bench/backend.py --members 100 --delay 1 --judge-delay 0.5`
prints the server's URL on one line, serves until its stdin closes, then exits.
Member models are `m001`...; the arbiter is `judge`, confident at once, or with
`--refine` unsure in round 1 (so a consortium allowing two rounds refines once).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from loopback import LoopbackServer, last_user_text, reply
from loopback import tagged_verdict as verdict_text


def member_names(count: int) -> list[str]:
    return [f"m{i:03d}" for i in range(1, count + 1)]


def tagged_verdict(answer: str, confidence: float, areas: str = "") -> str:
    """The arbiter's reply: loopback's builder, asking for another round when there
    are refinement areas."""
    return verdict_text(
        answer, confidence, needs_iteration=bool(areas), areas=areas, analysis="The answers agree.", dissent=""
    )


def judge(refine: bool):
    """The arbiter's reply as a function of its prompt: unsure in round 1 if `refine`."""

    def answer(body: dict) -> str:
        if refine and "This is round 1 of" in last_user_text(body):
            return tagged_verdict("A first draft.", 0.4, "Be more precise.")
        return tagged_verdict("The benchmark answer.", 0.95)

    return answer


def serve(args: argparse.Namespace) -> None:
    with LoopbackServer() as server:
        for name in member_names(args.members):
            server.script(name, reply("A member answer.", delay=args.delay))
        server.script("judge", reply(judge(args.refine), delay=args.judge_delay))
        sys.stdout.write(server.url + "\n")
        sys.stdout.flush()
        sys.stdin.read()  # until the parent closes our stdin


class Backend:
    """Parent side: start the child server, read its URL, stop it on exit."""

    def __init__(self, members: int, delay: float, judge_delay: float, refine: bool = False) -> None:
        command = [
            sys.executable, __file__, "--members", str(members),
            "--delay", str(delay), "--judge-delay", str(judge_delay),
        ]
        if refine:
            command.append("--refine")
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.url = self.process.stdout.readline().strip()
        if not self.url:
            self.close()
            raise RuntimeError("the loopback backend did not start")

    def close(self) -> None:
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _raw_post(host: str, port: int, model: str) -> None:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]}).encode()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    await reader.read()
    writer.close()


def server_alone(backend: Backend, count: int) -> float:
    """Wall time of `count` concurrent raw HTTP requests to members (no llm, no openai)."""
    host, port = backend.url.split("//")[1].split("/")[0].split(":")

    async def burst() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(_raw_post(host, int(port), m) for m in member_names(count)))
        return time.perf_counter() - started

    return asyncio.run(burst())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, required=True)
    parser.add_argument("--delay", type=float, required=True)
    parser.add_argument("--judge-delay", type=float, required=True)
    parser.add_argument("--refine", action="store_true")
    serve(parser.parse_args())


if __name__ == "__main__":
    main()
