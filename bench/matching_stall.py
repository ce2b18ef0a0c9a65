"""How long one grouping takes for replies shaped to stall a matcher (docs/matching.md).

Each shape is grown to the given sizes and grouped as a vote does (`vote.tally`:
the conclusions, the groups, their central wording and the trace record), sent by
two members beside a short answer, with the remembered conclusions cleared first. The shapes are the ones that once
made grouping time grow with the square of a reply's length:

* an equation line `x 1 1 1 … = 12`;
* `Answer: a` followed by spaces, and by spaces then a word;
* a reply of nothing but numbers;
* the stated-answer marker repeated (`the answer is the answer is …`);
* random printable text, random words and random text with newlines.

    .venv/bin/python bench/matching_stall.py [--sizes 100000 1000000] [--repeat 3]

Timings are noisy on a shared machine; the figure that matters is that no shape
grows faster than its length.
"""

from __future__ import annotations

import argparse
import random
import string
import time
from collections.abc import Callable

from llm_consortium.judging import conclusions, vote

PROMPT = "What is 7 + 5?"


def _fill(unit: str, size: int) -> str:
    return (unit * (size // max(1, len(unit)) + 1))[:size]


def shapes(seed: int = 1) -> dict[str, Callable[[int], str]]:
    rng = random.Random(seed)
    printable = string.printable
    words = ["the", "answer", "is", "12", "=", "+", "Paris", "not", "yes", "no", ",", ".", "final", "\n", "**"]
    return {
        "equation line": lambda n: "x " + _fill("1 ", n - 8) + " = 12",
        "answer + spaces": lambda n: "Answer: a" + " " * (n - 9),
        "answer + spaces + word": lambda n: "Answer: a" + " " * (n - 11) + "xy",
        "numbers only": lambda n: _fill("1234 ", n),
        "markers": lambda n: _fill("the answer is ", n),
        "equals signs": lambda n: _fill("= ", n - 2) + "12",
        "random text": lambda n: "".join(rng.choice(printable) for _ in range(n)),
        "random words": lambda n: " ".join(rng.choice(words) for _ in range(n // 4)),
        "one long line of digits": lambda n: "9" * n,
        "spaces then newline": lambda n: " " * (n - 3) + "\n12",
    }


def one_grouping(reply: str) -> None:
    """One vote's grouping: the reply twice (two members sent it) and a short answer."""
    for remembered in (getattr(conclusions, "_concluded", None), conclusions.normalise):
        getattr(remembered, "cache_clear", lambda: None)()
    vote.tally([reply, "12", reply], ["a", "b", "c"], prompt=PROMPT)


def time_shape(make: Callable[[int], str], size: int, repeat: int) -> float:
    reply = make(size)
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        one_grouping(reply)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| shape | " + " | ".join(f"{s:,} chars" for s in args.sizes) + " |")
    print("|---|" + "---|" * len(args.sizes))
    for name, make in shapes().items():
        cells = [f"{time_shape(make, size, args.repeat) * 1000:.1f} ms" for size in args.sizes]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
