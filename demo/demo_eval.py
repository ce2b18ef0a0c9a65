"""`make demo-eval`: `llm consortiums eval` end to end, with canned answers and no API key.

The same set-up as `make demo` (the test suite's loopback server replaying scripted
replies, in a temporary LLM_USER_PATH, through the real `llm` command), evaluating a
pair of consortiums on the dataset shipped in `demo/eval-sample.jsonl`: `demo`
(three members and an arbiter) and `demo-vote` (the same members, voting). The canned
members are right and wrong on purpose: demo-alpha is strong, demo-beta and
demo-gamma are weaker, and on one question the refinement round talks the arbiter out
of a right answer, so the report shows a flip. Each member runs alone once per item
for both consortiums. The eval is then run again with `--resume`: it reuses every
stored result, makes no call at all and prints the same report.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo import main, run, user_env  # demo.py puts tests/ on the path for loopback

from loopback import LoopbackServer, last_user_text, reply, tagged_verdict, write_models_file

DATASET = Path(__file__).resolve().parent / "eval-sample.jsonl"
# question -> (alpha, beta, gamma): each member's answer
ANSWERS = {
    "17 * 23": ("17 * 23 = 391.\nFinal answer: 391", "Final answer: 381", "391"),
    "leap year": ("366", "366", "365"),
    "Fahrenheit": ("Final answer: 212", "212", "212"),
    "dodecagon": ("12", "10", "12"),
    "power of 10": ("Final answer: 1024", "1000", "1024"),
    "bones": ("206", "206", "208"),
    "hexagon": ("720", "540", "Final answer: 720"),
    "14:40": ("Final answer: 145", "135", "145"),
}
# question -> the arbiter's (synthesis, confidence) per round; "hexagon" is settled
# right in round 1 but unsure, and round 2 flips it to a wrong answer.
ARBITER = {
    "17 * 23": [("391", 0.95)],
    "leap year": [("366", 0.9)],
    "Fahrenheit": [("212", 0.97)],
    "dodecagon": [("12", 0.8)],
    "power of 10": [("1024", 0.93)],
    "bones": [("206", 0.85)],
    "hexagon": [("720", 0.55), ("540", 0.75)],
    "14:40": [("135", 0.6), ("145", 0.9)],
}
BASELINE = {"17 * 23": "391", "leap year": "366", "Fahrenheit": "212", "dodecagon": "12",
            "power of 10": "1024", "bones": "206", "hexagon": "540", "14:40": "135"}


def _key(text: str) -> str:
    return next((key for key in ANSWERS if key in text), "")


def member(index: int):
    def answer(body: dict) -> str:
        key = _key(last_user_text(body))
        return ANSWERS[key][index] if key else "I do not know."

    return answer


def arbiter(body: dict) -> str:
    text = last_user_text(body)
    key = _key(text)
    if "<synthesis>" not in text:  # a plain question: one of the baseline's samples
        return BASELINE.get(key, "I do not know.")
    rounds = ARBITER[key]
    number = 2 if "This is round 2 of" in text else 1
    synthesis, confidence = rounds[min(number, len(rounds)) - 1]
    unsure = confidence < 0.7
    return tagged_verdict(
        synthesis, confidence, needs_iteration=unsure, areas="Check the arithmetic." if unsure else ""
    )


def demo(server: LoopbackServer, user_dir: Path) -> None:
    names = ["demo-alpha", "demo-beta", "demo-gamma"]
    for index, name in enumerate(names):
        server.script(name, reply(member(index)))
    server.script("demo-judge", reply(arbiter))
    write_models_file(user_dir, server.url, [*names, "demo-judge"])
    env = user_env(user_dir)
    click.secho(
        "DEMO WITH CANNED ANSWERS: the models are a local test server replaying scripted "
        "replies, not real LLMs. The llm command, the plugin and llm's OpenAI client are real.",
        fg="yellow",
    )
    members = [arg for name in names for arg in ("-m", name)]
    click.echo(run("consortiums", "create", "demo", *members, "-a", "demo-judge", env=env))
    click.echo(run("consortiums", "create", "demo-vote", *members, "--strategy", "vote", "--iterations", "1", env=env))
    prices = ["--price", "demo-alpha", "2.5", "10", "--price", "demo-beta", "0.15", "0.6",
              "--price", "demo-gamma", "0.15", "0.6", "--price", "demo-judge", "2.5", "10"]
    dataset = os.path.relpath(DATASET)  # demo/eval-sample.jsonl from the repository root
    click.echo(run("consortiums", "eval", "demo", "demo-vote", dataset, *prices, env=env))
    before = len(server.requests)
    click.echo(run("consortiums", "eval", "demo", "demo-vote", dataset, *prices, "--resume", env=env))
    click.secho(f"The --resume run made {len(server.requests) - before} model calls.", fg="yellow")


if __name__ == "__main__":
    main(demo)
