"""Is a budget a hard limit for every call a run makes? Spending against budgets from
nothing to ample (docs/savings.md#budgets), in two parts.

**Every call path** (the default, in-process, a few seconds): the engine with scripted
models, every way a run calls a model: an arbiter, a vote under each matching mode
(`exact`, `auto`, `judge` with a grouping model, `semantic` with an embedding model),
a peer review, tiers, waves; each with models that report their usage and with models
that report none (a local plugin's way). What a model really spent is counted by the
model itself (words read and written, as the loopback server counts tokens), never
taken from what it reported, so a run that could not see its own usage is measured
all the same. Each runs under token budgets and money budgets ($1 / $4 per million
input / output tokens, every model) from 0 to ample; the claim checked is that none
spends more than its budget plus one call's output (the documented bound).

Run: `.venv/bin/python bench/budgets.py` (the table of docs/savings.md).

**Through `llm`** (`--llm`, about a minute): on the loopback server, three
consortiums answer one prompt under each token budget, and one under each money
budget; the loopback server counts tokens as words, and members' answers grow in
each refinement round, so an estimate from the first round would fall short:

  arbiter : three members and an arbiter that always asks for another round
  vote    : five members that split, three rounds of peer prompts
  tiers   : two cheap members that disagree, a strong tier 2, an arbiter, waves

For each run it records what was spent (input + output tokens, or USD, from `-u`),
whether the run answered, stopped or failed before any call, and the largest output
of a single call in that run (from the trace). The claim checked: spending never
passes the budget by more than one call's output.

Run: `.venv/bin/python bench/budgets.py --llm`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
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


def llm_main() -> None:
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


# ------------------------------------------------------------------ every call path, in-process

PER_M = (1.0, 4.0)  # USD per million input / output tokens, every model of the in-process part
ENGINE_TOKENS = [0, 100, 400, 1000, 2500, 6000, 100_000]
ENGINE_USD = [0.0, 4e-4, 2e-3, 6e-3, 1.0]


@dataclass
class Spent:
    """What the models of one run really read and wrote, in words, whatever they reported."""

    input: int = 0
    output: int = 0
    largest: int = 0  # the largest output of one call

    def add(self, read: int, written: int) -> None:
        self.input += read
        self.output += written
        self.largest = max(self.largest, written)

    @property
    def usd(self) -> float:
        return (self.input * PER_M[0] + self.output * PER_M[1]) / 1e6


def _words(text: str) -> int:
    return len(text.split())


@dataclass
class Model:
    """A scripted model: `answer(call)` is its reply; it reports its usage (words)
    or, like a local plugin, nothing."""

    model_id: str
    answer: Callable[[object], str]
    spent: Spent
    reports: bool = True

    async def __call__(self, call):
        from llm_consortium.types import Reply

        text = self.answer(call)
        read = _words(f"{call.system or ''} {call.prompt}") + sum(_words(a) + _words(b) for a, b in call.history)
        self.spent.add(read, _words(text))
        return Reply(text, read if self.reports else None, _words(text) if self.reports else None)


def _growing(name: str, number: int) -> Callable[[object], str]:
    """Answers that differ between members and grow with each refinement round."""

    def answer(call) -> str:
        grown = 1 + call.prompt.count("previous answer") + call.prompt.count("Other answer")
        return f"Rayleigh scattering: {' '.join(f'point{i}' for i in range(6 * grown))}. Final answer: {number}"

    return answer


def _arbiter(call) -> str:
    analysis = " ".join(f"note{i}" for i in range(40))
    return tagged_verdict("The sky is blue because of Rayleigh scattering. " + analysis, 0.3,
                          needs_iteration=True, areas="more detail")


def _grouper(call) -> str:
    found = re.search(r"answer numbers \(1 to (\d+)\)", call.prompt)
    count = int(found[1]) if found else 1
    return "GROUPS: " + "; ".join(str(i) for i in range(1, count + 1))


class _Embedder:
    """An embedding model: one vector per text, no usage reported (none do); what it
    read counts in the run's spending."""

    model_id = "embedder"

    def __init__(self, spent: Spent) -> None:
        self.spent = spent

    def embed_multi(self, texts):
        texts = list(texts)
        self.spent.add(sum(_words(t) for t in texts), 0)
        return [[float(i == j) for j in range(len(texts))] for i in range(len(texts))]


@dataclass
class Setup:
    """One way a run calls models: its participants and settings, all counting into `spent`."""

    name: str
    members: list
    arbiter: object | None
    settings: dict
    spent: Spent = field(default_factory=Spent)


def _setup(name: str, reports: bool) -> Setup:
    from llm_consortium.adapter.model_matchers import JudgeMatcher, SemanticMatcher
    from llm_consortium.judging.matching import PureMatcher
    from llm_consortium.types import Participant

    spent = Spent()

    def member(model: str, number: int, tier: int = 1) -> Participant:
        return Participant(model, Model(model, _growing(model, number), spent, reports), tier=tier)

    judge = Participant("judge", Model("judge", _arbiter, spent, reports))
    three = [member(f"m{i}", i) for i in (1, 2, 3)]
    vote = {"strategy": "vote", "max_iterations": 3}
    setups = {
        "arbiter": (three, judge, {"max_iterations": 3}),
        "exact": (three, None, {**vote, "matcher": PureMatcher("exact")}),
        "auto": (three, None, {**vote, "matcher": PureMatcher("auto")}),
        "judge": (three, None, {**vote, "matcher": JudgeMatcher(
            Participant("grouper", Model("grouper", _grouper, spent, reports)), timeout=5, retries=0)}),
        "semantic": (three, None, {**vote, "matcher": SemanticMatcher(_Embedder(spent), 0.99, timeout=5, retries=0)}),
        "review": (three, judge, {"max_iterations": 2, "review": True}),
        "tiers": ([member("cheap1", 1), member("cheap2", 2), member("strong", 3, tier=2)], judge,
                  {"max_iterations": 2, "agreement": 1.0}),
        "waves": ([replace(member("m1", i), instance=i) for i in range(1, 6)], None, {**vote, "waves": True}),
    }
    members, arbiter, settings = setups[name]
    return Setup(name, members, arbiter, settings, spent)


MODES = ["arbiter", "exact", "auto", "judge", "semantic", "review", "tiers", "waves"]
MODELS_PRICED = ["m1", "m2", "m3", "judge", "grouper", "embedder", "cheap1", "cheap2", "strong"]


def engine_one(mode: str, reports: bool, budget: float, money: bool) -> dict:
    from llm_consortium.engine import run
    from llm_consortium.errors import ConsortiumFailed
    from llm_consortium.types import Call, Settings

    setup = _setup(mode, reports)
    limit = {"budget_usd": budget} if money else {"budget_tokens": int(budget)}
    chosen = Settings(**{"timeout": 5, "retries": 0, **setup.settings, **limit,
                         "prices": dict.fromkeys(MODELS_PRICED, PER_M)})
    try:
        result = asyncio.run(run(Call(PROMPT), setup.members, setup.arbiter, chosen))
        outcome = "stopped" if result.stopped else "answered"
    except ConsortiumFailed as failed:
        outcome = "refused" if "no call was made" in str(failed) else "failed"
    spent = setup.spent
    used = spent.usd if money else spent.input + spent.output
    bound = spent.largest * PER_M[1] / 1e6 if money else spent.largest
    return {"mode": mode, "usage": "reported" if reports else "none", "money": money, "budget": budget,
            "outcome": outcome, "spent": used, "over": used - budget, "bound": bound,
            "within": used - budget <= bound + 1e-12}


def engine_main() -> list[dict]:
    """Every mode under every budget, with and without reported usage: one line per
    mode and budget, the two kinds of model side by side."""
    import logging

    logging.disable(logging.WARNING)  # a budget stop's warning, once per run: the table says it
    rows = []
    for money, budgets in ((False, ENGINE_TOKENS), (True, ENGINE_USD)):
        unit = "USD" if money else "tokens"
        print(f"\nbudget in {unit}; spent / over the budget / outcome, for models that report usage | that report none")
        print(f"{'mode':9} {'budget':>8}  {'spent':>9} {'over':>10} {'outcome':8} | {'spent':>9} {'over':>10} "
              f"{'outcome':8} {'one output':>10}  within")
        for mode in MODES:
            for budget in budgets:
                pair = [engine_one(mode, reports, budget, money) for reports in (True, False)]
                rows += pair
                show_engine(pair)
    over = [r for r in rows if not r["within"]]
    print(f"\n{len(rows)} runs; within the bound: {len(rows) - len(over)}; "
          f"never over the budget at all: {sum(r['over'] <= 1e-12 for r in rows)}")
    return rows


def show_engine(pair: list[dict]) -> None:
    usd = pair[0]["money"]
    budget = f"{pair[0]['budget']:g}" if usd else f"{int(pair[0]['budget']):,}"
    cells = []
    for row in pair:
        spent = f"{row['spent']:.6f}" if usd else f"{row['spent']:,}"
        over = f"{row['over']:+.6f}" if usd else f"{row['over']:+,.0f}"
        cells.append(f"{spent:>9} {over:>10} {row['outcome']:8}")
    largest = max(row["bound"] for row in pair)
    bound = f"{largest:.6f}" if usd else f"{largest:,}"
    within = "yes" if all(row["within"] for row in pair) else "NO"
    print(f"{pair[0]['mode']:9} {budget:>8}  {' | '.join(cells)} {bound:>10}  {within}", flush=True)


if __name__ == "__main__":
    engine_main()
    if "--llm" in sys.argv[1:]:
        llm_main()
