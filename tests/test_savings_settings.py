"""What a user saves and sets to spend less: the price table and its command, the
cost and budget arithmetic, and the spending settings (tiers, agreement, waves,
budgets) in the YAML, `create`, `-o` and the summaries. Bad input is one line,
before any model call."""

from __future__ import annotations

import json

import llm
import pytest
from pydantic import ValidationError

from llm_consortium.calls import costs
from llm_consortium.saved import prices, store
from llm_consortium.saved.config import ConsortiumConfig
from llm_consortium.types import Settings

from helpers import llm_run, ok, refused, save

# ------------------------------------------------------------------ the price table


def test_prices_set_list_and_remove_round_trip_through_the_file(user_path):
    ok("prices", "set", "cheap", "0.15", "0.6", "--force")  # no model is installed here
    ok("prices", "set", "strong", "1.5", "6", "--force")
    assert prices.load() == {"cheap": (0.15, 0.6), "strong": (1.5, 6.0)}
    assert json.loads((user_path / prices.FILE_NAME).read_text())["cheap"] == {"input": 0.15, "output": 0.6}
    listed = ok("prices").output  # a DefaultGroup: no subcommand lists
    assert "cheap" in listed and "$0.15" in listed and "strong" in listed
    assert json.loads(ok("prices", "list", "--json").output)["strong"] == {"input": 1.5, "output": 6.0}
    ok("prices", "remove", "cheap")
    assert prices.load() == {"strong": (1.5, 6.0)}


def test_prices_refuse_negative_values_and_unknown_removals_in_one_line(user_path):
    assert "0 or more" in refused("prices", "set", "cheap", "--", "-1", "2")
    assert "No price set for 'ghost'" in refused("prices", "remove", "ghost")
    (user_path / prices.FILE_NAME).write_text("[1, 2]")
    assert "is broken" in refused("prices", "list")


def test_prices_of_a_model_are_found_by_any_of_its_names():
    table = {"4o-mini": (0.15, 0.6)}
    names = {"gpt-4o-mini": "gpt-4o-mini", "4o-mini": "gpt-4o-mini", "other": "other"}
    assert prices.for_models(["gpt-4o-mini", "other"], table, names) == {"gpt-4o-mini": (0.15, 0.6)}


# ------------------------------------------------------------------ cost and budget arithmetic

USED = {"cheap": {"calls": 2, "input": 1000, "output": 1000}, "strong": {"calls": 1, "input": 500, "output": 500}}
PRICES = {"cheap": (1.0, 2.0), "strong": (10.0, 20.0)}


def test_cost_is_tokens_at_the_table_price_or_the_providers_own_figure():
    assert costs.cost(USED, PRICES) == pytest.approx((1000 * 1 + 1000 * 2 + 500 * 10 + 500 * 20) / 1e6)
    assert costs.cost(USED, {"cheap": (1.0, 2.0)}) is None  # strong has no price
    reported = {**USED, "strong": {**USED["strong"], "cost": 0.5}}
    assert costs.cost(reported, {"cheap": (1.0, 2.0)}) == pytest.approx(0.003 + 0.5)
    assert costs.tokens(USED) == 3000


# ------------------------------------------------------------------ settings and the YAML


def test_tiers_and_spending_settings_round_trip_through_the_yaml(user_path):
    save(
        "tiered", [{"model_id": "cheap", "count": 3}, {"model_id": "strong", "count": 2, "tier": 2}],
        agreement=0.6, waves=True, budget_tokens=5000, budget_usd=0.05, skip_arbiter_on_agreement=False,
    )
    text = store.path_for("tiered").read_text()
    assert "tier: 2" in text and "agreement: 0.6" in text and "budget_usd: 0.05" in text
    loaded = store.load("tiered")
    assert [[m.model_id for m in tier] for tier in loaded.tiers] == [["cheap"], ["strong"]]
    summary = loaded.summary()
    assert "tier 1: cheap x3 | tier 2: strong x2 (next tier below 0.6 agreement)" in summary
    assert "arbiter always; waves; budget 5,000 tokens; budget $0.05" in summary


def test_a_consortium_without_tiers_keeps_its_summary_and_file():
    config = ConsortiumConfig(name="plain", models=[{"model_id": "a"}, {"model_id": "b"}], arbiter={"model_id": "j"})
    assert config.summary() == "members a, b; arbiter j; threshold 0.7; 1-3 iterations"
    assert "tier" not in json.dumps(config.to_file_dict())


@pytest.mark.parametrize(
    "field, value", [("agreement", 1.5), ("agreement", -0.1), ("budget_tokens", -1), ("budget_usd", -0.01)]
)
def test_settings_out_of_range_are_refused_when_made(field, value):
    with pytest.raises(ValueError, match=field):
        Settings(**{field: value})
    with pytest.raises(ValueError, match=field):
        ConsortiumConfig(name="x", models=[{"model_id": "a"}], **{field: value})


# ------------------------------------------------------------------ create, show, list, llm models


def test_create_saves_tiers_and_spending_and_every_summary_shows_them(user_path):
    ok(
        "create", "tiered", "-m", "cheap:3", "-m", "strong:2", "-a", "judge", "--tier", "strong", "2",
        "--agreement", "0.6", "--waves", "--budget-tokens", "9000", "--budget-usd", "0.1",
    )
    config = store.load("tiered")
    assert [(m.model_id, m.tier) for m in config.models] == [("cheap", 1), ("strong", 2)]
    assert (config.agreement, config.waves, config.budget_tokens, config.budget_usd) == (0.6, True, 9000, 0.1)
    assert config.skip_arbiter_on_agreement
    assert "tier: 2" in ok("show", "tiered").output
    assert json.loads(ok("show", "tiered", "--json").output)["models"][1]["tier"] == 2
    assert "tier 2: strong x2" in ok("list").output
    assert "tier 2: strong x2" in llm_run("models").output
    ok("create", "always", "-m", "cheap", "-a", "judge", "--always-arbiter")
    assert store.load("always").skip_arbiter_on_agreement is False


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--tier", "ghost", "2"], "--tier ghost: not a member of this consortium"),
        (["--tier", "judge", "2"], "--tier judge: not a member of this consortium"),
        (["--agreement", "1.5"], "agreement (--agreement)"),
        (["--budget-tokens", "-5"], "budget_tokens (--budget-tokens)"),
        (["--budget-usd", "-1"], "budget_usd (--budget-usd)"),
    ],
)
def test_create_refuses_bad_spending_input_in_one_line(user_path, flags, message):
    assert message in refused("create", "bad", "-m", "cheap", "-a", "judge", *flags)
    assert not store.path_for("bad").exists()


def test_run_options_refuse_out_of_range_spending_values(user_path):
    save("panel", ["m1"], None)
    for key, value in (("agreement", "2"), ("budget_tokens", "-1"), ("budget_usd", "-1")):
        with pytest.raises(ValidationError, match=key):
            llm.get_model("panel").Options(**{key: value})


def test_the_trace_text_shows_cost_savings_tiers_and_a_budget_stop():
    from llm_consortium.render.trace_phrases import spending_lines, spending_text

    usage = {"cost_usd": 0.00213, "calls_saved": {"agreement": 1, "tiers": 2}}
    assert spending_text(usage) == "cost $0.00213 · saved 3 calls (agreement 1, tiers 2)"
    assert spending_text({}) == "" and spending_text(None) == ""
    round_ = {
        "tiers": [{"tier": 1, "members": ["a", "b"], "escalated": "they disagree"}, {"tier": 2, "members": ["s"]}],
        "waves": {"called": 2, "skipped": 1},
        "arbiter_skipped": "all 2 answers agree",
    }
    assert spending_lines(round_) == [
        "Tier 1 (a, b); next tier asked: they disagree",
        "Tier 2 (s)",
        "Waves: the first 2 decided the vote; 1 not called",
        "Arbiter skipped: all 2 answers agree",
    ]


def test_a_price_for_a_model_llm_does_not_know_is_refused_naming_the_close_ones(openai_models, user_path):
    openai_models(["alpha", "beta"])
    error = refused("prices", "set", "alpah", "1", "1")
    assert "llm knows no model named 'alpah'" in error and "Did you mean alpha?" in error and "--force" in error
    assert "\n" not in error.strip() and not (user_path / prices.FILE_NAME).exists()
    assert "Did you mean" not in refused("prices", "set", "zzzzzz", "1", "1")
    ok("prices", "set", "alpah", "1", "1", "--force")
    assert prices.load() == {"alpah": (1.0, 1.0)}
    ok("prices", "set", "alpha", "2", "3")  # a model llm knows needs no --force
    assert prices.load()["alpha"] == (2.0, 3.0)
