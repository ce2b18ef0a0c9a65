"""Limits kept per what the provider limits: models of one endpoint (or given one
`limit_group`) share one window and one set of leases, and `show --json` and the
trace name the group a model's calls were counted in."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import ValidationError

from llm_consortium.calls import leases
from llm_consortium.calls.gate import gate_for
from llm_consortium.calls.limit_groups import endpoint, limit_group
from llm_consortium.calls.sqlite_limits import FILE_NAME, SqliteLimits
from llm_consortium.saved.config import ConsortiumConfig

from helpers import llm_run, ok, save
from loopback import reply


@pytest.mark.parametrize(
    "api_base, group",
    [
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
        ("http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080/v1"),  # one server spelt two ways
        ("HTTP://LocalHost:80/v1", "http://localhost/v1"),  # the scheme's own port
        ("https://user:secret@api.example.com:443/openai/v1?api-key=secret#x", "https://api.example.com/openai/v1"),
        ("http://[::1]:11434/v1", "http://[::1]:11434/v1"),
    ],
)
def test_an_endpoint_names_its_group_without_credentials_or_spelling(api_base, group):
    assert endpoint(api_base) == group


def test_an_explicit_group_wins_then_the_endpoint_then_the_model_itself():
    assert limit_group("gpt-4o", "team-key", "http://h/v1") == "team-key"
    assert limit_group("llama3", None, "http://h:11434/v1/") == "http://h:11434/v1"
    assert limit_group("gpt-4o") == "gpt-4o"  # a provider's own API: each model its own limit


@pytest.mark.parametrize("bad", ["", "two\nlines", "x" * 201])
def test_a_limit_group_is_a_short_name_on_one_line(bad):
    with pytest.raises(ValidationError, match="limit_group"):
        ConsortiumConfig(name="c", models=[{"model_id": "m", "limit_group": bad}])


def test_models_of_one_group_keep_to_the_window_one_of_them_learned(tmp_path):
    leases.share_limits(tmp_path)

    async def scenario() -> tuple[int | None, int | None]:
        one, other = gate_for("a", group="g"), gate_for("b", group="g")
        first, second = await one.acquire(), await one.acquire()
        one.rate_limited(second)  # two in flight at the server, one refused: one at a time
        first.release()
        second.release()
        leases.settle()
        slot = await other.acquire()  # another model, the same server
        held = SqliteLimits(tmp_path / FILE_NAME).try_lease("g")
        slot.release()
        return other.limit, held

    assert asyncio.run(scenario()) == (1, None)  # b's call held the group's one slot
    leases.settle()


def test_show_json_and_the_trace_name_the_group_of_each_models_calls(loopback, openai_models):
    openai_models(["alpha", "beta", "gamma"])  # three models of the loopback server
    save("trio", ["alpha", "beta", {"model_id": "gamma", "limit_group": "team-key"}, "gpt-4o-mini"],
         arbiter=None, strategy="vote", max_iterations=1)
    group = endpoint(loopback.url)
    shown = json.loads(ok("show", "trio", "--json").stdout)
    assert [m["limit_group"] for m in shown["models"]] == [group, group, "team-key", "gpt-4o-mini"]
    save("trio", ["alpha", "beta", {"model_id": "gamma", "limit_group": "team-key"}], arbiter=None,
         strategy="vote", max_iterations=1)  # gpt-4o-mini would need a real key to answer
    for model in ("alpha", "beta", "gamma"):
        loopback.script(model, reply("4"))
    assert llm_run("-m", "trio", "2+2?").exit_code == 0
    (row,) = json.loads(llm_run("logs", "--json", "-n", "1").stdout)
    members = row["response_json"]["rounds"][0]["members"]
    assert {m["model"]: m["limit_group"] for m in members} == {"alpha": group, "beta": group, "gamma": "team-key"}
