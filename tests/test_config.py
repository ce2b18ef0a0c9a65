"""What a valid consortium is (defaults, limits, the name rule), seen the way users
meet it: files written by hand and read back with `llm consortiums show/list`, and
names given to `create`. Every test has its own LLM_USER_PATH (conftest's
`user_path`)."""

from __future__ import annotations

import json
import pathlib

import pytest
import yaml

from helpers import consortiums_run, full_config, refused


@pytest.fixture
def write(user_path: pathlib.Path):
    """Write consortiums/NAME.yaml by hand, as a user editing the folder would."""
    folder = user_path / "consortiums"
    folder.mkdir()

    def write(name: str, text: str) -> None:
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")

    return write




def show_json(name: str) -> dict:
    result = consortiums_run("show", name, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)




def test_defaults(write) -> None:
    write("minimal", "models: [{model_id: gpt-4o-mini, options: null}]\n")
    # the strategy in effect: no arbiter, so a vote
    assert show_json("minimal") == full_config("minimal", "gpt-4o-mini", None, "vote")


def test_the_documented_example_file_is_valid(write) -> None:
    write(
        "my-consortium",
        """\
name: my-consortium
models:
  - model_id: gpt-4o-mini
    options: {temperature: 0.7}
    count: 2
  - model_id: claude-3.5-haiku
arbiter:
  model_id: gpt-4o
  options: {temperature: 0}
confidence_threshold: 0.7
max_iterations: 3
min_iterations: 1
system_prompt: null
""",
    )
    config = show_json("my-consortium")
    assert config["models"][0] == {
        "model_id": "gpt-4o-mini",
        "options": {"temperature": 0.7},
        "max_concurrent": None,
        "limit_group": "gpt-4o-mini",  # a provider's own model: a group of its own
        "context_window": None,
        "count": 2,
        "tier": 1,
    }
    assert config["arbiter"] == {
        "model_id": "gpt-4o", "options": {"temperature": 0}, "max_concurrent": None, "limit_group": "gpt-4o", "context_window": None
    }


@pytest.mark.parametrize(
    "body, problem",
    [
        ("arbiter: {model_id: x}\n", "models: Field required"),
        ("models: []\n", "models: List should have at least 1 item"),
        ("models: [{}]\n", "models.0.model_id: Field required"),
        ("models: [{model_id: ''}]\n", "models.0.model_id: String should have at least 1 character"),
        ("models: [{model_id: x, count: 0}]\n", "models.0.count: Input should be greater than or equal to 1"),
        ("models: [{model_id: x, count: two}]\n", "models.0.count: Input should be a valid integer"),
        ("models: [{model_id: x, options: [1]}]\n", "models.0.options: Input should be a valid dictionary"),
        ("models: [{model_id: x}]\nconfidence_threshold: 1.01\n", "confidence_threshold: must be 0 to 1, got 1.01"),
        ("models: [{model_id: x}]\nconfidence_threshold: -0.5\n", "confidence_threshold: must be 0 to 1, got -0.5"),
        ("models: [{model_id: x}]\nmax_iterations: 0\n", "max_iterations: must be 1 to 50, got 0"),
        ("models: [{model_id: x}]\nmin_iterations: 0\n", "min_iterations: must be 1 to 50, got 0"),
        ("models: [{model_id: x}]\nmin_iterations: 4\n", "min_iterations (4) is greater than max_iterations (3)"),
        ("models: [{model_id: x}]\ncolour: blue\n", "unknown setting (line 2)"),
        ("models: [{model_id: x}]\narbiter: {options: {}}\n", "arbiter.model_id: Field required"),
        ("models: [{model_id: x}]\nstrategy: arbiter\n", "strategy 'arbiter' needs an arbiter model"),
        ("models: [{model_id: x}]\nstrategy: shout\n", "strategy: must be one of arbiter, vote"),
        ("models: [{model_id: x, count: 2}]\nmin_members: 3\n", "min_members (3) is more than the 2 member calls"),
    ],
)  # fmt: skip
def test_invalid_files_name_the_problem(write, user_path: pathlib.Path, body: str, problem: str) -> None:
    write("bad", body)
    error = refused("show", "bad")
    assert error.startswith(f"Error: {user_path / 'consortiums' / 'bad.yaml'}: ")
    assert problem in error
    listed = consortiums_run("list").stdout
    assert listed.startswith("bad : BROKEN: ") and problem in listed


def test_every_problem_is_reported_on_one_line(write) -> None:
    write("bad", "models: []\nconfidence_threshold: 2\nmax_iterations: 0\n")
    error = refused("show", "bad")
    for field in ["models", "confidence_threshold", "max_iterations"]:
        assert f"{field}: " in error


def test_instances_count_towards_min_members(write) -> None:
    write("trio", "models: [{model_id: x, count: 3}]\nmin_members: 3\n")
    assert show_json("trio")["min_members"] == 3


@pytest.mark.parametrize(
    "body, summary",
    [
        ("models: [{model_id: a}]\n", "members a; vote; threshold 0.7; 1-3 iterations"),
        (
            "models: [{model_id: a, count: 2}, {model_id: b}]\narbiter: {model_id: c}\n"
            "confidence_threshold: 0.55\nmin_iterations: 2\nmax_iterations: 2\n",
            "members a x2, b; arbiter c; threshold 0.55; 2 iterations",
        ),
        (
            "models: [{model_id: a}]\narbiter: {model_id: c}\nstrategy: vote\n",
            "members a; vote; threshold 0.7; 1-3 iterations",
        ),
    ],
)
def test_list_summary(write, body: str, summary: str) -> None:
    write("s", body)
    assert consortiums_run("list").stdout == f"s : {summary}\n"


def test_saved_files_leave_out_defaults_but_keep_the_stop_rule(user_path: pathlib.Path) -> None:
    assert consortiums_run("create", "short", "-m", "gpt-4o-mini").exit_code == 0
    text = (user_path / "consortiums" / "short.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(text) == {
        "name": "short",
        "models": [{"model_id": "gpt-4o-mini"}],
        "confidence_threshold": 0.7,
        "max_iterations": 3,
        "min_iterations": 1,
    }


@pytest.mark.parametrize("name", ["a" * 64, "9lives", "v1.2_beta-3", "my-consortium"])
def test_valid_names(user_path: pathlib.Path, name: str) -> None:
    assert consortiums_run("create", name, "-m", "gpt-4o-mini").exit_code == 0
    assert (user_path / "consortiums" / f"{name}.yaml").exists()


@pytest.mark.parametrize(
    "name, problem",
    [
        ("", "must not be empty"),
        ("a" * 65, "use 1-64 letters"),
        ("../x", "use 1-64 letters"),
        ("a/b", "use 1-64 letters"),
        (".hidden", "starting with a letter or digit"),
        ("_x", "starting with a letter or digit"),
        ("has space", "use 1-64 letters"),
        ("café", "use 1-64 letters"),
        ("line\nbreak", "use 1-64 letters"),
        ("x.yaml", "must not end in .yaml"),
        ("x.YAML", "must not end in .yaml"),
    ],
)
def test_invalid_names(user_path: pathlib.Path, name: str, problem: str) -> None:
    error = refused("create", "-n", name, "-m", "gpt-4o-mini")
    assert problem in error
    assert not (user_path / "consortiums").exists()
