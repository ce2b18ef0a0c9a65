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
   "Answer: X" or `\\boxed{X}`; then, to a question that offers options, `choice`:
   the reply opens with one's letter ("A) 2^10 = 1024, which beats …").
2. `result`: the last line with a digit ends in one chain of arithmetic "= N"
   ("7 + 5 = 12"; never words between two equations).
3. `bare number`, `yes/no`, `choice`, `short answer`: a one-sentence reply, reduced
   as above ("A spider has 8 legs." for "How many legs does a spider have?" is 8).
4. `short answer`: in a longer reply, its first sentence when it answers outright
   with an amount, a letter or a name ("Canberra. It became the capital in 1913."),
   and its last sentence when it concludes with an amount ("So you pay $30.", "The
   sum is 927."); when
   both do and differ, or a later word may take the answer back, neither counts. A
   line ending with ":" introduces and never answers; to a question that asks two
   things no first sentence is the whole answer.
5. `same text`: the whole reply, normalised (case, spaces, outer punctuation).
   A reply that is one fenced code block is read by what the block holds.

To a question about what code prints, the output is compared as written
(`printed`): quotes, brackets, case and whitespace kept.

Parts longer than `answer_parts.LONGEST_PART` are compared whole, and of a reply
longer than `LONGEST_REPLY` only the end is read (for rule 1). Standard library
only, deterministic, linear in the reply's length.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from . import answer_parts, candidates, options, printed, quantities, remnants, yes_no_replies
from .asking import NO_PROMPT, PromptForm
from .tokens import flat_lines, stem, tokens
from .units import UNIT_OF

__all__ = ["NO_PROMPT", "RULES", "Conclusion", "PromptForm", "bare_number", "conclude", "named_unit", "normalise"]

RULES = ("stated answer", "result", "bare number", "yes/no", "choice", "short answer", "in a sentence", "same text")

# Punctuation stripped from both ends; signs, currency and % carry meaning and stay.
SURROUNDING = " \t\r\n.,;:!?\"'`*_()[]{}<>«»“”‘’„。、！？"

_NAME_PARTICLES = frozenset({"da", "de", "di", "del", "van", "von", "der", "den", "la", "le", "of", "the", "and",
                             "y", "bin", "al", "du", "des", "st"})
_LONGEST_LEAD = 8  # tokens an answer-first sentence may hold
LONGEST_REPLY = 20_000
"""Characters of a reply every rule reads; of a longer one only the last
`_LONG_REPLY_END` are read, for a final-answer line or a stated answer, so no reply
can make a vote slow (bench/matching_stall.py)."""
_LONG_REPLY_END = 4 * 2000
_LIST_LINE_RE = re.compile(r"^(?:[-*•] |[#>|]|\d+[.)] )")
_CONCLUDING = frozenset({"so", "therefore", "thus", "hence", "overall", "altogether", "total", "answer", "finally",
                         "sum", "result", "product", "difference", "quotient",
                         "after", "then", "now", "that", "this"})


@dataclass(frozen=True)
class Conclusion:
    """What a reply concludes: `kind` (number, range, date, list, yes/no, choice or
    text), `value` (the comparable form: "12", "8849 m", "yes", "B", "paris") and
    the `rule` that found it."""

    kind: str
    value: str
    rule: str

    @property
    def key(self) -> str:
        """The form answers are compared in: the kind keeps the number 12 apart from
        a text that reads "12"."""
        return f"{self.kind}:{self.value}"


@functools.lru_cache(maxsize=32)
def normalise(text: str) -> str:
    """Unicode-normalised, case-folded, whitespace collapsed, outer punctuation removed
    (remembered for the last few texts: a vote reads each answer more than once)."""
    text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().split()).strip(SURROUNDING)


def _reduce(part: str, form: PromptForm, rule: str) -> Conclusion:
    """A part's conclusion: its option letter, else what it commits to (`remnants`)."""
    picked = options.letter_set([t for t in tokens(part) if t.fold not in ".*_`!"], form)
    if picked is not None:
        return Conclusion("choice", picked, rule)
    letter = options.letter(part, form)
    if letter is not None:
        return Conclusion("choice", letter, rule if rule != "short answer" else "choice")
    found = remnants.read(part, form)
    return Conclusion(found.kind, found.value or normalise(part), rule)


def _lead(sentence: str, form: PromptForm, own_line: bool = False) -> Conclusion | None:
    """A longer reply's first sentence when it answers outright: an amount, date or
    letter, or a name ("Canberra.", "It was painted by Leonardo da Vinci."); a first
    line of its own needs no full stop ("**5**" above an explanation)."""
    if not own_line:
        ended = sentence.endswith((".", "!", ";"))
        if not ended or not any(t.kind == "word" for t in tokens(sentence)):
            return None
    found = _reduce(sentence, form, "short answer")
    if found.kind == "choice" or (found.kind == "printed" and len(found.value.split()) <= _LONGEST_LEAD):
        return found
    ts, _ = remnants.strip(remnants.content(tokens(remnants.without_asides(sentence, form))), form)
    ts = [t for t in ts if t.fold != ","]
    if not ts or len(ts) > _LONGEST_LEAD or found.kind in ("yes/no", "list"):
        return None
    if found.kind != "text":
        return found
    words = [t for t in ts if t.kind == "word"]
    named = all(t.raw[:1].isupper() or t.fold in _NAME_PARTICLES for t in words) and any(
        t.raw[:1].isupper() for t in words
    )
    return found if named and all(t.kind != "sym" for t in ts) else None


_ALIASES = {
    unit: frozenset(stem(a) for a, u in UNIT_OF.items() if u == unit and " " not in a and len(a) > 2)
    for unit in set(UNIT_OF.values())
}
_TYPED = frozenset({"number", "date", "time", "range", "interval", "ordinal", "list", "choice", "printed"})


def _clause(sentence: str, form: PromptForm) -> Conclusion | None:
    """What a sentence concludes after ", so" or "→", when that is an amount, date,
    range, list or letter ("…, so it prints `3.5`.")."""
    part = answer_parts.concluding(sentence)
    found = _reduce(part, form, "short answer") if part is not None else None
    if found is not None and found.kind in _TYPED:
        return found
    typed = candidates.read(part, form) if part is not None else None  # "…, so $31.25 remains."
    if typed is not None:
        return Conclusion(*typed, "in a sentence")
    if found is not None and form.code and 0 < len(found.value.split()) <= 2:  # "…, so it prints ell."
        return found
    solved = sentence.rpartition(": ")[2] if ": " in sentence else None  # "Divide by 2: 2 ≤ x ≤ 5."
    found = _reduce(solved, form, "short answer") if solved else None
    return found if found is not None and found.kind == "interval" else None


def _closing(sentence: str, form: PromptForm) -> Conclusion | None:
    """A longer reply's last sentence when it concludes with an amount: after ", so"
    or "→", or restating the question, or opening "So", "Therefore"… ("So you pay
    $30.")."""
    clause = _clause(sentence, form)
    if clause is not None:
        return clause
    found = remnants.read(sentence, form)
    opens = [t.fold for t in tokens(sentence)[:2]]
    typed = candidates.read(sentence, form) if found.kind == "text" and _CONCLUDING & set(opens) else None
    if typed is not None:  # "After selling 5, he has 31."
        return Conclusion(*typed, "in a sentence")
    if found.kind not in ("number", "date", "time", "range", "interval", "ordinal"):
        return None
    if found.restated or _CONCLUDING & set(opens):
        return Conclusion(found.kind, found.value, "short answer")
    return None


def _answered(sentence: str, form: PromptForm) -> Conclusion | None:
    """What a sentence answers to a yes/no question (`yes_no_replies`): the question
    restated or denied, "It does not."; for a claim asked about indirectly, the
    claim restated ("claim", never a bare yes)."""
    if form.yes_no:
        said = yes_no_replies.restated(sentence, form)
        return Conclusion("yes/no", said, "yes/no") if said is not None else None
    said = yes_no_replies.claimed(sentence, form) if form.claim else None
    return Conclusion("claim", said, "yes/no") if said is not None else None


def _emphasised(text: str, form: PromptForm) -> Conclusion | None:
    """The reply's one bold span, when it is an amount, date, range or letter."""
    span = answer_parts.bold(text)
    found = _reduce(span, form, "short answer") if span is not None else None
    return found if found is not None and found.kind in _TYPED - {"list"} else None


def _agreed(found: list[Conclusion | None]) -> Conclusion | None:
    """The one conclusion every rule that found one found; None when they differ."""
    present = [c for c in found if c is not None]
    return present[0] if present and all(c.key == present[0].key for c in present) else None


def _longer(said: list[str], lines: list[str], form: PromptForm) -> Conclusion | None:
    """Rule 4: the first and last sentences of a longer reply, and its one bold
    span, when those that conclude agree."""
    if _LIST_LINE_RE.match(lines[0]) or any(len(s) > answer_parts.LONGEST_PART for s in (said[0], said[-1])):
        return None
    first = None
    later = "\n".join(said[1:])
    if not (answer_parts.takes_back(later) or answer_parts.introduces(said[0]) or form.compound
            or (form.printed and printed.says_output(later))):
        first = _answered(said[0], form)
        first = first or _lead(said[0], form, own_line=said[0] == lines[0] and len(lines) > 1)
        typed = candidates.read(said[0], form) if first is None else None
        first = first or (Conclusion(*typed, "in a sentence") if typed is not None else None)
    last = _closing(said[-1], form) if not answer_parts.introduces(said[-1]) else None
    return _agreed([first, last, _emphasised("\n".join(lines), form)])


def _opening_choice(lines: list[str], form: PromptForm) -> Conclusion | None:
    """To a question that offers options, a reply that opens with one's letter picks
    it ("A) 2^10 = 1024, which beats 10^3 = 1000."), unless another line opens with
    another letter (it goes through the options) or a later word takes it back."""
    picked = options.opening(lines[0], form) if form.options else None
    if picked is None or answer_parts.takes_back("\n".join(lines)[len(lines[0]) :]):
        return None
    if any(options.opening(line, form) not in (None, picked) for line in lines[1:]):
        return None
    return Conclusion("choice", picked, "choice")


def _long_reply(text: str, form: PromptForm) -> Conclusion:
    """A reply longer than `LONGEST_REPLY`: only its end is read, for a final-answer
    line or a stated answer; else it is compared whole."""
    lines = flat_lines(text[-_LONG_REPLY_END:])
    part = (answer_parts.final_line(lines) or answer_parts.stated(lines)) if "```" not in text else None
    if part is not None and len(part) <= answer_parts.LONGEST_PART:
        return _reduce(part, form, "stated answer")
    return Conclusion("text", normalise(text), "same text")


def conclude(text: str, prompt: str = "", form: PromptForm | None = None) -> Conclusion:
    """What `text` concludes as an answer to `prompt` (the rules in the module
    docstring); `form` is the prompt already read, when grouping many replies. An
    amount in the unit the question names is read without it ("3600 seconds" for
    "How many seconds…" is 3600)."""
    return _concluded(text, form if form is not None else PromptForm.of(prompt))


def named_unit(form: PromptForm) -> str:
    """The one unit the question names ("How many seconds…": "s"), else "": an
    amount written without it is in it."""
    named = [unit for unit, aliases in _ALIASES.items() if aliases & set(form.ask)]
    if len(named) == 1:
        return named[0]
    return "" if named else form.implied_unit


@functools.lru_cache(maxsize=64)
def _concluded(text: str, form: PromptForm) -> Conclusion:
    """`conclude`, remembered for the last few replies (pure, so safe to reuse)."""
    found = _conclude(text, form)
    found = Conclusion(*candidates.as_asked(found.kind, found.value, form), found.rule)
    picked = options.by_text(tuple(found.value.split()), form) if found.kind in ("number", "text") else None
    if picked is not None:  # "7 × 8 = 56" to "…? A) 54 B) 56 C) 58" picks B
        return Conclusion("choice", picked, found.rule)
    if found.kind in ("number", "range") and found.value.count(" ") == 1:
        unit = found.value.rpartition(" ")[2]
        degrees = unit == "°" and named_unit(form) in ("°C", "°F")  # "32 degrees" to "… in Fahrenheit?"
        if unit in _ALIASES and (_ALIASES[unit] & set(form.ask) or unit == form.implied_unit or degrees):
            return Conclusion(found.kind, found.value.replace(f" {unit}", ""), found.rule)
    return found


def _conclude(text: str, form: PromptForm) -> Conclusion:
    if len(text) > LONGEST_REPLY:
        return _long_reply(text, form)
    lines = answer_parts.unfenced(flat_lines(text))
    whole = Conclusion("text", normalise("\n".join(lines) if lines else text), "same text")
    if form.printed:  # what code prints is compared as written (`printed`)
        fenced = printed.block(text)
        if fenced is not None:
            return Conclusion("printed", fenced, "short answer")
        whole = Conclusion("printed", printed.as_written(text), "same text")
        if printed.spaced(text):
            return whole
    if not lines or any("```" in line for line in lines):
        return whole
    part = answer_parts.final_line(lines)
    if part is not None and len(part) <= answer_parts.LONGEST_PART:
        return _reduce(part, form, "stated answer")
    if form.yes_no:
        opening = yes_no_replies.opening(lines)
        if opening is not None:
            return Conclusion("yes/no", opening, "yes/no")
    part = answer_parts.stated(lines)
    if part is not None:
        opening = yes_no_replies.opening([part]) if form.yes_no else None
        if opening:
            return Conclusion("yes/no", opening, "stated answer")
        return _reduce(part, form, "stated answer")
    picked = _opening_choice(lines, form)
    if picked is not None:
        return picked
    value = answer_parts.result(lines) if not form.printed else None
    if value is not None:
        return Conclusion("number", value, "result")
    if form.printed and (answer_parts.list_items(lines) or answer_parts.printed_lines(lines)):
        return whole  # "0" / "1" / "2": the output's lines, as written
    listed = answer_parts.list_items(lines) or (answer_parts.printed_lines(lines) if form.code else None)
    if listed is not None:
        found = _reduce(listed, form, "short answer")
        return found if found.kind in _TYPED else whole
    said = answer_parts.sentences(lines)
    if len(said) == 1 and len(said[0]) <= answer_parts.LONGEST_PART:
        decided = _answered(said[0], form)
        decided = decided or _agreed([_clause(said[0], form), _emphasised(said[0], form)])
        if decided is not None:
            return decided
        found = _reduce(said[0], form, "short answer")
        typed = candidates.read(said[0], form) if found.kind in ("text", "list") else None
        if typed is not None and typed != (found.kind, found.value):
            return Conclusion(*typed, "in a sentence")
        if found.kind == "number" and found.value == bare_number(said[0]):
            return Conclusion("number", found.value, "bare number")
        if found.kind == "yes/no" and found.value == whole.value:
            return Conclusion("yes/no", found.value, "yes/no")
        return whole if found.kind == "text" and found.value == whole.value else found
    if len(said) > 1:
        return _longer(said, lines, form) or whole
    return whole


def bare_number(text: str) -> str | None:
    """The amount a whole text is ("12", "$1200" for "$1,200", "12%" for "12
    percent", "8" for "eight"), else None: $12 and €12 are different answers."""
    if len(text) > answer_parts.LONGEST_PART:
        return None
    found = quantities.read([t for t in remnants.content(tokens(text)) if t.fold != ","])
    return found[1] if found is not None and found[0] == "number" else None
