"""Members that use tools, through llm's Python API (sync and async), in vote mode
and with a schema: llm's real OpenAI plugin against the loopback server."""

from __future__ import annotations

import asyncio
import json
import threading

import llm
import pytest

from helpers import judge_saying, llm_run, save
from loopback import error, reply, tool_calls, tool_results

TOOLS = {"supports_tools": True}


def ask(*calls: tuple[str, dict], answer: str = "done"):
    return tool_calls(*calls), reply(answer)


@pytest.fixture
def models(loopback, openai_models):
    openai_models(["alpha", "beta", "judge"], alpha=TOOLS, beta=TOOLS, judge=TOOLS)
    loopback.script("judge", judge_saying("The consortium answer"))


def test_sync_api_chain_with_hooks(models, loopback):
    save("panel", ["alpha", "beta"], skip_arbiter_on_agreement=False)
    ran: list[str] = []

    def lookup(city: str) -> str:
        """The weather in a city"""
        ran.append(city)
        return f"sunny in {city}"

    seen: list[tuple[str, str, str]] = []
    loopback.script("alpha", *ask(("lookup", {"city": "Paris"})))
    loopback.script("beta", *ask(("lookup", {"city": "Bern"})))
    chain = llm.get_model("panel").conversation().chain(
        "Weather?",
        tools=[lookup],
        before_call=lambda tool, call: seen.append(("before", tool.name, call.arguments["city"])),
        after_call=lambda tool, call, result: seen.append(("after", tool.name, result.output)),
    )
    assert chain.text() == "The consortium answer"
    assert sorted(ran) == ["Bern", "Paris"]
    assert sorted(seen) == [
        ("after", "lookup", "sunny in Bern"), ("after", "lookup", "sunny in Paris"),
        ("before", "lookup", "Bern"), ("before", "lookup", "Paris"),
    ]
    (response,) = chain._responses
    per_model = response.token_details["models"]
    assert per_model["alpha"]["output"] == 2  # both calls of its loop: a tool call, "done"
    assert response.input_tokens == sum(row["input"] for row in per_model.values())


def test_a_refusal_reaches_only_that_member(models, loopback):
    save("panel", ["alpha", "beta"], skip_arbiter_on_agreement=False)
    loopback.script("alpha", *ask(("lookup", {"city": "Paris"})))
    loopback.script("beta", *ask(("lookup", {"city": "Bern"})))

    def lookup(city: str) -> str:
        """The weather in a city"""
        return f"sunny in {city}"

    def before(tool, call):
        if call.arguments["city"] == "Bern":
            raise llm.CancelToolCall("not Bern")

    chain = llm.get_model("panel").conversation().chain("Weather?", tools=[lookup], before_call=before)
    assert chain.text() == "The consortium answer"
    assert tool_results(loopback.requests_for("alpha")[1]) == ["sunny in Paris"]
    assert tool_results(loopback.requests_for("beta")[1]) == ["Cancelled: not Bern"]


def test_async_api_sync_tool_runs_off_the_event_loop(models, loopback):
    """A sync tool waits for something only the event loop can do: on the loop
    (llm's own async runner) it would wait in vain and answer "blocked"."""
    save("panel", ["alpha"], call_mode="async")
    loopback.script("alpha", *ask(("wait_for_loop", {})))

    async def main() -> str:
        loop = asyncio.get_running_loop()
        started = asyncio.Event()
        released = threading.Event()

        def wait_for_loop() -> str:
            """Waits for the event loop"""
            loop.call_soon_threadsafe(started.set)
            return "free" if released.wait(20) else "blocked"

        async def release() -> None:
            await started.wait()
            released.set()

        releaser = asyncio.create_task(release())
        calls: list[str] = []

        async def before(tool, call) -> None:  # an async hook, awaited on this loop
            calls.append(call.name)

        chain = llm.get_async_model("panel").conversation().chain(
            "Wait", tools=[wait_for_loop], before_call=before
        )
        text = await chain.text()
        await releaser
        assert calls == ["wait_for_loop"]
        return text

    assert asyncio.run(main()) == "The consortium answer"
    assert tool_results(loopback.requests_for("alpha")[1]) == ["free"]


def test_async_api_thread_members(models, loopback):
    save("panel", ["alpha", "beta"], skip_arbiter_on_agreement=False)
    for name in ("alpha", "beta"):
        loopback.script(name, *ask(("llm_version", {})))

    async def main() -> str:
        from llm.tools import llm_version

        chain = llm.get_async_model("panel").conversation().chain("Version?", tools=[llm_version])
        return await chain.text()

    assert asyncio.run(main()) == "The consortium answer"
    assert all(len(tool_results(loopback.requests_for(n)[1])) == 1 for n in ("alpha", "beta"))


def test_vote_mode_with_tools(models, loopback):
    save("panel", ["alpha", "beta"], arbiter=None)
    for name in ("alpha", "beta"):
        loopback.script(name, *ask(("llm_version", {}), answer="forty-two"))
    result = llm_run("-m", "panel", "-T", "llm_version", "Answer?")
    assert result.exit_code == 0, result.output
    assert result.stdout == "forty-two\n"


def test_schema_with_tools(models, loopback, openai_models):
    both = {"supports_tools": True, "supports_schema": True}
    openai_models(["alpha", "beta", "judge"], alpha=both, beta=both)
    save("panel", ["alpha", "beta"], skip_arbiter_on_agreement=False)
    answer = json.dumps({"city": "Paris"})
    for name in ("alpha", "beta"):
        loopback.script(name, *ask(("llm_version", {}), answer=answer))
    loopback.script("judge", judge_saying(answer))
    result = llm_run("-m", "panel", "-T", "llm_version", "--schema", "city str", "Where?")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"city": "Paris"}
    for name in ("alpha", "beta"):
        first, last = loopback.requests_for(name)
        assert first.json_schema["properties"] == {"city": {"type": "string"}}
        # llm's chain drops the schema after its first request: the prompt carries it.
        assert '"city"' in last.messages[0]["content"].split("## Reply format")[1]


def test_a_conversations_chain_limit_applies_to_each_member(models, loopback):
    save("panel", ["alpha", "beta"], skip_arbiter_on_agreement=False)
    loopback.script("alpha", tool_calls(("llm_version", {})))  # asks forever
    loopback.script("beta", reply("plain"))
    from llm.tools import llm_version

    chain = llm.get_model("panel").conversation(chain_limit=3).chain("Version?", tools=[llm_version])
    assert chain.text() == "The consortium answer"
    assert len(loopback.requests_for("alpha")) == 3
    (response,) = chain._responses
    alpha = response.response_json["rounds"][0]["members"][0]
    assert "chain limit of 3" in alpha["error"]


def test_a_saved_setting_gives_the_arbiter_the_tools(models, loopback):
    save("panel", ["alpha"], tools={"arbiter": True})
    loopback.script("alpha", reply("an answer"))
    loopback.script("judge", tool_calls(("llm_version", {})), judge_saying("checked answer"))
    result = llm_run("-m", "panel", "-T", "llm_version", "Version?")
    assert result.exit_code == 0, result.output
    assert result.stdout == "checked answer\n"
    first, second = loopback.requests_for("judge")
    assert [t["function"]["name"] for t in first.body["tools"]] == ["llm_version"]
    assert len(tool_results(second)) == 1
    assert second.stream  # the final answer still streams


def test_peer_review_calls_get_no_tools(models, loopback, openai_models):
    openai_models(["alpha", "beta", "gamma", "judge"], alpha=TOOLS, beta=TOOLS, gamma=TOOLS)
    save("panel", ["alpha", "beta", "gamma"], review=True, skip_arbiter_on_agreement=False)
    for name in ("alpha", "beta", "gamma"):
        loopback.script(name, *ask(("llm_version", {})))
    result = llm_run("-m", "panel", "-T", "llm_version", "Version?")
    assert result.exit_code == 0, result.output
    for name in ("alpha", "beta", "gamma"):
        _, answered, review = loopback.requests_for(name)  # its tool loop, then its review
        assert "tools" in answered.body and tool_results(answered)
        assert "tools" not in review.body


def test_tool_using_sync_members_of_different_models_never_share_a_thread_allowance(models, loopback, monkeypatch):
    """Each tool-using member's thread counts against its own model's allowance: with
    one thread per model, alpha's and beta's tool loops still run at the same time
    (the barrier's 20 s is a hang guard)."""
    from llm_consortium.calls import threads

    monkeypatch.setattr(threads, "THREADS_PER_MODEL", 1)
    monkeypatch.setattr(threads, "_allowances", {})
    save("panel", ["alpha", "beta"], skip_arbiter_on_agreement=False)
    loopback.script("alpha", *ask(("meet", {"who": "alpha"})))
    loopback.script("beta", *ask(("meet", {"who": "beta"})))
    together = threading.Barrier(2, timeout=20)

    def meet(who: str) -> str:
        """Waits for the other member's tool"""
        together.wait()
        return f"met by {who}"

    chain = llm.get_model("panel").conversation().chain("Meet?", tools=[meet])
    assert chain.text() == "The consortium answer"
    assert tool_results(loopback.requests_for("alpha")[1]) == ["met by alpha"]
    assert tool_results(loopback.requests_for("beta")[1]) == ["met by beta"]


def test_a_tools_own_429_never_lowers_the_members_model_limit(models, loopback):
    """A web tool whose API answers 429 (heard by the same httpx log watch) is the
    tool's affair: the member's model keeps its window."""
    import openai

    from llm_consortium.calls.gate import gate_for

    loopback.script("web", error(429, "slow down"))
    save("panel", ["alpha"])
    loopback.script("alpha", *ask(("fetch", {"url": "u"})))

    def fetch(url: str) -> str:
        """Fetches a page"""
        web = openai.OpenAI(base_url=loopback.url, api_key="x", max_retries=0)
        try:
            web.chat.completions.create(model="web", messages=[{"role": "user", "content": url}])
        except openai.RateLimitError as ex:
            return f"status {ex.status_code}"
        return "status 200"

    chain = llm.get_model("panel").conversation().chain("Fetch?", tools=[fetch])
    assert chain.text() == "The consortium answer"
    assert tool_results(loopback.requests_for("alpha")[1]) == ["status 429"]
    assert gate_for("alpha").lowest is None and gate_for("alpha").limit is None
