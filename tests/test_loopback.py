"""The loopback server works through llm's real CLI, sync and async APIs."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request

import llm
import openai
import pytest
from click.testing import CliRunner

from loopback import (
    NO_RETRY,
    LoopbackServer,
    empty,
    error,
    hang,
    last_user_text,
    reply,
)


# llm.cli calls our register_commands hook, which imports llm_consortium.cli; until
# that module lands on this branch the CLI cannot even be imported.
def test_cli_streams_and_no_stream(loopback, openai_models):
    from llm.cli import cli

    openai_models(["alpha"])
    streamed = CliRunner().invoke(cli, ["-m", "alpha", "hi"])
    assert streamed.exit_code == 0, streamed.output
    assert streamed.output == "alpha says: hi\n"

    loopback.script("alpha", reply("one two three"))
    whole = CliRunner().invoke(cli, ["-m", "alpha", "--no-stream", "hi", "-s", "sys"])
    assert whole.exit_code == 0, whole.output
    assert whole.output == "one two three\n"

    first, second = loopback.requests_for("alpha")
    assert (first.stream, second.stream) == (True, False)
    assert first.body["stream_options"] == {"include_usage": True}
    assert second.messages == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hi"},
    ]


def test_cli_reports_server_error(loopback, openai_models):
    from llm.cli import cli

    openai_models(["alpha"])
    loopback.script("alpha", error(500, "kaboom", headers=NO_RETRY))
    result = CliRunner().invoke(cli, ["-m", "alpha", "hi"])
    assert result.exit_code == 1
    assert "Error:" in result.output and "kaboom" in result.output


@pytest.mark.parametrize("stream", [True, False])
def test_sync_prompt_text_usage_and_recording(loopback, openai_models, stream):
    openai_models(["alpha"])
    loopback.script("alpha", reply("hello there world"))
    response = llm.get_model("alpha").prompt("hi you", system="be brief", stream=stream)
    assert response.text() == "hello there world"
    # Default token counts are word counts: "be brief" + "hi you" -> 4, reply -> 3.
    usage = response.usage()
    assert (usage.input, usage.output) == (4, 3)

    (request,) = loopback.requests
    assert request.model == "alpha" and request.stream is stream
    assert request.messages == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi you"},
    ]
    assert request.headers["authorization"] == "Bearer DUMMY_KEY"


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [True, False])
async def test_async_prompt(loopback, openai_models, stream):
    openai_models(["alpha"])
    loopback.script("alpha", reply("async ok", prompt_tokens=7, completion_tokens=2))
    response = llm.get_async_model("alpha").prompt("hi", stream=stream)
    assert await response.text() == "async ok"
    usage = await response.usage()
    assert (usage.input, usage.output) == (7, 2)


def test_script_queue_order_callable_and_repeat(loopback, openai_models):
    openai_models(["alpha", "beta"])
    loopback.script(
        "alpha",
        reply("first"),
        empty(),
        reply(lambda body: "saw " + last_user_text(body)),
        reply("last"),
    )
    model = llm.get_model("alpha")
    texts = [model.prompt(f"p{i}").text() for i in range(5)]
    assert texts == ["first", "", "saw p2", "last", "last"]
    # Other models are unaffected by alpha's script.
    assert llm.get_model("beta").prompt("yo").text() == "beta says: yo"
    assert [last_user_text(r) for r in loopback.requests_for("alpha")] == [
        f"p{i}" for i in range(5)
    ]


def test_error_shape_reaches_openai_client(loopback, openai_models):
    openai_models(["alpha"])
    loopback.script("alpha", error(429, "slow down", headers=NO_RETRY))
    with pytest.raises(openai.RateLimitError) as info:
        llm.get_model("alpha").prompt("hi").text()
    assert info.value.status_code == 429
    assert info.value.body == {
        "message": "slow down",
        "type": "rate_limit_error",
        "code": None,
    }
    assert len(loopback.requests_for("alpha")) == 1  # NO_RETRY was honoured


def test_last_user_text_handles_parts():
    body = {
        "messages": [
            {"role": "user", "content": "old"},
            {"role": "assistant", "content": "x"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,"}},
                ],
            },
        ]
    }
    assert last_user_text(body) == "look"
    assert last_user_text({"messages": []}) == ""


def test_stop_releases_a_hanging_request():
    """stop() must not wait out a hang; the client sees a closed connection."""
    outcome: list[BaseException] = []
    server = LoopbackServer().start()
    server.script("slow", hang(600))
    request = urllib.request.Request(
        server.url + "/chat/completions",
        data=b'{"model": "slow", "messages": []}',
        headers={"Content-Type": "application/json"},
    )

    def call() -> None:
        try:
            urllib.request.urlopen(request)
        except BaseException as ex:  # recorded for the assertion below
            outcome.append(ex)

    client = threading.Thread(target=call)
    client.start()
    assert server.wait_for_requests(1, model="slow")
    server.stop()
    client.join()
    assert len(outcome) == 1
    assert not isinstance(outcome[0], urllib.error.HTTPError)  # no answer at all


def test_records_the_json_schema_a_schema_capable_model_is_sent(loopback, openai_models):
    openai_models(["able", "unable"], able={"supports_schema": True})
    loopback.script("able", reply('{"name": "Rex"}'))
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    assert llm.get_model("able").prompt("dog", schema=schema).text() == '{"name": "Rex"}'
    assert loopback.requests_for("able")[0].json_schema == schema
    llm.get_model("unable").prompt("dog").text()
    assert loopback.requests_for("unable")[0].json_schema is None


def test_streamed_reply_in_token_sized_pieces_pauses_at_a_hold(loopback, openai_models):
    from loopback import Hold

    openai_models(["alpha"])
    hold = Hold("Paris")
    loopback.script("alpha", reply("The capital is Paris, of course.", piece_chars=3, hold=hold))
    chunks = iter(llm.get_model("alpha").prompt("capital?"))
    seen = ""
    while "Paris" not in seen:
        seen += next(chunks)
    # The server stopped right after the piece completing "Paris" and waits for us.
    assert hold.reached.is_set()
    assert seen == "The capital is Paris,"  # pieces: "The", " ca", ... "Par", "is,"
    hold.release()
    assert list(chunks) == [" of", " co", "urs", "e."]
    assert not hold.timed_out
