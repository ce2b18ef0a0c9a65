"""Running `llm consortiums ...` through llm's real CLI, for the management tests."""

from __future__ import annotations

from click.testing import CliRunner, Result
from llm.cli import cli


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["consortiums", *args], input=input)


def ok(*args: str, input: str | None = None) -> Result:
    result = run(*args, input=input)
    assert result.exit_code == 0, result.output
    return result


def refused(*args: str, input: str | None = None) -> str:
    """Run a command that must fail with exactly one `Error:` line and no traceback."""
    result = run(*args, input=input)
    assert result.exit_code not in (0, None), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]
