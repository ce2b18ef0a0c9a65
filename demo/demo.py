"""`make demo`: a consortium run end to end, with canned answers and no API key.

It does what a user does, through the real `llm` command: create a consortium, ask it
something, then read the trace of how the answer was reached. The models behind it
are the test suite's loopback OpenAI-compatible server (`tests/loopback.py`) with
scripted replies, so the run is the real code path but every answer is canned. The
arbiter is unsure after round 1, so the members refine once and round 2 settles it.

Everything lives in a temporary LLM_USER_PATH, and the server runs in this process:
both are gone when the demo ends, whether it succeeds or not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from loopback import LoopbackServer, last_user_text, reply, tagged_verdict, write_models_file

LLM = Path(sys.executable).with_name("llm")
QUESTION = "Why is the sky blue?"
MEMBERS = {
    "demo-alpha": (
        "Sunlight scatters off air molecules, and blue light scatters most.",
        "Rayleigh scattering: air molecules scatter short wavelengths far more than long "
        "ones (about 1/wavelength^4), so blue light reaches us from every part of the sky.",
    ),
    "demo-beta": (
        "Because the sky reflects the colour of the ocean.",
        "I was wrong before: it is Rayleigh scattering by air molecules, strongest for "
        "short (blue) wavelengths. The ocean is blue partly because it reflects the sky.",
    ),
    "demo-gamma": (
        "Rayleigh scattering makes blue light spread across the sky.",
        "Rayleigh scattering, roughly 1/wavelength^4. Violet scatters even more, but the "
        "sun emits less of it and our eyes are less sensitive to it, so we see blue.",
    ),
}
DRAFT = "Blue light is scattered most by the air (Rayleigh scattering)."
FINAL = (
    "The sky is blue because of Rayleigh scattering: air molecules scatter sunlight with "
    "a strength that grows steeply as the wavelength shrinks (about 1/wavelength^4), so "
    "short blue wavelengths are redirected across the whole sky while longer red ones "
    "mostly pass straight through. Violet is scattered even more, but sunlight holds "
    "less of it and our eyes are less sensitive to it, so the sky looks blue, not violet."
)


def verdict(synthesis: str, confidence: float, areas: str = "") -> str:
    """The arbiter's canned reply; with refinement areas it asks for another round."""
    return tagged_verdict(
        synthesis,
        confidence,
        needs_iteration=bool(areas),
        areas=areas,
        analysis="Two answers explain Rayleigh scattering; one blames the ocean.",
        dissent="One answer attributes the colour to the ocean." if areas else "",
    )


def judge(body: dict) -> str:
    if "This is round 1 of" in last_user_text(body):
        return verdict(DRAFT, 0.55, "Explain why the sky is not violet.\nCorrect the ocean claim.")
    return verdict(FINAL, 0.92)


def run(*args: str, env: dict[str, str]) -> str:
    """Run the venv's `llm` as a user would; stop the demo with its error if it fails."""
    click.secho(f"$ llm {' '.join(_quote(a) for a in args)}", bold=True)
    done = subprocess.run([str(LLM), *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise click.ClickException(f"llm {args[0]} failed:\n{done.stderr.strip()}")
    if done.stderr.strip():
        click.echo(done.stderr.rstrip(), err=True)
    return done.stdout


def _quote(arg: str) -> str:
    return f'"{arg}"' if " " in arg else arg


def user_env(user_dir: Path) -> dict[str, str]:
    """The environment the demo's `llm` runs in: its own user dir, no real key."""
    env = {**os.environ, "LLM_USER_PATH": str(user_dir)}
    for variable in ("OPENAI_API_KEY", "LLM_RAISE_ERRORS", "LLM_OPENAI_SHOW_RESPONSES"):
        env.pop(variable, None)
    return env


def demo(server: LoopbackServer, user_dir: Path) -> None:
    for name, (first, second) in MEMBERS.items():
        server.script(name, reply(first), reply(second))
    server.script("demo-judge", reply(judge))
    write_models_file(user_dir, server.url, [*MEMBERS, "demo-judge"])
    env = user_env(user_dir)

    click.secho(
        "DEMO WITH CANNED ANSWERS: the models below are a local test server replaying "
        "scripted replies, not real LLMs. No API key is used and nothing leaves this "
        "machine. The llm command, the plugin and llm's OpenAI client are the real ones.",
        fg="yellow",
    )
    click.echo(f"(temporary LLM_USER_PATH: {user_dir})\n")

    members = [arg for name in MEMBERS for arg in ("-m", name)]
    click.echo(run("consortiums", "create", "demo", *members, "-a", "demo-judge", env=env))
    answer = run("-m", "demo", QUESTION, env=env)
    click.echo(answer)
    click.echo(run("consortiums", "trace", env=env))
    click.secho(
        "That was the real plugin with canned answers. To use real models, see "
        "Installation in the README.",
        fg="yellow",
    )


def main(scenario: Callable[[LoopbackServer, Path], None] = demo) -> None:
    """Run `scenario` against a fresh loopback server in a temporary user dir; both
    are gone when it ends, and a failed step ends the demo with its error."""
    with tempfile.TemporaryDirectory(prefix="llm-consortium-demo-") as tmp, LoopbackServer() as server:
        try:
            scenario(server, Path(tmp))
        except click.ClickException as ex:
            ex.show()
            sys.exit(1)


if __name__ == "__main__":
    main()
