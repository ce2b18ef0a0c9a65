"""What tiers, the arbiter skip and waves save, measured with `llm consortiums eval`.

Three consortiums of the same models answer the same 200 items, served by the
loopback server with scripted members whose accuracy is known and depends on the
item's difficulty:

  easy items (60 %): every member is right, so members agree;
  hard items (40 %): a cheap member is right 45 % of the time, a strong one 80 %,
                     and wrong answers are spread over three distractors.

The arbiter (`judge`, priced like a strong member) picks the right answer when one
of the responses it reads has it, 90 % of the time, else the most common one; its
confidence is that answer's share of the responses. Cheap models cost $0.10/$0.40
per million input/output tokens, strong ones and the judge 10x that. Each
consortium runs one round (`-i 1`), so the figures compare spending, not refining:

  full     : cheap1-3 and strong1-2 all answer, the arbiter always judges
  tiers    : cheap1-3 first (tier 1), strong1-2 only when tier 1 disagrees
  savings  : tiers, plus the arbiter skip on agreement and waves

Run: `.venv/bin/python bench/savings.py` (about a minute). Prints calls, cost,
accuracy with a 95 % interval and the paired accuracy difference against `full`.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from loopback import LoopbackServer, last_user_text, reply, tagged_verdict, write_models_file

ITEMS = 200
CHEAP = ["cheap1", "cheap2", "cheap3"]
STRONG = ["strong1", "strong2"]
JUDGE = "judge"
RIGHT_ON_HARD = {**{m: 0.45 for m in CHEAP}, **{m: 0.8 for m in STRONG}}
JUDGE_FINDS_RIGHT = 0.9
PRICES = {**{m: (0.1, 0.4) for m in CHEAP}, **{m: (1.0, 4.0) for m in [*STRONG, JUDGE]}}
CONSORTIUMS = {
    "full": ["--always-arbiter"],
    "tiers": ["--always-arbiter", "--tier", "strong1", "2", "--tier", "strong2", "2"],
    "savings": ["--tier", "strong1", "2", "--tier", "strong2", "2", "--waves"],
}
_ITEM = re.compile(r"Item (\d+):")
_RESPONSE = re.compile(r"<<<RESPONSE \w+ \w+>>>\n(.*?)\n<<<END RESPONSE", re.S)


def hard(item: int) -> bool:
    return item % 5 in (1, 3)


def code(item: int) -> str:
    """A letters-only tag per item: answers must not differ by a number, which the
    vote's matcher would read as the answer itself."""
    letters = ""
    item += 26 * 26
    while item:
        item, digit = divmod(item, 26)
        letters = chr(97 + digit) + letters
    return letters


def right(item: int) -> str:
    return f"{code(item)} right"


def member_answer(model: str, item: int) -> str:
    """This model's answer to this item: the same every time it is asked."""
    chance = random.Random(f"{model}:{item}")
    if not hard(item) or chance.random() < RIGHT_ON_HARD[model]:
        return right(item)
    return f"{code(item)} {chance.choice(['red', 'green', 'blue'])}"


def member(model: str):
    def answer(body: dict) -> str:
        match = _ITEM.search(last_user_text(body))
        return member_answer(model, int(match.group(1))) if match else "no item"

    return answer


def judge(body: dict) -> str:
    """The arbiter: the right answer if it reads one (90 %), else the most common."""
    text = last_user_text(body)
    item = int(_ITEM.search(text).group(1))
    shown = [answer.strip() for answer in _RESPONSE.findall(text)]
    chosen = max(sorted(shown), key=shown.count)  # ties: the same whatever the labels' order
    if right(item) in shown and random.Random(f"judge:{item}").random() < JUDGE_FINDS_RIGHT:
        chosen = right(item)
    return tagged_verdict(chosen, round(shown.count(chosen) / len(shown), 2))


def llm(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("llm")), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"llm {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def paired(full: dict[int, bool], other: dict[int, bool]) -> tuple[float, float, float]:
    """Mean accuracy difference (other - full) over the same items, with a 95 % interval."""
    diffs = [int(other[i]) - int(full[i]) for i in full]
    mean = sum(diffs) / len(diffs)
    variance = sum((d - mean) ** 2 for d in diffs) / max(len(diffs) - 1, 1)
    half = 1.96 * math.sqrt(variance / len(diffs))
    return mean, mean - half, mean + half


def main() -> None:
    with tempfile.TemporaryDirectory() as home, LoopbackServer() as server:
        user = Path(home)
        env = {**os.environ, "LLM_USER_PATH": str(user)}
        env.pop("OPENAI_API_KEY", None)
        for model in [*CHEAP, *STRONG]:
            server.script(model, reply(member(model)))
        server.script(JUDGE, reply(judge))
        write_models_file(user, server.url, [*CHEAP, *STRONG, JUDGE])
        for model, (price_in, price_out) in PRICES.items():
            llm(env, "consortiums", "prices", "set", model, str(price_in), str(price_out))
        data = user / "items.jsonl"
        data.write_text(
            "".join(
                json.dumps({"prompt": f"Item {i}: what is the answer? Reply with the answer alone.",
                            "expected": right(i)}) + "\n"
                for i in range(ITEMS)
            )
        )
        members = [arg for model in [*CHEAP, *STRONG] for arg in ("-m", model)]
        reports = {}
        for name, extra in CONSORTIUMS.items():
            llm(env, "consortiums", "create", name, *members, "-a", JUDGE, "-i", "1", *extra)
            before = len(server.requests)
            out = llm(env, "consortiums", "eval", name, str(data), "--no-members", "--no-baseline", "--json",
                      "--parallel", "8")
            reports[name] = (json.loads(out), len(server.requests) - before)
        print_table(reports)


def print_table(reports: dict[str, tuple[dict, int]]) -> None:
    def marks(report: dict) -> dict[int, bool]:
        return {row["item"]: bool(row.get("correct")) for row in report["results"] if row["kind"] == "consortium"}

    full_report, _ = reports["full"]
    full_cost = full_report["systems"][0]["cost"]
    print(f"{ITEMS} items ({sum(hard(i) for i in range(ITEMS))} hard), loopback server, one round each")
    print(f"{'':8} {'requests':>8} {'cost $':>9} {'vs full':>8} {'accuracy (95% CI)':>22} {'paired diff (95% CI)':>26}")
    for name, (report, requests) in reports.items():
        system = report["systems"][0]
        low, high = system["ci95"]
        diff, dlow, dhigh = paired(marks(full_report), marks(report))
        saved = 1 - system["cost"] / full_cost
        print(
            f"{name:8} {requests:>8} {system['cost']:>9.4f} {-saved:>+8.0%} "
            f"{system['accuracy']:>7.1%} ({low:.1%}-{high:.1%}) "
            f"{diff:>+8.1%} ({dlow:+.1%} to {dhigh:+.1%})"
        )


if __name__ == "__main__":
    main()
