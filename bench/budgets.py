"""Is a budget a hard limit? Spending against budgets from tiny to ample, measured on
the loopback server through `llm` itself (docs/savings.md#budgets).

Three consortiums answer one prompt under each token budget, and one under each
money budget; the loopback server counts tokens as words, and members' answers grow
in each refinement round, so an estimate from the first round would fall short:

  arbiter : three members and an arbiter that always asks for another round
  vote    : five members that split, three rounds of peer prompts
  tiers   : two cheap members that disagree, a strong tier 2, an arbiter, waves

For each run it records what was spent (input + output tokens, or USD, from `-u`),
whether the run answered, stopped or failed before any call, and the largest output
of a single call in that run (from the trace). The claim checked: spending never
passes the budget by more than one call's output.

Run: `.venv/bin/python bench/budgets.py` (about a minute).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from loopback import LoopbackServer, last_user_text, reply, tagged_verdict, write_models_file

TOKEN_BUDGETS = [0, 20, 100, 300, 700, 1200, 2000, 3000, 4500, 7000, 50000]
USD_BUDGETS = [1e-300, 1e-5, 1e-3, 1.0]
PRICE = (1.0, 4.0)  # USD per million input / output tokens, every model
MODELS = ["m1", "m2", "m3", "m4", "m5", "cheap1", "cheap2", "strong", "judge"]
PROMPT = "Explain in a few sentences why the sky is blue, and say how sure you are."
_USAGE = re.compile(r"Token usage: ([\d,]+) input, ([\d,]+) output")


def member(name: str):
    """Answers that differ between members (each ends on its own number, so no two
    are one vote) and grow with each refinement round."""

    def answer(body: dict) -> str:
        text = last_user_text(body)
        grown = 1 + text.count("previous answer") + text.count("Other answer")
        words = " ".join(f"point{i}" for i in range(6 * grown))
        return f"Rayleigh scattering: {words}. Final answer: {MODELS.index(name) + 1}"

    return answer


def judge(body: dict) -> str:
    analysis = " ".join(f"note{i}" for i in range(40))
    return tagged_verdict("The sky is blue because of Rayleigh scattering. " + analysis, 0.3,
                          needs_iteration=True, areas="more detail")


def llm(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("llm")), *args], env=env, capture_output=True, text=True, check=False
    )
    if check and done.returncode:
        raise SystemExit(f"llm {' '.join(args)} failed: {done.stderr.strip()}")
    return done


def largest_output(env: dict[str, str]) -> int:
    """The largest output of one call in the last logged run (members, reviewers, arbiter)."""
    logged = json.loads(llm(env, "logs", "--json", "-n", "1").stdout)
    trace = (logged[0].get("response_json") or {}) if logged else {}
    outputs = [0]
    for round_ in trace.get("rounds", []):
        calls = [*round_.get("members", []), round_.get("arbiter", {})]
        for tier in round_.get("tiers", []):
            calls.append(tier.get("arbiter", {}))
        for call in calls:
            outputs.append((call.get("usage") or {}).get("output") or 0)
    return max(outputs)


def one(env: dict[str, str], name: str, option: str, budget: float) -> dict:
    done = llm(env, "-m", name, "-u", "-o", option, repr(budget) if option == "budget_usd" else str(budget),
               PROMPT, check=False)
    used = _USAGE.search(done.stderr)
    tokens_in, tokens_out = (int(used[1].replace(",", "")), int(used[2].replace(",", ""))) if used else (0, 0)
    answered = done.returncode == 0
    row = {
        "consortium": name, "budget": budget, "answered": answered,
        "stopped": answered and "stopped for the budget" in done.stderr,
        "spent_tokens": tokens_in + tokens_out,
        "spent_usd": (tokens_in * PRICE[0] + tokens_out * PRICE[1]) / 1e6,
        "largest_output": largest_output(env) if answered else 0,
        "error": "" if answered else done.stderr.strip().splitlines()[-1][:100],
    }
    if option == "budget_usd":
        row["over"] = row["spent_usd"] - budget
        row["bound"] = row["largest_output"] * PRICE[1] / 1e6
    else:
        row["over"] = row["spent_tokens"] - budget
        row["bound"] = row["largest_output"]
    row["within"] = row["over"] <= row["bound"] + 1e-12
    return row


def show(row: dict) -> None:
    usd = isinstance(row["budget"], float)
    outcome = "stopped" if row["stopped"] else "answered" if row["answered"] else "refused"
    spent = f"${row['spent_usd']:.6f}" if usd else str(row["spent_tokens"])
    over = f"{row['over']:+.6f}" if usd else f"{row['over']:+d}"
    bound = f"{row['bound']:.6f}" if usd else str(row["bound"])
    print(f"{row['consortium']:10} {row['budget']:>10g} {outcome:>9} {spent:>10} {over:>10} {bound:>10}  "
          f"{'yes' if row['within'] else 'NO'}", flush=True)


def main() -> None:
    rows = []
    print(f"{'consortium':10} {'budget':>10} {'outcome':>9} {'spent':>10} {'over':>10} {'one output':>10}  within")
    with tempfile.TemporaryDirectory() as home, LoopbackServer() as server:
        user = Path(home)
        env = {**os.environ, "LLM_USER_PATH": str(user)}
        env.pop("OPENAI_API_KEY", None)
        for model in MODELS:
            server.script(model, reply(judge if model == "judge" else member(model)))
        write_models_file(user, server.url, MODELS)
        for model in MODELS:
            llm(env, "consortiums", "prices", "set", model, str(PRICE[0]), str(PRICE[1]))
        llm(env, "consortiums", "create", "arbiter", "-m", "m1", "-m", "m2", "-m", "m3", "-a", "judge", "-i", "3")
        llm(env, "consortiums", "create", "vote", *[a for m in MODELS[:5] for a in ("-m", m)], "-i", "3")
        llm(env, "consortiums", "create", "tiers", "-m", "cheap1", "-m", "cheap2", "-m", "strong", "-a", "judge",
            "--tier", "strong", "2", "--waves", "-i", "2")
        for name in ("arbiter", "vote", "tiers"):
            for budget in TOKEN_BUDGETS:
                rows.append(one(env, name, "budget_tokens", budget))
                show(rows[-1])
        for budget in USD_BUDGETS:
            rows.append(one(env, "arbiter", "budget_usd", budget))
            show(rows[-1])
    worst = max((r for r in rows if not isinstance(r["budget"], float)), key=lambda r: r["over"])
    print(f"\n{len(rows)} runs; within the bound: {sum(r['within'] for r in rows)}; "
          f"never over the budget at all: {sum(r['over'] <= 1e-12 for r in rows)}; "
          f"largest token overshoot: {worst['over']:+d} ({worst['consortium']}, budget {worst['budget']})")


if __name__ == "__main__":
    main()
