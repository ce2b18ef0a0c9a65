"""Which answers say the same thing: extract what each reply concludes, then group.

A vote counts conclusions, not wordings: "The answer is 12.", "7 + 5 = 12." and
"12" are one vote. `extract` finds what a reply concludes (its stated answer, a
final number, yes/no, an option letter, else its whole normalised text), and a
matcher groups replies by it. The pure matchers here (`auto`, `exact`, `number`,
`choice`) need no model; matchers that call models (`semantic`, `judge`) live in
the adapter and have the same shape: `await matcher.group(texts)`.

Standard library only, deterministic: the same answers in the same order always
give the same groups. The rules, with examples, are in docs/matching.md.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from ..settings_spec import BY_NAME, MODEL_MATCHING_MODES, PURE_MATCHING_MODES

PURE_MODES, MODEL_MODES = PURE_MATCHING_MODES, MODEL_MATCHING_MODES
MODES = PURE_MODES + MODEL_MODES

# Punctuation stripped from both ends; signs, currency and % carry meaning and stay.
SURROUNDING = " \t\r\n.,;:!?\"'`*_()[]{}<>«»“”‘’„"

# "Final answer: X", "**Answer:** X", "the answer is X", "X is the answer", \boxed{X}
_ANSWER_LINE_RE = re.compile(
    r"^[\s*_#>-]*(?:final\s+)?answer\s*[*_]*\s*[:：]\s*(?P<answer>.+?)\s*$", re.IGNORECASE
)
_MARKER_RE = re.compile(
    r"(?:\bfinal\s+answer|\banswer)\s*[*_]*\s*(?:[:：]|\bis\b|\bwould\s+be\b|\bshould\s+be\b|=)\s*[*_]*\s*"
    r"(?P<answer>[^\n]+)",
    re.IGNORECASE,
)
_BOXED_RE = re.compile(r"\\boxed\{(?P<answer>[^{}]+)\}")
_BOLD_RE = re.compile(r"\*\*(?P<answer>[^*\n]{1,60})\*\*")
_EQUALS_END_RE = re.compile(
    r"(?:=|\bequals\b|\bis\s+equal\s+to\b|\bmakes\b|\bgives\b)\s*(?P<answer>[^=\n]{1,40}?)[ \t.!]*$",
    re.IGNORECASE | re.MULTILINE,
)
_SENTENCE_END_RE = re.compile(r"(?<!\d)[.!?](?:\s|$)|[.!?](?=\s)|,\s+(?:which|because|since|as)\b", re.IGNORECASE)
_NUMBER_RE = re.compile(
    r"(?<![\w.])[-+−]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?(?:[eE][-+]?\d+(?![a-z]))?|(?<![\w.])[-+]?\.\d+"
)
_YES_NO_RE = re.compile(r"^(yes|no)\b", re.IGNORECASE)
_CHOICE_RES = [
    # "B", "(B)", "B)", "B.", "B: Paris", "**B**"
    re.compile(r"^[\s*_]*[(\[]?([A-J])[*_]*(?:[)\].:]|\s*$)"),
    # "the answer is (B)", "Answer: B", "option B", "choice (C)"
    re.compile(
        r"(?:answer(?:\s+is)?|option|choice)\s*[:：]?\s*[*_]*(?:[(\[]([A-J])[)\]]|((?-i:[A-J]))\b(?![’']))",
        re.IGNORECASE,
    ),
]
_LETTERS = "ABCDEFGHIJ"
_SHORT_WORDS = 12  # a reply this short that names numbers concludes with its last one

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_NUMBER_WORD = "|".join(sorted([*_UNITS, *_TENS, *_SCALES], key=len, reverse=True))
_NUMBER_WORDS_RE = re.compile(
    rf"\b(?:{_NUMBER_WORD})(?:(?:\s+|-|\s+and\s+)(?:{_NUMBER_WORD}))*\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Extracted:
    """What a reply concludes: `kind` (number, yes/no, choice or text) and `value`,
    the comparable form ("12", "yes", "B", or the normalised text)."""

    kind: str
    value: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"


def normalise(text: str) -> str:
    """Unicode-normalised, case-folded, whitespace collapsed, outer punctuation removed."""
    text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().split()).strip(SURROUNDING)


def final_answer(text: str) -> str:
    """The answer a reply states on its last line ("Final answer: X"), else the reply."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if lines:
        match = _ANSWER_LINE_RE.match(lines[-1])
        if match and match.group("answer").strip(SURROUNDING):
            return match.group("answer")
    return text


def _first_sentence(text: str) -> str:
    match = _SENTENCE_END_RE.search(text)
    return text[: match.start()] if match else text


def stated_answer(text: str) -> str | None:
    """The part of a reply that states its answer, or None when it states none:
    the last "answer: X" / "the answer is X" (to the end of that sentence), a
    \\boxed{X}, "= X" ending a line (the last such line), or the last short
    **bold** span."""
    text = unicodedata.normalize("NFKC", text).strip()
    found = [m for m in _MARKER_RE.finditer(text) if _first_sentence(m.group("answer")).strip(SURROUNDING)]
    if found:
        return _first_sentence(found[-1].group("answer")).strip(SURROUNDING)
    boxed = list(_BOXED_RE.finditer(text))
    if boxed:
        return boxed[-1].group("answer").strip()
    ends = [m.group("answer").strip(SURROUNDING) for m in _EQUALS_END_RE.finditer(text)]
    ends = [end for end in ends if end]
    if ends:  # the last line that ends "= X", so chatter after a sum does not hide it
        return ends[-1]
    bold = [m.group("answer").strip(SURROUNDING) for m in _BOLD_RE.finditer(text)]
    bold = [b for b in bold if b]
    return bold[-1] if bold else None


def _words_value(words: str) -> int | None:
    """The value of number words ("twenty-one", "one hundred and five"), else None."""
    total = current = 0
    for word in re.split(r"[\s-]+", words.casefold()):
        if word == "and":
            continue
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in _SCALES:
            total += (current or 1) * _SCALES[word]
            current = 0
        else:
            return None
    return total + current


def with_digits(text: str) -> str:
    """`text` with number words written as digits ("eight apples" -> "8 apples")."""

    def digits(match: re.Match[str]) -> str:
        value = _words_value(match.group(0))
        return str(value) if value is not None else match.group(0)

    return _NUMBER_WORDS_RE.sub(digits, text)


def canonical_number(token: str) -> str | None:
    """A number token in one form: separators dropped, trailing zeros gone
    ("1,200.50" -> "1200.5", "12.0" -> "12", "−3" -> "-3")."""
    try:
        value = Decimal(token.replace(",", "").replace("−", "-").lstrip("+"))
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def numbers(text: str) -> list[str]:
    """Every number in `text`, in order, in canonical form; number words count."""
    found = (canonical_number(m) for m in _NUMBER_RE.findall(with_digits(unicodedata.normalize("NFKC", text))))
    return [n for n in found if n is not None]


def final_number(text: str) -> str | None:
    """The number a reply concludes with, or None: the first number of its stated
    answer; else the only number it names, or the last one of a short reply."""
    stated = stated_answer(text)
    if stated is not None:
        found = numbers(stated)
        return found[0] if found else None
    found = numbers(text)
    if len(set(found)) == 1 or (found and len(with_digits(text).split()) <= _SHORT_WORDS):
        return found[-1]
    return None


def choice_letter(text: str) -> str | None:
    """The option letter (A to J) a reply picks, or None. A lone letter counts; a
    letter inside prose only after 'answer', 'option' or 'choice'."""
    text = unicodedata.normalize("NFKC", final_answer(text)).strip()
    bare = text.strip(" .:*_()[]")
    if len(bare) == 1 and bare.upper() in _LETTERS:
        return bare.upper()
    for pattern in _CHOICE_RES:
        matches = [m if isinstance(m, str) else "".join(m) for m in pattern.findall(text)]
        if matches:
            return matches[-1].upper()
    return None


def yes_no(text: str) -> str | None:
    """"yes" or "no" when the reply (or its stated answer) opens with that word."""
    for part in (stated_answer(text), text):
        if part is not None:
            match = _YES_NO_RE.match(normalise(part))
            if match:
                return match.group(1)
    return None


def extract(text: str) -> Extracted:
    """What a reply concludes, tried in this order: yes/no, an option letter, a
    final number, else its stated answer's or whole text, normalised."""
    answer = yes_no(text)
    if answer is not None:
        return Extracted("yes/no", answer)
    letter = choice_letter(text)
    if letter is not None:
        return Extracted("choice", letter)
    number = final_number(text)
    if number is not None:
        return Extracted("number", number)
    stated = stated_answer(text)
    return Extracted("text", normalise(stated if stated else final_answer(text)))


# ------------------------------------------------------------------- grouping

_TOKEN_RE = re.compile(r"[-+]?\d+(?:[.,]\d+)*|\w+")

SIMILARITY_CUTOFF = 0.75
"""Two texts whose word sets have a Jaccard similarity of at least this are one vote
(`auto`, text answers only). A reworded sentence of six or more words stays above it
("the capital of france is paris" / "paris is the capital city of france": 0.86);
short answers that differ in their one word of substance stay below it ("the answer
is blue" / "the answer is red": 0.6). Texts naming different numbers never match."""


def similarity(a: str, b: str) -> float:
    """How alike two normalised texts are, 0 to 1: Jaccard similarity of their word
    sets, except that texts naming different sets of numbers are never alike."""
    if a == b:
        return 1.0
    ta, tb = set(_TOKEN_RE.findall(a)), set(_TOKEN_RE.findall(b))
    if {t for t in ta if any(c.isdigit() for c in t)} != {t for t in tb if any(c.isdigit() for c in t)}:
        return 0.0
    union = ta | tb
    return len(ta & tb) / len(union) if union else 0.0


@dataclass(frozen=True)
class Cluster:
    """Answers counted as one (indexes into the answers grouped) and the extracted
    answer that made them a group, shown in the trace."""

    members: tuple[int, ...]
    label: str


@dataclass
class Grouping:
    """A matcher's result: the clusters, first-formed first, and the model calls the
    matching itself made as (model id, types.Outcome), counted in the run's usage."""

    clusters: list[Cluster]
    calls: list[tuple[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Matcher(Protocol):
    """How a vote decides that answers say the same thing."""

    mode: str

    async def group(self, answers: Sequence[str]) -> Grouping: ...


def clusters_by(labels: Sequence[str], same: Callable[[str, str], bool]) -> list[Cluster]:
    """Answer i joins the first cluster holding its label, else the first whose first
    label is `same` as its own (comparing with the first, not any member, stops
    chains of small steps from joining unlike answers), else starts one."""
    groups: list[list[int]] = []
    for i, label in enumerate(labels):
        home = next((g for g in groups if any(labels[j] == label for j in g)), None)
        if home is None:
            home = next((g for g in groups if same(labels[g[0]], label)), None)
        if home is None:
            groups.append([i])
        else:
            home.append(i)
    return [Cluster(tuple(g), labels[g[0]]) for g in groups]


@dataclass
class PureMatcher:
    """`auto`, `exact`, `number` (numbers within `tolerance` are one) or `choice`."""

    mode: str = "auto"
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in PURE_MODES:
            raise ValueError(f"matching must be one of {', '.join(MODES)}, got {self.mode!r}")
        if problem := BY_NAME["matching_tolerance"].problem(self.tolerance):
            raise ValueError(problem)

    def label(self, text: str) -> str:
        """The form answers are compared in, `kind:value`: the kind keeps a number
        apart from a text that happens to read the same."""
        if self.mode == "exact":
            return Extracted("text", normalise(text)).key
        if self.mode == "auto":
            return extract(text).key
        found = final_number(text) if self.mode == "number" else choice_letter(text)
        if found is None:
            return Extracted("text", normalise(final_answer(text))).key
        return Extracted("number" if self.mode == "number" else "choice", found).key

    def same(self, a: str, b: str) -> bool:
        """Whether two different labels still make one answer: numbers within the
        tolerance (`number`), alike texts (`auto`)."""
        (kind_a, value_a), (kind_b, value_b) = a.split(":", 1), b.split(":", 1)
        if kind_a != kind_b:
            return False
        if self.mode == "number" and kind_a == "number":
            return math.isclose(float(value_a), float(value_b), rel_tol=0, abs_tol=self.tolerance)
        return self.mode == "auto" and kind_a == "text" and similarity(value_a, value_b) >= SIMILARITY_CUTOFF

    def clusters(self, answers: Sequence[str]) -> list[Cluster]:
        labels = [self.label(text) for text in answers]
        found = clusters_by(labels, self.same)
        return [Cluster(c.members, shown(c.label)) for c in found]

    async def group(self, answers: Sequence[str]) -> Grouping:
        return Grouping(self.clusters(answers))


def shown(label: str) -> str:
    """A label as the trace shows it: the extracted answer without its kind."""
    return label.split(":", 1)[1]


AUTO = PureMatcher()
