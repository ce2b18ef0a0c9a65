"""`llm consortiums ...` through llm's real CLI; conftest's autouse `user_path` gives
every test its own empty LLM_USER_PATH.

"Installed models" are the OpenAI models llm registers without a key (their Options
are real and need no network) plus models declared in extra-openai-models.yaml;
nothing here talks to a model.
"""

from __future__ import annotations

import json
import os
import pathlib

import click
import pytest
import yaml
from click.testing import CliRunner
from llm.cli import cli

from helpers import consortiums_run, full_config, ok, refused

# Ids with colons of their own, as local model servers name them. "phi:2" looks like
# MODEL:N and must still be taken whole, because it is an installed model's id.
EXTRA_MODELS = """\
- model_id: "llama3.2:3b"
  model_name: llama3.2
  api_base: http://127.0.0.1:9/v1
- model_id: "phi:2"
  model_name: phi
  api_base: http://127.0.0.1:9/v1
"""


@pytest.fixture
def colon_models(user_path: pathlib.Path) -> None:
    (user_path / "extra-openai-models.yaml").write_text(EXTRA_MODELS, encoding="utf-8")








def folder(user_path: pathlib.Path) -> pathlib.Path:
    return user_path / "consortiums"


def saved(user_path: pathlib.Path, name: str) -> dict:
    return yaml.safe_load((folder(user_path) / f"{name}.yaml").read_text(encoding="utf-8"))


# --- create ---------------------------------------------------------------------


def test_create_writes_file_with_defaults_and_reports_path(user_path: pathlib.Path) -> None:
    result = ok("create", "my-consortium", "-m", "gpt-4o-mini", "-m", "gpt-4o")
    path = folder(user_path) / "my-consortium.yaml"
    assert str(path) in result.stdout
    assert saved(user_path, "my-consortium") == {
        "name": "my-consortium",
        "models": [{"model_id": "gpt-4o-mini"}, {"model_id": "gpt-4o"}],
        "confidence_threshold": 0.7,
        "max_iterations": 3,
        "min_iterations": 1,
    }
    assert sorted(os.listdir(folder(user_path))) == ["my-consortium.yaml"]


def test_create_with_every_flag(user_path: pathlib.Path) -> None:
    ok(
        "create", "-n", "full", "-m", "gpt-4o-mini", "-a", "gpt-4o",
        "-t", "0.9", "-i", "5", "--min-iterations", "2", "-s", "Be brief.",
    )  # fmt: skip
    assert saved(user_path, "full") == {
        "name": "full",
        "models": [{"model_id": "gpt-4o-mini"}],
        "arbiter": {"model_id": "gpt-4o"},
        "system_prompt": "Be brief.",
        "confidence_threshold": 0.9,
        "max_iterations": 5,
        "min_iterations": 2,
    }


def test_create_name_positional_and_flag_agree(user_path: pathlib.Path) -> None:
    ok("create", "same", "-n", "same", "-m", "gpt-4o-mini")
    assert saved(user_path, "same")["name"] == "same"


def test_create_refuses_two_different_names(user_path: pathlib.Path) -> None:
    error = refused("create", "one", "-n", "two", "-m", "gpt-4o-mini")
    assert "'one'" in error and "'two'" in error
    assert not folder(user_path).exists()


def test_create_without_name_and_without_terminal_fails_instead_of_hanging(
    user_path: pathlib.Path,
) -> None:
    assert "NAME or -n/--name" in refused("create", "-m", "gpt-4o-mini", input="typed\n")
    assert not folder(user_path).exists()


def test_create_asks_for_name_on_a_terminal(
    user_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llm_consortium.cli import manage as consortium_cli

    monkeypatch.setattr(consortium_cli, "_stdin_is_terminal", lambda: True)
    result = ok("create", "-m", "gpt-4o-mini", input="asked\n")
    assert "Consortium name" in result.output
    assert saved(user_path, "asked")["name"] == "asked"


def test_an_invalid_interactive_name_is_asked_again(user_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llm_consortium.cli import manage as consortium_cli

    monkeypatch.setattr(consortium_cli, "_stdin_is_terminal", lambda: True)
    result = ok("create", "-m", "gpt-4o-mini", input="a/b\n\ngood-name\n")
    assert result.output.count("Consortium name:") == 3
    assert "Error: Invalid consortium name" in result.output
    assert saved(user_path, "good-name")["models"] == [{"model_id": "gpt-4o-mini"}]


def test_create_requires_a_model() -> None:
    result = consortiums_run("create", "lonely")
    assert result.exit_code == 2
    assert "Missing option '-m'" in result.output


def test_create_refuses_existing_name_without_force(user_path: pathlib.Path) -> None:
    ok("create", "dup", "-m", "gpt-4o-mini")
    before = (folder(user_path) / "dup.yaml").read_text(encoding="utf-8")
    error = refused("create", "dup", "-m", "gpt-4o")
    assert "already exists" in error and "--force" in error
    assert (folder(user_path) / "dup.yaml").read_text(encoding="utf-8") == before


def test_create_force_replaces_our_own_model(user_path: pathlib.Path) -> None:
    ok("create", "dup", "-m", "gpt-4o-mini")
    # Now a registered model id, but ours: --force may replace it.
    assert "Consortium: dup" in CliRunner().invoke(cli, ["models"]).stdout
    result = ok("create", "dup", "-m", "gpt-4o", "--force")
    assert "Replaced" in result.stdout
    assert saved(user_path, "dup")["models"] == [{"model_id": "gpt-4o"}]


def test_create_force_replaces_a_broken_file(user_path: pathlib.Path) -> None:
    folder(user_path).mkdir()
    (folder(user_path) / "fixme.yaml").write_text("models: [", encoding="utf-8")
    ok("create", "fixme", "-m", "gpt-4o-mini", "--force")
    assert saved(user_path, "fixme")["models"] == [{"model_id": "gpt-4o-mini"}]


@pytest.mark.parametrize("name", ["gpt-4o-mini", "4o"])
def test_create_refuses_to_shadow_a_model_id_or_alias(user_path: pathlib.Path, name: str) -> None:
    error = refused("create", name, "-m", "gpt-4o", "--force")
    assert "already a model id or alias" in error and "gpt-4o" in error
    assert not (folder(user_path) / f"{name}.yaml").exists()


def test_create_refuses_to_shadow_a_user_alias(user_path: pathlib.Path) -> None:
    result = CliRunner().invoke(cli, ["aliases", "set", "fast", "gpt-4o-mini"])
    assert result.exit_code == 0, result.output
    assert "already a model id or alias" in refused("create", "fast", "-m", "gpt-4o")
    assert not (folder(user_path) / "fast.yaml").exists()


def test_create_refuses_to_include_itself(user_path: pathlib.Path) -> None:
    assert "cannot include itself" in refused("create", "loop", "-m", "loop")
    assert "cannot include itself" in refused("create", "loop", "-m", "gpt-4o", "-a", "loop")
    assert not folder(user_path).exists()


def test_unknown_model_is_a_warning_not_an_error(user_path: pathlib.Path) -> None:
    result = ok("create", "later", "-m", "not-installed-yet", "-a", "gpt-4o")
    assert "Warning: 'not-installed-yet' is not an installed model" in result.stderr
    assert "gpt-4o'" not in result.stderr
    assert saved(user_path, "later")["models"] == [{"model_id": "not-installed-yet"}]


# --- MODEL:N ---------------------------------------------------------------------


def test_model_count_suffix(user_path: pathlib.Path) -> None:
    ok("create", "many", "-m", "gpt-4o-mini:3", "-m", "gpt-4o")
    assert saved(user_path, "many")["models"] == [
        {"model_id": "gpt-4o-mini", "count": 3},
        {"model_id": "gpt-4o"},
    ]


@pytest.mark.usefixtures("colon_models")
def test_colon_ids_of_installed_models_stay_whole(user_path: pathlib.Path) -> None:
    result = ok("create", "local", "-m", "llama3.2:3b", "-m", "phi:2", "-m", "llama3.2:3b:2")
    assert "Warning" not in result.stderr
    assert saved(user_path, "local")["models"] == [
        {"model_id": "llama3.2:3b"},
        {"model_id": "phi:2"},
        {"model_id": "llama3.2:3b", "count": 2},
    ]


def test_unknown_colon_ids(user_path: pathlib.Path) -> None:
    ok("create", "guess", "-m", "mystery:latest", "-m", "mystery:2")
    assert saved(user_path, "guess")["models"] == [
        {"model_id": "mystery:latest"},
        {"model_id": "mystery", "count": 2},
    ]


def test_model_count_must_be_positive(user_path: pathlib.Path) -> None:
    assert "at least 1" in refused("create", "none", "-m", "gpt-4o-mini:0")
    assert "count" in refused("create", "none", "-m", "gpt-4o-mini:101")
    assert not folder(user_path).exists()


# --- -o options ----------------------------------------------------------------


def test_options_are_validated_coerced_and_applied_everywhere(user_path: pathlib.Path) -> None:
    ok(
        "create", "tuned", "-m", "gpt-4o-mini:2", "-m", "4o-mini", "-m", "gpt-4o",
        "-a", "gpt-4o-mini",
        "-o", "gpt-4o-mini", "temperature", "0.5", "-o", "gpt-4o-mini", "seed", "7",
        "-o", "gpt-4o", "max_tokens", "100",
    )  # fmt: skip
    tuned = {"temperature": 0.5, "seed": 7}
    config = saved(user_path, "tuned")
    assert config["models"] == [
        {"model_id": "gpt-4o-mini", "options": tuned, "count": 2},
        {"model_id": "4o-mini", "options": tuned},
        {"model_id": "gpt-4o", "options": {"max_tokens": 100}},
    ]
    assert config["arbiter"] == {"model_id": "gpt-4o-mini", "options": tuned}


def test_options_for_the_arbiter_only(user_path: pathlib.Path) -> None:
    ok("create", "judge", "-m", "gpt-4o-mini", "-a", "gpt-4o", "-o", "4o", "temperature", "0")
    config = saved(user_path, "judge")
    assert config["arbiter"] == {"model_id": "gpt-4o", "options": {"temperature": 0.0}}
    assert config["models"] == [{"model_id": "gpt-4o-mini"}]


@pytest.mark.parametrize(
    "key, value, problem",
    [
        ("temperature", "hot", "temperature: Input should be a valid number"),
        ("temperature", "5", "temperature: Input should be less than or equal to 2"),
        ("warmth", "1", "warmth: Extra inputs are not permitted"),
    ],
)
def test_invalid_option_is_refused(
    user_path: pathlib.Path, key: str, value: str, problem: str
) -> None:
    error = refused("create", "bad", "-m", "gpt-4o-mini", "-o", "gpt-4o-mini", key, value)
    assert "Invalid option for gpt-4o-mini" in error and problem in error
    assert not folder(user_path).exists()


def test_option_for_a_model_not_in_the_consortium_is_refused(user_path: pathlib.Path) -> None:
    error = refused("create", "bad", "-m", "gpt-4o-mini", "-o", "gpt-4o", "temperature", "1")
    assert "-o gpt-4o" in error and "not a member or the arbiter" in error
    assert not folder(user_path).exists()


def test_options_for_an_unknown_model_are_kept_with_json_types(user_path: pathlib.Path) -> None:
    ok(
        "create", "later", "-m", "future",
        "-o", "future", "temperature", "0.5", "-o", "future", "stream", "true",
        "-o", "future", "stop", "END", "-o", "future", "n", "2",
    )  # fmt: skip
    assert saved(user_path, "later")["models"] == [
        {
            "model_id": "future",
            "options": {"temperature": 0.5, "stream": True, "stop": "END", "n": 2},
        }
    ]


@pytest.mark.usefixtures("colon_models")
def test_option_for_a_colon_id_with_count(user_path: pathlib.Path) -> None:
    ok("create", "local", "-m", "llama3.2:3b:2", "-o", "llama3.2:3b", "temperature", "0.1")
    assert saved(user_path, "local")["models"] == [
        {"model_id": "llama3.2:3b", "options": {"temperature": 0.1}, "count": 2}
    ]


# --- config validation at create -------------------------------------------------


@pytest.mark.parametrize(
    "flags, problem",
    [
        (["-t", "1.5"], "confidence_threshold (-t/--threshold): must be 0 to 1, got 1.5"),
        (["-t", "-0.1"], "confidence_threshold (-t/--threshold): must be 0 to 1, got -0.1"),
        (["-i", "0"], "max_iterations (-i/--iterations): must be 1 to 50, got 0"),
        (["--min-iterations", "0"], "min_iterations (--min-iterations): must be 1 to 50, got 0"),
        (["-i", "2", "--min-iterations", "3"], "min_iterations (3) is greater than max_iterations (2)"),
    ],
)  # fmt: skip
def test_invalid_settings_are_one_line_errors(
    user_path: pathlib.Path, flags: list[str], problem: str
) -> None:
    error = refused("create", "bad", "-m", "gpt-4o-mini", *flags)
    assert error.startswith("Error: Invalid consortium: ") and problem in error
    assert not folder(user_path).exists()


def test_non_numeric_threshold_is_a_usage_error(user_path: pathlib.Path) -> None:
    result = consortiums_run("create", "bad", "-m", "gpt-4o-mini", "-t", "high")
    assert result.exit_code == 2
    assert "'high' is not a valid float" in result.output
    assert not folder(user_path).exists()


# --- names: one rule everywhere -----------------------------------------------------

BAD_NAMES = ["../x", "a/b", ".hidden", "", "has space", "x.yaml", "a" * 65, "_lead", "a\\b"]


@pytest.mark.parametrize("name", BAD_NAMES)
@pytest.mark.parametrize(
    "command",
    [
        ["create", "{}", "-m", "gpt-4o-mini"],
        ["create", "-n", "{}", "-m", "gpt-4o-mini"],
        ["show", "{}"],
        ["delete", "-y", "{}"],
        ["edit", "{}"],
    ],
    ids=["create", "create-n", "show", "delete", "edit"],
)
def test_bad_names_are_refused_before_any_file_is_touched(
    user_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, command: list[str], name: str
) -> None:
    monkeypatch.setattr(click, "edit", lambda *a, **k: pytest.fail("editor opened"))
    before = sorted(p.relative_to(user_path) for p in user_path.rglob("*"))
    error = refused(*[name if part == "{}" else part for part in command])
    assert "Invalid consortium name" in error or "must not be empty" in error
    assert sorted(p.relative_to(user_path) for p in user_path.rglob("*")) == before


@pytest.mark.parametrize("name", ["my-consortium", "a", "A.b_c-9", "a" * 64, "x.yml"])
def test_good_names_are_accepted(user_path: pathlib.Path, name: str) -> None:
    ok("create", name, "-m", "gpt-4o-mini")
    assert saved(user_path, name)["name"] == name
    ok("show", name)
    ok("delete", "-y", name)


# --- list --------------------------------------------------------------------------


def test_list_is_the_default_command(user_path: pathlib.Path) -> None:
    ok("create", "c1", "-m", "gpt-4o-mini:2", "-m", "gpt-4o", "-a", "gpt-4o", "-i", "4")
    ok("create", "c2", "-m", "gpt-4o-mini", "-i", "1")
    expected = [
        "c1 : members gpt-4o-mini x2, gpt-4o; arbiter gpt-4o; threshold 0.7; 1-4 iterations",
        "c2 : members gpt-4o-mini; vote; threshold 0.7; 1 iteration",
    ]
    assert ok("list").stdout.splitlines() == expected
    assert CliRunner().invoke(cli, ["consortiums"]).stdout.splitlines() == expected


def test_list_when_empty_prints_nothing_on_stdout() -> None:
    result = ok("list")
    assert result.stdout == ""
    assert "llm consortiums create" in result.stderr
    assert json.loads(ok("list", "--json").stdout) == []


BROKEN = {
    "corrupt": ("models: [", "not valid YAML (line 2)"),
    "empty": ("", "file is empty"),
    "listy": ("- a\n- b\n", "expected a mapping, got list"),
    "strict": ("models: [{model_id: x}]\nconfidence_threshold: 2\n", "confidence_threshold: must be 0 to 1, got 2"),
    "renamed": ("name: other\nmodels: [{model_id: x}]\n", "does not match the file name"),
}  # fmt: skip


def write_broken(user_path: pathlib.Path) -> None:
    folder(user_path).mkdir(exist_ok=True)
    for name, (text, _) in BROKEN.items():
        (folder(user_path) / f"{name}.yaml").write_text(text, encoding="utf-8")
    (folder(user_path) / "binary.yaml").write_bytes(b"\xff\xfe\x00models")


def test_list_shows_broken_files_beside_good_ones(user_path: pathlib.Path) -> None:
    ok("create", "good", "-m", "gpt-4o-mini")
    write_broken(user_path)
    lines = dict(line.split(" : ", 1) for line in ok("list").stdout.splitlines())
    assert {name.strip() for name in lines} == {*BROKEN, "binary", "good"}
    lines = {name.strip(): text for name, text in lines.items()}
    assert lines["good"].startswith("members gpt-4o-mini;")
    for name, (_, reason) in BROKEN.items():
        assert lines[name].startswith(f"BROKEN: {folder(user_path) / name}.yaml: ")
        assert reason in lines[name]
    assert "not UTF-8" in lines["binary"]


def test_list_json_full_configs_and_broken_reasons(user_path: pathlib.Path) -> None:
    ok("create", "good", "-m", "gpt-4o-mini", "-a", "gpt-4o")
    write_broken(user_path)
    entries = {entry["name"]: entry for entry in json.loads(ok("list", "--json").stdout)}
    # the strategy in effect, never null
    assert entries["good"] == full_config("good", "gpt-4o-mini", "gpt-4o", "arbiter")
    for name, (_, reason) in BROKEN.items():
        assert set(entries[name]) == {"name", "error"} and reason in entries[name]["error"]


def test_broken_file_does_not_block_other_commands(user_path: pathlib.Path) -> None:
    write_broken(user_path)
    ok("create", "good", "-m", "gpt-4o-mini")
    ok("show", "good")
    for name, (_, reason) in BROKEN.items():
        error = refused("show", name)
        assert f"{folder(user_path) / name}.yaml" in error and reason in error
    ok("delete", "-y", "corrupt")
    assert not (folder(user_path) / "corrupt.yaml").exists()


def test_broken_files_do_not_break_llm_models_or_prompts(user_path: pathlib.Path) -> None:
    ok("create", "good", "-m", "gpt-4o-mini")
    write_broken(user_path)
    models = CliRunner().invoke(cli, ["models"])
    assert models.exit_code == 0, models.output
    assert "Consortium: good (members gpt-4o-mini; vote" in models.stdout
    for name in BROKEN:
        assert f"Consortium: {name} (broken: " in models.stdout
    result = CliRunner().invoke(cli, ["-m", "corrupt", "hello"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.strip() == (
        f"Error: {folder(user_path) / 'corrupt.yaml'}: not valid YAML (line 2): "
        "did not find expected node content"
    )


# --- show --------------------------------------------------------------------------


def test_show_yaml_round_trips(user_path: pathlib.Path) -> None:
    ok("create", "shown", "-m", "gpt-4o-mini:2", "-a", "gpt-4o", "-s", "Think.")
    assert yaml.safe_load(ok("show", "shown").stdout) == saved(user_path, "shown")


def test_show_json(user_path: pathlib.Path) -> None:
    ok("create", "shown", "-m", "gpt-4o-mini", "-t", "0.8")
    data = json.loads(ok("show", "shown", "--json").stdout)
    assert data["name"] == "shown" and data["confidence_threshold"] == 0.8
    assert data["models"] == [
        {"model_id": "gpt-4o-mini", "options": {}, "max_concurrent": None, "limit_group": "gpt-4o-mini", "context_window": None, "count": 1, "tier": 1}
    ]
    assert data["max_iterations"] == 3 and data["arbiter"] is None


def test_show_missing(user_path: pathlib.Path) -> None:
    assert "No consortium named 'ghost'" in refused("show", "ghost")


# --- delete ------------------------------------------------------------------------


def test_delete_asks_first(user_path: pathlib.Path) -> None:
    ok("create", "doomed", "-m", "gpt-4o-mini")
    result = consortiums_run("delete", "doomed", input="n\n")
    assert result.exit_code == 1 and "Aborted" in result.output
    assert (folder(user_path) / "doomed.yaml").exists()
    result = ok("delete", "doomed", input="y\n")
    assert "Delete consortium 'doomed'" in result.output
    assert not (folder(user_path) / "doomed.yaml").exists()


@pytest.mark.parametrize("flag", ["-y", "--yes"])
def test_delete_yes_skips_the_question(user_path: pathlib.Path, flag: str) -> None:
    ok("create", "doomed", "-m", "gpt-4o-mini")
    result = ok("delete", "doomed", flag)
    assert "?" not in result.output and "Deleted consortium 'doomed'" in result.stdout
    assert os.listdir(folder(user_path)) == []


def test_delete_missing_does_not_ask(user_path: pathlib.Path) -> None:
    assert "No consortium named 'ghost'" in refused("delete", "ghost", input="y\n")


# --- edit --------------------------------------------------------------------------


def fake_editor(monkeypatch: pytest.MonkeyPatch, result: str | None) -> list[str]:
    """Replace the editor: remember the text of the file it was given, save `result`
    there (None: closed without saving)."""
    calls: list[str] = []

    def edit(text: str | None = None, *, filename: str, **kwargs: object) -> None:
        calls.append(pathlib.Path(filename).read_text(encoding="utf-8"))
        if result is not None:
            pathlib.Path(filename).write_text(result, encoding="utf-8")

    monkeypatch.setattr(click, "edit", edit)
    return calls


def test_edit_saves_a_valid_edit_as_written(
    user_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok("create", "ed", "-m", "gpt-4o-mini")
    path = folder(user_path) / "ed.yaml"
    before = path.read_text(encoding="utf-8")
    edited = before.replace("max_iterations: 3", "max_iterations: 6  # more rounds")
    calls = fake_editor(monkeypatch, edited)
    result = ok("edit", "ed")
    assert calls == [before]
    assert str(path) in result.stdout
    assert path.read_text(encoding="utf-8") == edited
    assert os.listdir(folder(user_path)) == ["ed.yaml"]


def test_edit_without_changes(user_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ok("create", "ed", "-m", "gpt-4o-mini")
    path = folder(user_path) / "ed.yaml"
    before = path.read_text(encoding="utf-8")
    fake_editor(monkeypatch, None)
    assert "No changes" in ok("edit", "ed").stderr
    fake_editor(monkeypatch, before)
    assert "No changes" in ok("edit", "ed").stderr
    assert path.read_text(encoding="utf-8") == before


@pytest.mark.parametrize(
    "edited, problem",
    [
        ("models: [\n", "not valid YAML"),
        ("", "cancelled (the file was emptied)"),
        ("name: ed\nmodels: []\n", "models: List should have at least 1 item"),
        ("name: ed\nmodels: [{model_id: x}]\nconfidence_threshold: 3\n", "confidence_threshold"),
        ("name: other\nmodels: [{model_id: x}]\n", "does not match the file name"),
    ],
)
def test_edit_refuses_an_invalid_edit_and_keeps_the_old_file(
    user_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, edited: str, problem: str
) -> None:
    ok("create", "ed", "-m", "gpt-4o-mini")
    path = folder(user_path) / "ed.yaml"
    before = path.read_text(encoding="utf-8")
    fake_editor(monkeypatch, edited)
    error = refused("edit", "ed")
    assert ("not saved" in error or "cancelled" in error) and str(path) in error and problem in error
    assert path.read_text(encoding="utf-8") == before
    assert os.listdir(folder(user_path)) == ["ed.yaml"]


def test_edit_can_repair_a_broken_file(
    user_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder(user_path).mkdir()
    (folder(user_path) / "fixme.yaml").write_text("models: [\n", encoding="utf-8")
    calls = fake_editor(monkeypatch, "models: [{model_id: gpt-4o-mini}]\n")
    ok("edit", "fixme")
    assert calls[0] == "models: [\n"
    assert "members gpt-4o-mini;" in ok("list").stdout


def test_edit_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_editor(monkeypatch, "models: [{model_id: x}]\n")
    assert "No consortium named 'ghost'" in refused("edit", "ghost")


# --- path --------------------------------------------------------------------------


def test_path_honours_llm_user_path(user_path: pathlib.Path) -> None:
    assert ok("path").stdout == f"{folder(user_path)}\n"


# --- atomic writes -----------------------------------------------------------------


def test_failed_replace_keeps_the_old_file_and_no_temp_file(
    user_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok("create", "safe", "-m", "gpt-4o-mini")
    path = folder(user_path) / "safe.yaml"
    before = path.read_text(encoding="utf-8")

    def full_disk(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    error = refused("create", "safe", "-m", "gpt-4o", "--force")
    assert f"{path}: cannot be written: No space left on device" in error
    assert path.read_text(encoding="utf-8") == before
    assert os.listdir(folder(user_path)) == ["safe.yaml"]
