"""Every file the plugin reads or writes, made hostile: a FIFO, a symlink to
/dev/zero, a folder and a symlink out of the user dir, in each place in turn (a
consortium file, the price table, the shared-limits database, eval's results
database, an eval dataset, `edit`'s temporary file). Every command that touches the
place ends in time within a memory cap, says in one line which file is wrong, and
never points at a flag the command does not have (docs/safety.md#every-file).

One real process per place (a driver running llm's CLI in-process for each hazard
and command), under a timeout and an address-space limit, so a hang or an endless
read fails the test instead of the machine.
"""

from __future__ import annotations

import json
import pathlib
import resource
import subprocess
import sys

import pytest

from helpers import subprocess_env
from loopback import reply, write_models_file

MEMORY = 1 << 30
TIMEOUT = 120

DRIVER = r'''
import json, os, pathlib, shutil, sys
from click.testing import CliRunner
from llm.cli import cli

flags = {}
results = {}
def remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


for place, user, good, target, outside, editor, commands in json.loads(sys.argv[1]):
  os.environ["LLM_USER_PATH"] = user
  for hazard in ("fifo", "zero", "dir", "link"):
    for name, text in good.items():  # the good files back, then the hazard in place
        remove(pathlib.Path(user, name))
        pathlib.Path(user, name).write_text(text)
    if target:
        path = pathlib.Path(user, target)
        remove(path)
        {"fifo": lambda: os.mkfifo(path), "zero": lambda: path.symlink_to("/dev/zero"),
         "dir": lambda: path.mkdir(), "link": lambda: path.symlink_to(outside)}[hazard]()
    os.environ["EDITOR"] = f"env HAZARD={hazard} OUTSIDE={outside} {editor}" if editor else "true"
    for args in commands:
        words = args[: args.index("--")] if "--" in args else args
        if tuple(words) not in flags:
            flags[tuple(words)] = "--follow-symlinks" in CliRunner().invoke(cli, [*words, "--help"]).output
        result = CliRunner().invoke(cli, [a for a in args if a != "--"], catch_exceptions=True)
        text = result.output + (repr(result.exception) if result.exception and not isinstance(
            result.exception, SystemExit) else "")
        results[f"{place} {hazard} {' '.join(args)}"] = [result.exit_code, text, flags[tuple(words)]]
print(json.dumps(results))
'''

# `edit`'s stand-in editor: replaces the file it is given with the hazard in its env.
EDITOR = r'''
import os, pathlib, shutil, sys
target = pathlib.Path(sys.argv[1])
target.unlink()
hazard, outside = os.environ["HAZARD"], os.environ["OUTSIDE"]
if hazard == "fifo":
    os.mkfifo(target)
elif hazard == "zero":
    target.symlink_to("/dev/zero")
elif hazard == "dir":
    target.mkdir()
else:
    target.symlink_to(outside)
'''

HAZARDS = ["fifo", "zero", "dir", "link"]

# place -> (file under the user dir, the commands that touch it); "--" marks where
# the command's own words end (for its --help).
PLACES = {
    "consortium": ("consortiums/team.yaml", [
        ["consortiums", "list"], ["consortiums", "show", "--", "team"], ["consortiums", "edit", "--", "team"],
        ["-n", "-m", "team", "What is 7+5?"], ["consortiums", "create", "--", "team", "-m", "alpha", "--force"],
    ]),
    "prices": ("consortium-prices.json", [
        ["consortiums", "prices", "list"], ["consortiums", "prices", "set", "--", "alpha", "1", "2"],
        ["consortiums", "prices", "remove", "--", "alpha"], ["-n", "-m", "team", "What is 7+5?"],
    ]),
    "limits": ("consortium-limits.db", [["-n", "-m", "team", "What is 7+5?"]]),
    "results": ("consortium-evals.db", [["consortiums", "eval", "--", "team", "{data}", "--no-baseline"]]),
    "dataset": ("data.jsonl", [["consortiums", "eval", "--", "team", "{data}", "--no-baseline"]]),
    "edit": ("", [["consortiums", "edit", "--", "team"]]),
}

GOOD_CONTENT = {
    "consortiums/team.yaml": "models: [{model_id: alpha}, {model_id: beta}]\n",
    "consortium-prices.json": '{"alpha": {"input": 1, "output": 2}}\n',
    "data.jsonl": '{"prompt": "What is 7+5?", "expected": "12"}\n',
}


def _drive(tmp_path: pathlib.Path, places: list[str], url: str) -> dict[str, list]:
    """Run each place's commands against each hazard in one capped process; returns
    {"PLACE HAZARD COMMAND": [exit code, output, whether the command has --follow-symlinks]}."""
    editor = tmp_path / "editor.py"
    editor.write_text(EDITOR)
    plan = []
    for place in places:
        user = tmp_path / place
        write_models_file(user, url, ["alpha", "beta"])
        (user / "consortiums").mkdir()
        target, commands = PLACES[place]
        outside = tmp_path / f"outside-{place}"
        outside.write_text(GOOD_CONTENT.get(target or "consortiums/team.yaml", "outside\n"))
        commands = [[a.replace("{data}", str(user / "data.jsonl")) for a in args] for args in commands]
        edits = f"{sys.executable} {editor}" if place == "edit" else None
        plan.append([place, str(user), GOOD_CONTENT, target, str(outside), edits, commands])

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))

    done = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(plan)], capture_output=True, text=True, stdin=subprocess.DEVNULL,
        env=subprocess_env(tmp_path), timeout=TIMEOUT, preexec_fn=cap_memory,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("places", [["consortium", "prices", "edit"], ["limits", "results", "dataset"]])
def test_every_command_ends_in_time_and_names_the_file(tmp_path, loopback, places):
    for model in ("alpha", "beta"):
        loopback.script(model, reply("12"))
    results = _drive(tmp_path, places, loopback.url)
    assert len(results) == 4 * sum(len(PLACES[place][1]) for place in places)
    for key, (code, output, has_follow_flag) in results.items():
        assert "Traceback" not in output and "Error(" not in output, (key, output)
        if "--follow-symlinks" in output:
            assert has_follow_flag, (key, output)  # no hint at a flag the command lacks
        place, hazard = key.split()[:2]
        name = pathlib.Path(PLACES[place][0]).name or "consortium.yaml"
        wrote = any(word in key for word in ("create", "set", "remove"))
        if hazard == "link" and not wrote and place not in ("limits", "results", "edit"):
            continue  # reading through a link is allowed
        if place == "limits" and hazard != HAZARDS[0] and code == 0:
            # One process runs every hazard: sharing, once lost, stays off for the
            # process's lifetime with its one warning (the first hazard's, checked).
            continue
        if hazard == "link" and place == "edit":
            assert code == 0 or name in output, (key, output)
            continue
        if key.endswith("prices list") or "prices set" in key or "prices remove" in key or " show " in key:
            assert code == 1, (key, output)
        if code != 0:
            error = [line for line in output.splitlines() if line.startswith("Error:")]
            assert len(error) == 1 and name in error[0], (key, output)
        else:
            assert name in output, (key, output)  # succeeded, but said which file it could not use
