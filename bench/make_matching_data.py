"""Write the matching bench's questions (bench/data/sums.jsonl, bench/data/yesno.jsonl):
two-number sums, and yes/no questions (number comparisons, parity, and facts).

Deterministic (seeded), so the files can be rebuilt and checked: `python
bench/make_matching_data.py`. One JSON object a line, {"prompt", "expected"}, the
format `llm consortiums eval` reads.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

# (question, answer) facts a small model has a fair chance at; half yes, half no.
FACTS = [
    ("Is Paris the capital of France?", "yes"), ("Is Berlin the capital of Spain?", "no"),
    ("Is the sun a star?", "yes"), ("Is the moon a planet?", "no"),
    ("Do fish live in water?", "yes"), ("Can dogs fly?", "no"),
    ("Is water wet?", "yes"), ("Is ice hot?", "no"),
    ("Is a cat an animal?", "yes"), ("Is a rose an animal?", "no"),
    ("Does a week have seven days?", "yes"), ("Does a year have 13 months?", "no"),
    ("Is the sky blue on a clear day?", "yes"), ("Is grass usually red?", "no"),
    ("Do birds have feathers?", "yes"), ("Do snakes have legs?", "no"),
    ("Is Tokyo in Japan?", "yes"), ("Is London in Germany?", "no"),
    ("Is English a language?", "yes"), ("Is Python a kind of fruit?", "no"),
    ("Do humans need oxygen to live?", "yes"), ("Can people breathe under water without equipment?", "no"),
    ("Is the Pacific an ocean?", "yes"), ("Is the Sahara an ocean?", "no"),
    ("Is a triangle a shape with three sides?", "yes"), ("Does a square have five sides?", "no"),
    ("Is milk a drink?", "yes"), ("Is a chair something you eat?", "no"),
    ("Is the Earth round?", "yes"), ("Is the Earth flat?", "no"),
    ("Do plants need light to grow?", "yes"), ("Is snow black?", "no"),
    ("Is an apple a fruit?", "yes"), ("Is a carrot a fruit?", "no"),
    ("Is winter colder than summer?", "yes"), ("Is fire cold?", "no"),
    ("Is gold a metal?", "yes"), ("Is wood a metal?", "no"),
    ("Do cars have wheels?", "yes"), ("Do trees have wheels?", "no"),
]


def sums(rng: random.Random, count: int) -> list[dict[str, str]]:
    items = []
    for _ in range(count):
        a, b = rng.randint(1, 50), rng.randint(1, 50)
        items.append({"prompt": f"What is {a} + {b}? Reply with just the number.", "expected": str(a + b)})
    return items


def yes_no(rng: random.Random, count: int) -> list[dict[str, str]]:
    """Facts first, then generated comparisons and parity questions, alternating
    yes and no so neither answer wins by always being said."""
    items = [{"prompt": f"{q} Answer yes or no.", "expected": a} for q, a in FACTS]
    while len(items) < count:
        a, b = rng.sample(range(1, 100), 2)
        want_yes = len(items) % 2 == 0
        if rng.random() < 0.5:
            big, small = max(a, b), min(a, b)
            first, second = (big, small) if want_yes else (small, big)
            question = f"Is {first} greater than {second}?"
        else:
            n = a if (a % 2 == 0) == want_yes else a + 1
            question = f"Is {n} an even number?"
        items.append({"prompt": f"{question} Answer yes or no.", "expected": "yes" if want_yes else "no"})
    return items


def main() -> None:
    rng = random.Random(26)
    DATA.mkdir(exist_ok=True)
    for name, items in (("sums", sums(rng, 100)), ("yesno", yes_no(rng, 100))):
        with (DATA / f"{name}.jsonl").open("w") as out:
            out.writelines(json.dumps(item) + "\n" for item in items)


if __name__ == "__main__":
    main()
