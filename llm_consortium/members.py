"""Calling one participant: the retry/timeout policy, and turning `llm` models into
the coroutine functions the engine calls.

An async model is awaited on the run's event loop; a sync-only model runs in its
own daemon thread, so a hung provider can neither serialise the fan-out (a shared
executor would cap concurrency) nor keep the process alive after Ctrl-C.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional

from .failures import backoff, describe, is_transient, provider_retries, remember_secret, retry_after

if TYPE_CHECKING:
    from .engine import Call, CallFn, Reply

logger = logging.getLogger(__name__)



@dataclass
class Outcome:
    """How a participant's call ended, after every attempt."""

    reply: Optional["Reply"] = None
    error: Optional[str] = None
    duration_ms: int = 0
    attempts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reply is not None

    def usage(self) -> dict[str, Optional[int]]:
        if self.reply is None:
            return {"input": None, "output": None}
        return {"input": self.reply.input_tokens, "output": self.reply.output_tokens}


class EmptyAnswer(Exception):
    """The model answered with nothing but whitespace."""


async def call_with_policy(
    fn: "CallFn",
    call: "Call",
    *,
    timeout: float,
    retries: int,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Outcome:
    """Call `fn` with retries for transient errors, all within `timeout` seconds.

    Retries a provider's SDK already made inside an attempt (when it reports them)
    count against `retries`, so the two layers do not multiply the requests sent.

    Never raises for a model failure: the failure is the Outcome's `error`, so one
    member's problem cannot sink the round. Cancellation still propagates.
    """
    outcome = Outcome()
    started = time.monotonic()

    async def attempts() -> None:
        requests = 0  # sent so far, counting the retries a provider SDK made itself
        number = 0
        while True:
            number += 1
            began = time.monotonic()
            try:
                reply = await fn(call)
                if not reply.text or not reply.text.strip():
                    raise EmptyAnswer("empty answer")
                outcome.reply = reply
                outcome.error = None
                outcome.attempts.append({"ok": True, "duration_ms": _ms(began)})
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                outcome.error = describe(exc)
                attempt: dict[str, Any] = {
                    "ok": False, "error": outcome.error, "duration_ms": _ms(began)
                }
                outcome.attempts.append(attempt)
                inner = provider_retries(exc) or 0
                if inner:
                    attempt["provider_retries"] = inner
                requests += 1 + inner
                if requests > retries or not is_transient(exc):
                    return
                asked = retry_after(exc)
                wait = backoff(number) if asked is None else asked
                left = timeout - (time.monotonic() - started)
                if wait >= left:
                    # Sleeping would only end in our own timeout and hide the real error.
                    outcome.error += f" (not retried: a {wait:.3g}s wait would pass the {timeout:g}s timeout)"
                    attempt["error"] = outcome.error
                    return
                attempt["retry_in"] = round(wait, 3)
                logger.info("retrying in %.2fs: %s", wait, outcome.error)
                await sleep(wait)

    try:
        await asyncio.wait_for(attempts(), timeout)
    except asyncio.TimeoutError:
        outcome.reply = None
        outcome.error = f"timed out after {timeout:g}s"
        outcome.attempts.append({"ok": False, "error": outcome.error, "duration_ms": _ms(started)})
    outcome.duration_ms = _ms(started)
    return outcome


def _ms(since: float) -> int:
    return round((time.monotonic() - since) * 1000)


def _messages(call: "Call") -> Optional[list[Any]]:
    """The earlier turns as llm Messages, system first; None without history.

    Passed alongside `system=` because some plugins read only one of the two.
    """
    if not call.history:
        return None
    import llm

    messages = [llm.system(call.system)] if call.system else []
    for role, text in call.history:
        messages.append(llm.assistant(text) if role == "assistant" else llm.user(text))
    return messages


CALL_MODES = ("auto", "thread", "async")


def call_mode(sync_model: Any, async_model: Any, forced: str = "auto") -> str:
    """How a model is called: "thread" (its sync implementation in a pool thread) or
    "async" (its async implementation on the run's loop).

    Automatic: threads whenever there is a sync implementation, because llm's plugins
    build a client (and a TLS context) per prompt, CPU work that one loop runs call
    after call and threads overlap; a consortium is always awaited on the loop. A
    forced mode the model cannot do falls back to the one it can.
    """
    if async_model is None:
        return "thread"
    if sync_model is None or _is_consortium(async_model):
        return "async"
    return "async" if forced == "async" else "thread"


def _is_consortium(model: Any) -> bool:
    return bool(getattr(model, "consortium_name", None)) or type(model).__module__.startswith(
        "llm_consortium"
    )


def llm_call(
    sync_model: Any, async_model: Any, options: dict[str, Any], mode: str = "auto", name: str = ""
) -> "CallFn":
    """A coroutine function calling one `llm` model with this member's options,
    inside the stdio guard (a member that leaves stdio redirected is undone)."""
    from .engine import Reply
    from .stdio import guarded
    from .threads import in_thread

    name = name or getattr(async_model or sync_model, "model_id", "member")

    def kwargs_for(call: "Call") -> dict[str, Any]:
        kwargs: dict[str, Any] = {"stream": False}
        if call.system:
            kwargs["system"] = call.system
        if call.attachments:
            kwargs["attachments"] = list(call.attachments)
        messages = _messages(call)
        if messages is not None:
            kwargs["messages"] = messages
        if options:
            kwargs["options"] = dict(options)
        return kwargs

    if call_mode(sync_model, async_model, mode) == "async":

        async def call_async(call: "Call") -> Reply:
            with guarded(name):
                response = async_model.prompt(call.prompt, **kwargs_for(call))
                text = await response.text()
                usage = await response.usage()
            return Reply(text, usage.input, usage.output)

        return call_async

    def blocking(call: "Call") -> Reply:
        response = sync_model.prompt(call.prompt, **kwargs_for(call))
        text = response.text()
        usage = response.usage()
        return Reply(text, usage.input, usage.output)

    async def call_sync(call: "Call") -> Reply:
        # Guarded while awaited: a call given up on (its thread runs on) no longer
        # holds back putting stdio right for the calls that follow.
        with guarded(name):
            return await in_thread(lambda: blocking(call))

    return call_sync


class Registry:
    """Every registered model by id and alias, from one registration pass (each
    `llm.get_model` call re-runs every plugin's registration)."""

    def __init__(self) -> None:
        import llm

        self.sync: dict[str, Any] = {}
        self.async_: dict[str, Any] = {}
        for entry in llm.get_models_with_aliases():
            for name in (entry.model.model_id, *entry.aliases):
                self.sync[name] = entry.model
                if entry.async_model is not None:
                    self.async_[name] = entry.async_model

    def model(self, model_id: str) -> Any:
        """The model a participant calls: the async one when there is one.
        KeyError for an id or alias nobody registered."""
        model = self.async_.get(model_id) or self.sync.get(model_id)
        if model is None:
            raise KeyError(model_id)
        return model

    def participant(self, model_id: str, options: dict[str, Any], instance: int = 1) -> Any:
        """An engine participant calling `model_id` with `options`. KeyError for an
        unknown id, llm.ModelError (from the model) for a key that is not set."""
        from .engine import Participant

        model = self.model(model_id)
        remember_secret(model.get_key())
        name = model_id if instance == 1 else f"{model_id}#{instance}"
        call = llm_call(self.sync.get(model_id), self.async_.get(model_id), options, name=name)
        types = frozenset(getattr(model, "attachment_types", None) or ())
        return Participant(model_id, call, instance, attachment_types=types)


def resolve(config: Any) -> tuple[list[Any], Optional[Any]]:
    """Turn a config's model ids into engine participants, before any call is spent.

    An unknown id, a missing key or a cycle fails here, naming it.
    """
    import llm

    registry = Registry()
    check_cycles(config, registry.sync)
    for value in llm.load_keys().values():
        remember_secret(value)

    def participant(model_id: str, options: dict[str, Any], role: str, instance: int = 1):
        try:
            return registry.participant(model_id, options, instance)
        except KeyError:
            raise llm.ModelError(f"Consortium {config.name!r}: unknown {role} model {model_id!r}")
        except llm.ModelError as ex:
            raise llm.ModelError(f"Consortium {config.name!r}: {role} model {model_id!r}: {ex}")

    members = [
        participant(member.model_id, member.options, "member", instance)
        for member in config.models
        for instance in range(1, member.count + 1)
    ]
    arbiter = None
    if config.arbiter is not None and config.effective_strategy == "arbiter":
        arbiter = participant(config.arbiter.model_id, config.arbiter.options, "arbiter")
    return members, arbiter


def _model_ids(config: Any) -> list[str]:
    ids = [member.model_id for member in config.models]
    if config.arbiter is not None:
        ids.append(config.arbiter.model_id)
    return ids


def find_cycle(config: Any, models: Optional[dict[str, Any]] = None) -> Optional[list[str]]:
    """The loop `config` would run into through nested consortiums, as names from
    `config` back to the repeated one (["a", "b", "a"]); None when there is none.

    `models` maps ids and aliases to registered models (looked up when omitted). A
    member is followed when it is a registered consortium, or `config` itself, which
    `llm consortiums create` checks before saving it.
    """
    from . import store
    from .models import _SharedConsortium

    if models is None:
        import llm

        models = llm.get_model_aliases()

    def consortium_name(model_id: str) -> Optional[str]:
        model = models.get(model_id)
        if isinstance(model, _SharedConsortium):
            return model.model_id
        return config.name if model_id == config.name else None

    def visit(name: str, path: tuple[str, ...]) -> Optional[list[str]]:
        if name in path:
            return [*path[path.index(name):], name]
        try:
            current = config if name == config.name else store.load(name)
        except (store.ConsortiumError, ValueError):
            return None  # a broken nested consortium reports its own error when called
        for model_id in _model_ids(current):
            nested = consortium_name(model_id)
            if nested is not None:
                loop = visit(nested, path + (name,))
                if loop:
                    return loop
        return None

    return visit(config.name, ())


def check_cycles(config: Any, models: dict[str, Any]) -> None:
    """Refuse a consortium that reaches itself through its members or arbiter,
    naming the loop; runs before any model is called."""
    import llm

    loop = find_cycle(config, models)
    if loop:
        raise llm.ModelError(f"Consortium cycle: {' -> '.join(loop)}")
