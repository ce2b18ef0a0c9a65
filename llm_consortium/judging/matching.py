"""Which answers say the same thing: group replies by what each concludes.

A vote counts conclusions, not wordings: "The answer is 12.", "7 + 5 = 12." and
"12" are one vote. `conclusions.conclude` finds what a reply concludes (and by which
rule); a matcher groups replies by it. The pure matchers here (`auto`, `exact`,
`number`, `choice`) need no model; matchers that call models (`semantic`, `judge`)
live in the adapter and have the same shape: `await matcher.group(texts, prompt)`.

Standard library only, deterministic: the same answers in the same order always
give the same groups. The rules, with examples, are in docs/matching.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..settings_spec import BY_NAME, MODEL_MATCHING_MODES, PURE_MATCHING_MODES
from . import answer_parts, estimates, names, numbers
from .answer_values import choice_letter, final_number, stated_answer, yes_no
from .conclusions import Conclusion, PromptForm, conclude, named_unit, normalise

__all__ = [
    "AUTO", "MODES", "Cluster", "Conclusion", "Grouping", "Matcher", "PureMatcher", "canonical_number",
    "choice_letter", "conclude", "final_answer", "final_number", "normalise", "similarity", "stated_answer",
    "yes_no",
]

PURE_MODES, MODEL_MODES = PURE_MATCHING_MODES, MODEL_MATCHING_MODES
MODES = PURE_MODES + MODEL_MODES

canonical_number = numbers.canonical

def final_answer(text: str) -> str:
    """The answer a reply states on its last line ("Final answer: X"), else the reply:
    what `exact` and `semantic` compare, and a group's wording is chosen by."""
    found = answer_parts.final_line(answer_parts.flat_lines(text[-answer_parts.LONGEST_PART :]))
    return found if found is not None else text


# ------------------------------------------------------------------- grouping

_TOKEN_RE = re.compile(r"[-+]?\d+(?:[.,]\d+)*|\w+")


def similarity(a: str, b: str) -> float:
    """How alike two normalised texts are, 0 to 1 (Jaccard similarity of their word
    sets; texts naming different sets of numbers are never alike). It picks a
    group's most central wording; it never makes two answers one group, since
    "Paris is the capital" and "Paris is not the capital" are alike by it."""
    if a == b:
        return 1.0
    ta, tb = set(_TOKEN_RE.findall(a)), set(_TOKEN_RE.findall(b))
    if {t for t in ta if any(c.isdigit() for c in t)} != {t for t in tb if any(c.isdigit() for c in t)}:
        return 0.0
    union = ta | tb
    return len(ta & tb) / len(union) if union else 0.0


@dataclass(frozen=True)
class Cluster:
    """Answers counted as one (indexes into the answers grouped), the conclusion that
    made them a group (`label`, shown in the trace) and, aligned with `members`, what
    each answer was reduced to and by which rule."""

    members: tuple[int, ...]
    label: str
    reduced: tuple[Conclusion, ...] = ()


@dataclass
class Grouping:
    """A matcher's result: the clusters, first-formed first, and the model calls the
    matching itself made as (model id, types.Outcome), counted in the run's usage."""

    clusters: list[Cluster]
    calls: list[tuple[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Matcher(Protocol):
    """How a vote decides that answers say the same thing; `prompt` is the question
    they answer (its form and its own words decide what a reply concludes)."""

    @property
    def mode(self) -> str: ...

    async def group(self, answers: Sequence[str], prompt: str = "") -> Grouping: ...


def clusters_by(labels: Sequence[str], same: Callable[[str, str], bool]) -> list[list[int]]:
    """Answer i joins the first group holding its label, else the first whose every
    label is `same` as its own (comparing with every member, not any, stops chains
    of small steps from joining unlike answers: "Bush" never joins "George W. Bush"
    and "George H. W. Bush" into one group), else starts one."""
    groups: list[list[int]] = []
    for i, label in enumerate(labels):
        home = next((g for g in groups if any(labels[j] == label for j in g)), None)
        if home is None:
            home = next((g for g in groups if all(labels[j] == labels[g[0]] or same(labels[j], label) for j in g)
                         and same(labels[g[0]], label)), None)
        if home is None:
            groups.append([i])
        else:
            home.append(i)
    return groups


@dataclass
class PureMatcher:
    """`auto` (equal conclusions), `exact`, `number` (numbers within `tolerance` are
    one) or `choice`."""

    mode: str = "auto"
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in PURE_MODES:
            raise ValueError(f"matching must be one of {', '.join(MODES)}, got {self.mode!r}")
        if problem := BY_NAME["matching_tolerance"].problem(self.tolerance):
            raise ValueError(problem)

    def conclusion(self, text: str, form: PromptForm) -> Conclusion:
        """What this mode compares of a reply: the conclusion (`auto`), the whole
        normalised text (`exact`), the final number or the option letter."""
        if self.mode == "auto":
            return conclude(text, form=form)
        if self.mode == "exact":
            return Conclusion("text", normalise(text), "same text")
        found = final_number(text) if self.mode == "number" else choice_letter(text)
        if found is None:
            return Conclusion("text", normalise(final_answer(text)), "same text")
        return Conclusion(self.mode, found, self.mode)

    def same(self, a: str, b: str, form: PromptForm | None = None) -> bool:
        """Whether two different labels still make one answer: under `auto`, two
        amounts that are one quantity or one estimate (`estimates`); under `number`,
        numbers within the tolerance."""
        (kind_a, value_a), (kind_b, value_b) = a.split(":", 1), b.split(":", 1)
        if self.mode == "auto" and form is not None and kind_a == kind_b == "text":
            return names.same(value_a, value_b, form)
        if self.mode == "auto" and {kind_a, kind_b} == {"range", "interval"}:  # "0 to 255" is "[0, 255]"
            ranged, interval = (value_a, value_b) if kind_a == "range" else (value_b, value_a)
            low, _, high = ranged.partition("..")
            return " " not in ranged and interval == f"[{low},{high}]"
        if kind_a != kind_b or kind_a not in ("number", "range"):
            return False
        if self.mode == "auto" and form is not None:
            ends_a, ends_b = value_a.split(".."), value_b.split("..")
            return len(ends_a) == len(ends_b) and all(
                self._same_amount(x, y, form) for x, y in zip(ends_a, ends_b, strict=True)
            )
        if kind_a != "number":
            return False
        if self.mode != "number" or not self.tolerance:
            return False
        return math.isclose(float(value_a), float(value_b), rel_tol=0, abs_tol=self.tolerance)

    @staticmethod
    def _same_amount(a: str, b: str, form: PromptForm) -> bool:
        if form.asks_form and ("/" in a or "/" in b):  # "as a fraction": "1/8" is no "0.125"
            return False
        unit = named_unit(form)
        amount_a, amount_b = estimates.parse(a, unit), estimates.parse(b, unit)
        return amount_a is not None and amount_b is not None and estimates.same(
            amount_a, amount_b, form.approximate, exact=form.precise)

    def clusters(self, answers: Sequence[str], prompt: str = "") -> list[Cluster]:
        form = PromptForm.of(prompt)
        reduced = [self.conclusion(text, form) for text in answers]
        groups = clusters_by([c.key for c in reduced], lambda a, b: self.same(a, b, form))
        return [Cluster(tuple(g), reduced[g[0]].value, tuple(reduced[i] for i in g)) for g in groups]

    async def group(self, answers: Sequence[str], prompt: str = "") -> Grouping:
        return Grouping(self.clusters(answers, prompt))


AUTO = PureMatcher()


@dataclass
class Asking:
    """A matcher bound to the prompt its answers reply to, for callers that pass
    answers only (`structured.formats`): the prompt's form and words are part of
    what a reply concludes."""

    matcher: Matcher
    prompt: str

    @property
    def mode(self) -> str:
        return self.matcher.mode

    async def group(self, answers: Sequence[str], prompt: str = "") -> Grouping:
        return await self.matcher.group(answers, prompt or self.prompt)
