"""A scriptable OpenAI-compatible server on 127.0.0.1, for tests and demos.

Why it exists: the project's end-to-end tests must exercise `llm`'s real CLI and its
real OpenAI plugin (which talks through the `openai` client), not mocks of them. This
server answers `POST /v1/chat/completions` the way that client expects, so every layer
above the socket is the production code path, with no API key and no network.

Each model name gets a script: a queue of behaviours (`reply`, `error`, `hang`,
`empty`, `drop`) consumed one per request; the last one repeats. Unscripted models
echo: "{model} says: {last user text}".

Deliberately stdlib-only (the models-file writer imports PyYAML lazily, which `llm`
itself depends on) and free of pytest, so a demo script can import it too.

Note on retries: the `openai` client retries 408/409/429/5xx responses and dropped
connections twice, with 0.5s-1s backoff. Pass `headers=NO_RETRY` to `error()` to make
an error final, or `headers=FAST_RETRY` to let the client retry without the backoff.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import logging
import re
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Makes the openai client give up at once (it honours this non-standard header).
NO_RETRY: Mapping[str, str] = {"x-should-retry": "false"}
#: Makes the openai client retry after 1ms; `Retry-After: 0` does NOT do this, the
#: client treats 0 as "unspecified" and falls back to its 0.5s+ backoff.
FAST_RETRY: Mapping[str, str] = {"retry-after-ms": "1"}

TextSource = str | Callable[[dict], str]


# --------------------------------------------------------------------------- behaviours


class Hold:
    """A point in a streamed reply where the server stops until the test says go.

    The server sends every piece up to the one that completes the first `after` in
    the text (setting `reached` just before that last piece leaves), and then waits
    for `release()`. A test reads the client's
    output meanwhile, so "the client showed X while the rest was still unsent" is
    proven by ordering, not timing. Nobody releasing it within `timeout` seconds
    drops the connection: a test waiting for the wrong thing then fails, not passes late.
    """

    def __init__(self, after: str, timeout: float = 20.0) -> None:
        if not after:
            raise ValueError("Hold needs a non-empty `after`")
        self.after = after
        self.timeout = timeout
        self.reached = threading.Event()
        self.timed_out = False
        self._go = threading.Event()

    def release(self) -> None:
        self._go.set()

    def _wait(self, stop: threading.Event) -> bool:
        """True when released; False on timeout or server shutdown."""
        deadline = time.monotonic() + self.timeout
        while not self._go.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or stop.is_set():
                self.timed_out = True
                return False
            self._go.wait(min(left, 0.05))
        return True


@dataclass(frozen=True)
class Reply:
    """A successful completion. `text` may be a callable of the parsed request body.

    When the client asks to stream: `piece_chars` cuts the text into pieces of that
    many characters (token-sized; words by default), `interval` seconds apart, and
    `hold` pauses the stream at a point until the test releases it.
    """

    text: TextSource
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    delay: float = 0.0
    interval: float = 0.0
    piece_chars: int | None = None
    hold: Hold | None = None


@dataclass(frozen=True)
class Error:
    """An HTTP error with an OpenAI-shaped JSON body."""

    status: int
    message: str
    headers: Mapping[str, str] = field(default_factory=dict)
    type: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Hang:
    """Hold the request open (bounded), then close without answering."""

    seconds: float


@dataclass(frozen=True)
class ToolCalls:
    """A completion asking for tool calls (OpenAI `tool_calls`, finish_reason
    "tool_calls"): `calls` is a list of (tool name, arguments) pairs."""

    calls: tuple[tuple[str, dict[str, Any]], ...]
    text: str = ""


@dataclass(frozen=True)
class Empty:
    """A well-formed completion whose content is the empty string."""


@dataclass(frozen=True)
class Drop:
    """Close the connection without sending any response bytes."""


Behaviour = Reply | Error | Hang | Empty | Drop | ToolCalls


def reply(
    text: TextSource,
    *,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    delay: float = 0.0,
    interval: float = 0.0,
    piece_chars: int | None = None,
    hold: Hold | None = None,
) -> Reply:
    """Answer with `text` (or `text(body)`); token counts default to word counts.

    `delay` postpones the answer (for benchmarks; tests should not synchronise on it).
    It is cut short by `stop()`/`reset()`/`release_hangs()` so shutdown stays prompt.
    A streamed answer goes out in `piece_chars`-sized pieces `interval` seconds apart
    (benchmarks), pausing at `hold` (tests; see `Hold`).
    """
    return Reply(text, prompt_tokens, completion_tokens, delay, interval, piece_chars, hold)


def error(
    status: int,
    message: str = "Scripted loopback error",
    headers: Mapping[str, str] | None = None,
    *,
    type: str | None = None,
    code: str | None = None,
) -> Error:
    """Answer with HTTP `status` and {"error": {"message", "type", "code"}}.

    `type` defaults to an OpenAI-style name derived from the status.
    """
    return Error(status, message, dict(headers or {}), type, code)


def hang(seconds: float) -> Hang:
    """Hold the request open for at most `seconds`, then close with no answer.

    Bounded so a forgotten hang cannot wedge a test run; released early by
    `stop()`, `reset()` or `release_hangs()`.
    """
    return Hang(seconds)


def tool_calls(*calls: tuple[str, dict[str, Any]], text: str = "") -> ToolCalls:
    """Ask the client to call tools: `tool_calls(("llm_version", {}))`. The client's
    next request carries the results as `tool` messages (see `tool_results`)."""
    return ToolCalls(tuple((name, dict(arguments)) for name, arguments in calls), text)


def tool_results(request: RecordedRequest) -> list[str]:
    """The contents of the `tool` messages a recorded request carried, in order."""
    return [
        _content_text(m.get("content"))
        for m in request.messages
        if isinstance(m, dict) and m.get("role") == "tool"
    ]


def empty() -> Empty:
    """A valid completion with empty content (0 completion tokens)."""
    return Empty()


def drop() -> Drop:
    """Close the connection immediately without any response."""
    return Drop()


#: What OpenAI answers when the account's credit or quota is spent.
QUOTA_MESSAGE = (
    "You exceeded your current quota, please check your plan and billing details."
)


def quota_exhausted(
    message: str = QUOTA_MESSAGE, headers: Mapping[str, str] | None = None
) -> Error:
    """A 429 that is not a wait: the quota is spent (`insufficient_quota`)."""
    return error(429, message, headers, type="insufficient_quota", code="insufficient_quota")


# ------------------------------------------------------------------- recorded requests


@dataclass(frozen=True)
class RecordedRequest:
    """One chat-completions call as the server received it (content kept as given)."""

    model: str | None
    messages: list[Any]
    stream: bool
    body: dict[str, Any]
    headers: dict[str, str]  # keys lower-cased

    @property
    def json_schema(self) -> dict[str, Any] | None:
        """The JSON schema the client asked the reply to match (`response_format` of
        type json_schema, as llm's OpenAI plugin sends for `--schema`), else None."""
        response_format = self.body.get("response_format") or {}
        if response_format.get("type") != "json_schema":
            return None
        return (response_format.get("json_schema") or {}).get("schema")


def _content_text(content: Any) -> str:
    """Text of a message `content`: a string, or the text parts of a parts list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def last_user_text(request: RecordedRequest | Mapping[str, Any]) -> str:
    """Text of the last user message of a recorded request or a request body.

    Handles string content and lists of parts (text parts joined by newlines; image
    parts ignored). Returns "" when there is no user message.
    """
    messages = (
        request.messages
        if isinstance(request, RecordedRequest)
        else request.get("messages") or []
    )
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def _word_count(text: str) -> int:
    return len(text.split())


def _prompt_word_count(messages: Sequence[Any]) -> int:
    """Default prompt_tokens: words across every message's text, so tests can predict it."""
    return sum(
        _word_count(_content_text(m.get("content")))
        for m in messages
        if isinstance(m, dict)
    )


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


# ------------------------------------------------------------------------------ server


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a stuck handler must never keep the process alive
    # socketserver's default listen backlog of 5 drops the SYNs of a burst of
    # concurrent connections (a 100-member round), and the client's retransmits
    # then add whole seconds.
    request_queue_size = 256
    owner: LoopbackServer


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so a closed connection never surprises the
    # client's pool and streamed bodies are simply delimited by the close.
    protocol_version = "HTTP/1.0"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("loopback: " + format, *args)

    # -- routing

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            names = self.server.owner._scripted_names()
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": n, "object": "model", "created": 0, "owned_by": "loopback"}
                        for n in names
                    ],
                },
            )
        else:
            self._send_error(Error(404, f"No route for GET {self.path}"))

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_error(Error(404, f"No route for POST {self.path}"))
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
        except (ValueError, OSError) as ex:
            self._send_error(Error(400, f"Unreadable JSON body: {ex}", dict(NO_RETRY)))
            return
        if not isinstance(body, dict):
            self._send_error(Error(400, "Body must be a JSON object", dict(NO_RETRY)))
            return
        owner = self.server.owner
        recorded = RecordedRequest(
            model=body.get("model"),
            messages=body.get("messages") or [],
            stream=bool(body.get("stream")),
            body=body,
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        behaviour, release = owner._record_and_choose(recorded)
        refusal = owner._enter_slot(behaviour)
        if refusal is not None:
            self._send_error(refusal)
            return
        self._holding: Behaviour | None = behaviour
        try:
            self._perform(behaviour, recorded, release)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("loopback: client went away during %s", type(behaviour).__name__)
        finally:
            self._work_done()

    def _work_done(self) -> None:
        """The request's work is over: its in-flight slot is free. A whole reply frees
        it before its bytes leave, so a client that has read the reply and sends the
        next request at once is never refused for a slot its last one still held."""
        behaviour, self._holding = getattr(self, "_holding", None), None
        if behaviour is not None:
            self.server.owner._leave_slot(behaviour)

    # -- behaviours

    def _perform(
        self, behaviour: Behaviour, req: RecordedRequest, release: threading.Event
    ) -> None:
        if isinstance(behaviour, Drop):
            self.close_connection = True
            return
        if isinstance(behaviour, Hang):
            if release.wait(behaviour.seconds) and getattr(release, "final", False):
                self._send_error(Error(503, "released by the loopback server", dict(NO_RETRY)))
            self.close_connection = True
            return
        if isinstance(behaviour, Error):
            self._send_error(behaviour)
            return
        if isinstance(behaviour, ToolCalls):
            self._send_tool_calls(behaviour, req)
            return
        if isinstance(behaviour, Empty):
            behaviour = Reply("", completion_tokens=0)
        if behaviour.delay:
            release.wait(behaviour.delay)
        if callable(behaviour.text):
            try:
                text = behaviour.text(copy.deepcopy(req.body))
            except Exception as ex:  # a bug in a test's callable: make it visible
                log.exception("loopback: reply callable failed")
                self._send_error(
                    Error(500, f"reply callable raised {ex!r}", dict(NO_RETRY))
                )
                return
        else:
            text = behaviour.text
        prompt_tokens = (
            behaviour.prompt_tokens
            if behaviour.prompt_tokens is not None
            else _prompt_word_count(req.messages)
        )
        completion_tokens = (
            behaviour.completion_tokens
            if behaviour.completion_tokens is not None
            else _word_count(text)
        )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        model = req.model or "loopback"
        if req.stream:
            include_usage = bool(
                (req.body.get("stream_options") or {}).get("include_usage")
            )
            self._send_stream(
                model, text, usage if include_usage else None, behaviour, release
            )
        else:
            # A model takes as long to write a reply whether it is streamed or not.
            if behaviour.interval:
                release.wait(behaviour.interval * (len(_pieces(text, behaviour.piece_chars)) - 1))
            if behaviour.hold is not None and not behaviour.hold._wait(release):
                self.close_connection = True
                return
            self._send_json(
                200,
                {
                    "id": _completion_id(),
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                },
            )

    # -- wire formats

    def _send_json(
        self, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self._work_done()
        self.wfile.write(data)

    def _send_error(self, err: Error) -> None:
        err_type = err.type or (
            "server_error" if err.status >= 500 else _ERROR_TYPES.get(err.status, "api_error")
        )
        self._send_json(
            err.status,
            {"error": {"message": err.message, "type": err_type, "code": err.code}},
            err.headers,
        )

    def _send_tool_calls(self, behaviour: ToolCalls, req: RecordedRequest) -> None:
        """A tool-calls completion, streamed or whole, as OpenAI sends it."""
        calls = [
            {
                "index": index,
                "id": f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            for index, (name, arguments) in enumerate(behaviour.calls)
        ]
        usage = {
            "prompt_tokens": _prompt_word_count(req.messages),
            "completion_tokens": len(calls),
            "total_tokens": _prompt_word_count(req.messages) + len(calls),
        }
        model = req.model or "loopback"
        if not req.stream:
            message = {"role": "assistant", "content": behaviour.text or None, "tool_calls": calls}
            self._send_json(200, {
                "id": _completion_id(), "object": "chat.completion", "created": int(time.time()),
                "model": model, "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
                "usage": usage,
            })
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        cid, created = _completion_id(), int(time.time())
        include_usage = bool((req.body.get("stream_options") or {}).get("include_usage"))

        def chunk(choices: list[dict], **extra: Any) -> None:
            event = {"id": cid, "object": "chat.completion.chunk", "created": created,
                     "model": model, "choices": choices, **extra}
            self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")

        chunk([{"index": 0, "delta": {"role": "assistant", "content": behaviour.text}, "finish_reason": None}])
        chunk([{"index": 0, "delta": {"tool_calls": calls}, "finish_reason": None}])
        chunk([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}])
        if include_usage:
            chunk([], usage=usage)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _send_stream(
        self,
        model: str,
        text: str,
        usage: dict[str, int] | None,
        behaviour: Reply | None = None,
        release: threading.Event | None = None,
    ) -> None:
        """SSE as OpenAI sends it: role chunk, content chunks, finish, [usage], [DONE]."""
        behaviour = behaviour or Reply(text)
        release = release or threading.Event()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        if self.protocol_version != "HTTP/1.0":  # the close delimits the stream
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        cid, created = _completion_id(), int(time.time())

        def chunk(choices: list[dict], **extra: Any) -> None:
            event = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": choices,
                **extra,
            }
            self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
            self.wfile.flush()

        def delta(d: dict, finish: str | None = None) -> list[dict]:
            return [{"index": 0, "delta": d, "finish_reason": finish}]

        chunk(delta({"role": "assistant", "content": ""}))
        hold = behaviour.hold
        hold_at = -1 if hold is None else text.find(hold.after)
        hold_at = -1 if hold_at < 0 else hold_at + len(hold.after)
        sent = 0
        began = time.monotonic()
        for number, piece in enumerate(_pieces(text, behaviour.piece_chars)):
            if number and behaviour.interval:  # a fixed rate: waits never add up to drift
                release.wait(max(0.0, began + number * behaviour.interval - time.monotonic()))
            sent += len(piece)
            holding = hold is not None and 0 <= hold_at <= sent and not hold.reached.is_set()
            if holding:
                # Set before the piece goes out: a client that has read it can rely on
                # the server being at the hold (or about to wait there), never past it.
                hold.reached.set()
            chunk(delta({"content": piece}))
            if holding and not hold._wait(release):
                self.close_connection = True
                return
        chunk(delta({}, "stop"))
        if usage is not None:
            chunk([], usage=usage)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def _pieces(text: str, size: int | None) -> list[str]:
    """Word-sized pieces (or `size`-character ones) so clients really see several
    chunks; "".join(pieces) == text."""
    if size:
        return [text[i : i + size] for i in range(0, len(text), size)]
    return re.findall(r"\s*\S+\s*|\s+", text)


class _KeepAliveHandler(_Handler):
    """HTTP/1.1 with keep-alive, as real providers answer: the client's pool keeps
    the connection, so a client closed on the wrong event loop shows it."""

    protocol_version = "HTTP/1.1"


def _completion_id() -> str:
    return "chatcmpl-loopback-" + uuid.uuid4().hex[:12]


class LoopbackServer:
    """A scriptable OpenAI-compatible HTTP server bound to 127.0.0.1 (port 0 by default).

    Runs in a daemon thread. `stop()` returns promptly even with requests hanging,
    because hangs and delays wait on an event that stop() sets.
    """

    def __init__(self, port: int = 0, keep_alive: bool = False) -> None:
        self._requested_port = port
        self._handler = _KeepAliveHandler if keep_alive else _Handler
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._scripts: dict[str, deque[Behaviour]] = {}
        self._requests: list[RecordedRequest] = []
        self._release = threading.Event()
        self._slots: int | None = None  # see limit_in_flight()
        self._slot_retry_after_ms = 0.0
        self._slot_headers: dict[str, str] = {}
        self._in_flight = 0
        self.peak_in_flight = 0
        self.refused = 0
        # When the first piece of work started and the last one ended (monotonic): the
        # span in which the provider was in use, whatever its clients did before it.
        self.first_work_at: float | None = None
        self.last_work_done_at: float | None = None

    # -- lifecycle

    def start(self) -> LoopbackServer:
        """Bind and start serving; returns self so `LoopbackServer().start()` chains."""
        if self._httpd is not None:
            raise RuntimeError("LoopbackServer already started")
        httpd = _HTTPServer(("127.0.0.1", self._requested_port), self._handler)
        httpd.owner = self
        self._httpd = httpd
        self._release = threading.Event()
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # bounds how long shutdown() waits
            name=f"loopback-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hanging handlers, stop accepting, close the socket. Idempotent."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self.release_hangs()
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("LoopbackServer is not running")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL for `api_base`, e.g. "http://127.0.0.1:PORT/v1"."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting

    def script(self, model_name: str, *behaviours: Behaviour) -> None:
        """Replace `model_name`'s queue; one behaviour per request, the last repeats."""
        if not behaviours:
            raise ValueError("script() needs at least one behaviour")
        for b in behaviours:
            if not isinstance(b, (Reply, Error, Hang, Empty, Drop, ToolCalls)):
                raise TypeError(f"Not a loopback behaviour: {b!r}")
        with self._cond:
            self._scripts[model_name] = deque(behaviours)

    def choose(self, model_name: str, chooser: Callable[[RecordedRequest], Behaviour]) -> None:
        """Answer every request for `model_name` with `chooser(request)`: a behaviour
        decided by what was asked (a soak's faults keyed by item, whatever the order
        concurrent requests arrive in). Replaces the model's script."""
        with self._cond:
            self._scripts[model_name] = deque([chooser])  # type: ignore[list-item]

    def reset(self) -> None:
        """Forget scripts and recorded requests; release any request still hanging."""
        with self._cond:
            self._scripts.clear()
            self._requests.clear()
            self._slots = None
            self.peak_in_flight = self.refused = 0
        self.release_hangs(final=True)

    def release_hangs(self, final: bool = False) -> None:
        """End every current `hang`/`delay` now; later ones wait afresh. A released
        hang closes the connection, or with `final` answers an error the client does
        not retry (a client abandoned in a thread then stops instead of sending its
        retries into the next test)."""
        with self._cond:
            old, self._release = self._release, threading.Event()
        old.final = final  # type: ignore[attr-defined]
        old.set()

    def limit_in_flight(
        self, slots: int | None, *, retry_after_ms: float = 100, client_retries: bool = True
    ) -> None:
        """Act as a provider that allows `slots` requests in flight at once (over
        every model, as a per-account limit does): a request beyond that is answered
        at once with 429, `retry-after-ms` and `retry-after` (whole seconds, rounded
        up). `None` lifts the limit. `peak_in_flight` and `refused` say what happened.
        `client_retries=False` adds `x-should-retry: false`, so the openai client
        hands every 429 to its caller instead of retrying it itself.
        """
        with self._cond:
            self._slots = slots
            self._slot_retry_after_ms = retry_after_ms
            self._slot_headers = {} if client_retries else dict(NO_RETRY)
            self.peak_in_flight = self.refused = 0

    # -- observation

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every chat-completions request received, in arrival order."""
        with self._cond:
            return list(self._requests)

    def requests_for(self, model_name: str) -> list[RecordedRequest]:
        """The recorded requests whose `model` is `model_name`."""
        return [r for r in self.requests if r.model == model_name]

    def wait_for_requests(
        self, count: int, *, model: str | None = None, timeout: float = 10.0
    ) -> bool:
        """Block until at least `count` requests (for `model`, if given) have arrived.

        For tests that must act while a request is in flight (e.g. during a `hang`)
        without sleeping. Returns False if `timeout` passes first.
        """

        def enough() -> bool:
            return (
                sum(1 for r in self._requests if model is None or r.model == model)
                >= count
            )

        with self._cond:
            return self._cond.wait_for(enough, timeout)

    # -- used by the handler

    def _record_and_choose(
        self, request: RecordedRequest
    ) -> tuple[Behaviour, threading.Event]:
        with self._cond:
            self._requests.append(request)
            self._cond.notify_all()
            queue = self._scripts.get(request.model or "")
            if queue:
                behaviour = queue.popleft() if len(queue) > 1 else queue[0]
                if callable(behaviour):  # a chooser (see choose())
                    behaviour = behaviour(request)
            else:
                name = request.model
                behaviour = Reply(lambda body: f"{name} says: {last_user_text(body)}")
            return behaviour, self._release

    def _enter_slot(self, behaviour: Behaviour) -> Error | None:
        """Take an in-flight slot for work (a reply, a hang); the 429 to send when
        none is free. Errors and drops take no slot: they answer at once."""
        if isinstance(behaviour, (Error, Drop)):
            return None
        with self._cond:
            if self._slots is not None and self._in_flight >= self._slots:
                self.refused += 1
                wait_ms = self._slot_retry_after_ms
                return Error(
                    429,
                    f"Rate limit reached: {self._slots} requests in flight. Please try again.",
                    {
                        "retry-after-ms": f"{wait_ms:g}",
                        "retry-after": str(max(1, -(-int(wait_ms) // 1000))),
                        **self._slot_headers,
                    },
                    "rate_limit_error",
                    "rate_limit_exceeded",
                )
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            if self.first_work_at is None:
                self.first_work_at = time.monotonic()
            return None

    def _leave_slot(self, behaviour: Behaviour) -> None:
        if not isinstance(behaviour, (Error, Drop)):
            with self._cond:
                self._in_flight -= 1
                self.last_work_done_at = time.monotonic()

    def _scripted_names(self) -> list[str]:
        with self._cond:
            return sorted(self._scripts)


# ------------------------------------------------------------------------ models file


def tagged_verdict(
    synthesis: str,
    confidence: Any = 0.9,
    *,
    needs_iteration: bool = False,
    areas: str = "",
    analysis: str = "compared",
    dissent: str = "none",
) -> str:
    """An arbiter reply in the tagged form the consortium asks its arbiter for (the
    verdict first, the synthesis last): the one builder the tests, the benchmarks
    and the demo share."""
    return (
        f"<analysis>{analysis}</analysis>\n<dissent>{dissent}</dissent>\n"
        f"<confidence>{confidence}</confidence>\n"
        f"<needs_iteration>{str(needs_iteration).lower()}</needs_iteration>\n"
        f"<refinement_areas>{areas}</refinement_areas>\n"
        f"<synthesis>{synthesis}</synthesis>"
    )


def write_models_file(
    user_dir: Path, url: str, names: Sequence[str], **per_model_extras: Mapping[str, Any]
) -> Path:
    """Write `extra-openai-models.yaml` so llm's OpenAI plugin routes `names` to `url`.

    `per_model_extras` maps a model name to extra keys for its entry, e.g.
    `alpha={"vision": True}`. `api_key_name` is refused: with it, llm would send the
    user's real OPENAI_API_KEY; without it, a set `api_base` makes llm send a dummy key.
    """
    import yaml  # lazily: llm depends on PyYAML, but the server itself is stdlib-only

    unknown = set(per_model_extras) - set(names)
    if unknown:
        raise ValueError(f"Extras given for models not in names: {sorted(unknown)}")
    entries = []
    for name in names:
        extras = dict(per_model_extras.get(name, {}))
        if "api_key_name" in extras:
            raise ValueError("api_key_name would send a real API key; not allowed")
        entries.append({"model_id": name, "model_name": name, "api_base": url, **extras})
    user_dir = Path(user_dir)
    user_dir.mkdir(parents=True, exist_ok=True)
    path = user_dir / "extra-openai-models.yaml"
    path.write_text(yaml.safe_dump(entries, sort_keys=False))
    return path


# ------------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until Ctrl-C; optionally write a models file for `--model` names."""
    parser = argparse.ArgumentParser(description="Loopback OpenAI-compatible server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--user-dir", type=Path, help="write extra-openai-models.yaml here")
    parser.add_argument("--model", action="append", default=[], help="model name (repeat)")
    args = parser.parse_args(argv)
    with LoopbackServer(args.port) as server:
        if args.user_dir and args.model:
            path = write_models_file(args.user_dir, server.url, args.model)
            sys.stderr.write(f"wrote {path}\n")
        sys.stderr.write(f"loopback serving at {server.url} (Ctrl-C to stop)\n")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
