"""What a reply concludes, and by which rule: the value answers are grouped by.

A conclusion is what a reply commits to, never what is left after deleting its
content. A rule finds the part of the reply that states its answer
(`answer_parts`); from that part's edges only a closed list of filler ("the", "it
is", "of course", `tokens.FILLER`) and a run of the question's own words in the
question's order (`asking`) may be dropped; every number, name and other word of
the part stays, and so does whatever follows a comma, "and", "or", "if" or "but".
What is left is read as one amount, date or range (`quantities`), yes/no, an
option letter, or else compared as its words. The rules, in order (the trace names
the one that applied; docs/matching.md has examples):

1. `stated answer`: the last line "Final answer: X"; then, for one plain yes/no
   question, `yes/no`: the reply opens "Yes," / "No." with no "but", "if", "only"…
   after it and nothing later taking it back; then the last "the answer is X",
   "Answer: X" or `\\boxed{X}`.
2. `result`: the last line with a digit ends in arithmetic "= N" ("7 + 5 = 12").
3. `bare number`, `yes/no`, `choice`, `short answer`: a one-sentence reply, reduced
   as above ("A spider has 8 legs." for "How many legs does a spider have?" is 8).
4. `short answer`: the first sentence of a longer reply when it answers the
   question outright with an amount or a name ("Canberra. It became the capital
   in 1913.") and nothing later takes it back.
5. `same text`: the whole reply, normalised (case, spaces, outer punctuation).

Parts longer than `answer_parts.LONGEST_PART` are compared whole. Standard library
only, deterministic, linear in the reply's length.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from . import answer_parts, numbers, quantities
from .asking import NO_PROMPT, PromptForm
from .tokens import APPROXIMATE, DROPPED_SYMBOLS, FILLER, LINKS, Token, flat_lines, stem, tokens

__all__ = [
    "NO_PROMPT", "RULES", "Conclusion", "PromptForm", "bare_number", "choice_letter", "conclude", "final_number",
    "normalise", "stated_answer", "yes_no",
]

RULES = ("stated answer", "result", "bare number", "yes/no", "choice", "short answer", "same text")

# Punctuation stripped from both ends; signs, currency and % carry meaning and stay.
SURROUNDING = " \t\r\n.,;:!?\"'`*_()[]{}<>«»“”‘’„。、！？"

_LETTERS = "ABCDEFGHIJ"
_QUALIFIERS = frozenset({
    "but", "if", "only", "unless", "although", "though", "however", "except", "partly", "partially", "sometimes",
    "depends", "mostly", "generally", "usually", "technically", "and", "or", "in", "for", "when",
})
_NAME_PARTICLES = frozenset({"da", "de", "di", "del", "van", "von", "der", "den", "la", "le", "of", "the", "and",
                             "y", "bin", "al", "du", "des", "st"})
_LONGEST_LEAD = 8  # tokens an answer-first sentence may hold


@dataclass(frozen=True)
class Conclusion:
    """What a reply concludes: `kind` (number, range, date, yes/no, choice or text),
    `value` (the comparable form: "12", "8849 m", "yes", "B", "paris") and the `rule`
    that found it."""

    kind: str
    value: str
    rule: str

    @property
    def key(self) -> str:
        """The form answers are compared in: the kind keeps the number 12 apart from
        a text that reads "12"."""
        return f"{self.kind}:{self.value}"


def normalise(text: str) -> str:
    """Unicode-normalised, case-folded, whitespace collapsed, outer punctuation removed."""
    text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().split()).strip(SURROUNDING)


def _content(ts: list[Token]) -> list[Token]:
    """The tokens that carry content: punctuation out, except a hyphen, colon or
    slash glued between two numbers ("0-65535", "3:00", "1/2")."""
    out = []
    for i, t in enumerate(ts):
        if t.kind == "sym" and t.fold in DROPPED_SYMBOLS:
            between = 0 < i < len(ts) - 1 and ts[i - 1].kind == ts[i + 1].kind == "num"
            if not (between and t.fold in "-–:/" and t.glued and ts[i + 1].glued):
                continue
        out.append(t)
    return out


def _droppable(t: Token, form: PromptForm) -> bool:
    return t.fold in FILLER or (form.approximate and t.fold in APPROXIMATE)


def _strip(ts: list[Token], form: PromptForm) -> tuple[list[Token], bool]:
    """The tokens without filler and a restated run of the question at either edge,
    and whether a restated run was dropped. A link ("by", "in") goes only between a
    restated run and the answer, or before a number; a word right before a number
    stays with it ("Python 3.10", "Apollo 11")."""
    start, ends, restated = 0, None, False
    while start < len(ts):
        t = ts[start]
        if _droppable(t, form) or (t.fold in LINKS and (restated or _number_at(ts, start + 1))):
            start += 1
            continue
        named = start + 1 < len(ts) and ts[start + 1].kind == "num" and t.kind == "word"  # "Python 3.10"
        run = form.run_ends(ends, stem(t.fold)) if t.kind != "sym" and not t.negation and not named else frozenset()
        if not run:
            break
        ends, restated, start = run, True, start + 1
    end, starts, outer = len(ts), None, False
    while end > start:
        t = ts[end - 1]
        link = (t.fold in LINKS and outer) or (t.fold == "of" and end < len(ts) and ts[end].fold == "course")
        if _droppable(t, form) or link:
            end -= 1
            continue
        run = form.run_starts(starts, stem(t.fold)) if t.kind != "sym" and not t.negation else frozenset()
        if not run:
            break
        starts, restated, outer, end = run, True, True, end - 1
    return ts[start:end], restated


def _number_at(ts: list[Token], i: int) -> bool:
    return i < len(ts) and (ts[i].kind == "num" or ts[i].fold in numbers.NUMBER_WORDS or ts[i].fold in "$€£¥")


def _choice(part: str, form: PromptForm) -> str | None:
    """The option letter a part is, or leads with: "B", "(b)", "B) Paris", "Option B";
    "B. Paris" only when the prompt lists options (so "A. Lincoln" is no letter)."""
    flat = part.strip().strip("*_ ")
    bare = flat.strip(".:")
    if len(bare) == 1 and bare in _LETTERS:
        return bare
    if len(bare) == 3 and bare[0] in "([" and bare[2] in ")]" and bare[1].upper() in _LETTERS:
        return bare[1].upper()
    if len(flat) > 2 and flat[0] in "([" and flat[2] in ")]" and flat[1].upper() in _LETTERS and flat[3:4] == " ":
        return flat[1].upper()
    if len(flat) >= 2 and flat[0] in _LETTERS and flat[1] in "):" and flat[2:3] in ("", " "):
        return flat[0]
    if len(flat) > 2 and flat[0] in form.options and flat[1] == "." and flat[2] == " ":
        return flat[0]
    words = bare.split()
    letter = words[1].strip("()").upper() if len(words) == 2 else ""
    if words[:1] and words[0].casefold() in ("option", "choice") and len(letter) == 1 and letter in _LETTERS:
        return letter
    return None


def _typed(remnant: list[Token], form: PromptForm) -> tuple[str, str] | None:
    """(kind, value) when the remnant is an amount, range, date, yes/no or letter."""
    found = quantities.read(remnant)
    if found is not None:
        return found
    if len(remnant) == 1 and remnant[0].fold in ("yes", "no"):
        return "yes/no", remnant[0].fold
    if len(remnant) == 1 and remnant[0].raw in form.options:
        return "choice", remnant[0].raw
    return None


def _reduce(part: str, form: PromptForm, rule: str) -> Conclusion:
    """A part's conclusion: its option letter, else what is left of it without
    filler and a restated question, read as an amount, yes/no or words."""
    letter = _choice(part, form)
    if letter is not None:
        return Conclusion("choice", letter, rule if rule != "short answer" else "choice")
    ts = _content(tokens(part))
    remnant, _ = _strip(ts, form)
    typed = _typed(remnant or ts, form)
    if typed is not None:
        return Conclusion(typed[0], typed[1], rule)
    return Conclusion("text", " ".join(t.fold for t in (remnant or ts)) or normalise(part), rule)


def _opening_yes_no(lines: list[str]) -> str | None:
    """"yes" or "no" when the reply opens with it, unqualified ("Yes, but…", "Yes,
    not always"), and takes nothing back."""
    ts = _content(tokens(lines[0][: answer_parts.LONGEST_PART]))
    if not ts or ts[0].fold not in ("yes", "no"):
        return None
    first = tokens(lines[0][:200])
    first = [t for t in first if t.fold not in ("*", "_", "#", ">")]
    if len(first) > 1 and not (first[1].kind == "sym" and first[1].fold in ",.!;:—–-"):
        return None  # "Yes and no", "No one knows"
    if len(ts) > 1 and (ts[1].fold in _QUALIFIERS or (ts[0].fold == "yes" and ts[1].negation)):
        return None
    other = "no" if ts[0].fold == "yes" else "yes"
    rest = answer_parts.sentences(lines)[1:]
    if answer_parts.takes_back("\n".join(lines)) or any(normalise(s).startswith(other) for s in rest):
        return None
    return ts[0].fold


def _answer_first(sentence: str, rest: str, form: PromptForm) -> Conclusion | None:
    """A longer reply's first sentence when it answers outright: an amount, date or
    letter, or a name ("Canberra.", "It was painted by Leonardo da Vinci.")."""
    if sentence.endswith(":") or answer_parts.takes_back(rest):
        return None
    ts = _content(tokens(sentence))
    remnant, _ = _strip(ts, form)
    if not remnant or len(remnant) > _LONGEST_LEAD:
        return None
    typed = _typed(remnant, form)
    if typed is not None and typed[0] != "yes/no":
        return Conclusion(typed[0], typed[1], "short answer")
    words = [t for t in remnant if t.kind == "word"]
    named = all(t.raw[:1].isupper() or t.fold in _NAME_PARTICLES for t in words) and any(
        t.raw[:1].isupper() for t in words
    )
    if typed is None and named and all(t.kind != "sym" for t in remnant):
        return Conclusion("text", " ".join(t.fold for t in remnant), "short answer")
    return None


def conclude(text: str, prompt: str = "", form: PromptForm | None = None) -> Conclusion:
    """What `text` concludes as an answer to `prompt` (the rules in the module
    docstring); `form` is the prompt already read, when grouping many replies."""
    form = form if form is not None else PromptForm.of(prompt)
    lines = flat_lines(text)
    whole = Conclusion("text", normalise(text), "same text")
    if not lines or "```" in text:
        return whole
    part = answer_parts.final_line(lines)
    if part is not None and len(part) <= answer_parts.LONGEST_PART:
        return _reduce(part, form, "stated answer")
    if form.yes_no:
        opening = _opening_yes_no(lines)
        if opening is not None:
            return Conclusion("yes/no", opening, "yes/no")
    part = answer_parts.stated(lines)
    if part is not None:
        opening = _opening_yes_no([part]) if form.yes_no else None
        return Conclusion("yes/no", opening, "stated answer") if opening else _reduce(part, form, "stated answer")
    value = answer_parts.result(lines)
    if value is not None:
        return Conclusion("number", value, "result")
    said = answer_parts.sentences(lines)
    if len(said) == 1 and len(said[0]) <= answer_parts.LONGEST_PART:
        found = _reduce(said[0], form, "short answer")
        if found.kind == "number" and found.value == bare_number(said[0]):
            return Conclusion("number", found.value, "bare number")
        if found.kind == "yes/no" and len(_content(tokens(said[0]))) == 1:
            return Conclusion("yes/no", found.value, "yes/no")
        return found if found.value != whole.value else whole
    if len(said) > 1 and len(said[0]) <= answer_parts.LONGEST_PART:
        lead = _answer_first(said[0], "\n".join(lines)[len(said[0]) :], form)
        if lead is not None:
            return lead
    return whole


def bare_number(text: str) -> str | None:
    """The amount a whole text is ("12", "$1200" for "$1,200", "12%" for "12
    percent", "8" for "eight"), else None: $12 and €12 are different answers."""
    if len(text) > answer_parts.LONGEST_PART:
        return None
    found = quantities.read(_content(tokens(text)))
    return found[1] if found is not None and found[0] == "number" else None


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
        amount = concluded.value.split(" ")[0].replace("$", "").replace("€", "").replace("£", "").replace("¥", "")
        return amount.rstrip("%")
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
    if concluded.kind == "choice":
        return concluded.value
    stated = stated_answer(text)
    return _choice(stated, form) if stated is not None else None


def yes_no(text: str) -> str | None:
    """"yes" or "no" when the reply (or its stated answer) opens with that word."""
    for part in (stated_answer(text), text):
        if part is not None:
            ts = _content(tokens(part[:200]))
            if ts and ts[0].fold in ("yes", "no"):
                return ts[0].fold
    return None
