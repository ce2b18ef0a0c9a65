"""Any bytes as a consortium file: `list`, `list --json`, `show` and `llm models`
never raise, never hang, agree on whether the file is broken, and report a broken
file as one line with a reason that does not repeat the file's content.

The bytes are drawn from YAML-shaped fragments (keys of the format, anchors,
aliases, tags, flow and block syntax, odd characters) and raw bytes, with a secret
marker spread through them that must never appear in a broken file's reason.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llm.cli import cli

from llm_consortium.saved import store

SECRET = "Q7Zsecret"

FRAGMENTS = [
    "models:", "\n", "\n- ", "  ", "- model_id: ", "{model_id: m}", "model_id", "count: ", "options: ",
    "arbiter: ", "strategy: ", "name: ", "fz", "confidence_threshold: ", "max_iterations: ",
    "min_iterations: ", "system_prompt: ", "min_members: ", "call_mode: ", "timeout: ", "review: ",
    "{", "}", "[", "]", ", ", ": ", "&a ", "*a", "&b ", "*b", "<<: ", "? ", "|\n", ">\n", "---\n",
    "...\n", "#", "'", '"', "\\", "!!int ", "!!float ", "!!str ", "!!binary ", "!!timestamp ",
    "!!set ", "!!omap ", "!!python/object:", "!local ", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n",
    "0", "1", "-1", "2", "0.5", "1e999", "0x1F", "0o7", "9" * 30, "null", "~", "true", "no",
    "2001-12-14", "\t", "\x00", "\x1b[31m", "é", "\u202e", "\ufeff", "\r",
    SECRET, f"{SECRET}: 1", f"- {SECRET}", f"!{SECRET} ", f"&{SECRET} ", f"*{SECRET}",
]  # fmt: skip

yaml_like = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(lambda parts: "".join(parts).encode("utf-8"))
raw = st.tuples(st.binary(max_size=60), st.binary(max_size=60)).map(
    lambda pair: pair[0] + SECRET.encode() + pair[1]
)

SECONDS = 20  # far more than any command takes; a hang fails instead of stalling the suite


@contextmanager
def deadline() -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"a command took over {SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run(*args: str) -> tuple[int, str, str]:
    with deadline():
        result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def one_reason(text: str) -> str:
    """A reason must be one non-empty line without the secret."""
    assert text.strip() and "\n" not in text.strip()
    assert SECRET not in text
    return text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(yaml_like, raw))
def test_any_bytes_as_a_consortium_file(user_path, content: bytes) -> None:
    folder = store.folder()
    folder.mkdir(exist_ok=True)
    (folder / "fz.yaml").write_bytes(content)

    code, listing, errors = run("consortiums", "list")
    assert code == 0 and errors == ""
    (line,) = listing.splitlines()
    assert line.startswith("fz : ")
    broken = line.startswith("fz : BROKEN: ")
    if broken:
        one_reason(line[len("fz : BROKEN: "):])

    code, as_json, errors = run("consortiums", "list", "--json")
    assert code == 0 and errors == ""
    (entry,) = json.loads(as_json)
    assert ("error" in entry) == broken
    if broken:
        one_reason(entry["error"])

    code, shown, errors = run("consortiums", "show", "fz")
    assert (code != 0) == broken
    if broken:
        assert shown == "" and errors.startswith("Error: ")
        one_reason(errors)

    code, models, errors = run("models")
    assert code == 0 and errors == ""
    (listed,) = [line for line in models.splitlines() if line.startswith("Consortium: fz (")]
    assert listed.startswith("Consortium: fz (broken: ") == broken
    if broken:
        one_reason(listed)
