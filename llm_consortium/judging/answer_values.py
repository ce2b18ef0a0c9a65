"""A reply's answer as one value of a kind: the number it concludes with, the option
letter it picks, its yes or no, and the part that states its answer. The `number`
and `choice` matchers and eval's scorers compare these; each reads the reply's
conclusion (`conclusions.conclude`) first and falls back to where a reply states a
number or a letter.
"""

from __future__ import annotations

from decimal import Decimal

from . import answer_parts, numbers, options
from .asking import PromptForm
from .conclusions import conclude
from .tokens import flat_lines, tokens

__all__ = ["choice_letter", "final_number", "stated_answer", "yes_no"]


def stated_answer(text: str) -> str | None:
    """The part of a reply that states its answer ("Final answer: X", "the answer is
    X", \\boxed{X}), or None when it states none."""
    lines = flat_lines(text)
    return answer_parts.final_line(lines) or answer_parts.stated(lines)


def final_number(text: str) -> str | None:
    """The number a reply concludes with, for `number` matching and eval's `number`
    scorer: its conclusion when that is a number (without unit or currency); else
    the last result after "="; else its stated answer's last number; else the last
    number it names."""
    concluded = conclude(text)
    if concluded.kind == "number":
        amount = concluded.value.lstrip("≈").split(" ")[0].replace("$", "").replace("€", "").replace("£", "")
        amount = amount.replace("¥", "").rstrip("%")
        top, slash, bottom = amount.partition("/")
        return numbers.canonical(str(Decimal(top) / Decimal(bottom))) if slash else amount
    lines = flat_lines(text)
    for line in reversed(lines):
        at = line.rfind("=")
        if at >= 0:
            found = numbers.find(line[at + 1 : at + 1 + numbers.MAX_CHARS + 4])
            if found:
                return found[0]
            break
    stated = stated_answer(text)
    found = numbers.find(stated) if stated is not None else []
    if found:
        return found[-1]
    for line in reversed(lines):
        found = numbers.find(line)
        if found:
            return found[-1]
    return None


def choice_letter(text: str, prompt: str = "") -> str | None:
    """The option letter (A to J) a reply picks, or None."""
    form = PromptForm.of(prompt)
    concluded = conclude(text, form=form)
    if concluded.kind == "choice" and len(concluded.value) == 1:
        return concluded.value
    stated = stated_answer(text)
    return options.letter(stated, form) if stated is not None else None


def yes_no(text: str) -> str | None:
    """"yes" or "no" when the reply (or its stated answer) opens with that word."""
    for part in (stated_answer(text), text):
        if part is not None:
            ts = [t for t in tokens(part[:200]) if t.kind != "sym"]
            if ts and ts[0].fold in ("yes", "no"):
                return ts[0].fold
    return None
