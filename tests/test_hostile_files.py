"""A consortium file written by anyone cannot hang `llm`, exhaust its memory, or get
its content printed: every command that lists models survives an alias bomb, a
FIFO, a device, a huge file, and reports each as one BROKEN line whose reason names
the problem and the line, never what the file holds.

The bomb and the FIFO run the real `llm` executable under a timeout and an
address-space limit, so a regression fails the test instead of the machine.
"""

from __future__ import annotations

import json
import os
import pathlib
import resource
import subprocess

import pytest

from llm_consortium.saved import reading, store

from helpers import LLM_BIN, llm_run, ok, refused, subprocess_env

MEMORY = 512 << 20  # `llm models` needs under 256 MiB of address space
TIMEOUT = 60

# In every hostile file below; must never reach the output of a command.
SECRET = "Q7Zsecret"


def limited(user_path: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    """The real `llm ARGS` with at most MEMORY of address space and TIMEOUT seconds."""

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))

    return subprocess.run(
        [LLM_BIN, *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=subprocess_env(user_path),
        timeout=TIMEOUT,
        preexec_fn=cap_memory,
    )


@pytest.fixture
def folder(user_path: pathlib.Path) -> pathlib.Path:
    """The consortiums folder, holding one good consortium beside the hostile files."""
    path = store.folder()
    path.mkdir()
    (path / "good.yaml").write_text("models: [{model_id: alpha}]\n")
    return path


def billion_laughs() -> str:
    """A valid-looking member whose options hold nine levels of nine aliases each:
    about 400 bytes that expand to 387 million strings."""
    levels = ['a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]']
    for level in range(1, 9):
        name, below = chr(ord("a") + level), chr(ord("a") + level - 1)
        levels.append(f"{name}: &{name} [{','.join([f'*{below}'] * 9)}]")
    return "models:\n- model_id: x\n  options:\n" + "".join(f"    {line}\n" for line in levels)


def broken_rows(listing: str) -> dict[str, str]:
    """`llm consortiums list` output as {name: reason} for its BROKEN rows."""
    rows = {}
    for line in listing.splitlines():
        name, _, rest = line.partition(" : ")
        if rest.startswith("BROKEN: "):
            rows[name.strip()] = rest[len("BROKEN: "):]
    return rows


# name -> what its BROKEN reason says, for the files `hazards` writes.
HAZARDS = {
    "bomb": "more than 10,000 once aliases are expanded",
    "f": "not a regular file (a FIFO)",
    "z": "not a regular file (a character device)",
    "huge": "too large (1,048,588 bytes; the limit is 1,048,576)",
}


@pytest.fixture
def hazards(folder: pathlib.Path) -> pathlib.Path:
    """An alias bomb, a FIFO, a symlink to /dev/zero and a file over the size cap."""
    (folder / "bomb.yaml").write_text(billion_laughs())
    os.mkfifo(folder / "f.yaml")
    (folder / "z.yaml").symlink_to("/dev/zero")
    member = "- {model_id: alpha}\n"
    (folder / "huge.yaml").write_text("models:\n" + member * (reading.MAX_FILE_BYTES // len(member) + 1))
    return folder


def test_the_bomb_is_small() -> None:
    assert len(billion_laughs()) <= 427


def test_every_listing_ends_in_time_within_memory_naming_each_hazard(user_path, hazards):
    """`list`, `list --json` and `llm models` (real processes, capped) list `good`
    and each hazard once as broken, with its reason."""
    listing = limited(user_path, "consortiums", "list")
    assert listing.returncode == 0 and not listing.stderr, listing.stderr
    assert "good " in listing.stdout and len(listing.stdout.splitlines()) == 1 + len(HAZARDS)
    as_json = limited(user_path, "consortiums", "list", "--json")
    assert as_json.returncode == 0 and not as_json.stderr, as_json.stderr
    entries = {entry["name"]: entry for entry in json.loads(as_json.stdout)}
    assert entries["good"]["models"][0]["model_id"] == "alpha"
    models = limited(user_path, "models")
    assert models.returncode == 0 and not models.stderr, models.stderr
    for name, reason in HAZARDS.items():
        assert reason in broken_rows(listing.stdout)[name]
        assert reason in entries[name]["error"]
        assert models.stdout.count(f"Consortium: {name} (broken: ") == 1 and reason in models.stdout


@pytest.mark.parametrize("name", ["bomb", "f"])
def test_show_ends_in_time_within_memory(user_path, hazards, name):
    shown = limited(user_path, "consortiums", "show", name)
    assert shown.returncode == 1 and shown.stdout == ""
    assert shown.stderr.count("\n") == 1 and shown.stderr.startswith("Error: ") and HAZARDS[name] in shown.stderr


@pytest.mark.parametrize("name", ["z", "huge"])
def test_show_names_what_the_file_is(hazards, name):
    assert HAZARDS[name] in refused("show", name)


def test_members_are_capped_and_a_file_just_under_the_limits_loads(folder):
    (folder / "many.yaml").write_text("models:\n" + "- {model_id: alpha}\n" * 101)
    assert "models: List should have at most 100 items" in refused("show", "many")
    prompt = "x" * (reading.MAX_FILE_BYTES - 4000)
    (folder / "full.yaml").write_text("models:\n" + "- {model_id: alpha}\n" * 100 + f"system_prompt: {prompt}\n")
    assert ok("show", "full", "--json").stdout.count('"model_id": "alpha"') == 100


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("long", "models: [{model_id: a, options: {a: &a " + "x" * 30_000 + ", b: [" + ",".join(["*a"] * 100) + "]}}]\n",
         "too much text (line 1): more than 2,097,152 characters once aliases are expanded"),
        ("deep", "models: [{model_id: a, options: {o: " + "[" * 40 + "]" * 40 + "}}]\n", "nested more than 32 levels deep (line 1)"),
        ("loop", "models: [{model_id: a, options: {o: &x [*x]}}]\n", "an alias refers to a value that contains it (line 1)"),
        ("tag", f"models: !!int {SECRET}\n", "not valid YAML: a value cannot be read as its type"),
        ("pytag", f"models: !!python/object:{SECRET} {{}}\n", "not valid YAML (line 1): could not determine a constructor for the tag"),
        ("key", f"models: [{{model_id: a}}]\n{SECRET}: {SECRET}\n", "unknown setting (line 2)"),
        ("member", f"models:\n- model_id: a\n  {SECRET}: 1\n", "models.0: unknown setting (line 3)"),
        ("strategy", f"models: [{{model_id: a}}]\nstrategy: {SECRET}\n", "strategy: must be one of arbiter, vote (line 2)"),
        ("named", f"name: {SECRET}\nmodels: [{{model_id: a}}]\n", "the name setting does not match the file name 'named'"),
        ("text", f"{SECRET}\n", "expected a mapping, got str"),
    ],
)  # fmt: skip
def test_a_reason_names_the_problem_and_line_not_the_content(folder, name, body, reason):
    (folder / f"{name}.yaml").write_text(body)
    listing = llm_run("consortiums", "list").stdout
    error = refused("show", name)
    for output in (listing, error, llm_run("consortiums", "list", "--json").stdout, llm_run("models").stdout):
        assert SECRET not in output
    assert reason in broken_rows(listing)[name] and reason in error


def test_a_symlink_to_a_private_file_is_not_quoted(tmp_path, folder):
    private = tmp_path / "shadow"
    private.write_text("".join(f"user{n}:$6${SECRET}{n}:19000:0:99999:7:::\n" for n in range(40)))
    (folder / "s.yaml").symlink_to(private)
    listing = llm_run("consortiums", "list").stdout
    assert SECRET not in listing and "user1" not in listing
    reason = broken_rows(listing)["s"]
    assert reason.endswith("and 36 more")  # one problem per line, the rest counted
    assert "models: Field required; unknown setting (line 1); unknown setting (line 2)" in reason


def test_undecodable_bytes_name_their_line(folder):
    (folder / "bin.yaml").write_bytes(b"models:\n- model_id: a\n  options: {k: \xff}\n")
    assert "not UTF-8 text (line 3, byte 37)" in refused("show", "bin")
