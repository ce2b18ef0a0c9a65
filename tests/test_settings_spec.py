"""Each setting is declared once (`settings_spec`): the YAML file, `-o`, `create` and
the engine's Settings accept and refuse the same values, with the same words. NaN
and infinity are named as such wherever a number is given, and no option makes a
run pass the `max_iterations` in effect."""

from __future__ import annotations

import dataclasses
import math

import llm
import pytest
from pydantic import ValidationError

from llm_consortium.adapter.model_matchers import matcher_for
from llm_consortium.adapter.models import ConsortiumOptions, settings_for
from llm_consortium.judging.matching import PureMatcher
from llm_consortium.saved import store
from llm_consortium.saved.config import ConsortiumConfig
from llm_consortium.settings_spec import FILE, OPTION, RUN, SETTINGS, settings_in
from llm_consortium.types import Settings

from helpers import llm_run, refused, save

MEMBERS = {"name": "x", "models": [{"model_id": "a"}]}
NUMBERS = [s for s in SETTINGS if s.kind in (int, float)]


def _outside(setting) -> list[float]:
    """Values just outside a numeric setting's range."""
    values = []
    if setting.minimum is not None:
        values.append(setting.minimum - 1)
    if setting.maximum is not None:
        values.append(setting.maximum + 1)
    if setting.above is not None:
        values.append(setting.above)
    return values


def _refusals(name: str, value: object) -> dict[str, bool]:
    """Where the value is refused: each place the setting can be given."""
    setting = {s.name: s for s in SETTINGS}[name]
    refused_in: dict[str, bool] = {}
    attempts = {
        FILE: lambda: ConsortiumConfig(**MEMBERS, **{name: value}),
        OPTION: lambda: ConsortiumOptions(**{name: str(value)}),  # as llm passes `-o` text
        RUN: lambda: Settings(**{name: value}),
    }
    for place in setting.places:
        try:
            attempts[place]()
            refused_in[place] = False
        except (ValidationError, ValueError):
            refused_in[place] = True
    return refused_in


@pytest.mark.parametrize("setting", NUMBERS, ids=lambda s: s.name)
def test_every_place_a_number_is_given_refuses_the_same_values(setting):
    for value in [*_outside(setting), math.nan, math.inf]:
        where = _refusals(setting.name, value)
        assert where and all(where.values()), (setting.name, value, where)
    assert not any(_refusals(setting.name, setting.default if setting.default is not None else 0).values())


def _said(place: str, name: str, value: object) -> str:
    attempts = {
        FILE: lambda: ConsortiumConfig(**MEMBERS, **{name: value}),
        OPTION: lambda: ConsortiumOptions(**{name: str(value)}),
        RUN: lambda: Settings(**{name: value}),
    }
    with pytest.raises((ValidationError, ValueError)) as caught:
        attempts[place]()
    return str(caught.value)


@pytest.mark.parametrize("setting", [s for s in SETTINGS if _outside(s) or s.choices], ids=lambda s: s.name)
def test_one_rule_one_message_in_every_place(setting):
    """The file, `-o` and the engine refuse a value with the table's own words
    (`create` shows the file's): no second check with other words."""
    for value in _outside(setting) or ["dice"]:
        said = setting.fault(value)
        assert said
        for place in setting.places:
            assert said in _said(place, setting.name, value), (place, value)


def test_what_pydantic_accepted_is_still_accepted():
    config = ConsortiumConfig(**MEMBERS, review=1, waves="yes")
    assert (config.review, config.waves) == (True, True)
    options = ConsortiumOptions(max_iterations="2.0", review="on", timeout=" 5 ")
    assert (options.max_iterations, options.review, options.timeout) == (2, True, 5.0)
    with pytest.raises(ValidationError, match=r"max_iterations\n  must be a whole number, got 3\.0"):
        ConsortiumConfig(**MEMBERS, max_iterations=3.0)  # a file's integer is a plain integer


def test_each_place_holds_exactly_the_settings_the_table_gives_it():
    assert set(ConsortiumConfig.model_fields) == {"name", "models", "arbiter", "tools", *(s.name for s in settings_in(FILE))}
    assert set(ConsortiumOptions.model_fields) == {s.name for s in settings_in(OPTION)}
    assert issubclass(ConsortiumOptions, llm.Options)
    run_fields = {f.name: f.default for f in dataclasses.fields(Settings)}
    assert run_fields.keys() - {"prices", "matcher"} == {s.name for s in settings_in(RUN)}
    for setting in settings_in(FILE):
        assert ConsortiumConfig.model_fields[setting.name].default == setting.default, setting.name
    for setting in settings_in(RUN):
        assert run_fields[setting.name] == setting.default, setting.name


def test_llm_models_options_lists_each_option_with_its_help_and_range(user_path):
    save("panel", ["alpha"])
    listed = llm_run("models", "--options", "-q", "panel").output
    for setting in settings_in(OPTION):
        assert f"    {setting.name}: " in listed, setting.name
    assert "Seconds each member or arbiter call may take (more than 0)" in listed
    assert "semantic matching: cosine similarity that makes one answer (-1 to 1)" in listed


# ------------------------------------------------------------------ NaN, named


@pytest.mark.parametrize(
    "key, value, said",
    [
        ("confidence_threshold", "nan", "must be 0 to 1, not NaN"),
        ("timeout", "nan", "must be more than 0, not NaN"),
        ("budget_usd", "nan", "must be 0 or more, not NaN"),
        ("matching_tolerance", "NaN", "must be 0 or more, not NaN"),
        ("timeout", "inf", "must be a finite number (more than 0), not inf"),
    ],
)
def test_a_nan_option_is_refused_naming_nan_before_any_call(user_path, key, value, said):
    save("panel", ["alpha"])
    result = llm_run("-m", "panel", "-o", key, value, "q")
    assert result.exit_code == 1
    assert result.output == f"Error: {key}\n  {said}\n"


def test_a_nan_in_the_file_or_on_create_is_refused_naming_nan(user_path):
    folder = user_path / "consortiums"
    folder.mkdir()
    (folder / "bad.yaml").write_text("models: [{model_id: a}]\ntimeout: .nan\nagreement: nan\n")
    error = refused("show", "bad")
    assert "timeout: must be more than 0, not NaN" in error and "agreement: must be 0 to 1, not NaN" in error
    assert "agreement (--agreement): must be 0 to 1, not NaN" in refused("create", "c", "-m", "a", "--agreement", "nan")
    assert "(-t/--threshold): must be 0 to 1, not NaN" in refused("create", "c", "-m", "a", "-t", "nan")
    assert "(--budget-usd): must be 0 or more, not NaN" in refused("create", "c", "-m", "a", "--budget-usd", "nan")
    assert not store.path_for("c").exists()


def test_the_engine_and_the_matchers_name_nan_too():
    with pytest.raises(ValueError, match="confidence_threshold must be 0 to 1, not NaN"):
        Settings(confidence_threshold=math.nan)
    with pytest.raises(ValueError, match="matching_tolerance must be 0 or more, not NaN"):
        PureMatcher("number", math.nan)
    with pytest.raises(llm.ModelError, match="matching_threshold must be -1 to 1, not NaN"):
        matcher_for("semantic", "e", 0.0, math.nan)


def test_true_is_not_a_number():
    with pytest.raises(ValidationError, match="max_iterations\n  must be a whole number, not true"):
        ConsortiumConfig(**MEMBERS, max_iterations=True)


# ------------------------------------------------------------------ never more rounds than max_iterations


def test_a_min_above_the_saved_max_is_refused_in_one_line_before_any_call(user_path):
    save("c", ["alpha"], max_iterations=4)
    result = llm_run("-m", "c", "-o", "min_iterations", "5", "q")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: -o min_iterations (5) cannot be greater than this consortium's max_iterations (4); "
        "add -o max_iterations 5 to allow 5 rounds\n"
    )


def test_a_max_is_a_ceiling_and_a_min_within_it_wins():
    config = ConsortiumConfig(**MEMBERS, min_iterations=3, max_iterations=4)

    def rounds(**given: int) -> tuple[int, int]:
        settings = settings_for(config, ConsortiumOptions(**given))
        return settings.min_iterations, settings.max_iterations

    assert rounds() == (3, 4)
    assert rounds(max_iterations=2) == (2, 2)  # a saved min above it is lowered to it
    assert rounds(min_iterations=4) == (4, 4)
    assert rounds(min_iterations=6, max_iterations=6) == (6, 6)
