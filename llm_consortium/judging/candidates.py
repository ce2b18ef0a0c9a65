"""The one answer of the kind a question asks for, in the sentence that answers it.

"When did the Titanic sink?" asks for a date, and "The RMS Titanic sank in the early
hours of 15 April 1912 after hitting an iceberg." holds exactly one: that date is
what the sentence commits to, whatever else it tells. The kinds (`asking`): a date
or year ("when", "what year"), a century or decade, an amount ("how many/much/far/
long/tall/old…"), a range ("between which…"), a version, and a name ("who",
"which/what …": a run of capitalised words, "Leonardo da Vinci").

Nothing is read when the sentence could mean something else:

* it holds a negation, a hedge ("maybe", "or", "if", "but"…) or second thoughts;
* it holds two candidates of the asked kind (two amounts that are one quantity side
  by side, "3,460 miles (5,570 km)" or "1 AU, about 1.5 × 10⁸ km", are one);
* a word before a candidate puts it in relation to something ("before 1912",
  "more than 8", "after Jupiter") or a word after it does ("10 years ago");
* before a copula, the subject is not the question's own words, a pronoun or the
  measure it asks for ("At the top, the vertical velocity is zero." answers
  nothing to "How high does it rise?");
* a name is one the question itself names ("Mona Lisa" for "Who painted the Mona
  Lisa?"), less the question's words at its edges ("Pacific Ocean" is "pacific"
  for "Which is the largest ocean?", as "The Pacific Ocean." is).

A candidate is read as `quantities` reads it, so "15 April 1912" and "April 15,
1912" meet; under "what year" a date is its year, under "which century" "1500s" is
the 16th.

Standard library only; linear in the sentence (windows of a few tokens).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from . import estimates, names, numbers, options, quantities
from .asking import PromptForm, asked_word
from .tokens import APPROXIMATE, ARTICLES, FILLER, LINKS, SECOND_THOUGHTS, Token, stem, tokens
from .units import FACTORS, UNIT_OF, named_in

__all__ = ["as_asked", "read"]

_HEDGES = frozenset({
    "maybe", "perhaps", "possibly", "might", "unclear", "uncertain", "disputed", "debated", "unknown", "if",
    "unless", "whether", "either", "or", "though", "although", "but", "except", "instead", "rather", "alternatively",
    "sometimes", "depends", "depending", "unsure", "guess", "<", ">", "≤", "≥", "≠", }) | SECOND_THOUGHTS
"""Words and signs that make a sentence say more than one thing, or work a sum out."""
_BEFORE = frozenset({
    "before", "after", "until", "till", "since", "than", "over", "under", "nearly", "almost", "least", "most",
    "up", "within", "beyond", "past", "early", "late", "mid", "besides", "unlike", "like", "not", "from", "to",
    "below", "above", "exceeding", "around", "circa", "about", "approximately", "roughly", "c", "ca", "per",
    "every", "each", "times", "minus", "plus", "and", "vs", "versus", "by",
})
"""Words that put a candidate in relation to something when right before it ("more
than 8", "after 1912"). "by" only before an amount or date: "painted by" names."""
_NAME_LINKS = _BEFORE - {"by"}
_AFTER = frozenset({"ago", "earlier", "later", "prior", "older", "younger", "more", "less", "fewer", "times", "or",
                    "per", "than", "before", "after"})
_AFTER_DATE = frozenset({"ago", "earlier", "later", "or", "onwards", "onward"})
"""Words that relate a candidate when right after it ("10 years ago"); after a date
"before" and "after" open another clause ("15 April 1912 after hitting an iceberg")."""
_OPERATORS = frozenset({"+", "×", "÷", "−"})
_ADDING = frozenset({"and", "also", "plus"})
"""Words that open a bracket adding a second answer, never context."""
_COPULAS = frozenset({"is", "are", "was", "were", "be", "been", "equals", "=", "takes", "took", "lasts", "lasted",
                      "weighs", "weighed", "costs", "cost", "measures", "measured", "stands", "stood", "covers",
                      "contains", "holds", "reaches", "reached", "spans", "totals", "needs", "need", "requires",
                      "comes", "amounts", "has", "have", "had"})
"""Verbs that link what is measured to its measure ("The journey takes 2 h 30 min")."""
_PRONOUNS = frozenset({"it", "he", "she", "they", "we", "this", "that", "there", "you"})
_SAYS_NOTHING = (FILLER | LINKS | ARTICLES) - {"and"}
_CONTEXT = frozenset({"after", "before", "when", "while", "during", "because", "since", "including", "according",
                      "which", "who", "where", "whose", "until", "based", "released", "located", "aged", "near",
                      "probably", "each", "every", "now", "today", "exactly", "precisely", "remain", "remains",
                      "remaining", "left"}) | APPROXIMATE
"""Words that open context after an answer ("…, released in 2008", "…, aged 96")."""
_AFTER_COMMA = LINKS | _CONTEXT
_ERAS = {"bc": -1, "bce": -1, "ad": 1, "ce": 1}
_SIDE_BY_SIDE = frozenset({"(", ",", "=", "≈", "~", "—", "–", "-", "/", "["})
_STARTS = numbers.NUMBER_WORDS | names.MONTHS | APPROXIMATE | quantities.ORDINAL_WORDS | frozenset({
    "$", "€", "£", "¥", "minus", "negative", "between", "from", "half", "quarter", "a", "dozen",
})
_WINDOW = 8
_LONGEST_SENTENCE = 400
_METRIC = frozenset({"m", "km", "cm", "mm", "kg", "g", "mg", "t", "l", "ml", "°C", "K", "m^2", "km^2", "cm^2",
                     "m^3", "cm^3", "km/h", "m/s", "J", "W", "kW", "s", "min", "h"})
_DIMENSIONS = {"far": "length", "tall": "length", "high": "length", "deep": "length", "wide": "length",
               "distance": "length", "height": "length", "length": "length", "width": "length", "depth": "length",
               "heavy": "mass", "weigh": "mass", "weight": "mass", "mass": "mass", "fast": "speed", "speed": "speed",
               "hot": "temperature", "cold": "temperature", "temperature": "temperature", "area": "area",
               "volume": "volume", "old": "time", "age": "time", "duration": "time"}
_DIMENSION_OF = {stem(word): dimension for word, dimension in _DIMENSIONS.items()}
_YEAR_LINKS = frozenset({"in", "of", "since", "by", "from", "until", "during", "year", "around", "circa"})
_DECADE_WORDS = ("twenties", "thirties", "forties", "fifties", "sixties", "seventies", "eighties", "nineties")
"""Under "which decade", "the sixties" is the 1960s."""
_CENTURY_RE = re.compile(r"^(\d{1,2})00s$")


class _Found:
    """A candidate: its kind and value, and where it lies in the sentence's tokens."""

    def __init__(self, kind: str, value: str, start: int, end: int) -> None:
        self.kind, self.value, self.start, self.end = kind, value, start, end


def _year(ts: Sequence[Token], i: int) -> tuple[str, int] | None:
    """A year at token i ("1912", "44 BCE", "AD 79") and the tokens it takes."""
    t = ts[i]
    if t.fold in _ERAS and i + 1 < len(ts) and ts[i + 1].kind == "num" and ts[i + 1].raw.isdecimal():
        return f"{int(ts[i + 1].raw) * _ERAS[t.fold]:05d}" if _ERAS[t.fold] < 0 else f"{int(ts[i + 1].raw):04d}", 2
    if t.kind != "num" or not t.raw.isdecimal() or len(t.raw) > 4:
        return None
    era = ts[i + 1].fold.replace(".", "") if i + 1 < len(ts) else ""
    if era in _ERAS:
        return (f"{-int(t.raw):05d}" if _ERAS[era] < 0 else f"{int(t.raw):04d}"), 2
    before = ts[i - 1].fold if i > 0 else ""
    if len(t.raw) == 4 and 1000 <= int(t.raw) <= 2999 and (before in _YEAR_LINKS or before in ("(", "'") or i == 0):
        return f"{int(t.raw):04d}", 1
    return None


def _typed(ts: Sequence[Token], i: int) -> tuple[str, str, int] | None:
    """The longest amount, date or range starting at token i: (kind, value, length)."""
    if ts[i].kind != "num" and ts[i].fold not in _STARTS:
        return None
    year = _year(ts, i)
    for width in range(min(_WINDOW, len(ts) - i), 0, -1):
        window = ts[i : i + width]
        if any(t.fold in "()[]" for t in window) or (window[-1].kind == "sym" and window[-1].fold not in "%$€£¥"):
            continue
        found = quantities.read(window)
        if found is not None:
            if year is not None and found[0] == "number" and width <= year[1]:
                return "year", year[0], year[1]
            return found[0], found[1], width
    if year is not None:
        return "year", year[0], year[1]
    return None


def _amounts(ts: Sequence[Token], form: PromptForm) -> list[_Found]:
    found, i = [], 0
    while i < len(ts):
        if form.expects == "decade" and ts[i].fold in _DECADE_WORDS:  # "the sixties"
            found.append(_Found("decade", f"19{_DECADE_WORDS.index(ts[i].fold) + 2}0s", i, i + 1))
            i += 1
            continue
        if form.expects == "weekday" and ts[i].fold in names.WEEKDAYS:
            found.append(_Found("text", ts[i].fold, i, i + 1))
            i += 1
            continue
        typed = _typed(ts, i)
        if typed is None:
            i += 1
            continue
        found.append(_Found(typed[0], typed[1], i, i + typed[2]))
        i += typed[2]
    return found


def _preferred(a: _Found, b: _Found) -> _Found:
    """Of one quantity written twice, the metric one (else the first)."""
    unit_b = b.value.rpartition(" ")[2]
    return b if unit_b in _METRIC and a.value.rpartition(" ")[2] not in _METRIC else a


def _side_by_side(ts: Sequence[Token], found: list[_Found], form: PromptForm) -> list[_Found]:
    """Two amounts in a row that are one quantity ("3,460 miles (5,570 km)") as one."""
    out: list[_Found] = []
    for f in found:
        last = out[-1] if out else None
        gap = ts[last.end : f.start] if last is not None else []
        if (last is not None and last.kind == f.kind == "number" and all(t.fold in _SIDE_BY_SIDE for t in gap)
                and not _given(last, form) and not _given(f, form)):
            a, b = estimates.parse(last.value), estimates.parse(f.value)
            if a is not None and b is not None and estimates.same(a, b, estimate=True, loose=True):
                kept = _preferred(last, f)
                out[-1] = _Found("number", kept.value, last.start, f.end)
                continue
        out.append(f)
    return out


def _dimension(form: PromptForm, value: str) -> bool:
    """Whether an amount can answer the question: of the dimension it asks for, or
    with no unit."""
    wanted = {_DIMENSION_OF[w] for w in form.ask if w in _DIMENSION_OF}
    if len(wanted) != 1:
        return True
    unit = value.rpartition(" ")[2] if " " in value else ""
    return not unit or FACTORS.get(unit, ("",))[0] in wanted


def _of_kind(found: list[_Found], form: PromptForm) -> list[_Found]:
    kind = form.expects
    if kind in ("date", "year"):
        return [f for f in found if f.kind in ("date", "year")]
    if kind == "amount":
        return [f for f in found if f.kind == "number" and _dimension(form, f.value)]
    if kind == "range":
        return [f for f in found if f.kind == "range"]
    if kind in ("time", "weekday"):
        return [f for f in found if f.kind == ("time" if kind == "time" else "text")]
    if kind in ("century", "decade"):
        return [f for f in found if f.kind in ("ordinal", "decade")]
    if kind == "version":
        return [f for f in found if f.kind == "number" and " " not in f.value and not f.value.startswith("≈")]
    return []


def _before(ts: Sequence[Token], f: _Found) -> int:
    """Where the word right before a candidate is (articles and brackets skipped), -1
    when none."""
    i = f.start - 1
    while i >= 0 and (ts[i].fold in ARTICLES or ts[i].fold in ("*", "_", "`", "(")):
        i -= 1
    return i


def _free(ts: Sequence[Token], f: _Found, before: frozenset[str]) -> bool:
    """No word right before or after the candidate relates it to something else."""
    i = _before(ts, f)
    after = ts[f.end].fold if f.end < len(ts) else ""
    return (i < 0 or ts[i].fold not in before) and after not in (_AFTER_DATE if f.kind in ("date", "year") else _AFTER)


def _said(t: Token, form: PromptForm) -> bool:
    """A word that says nothing of its own around an answer: filler, a link, the
    question's own words, a weekday before a date ("Monday, 15 April 1912")."""
    weekday = t.fold in names.WEEKDAYS and form.expects in ("date", "year")
    symbol = t.kind == "sym" and t.fold not in "+-−×÷="
    return symbol or t.fold in _SAYS_NOTHING or stem(t.fold) in form.ask or weekday


def _placed(ts: Sequence[Token], f: _Found, form: PromptForm) -> bool:
    """Whether the candidate is the whole answer of its clause: before it only the
    question restated and filler (or a clause ending in a link: "sank in the early
    hours of 15 April 1912"; "It stands 330 m"), after it the question's words,
    filler, a link or punctuation, and after a comma no other item ("Jupiter, the
    gas giant" keeps its appositive; "Vatican City, at about 0.44 km²" does not)."""
    start = f.start
    if start and form.expects == "version" and stem(ts[start - 1].fold) in form.ask:
        start -= 1  # the product the question names, before its version number ("Python 3.6")
    if f.kind == "range" and ts[f.start].fold in ("between", "from"):
        start = 0  # "√50 lies between 7 and 8": the range says how it relates
    before = [t for t in ts[:start] if t.fold not in ("*", "_", "`") and t.fold not in names.TITLES]
    pronoun_verb = len(before) >= 2 and before[0].fold in _PRONOUNS and all(_said(t, form) for t in before[2:])
    last = next((t.fold for t in reversed(before) if t.fold not in ARTICLES and t.fold not in APPROXIMATE), "")
    opening = before and before[0].fold in LINKS
    fronted = next((k for k in range(len(before)) if before[k].fold == ","), -1) if opening else -1
    if fronted >= 0:  # "As of 2024, Saturn has…", "In 1969, …": an opening phrase, then the clause
        before = before[fronted + 1 :]
    symbol = 0 < len(before) <= 3 and all(len(t.raw) == 1 and t.kind == "word" for t in before)  # "m_p ≈ 1.673…"
    if before and not (all(_said(t, form) for t in before) or pronoun_verb or symbol or last in LINKS
                       or (last in _COPULAS and _asked_subject(before, last, form))):
        return False
    j = f.end
    while j < len(ts) and ts[j].fold in (")", "]"):
        j += 1
    if j >= len(ts):
        return True
    if ts[j].fold in (",", ";", ":"):
        fronted = len(before) == 1 and before[0].fold in LINKS  # "On July 20, 1969, Armstrong landed."
        return fronted or j + 1 >= len(ts) or _opens_context(ts[j + 1])
    if ts[j].fold == "and":  # "… by Jane Austen and published in 1813": a second predicate
        verb = ts[j + 1].raw if j + 1 < len(ts) else ""
        return verb.isalpha() and verb.islower() and verb.endswith("ed")
    return ts[j].kind == "sym" or ts[j].fold in _SAYS_NOTHING | _CONTEXT or stem(ts[j].fold) in form.words


def _asked_subject(before: Sequence[Token], copula: str, form: PromptForm) -> bool:
    """Whether what stands before the copula is the question's own words or a
    pronoun ("It is", "The height is", "Mars has"): "At the top, the vertical velocity
    is zero." answers something else than "How high does it rise?"."""
    at = max(i for i, t in enumerate(before) if t.fold == copula)
    subject = before[1:at] if before and before[0].fold in _PRONOUNS else before[:at]
    units = named_in([t.fold for t in subject])  # "Five kilometres is …" to "Convert 5 km to miles."
    wanted = {_DIMENSION_OF[w] for w in form.ask if w in _DIMENSION_OF}  # "The distance is …" to "How far…?"
    return all(_said(t, form) or asked_word(t.fold) in form.numbers or units.get(i, "") in form.units
               or _DIMENSION_OF.get(stem(t.fold), "") in wanted for i, t in enumerate(subject))


def _applied(ts: Sequence[Token], f: _Found) -> bool:
    """Whether a bracket is glued to the candidate's end: notation ("O(log n)",
    "f(x)", "Fe(OH)3"), of which the candidate is only the first letters."""
    return f.end < len(ts) and ts[f.end].fold in ("(", "[") and ts[f.end].glued


def _bracketed(ts: Sequence[Token], f: _Found) -> bool:
    """Whether a candidate stands inside brackets ("(1 km = 0.6214 mi)"), as context:
    a bracket opening with "and", "also" or "plus" adds a second answer ("The 16th
    century (and early 17th)")."""
    depth, opened = 0, -1
    for k, t in enumerate(ts[: f.start]):
        if t.kind == "sym" and t.fold in "([":
            depth, opened = depth + 1, k
        elif t.kind == "sym" and t.fold in ")]":
            depth -= 1
    return depth > 0 and ts[opened + 1].fold not in _ADDING


def _opens_context(t: Token) -> bool:
    """A word that opens context after a comma: a link, "which", "aged", a participle
    ("…, having overtaken China", "…, released in 2008"); never a second item."""
    participle = t.kind == "word" and t.raw.islower() and len(t.raw) > 4 and t.fold.endswith(("ing", "ed"))
    return t.fold in _AFTER_COMMA or participle


def _given(f: _Found, form: PromptForm) -> bool:
    """An amount the prompt gives: one of its numbers, or one of a unit it names
    ("one hour" for "… in an hour?")."""
    number, _, unit = f.value.lstrip("≈").partition(" ")
    return f.kind == "number" and (number in form.numbers or (
        number == "1" and any(stem(alias) in form.ask for alias, u in UNIT_OF.items() if u == unit)))


def _joins(ts: Sequence[Token], i: int) -> bool:
    """A minus between two numbers ("8 - 3"), a sum ("7 + 5", never "1.5 × 10⁸"),
    or ", and" opening a second clause."""
    if ts[i].fold in _OPERATORS:
        return not (ts[i].fold == "×" and i + 2 < len(ts) and ts[i + 1].raw == "10" and ts[i + 2].fold == "^")
    if ts[i].fold == "-" and 0 < i < len(ts) - 1 and ts[i - 1].kind == ts[i + 1].kind == "num":
        return not (ts[i].glued and ts[i + 1].glued)
    return ts[i].fold == "and" and i > 0 and ts[i - 1].fold in (",", ";")


def _number_sign(ts: Sequence[Token], i: int) -> bool:
    """"No. 4" is a number, not a negation."""
    return ts[i].fold == "no" and i + 2 < len(ts) and ts[i + 1].fold == "." and ts[i + 2].kind == "num"


def read(sentence: str, form: PromptForm) -> tuple[str, str] | None:
    """(kind, value) of the one candidate of the asked kind in the sentence, as the
    module docstring says; None when there is not exactly one, or one is not free."""
    if not (form.expects or form.options) or form.yes_no or len(sentence) > _LONGEST_SENTENCE:
        return None
    ts = [t for t in tokens(sentence) if t.fold not in ("*", "_", "`", "#")]
    if any(t.fold in _HEDGES or _joins(ts, i) or (t.negation and not _number_sign(ts, i) and t.fold not in form.quoted)
           for i, t in enumerate(ts)):
        return None
    if form.options:
        picked = options.named(ts, form)
        return ("choice", picked) if picked is not None else None
    if form.expects == "name":
        found = [_Found("text", value, start, end) for value, start, end in names.in_sentence(ts, form)]
        relations = _NAME_LINKS
    else:
        found = _of_kind(_side_by_side(ts, _amounts(ts, form), form), form)
        if form.expects == "version":  # as written: "3.10" is no 3.1
            found = [_Found(f.kind, ts[f.start].raw, f.start, f.end) for f in found if ts[f.start].kind == "num"]
        relations = _BEFORE - APPROXIMATE if form.approximate else _BEFORE
    if found:  # what follows ", in …", ", aged …", " — " or in brackets after the first candidate is context
        cut = next((k for k in range(found[0].end, len(ts) - 1)
                    if (ts[k].fold == "," and _opens_context(ts[k + 1]))
                    or (ts[k].fold in ("—", "–") and ts[k + 1].fold not in _ADDING)), len(ts))
        found = [f for f in found if f.start < cut and not (f is not found[0] and _bracketed(ts, f))]
    if not all(_free(ts, f, relations) and not _applied(ts, f) for f in found):
        return None
    if form.expects not in ("name", "version") and len(found) > 1:  # the amounts the prompt gives are no answer
        found = [f for f in found if not _given(f, form)]
    if len({(f.kind, f.value) for f in found}) != 1:  # "a dozen eggs (12)" says 12 once
        return None
    if not all(_placed(ts, f, form) for f in found):
        return None
    return as_asked(found[0].kind, found[0].value, form)


def as_asked(kind: str, value: str, form: PromptForm) -> tuple[str, str]:
    """A conclusion in the form the question asks for: under "what year" a date or a
    bare year is its year, under "which century" "1500s" is "16th", a version is
    written without trailing zeros ("3.0" is "3")."""
    year = re.fullmatch(r"(-?\d{4})(?:-\d\d){0,2}", value) if kind in ("date", "year", "number") else None
    if form.expects == "year" and year is not None:
        return "date", year.group(1)
    if kind == "year":
        return "date", value
    the_year = re.fullmatch(r"(?:the )?year (\d{3,4})", value) if kind == "text" else None
    if form.expects in ("year", "date") and the_year is not None:  # "The year 2000."
        return "date", f"{int(the_year.group(1)):04d}"
    between = re.fullmatch(r"[\[(](-?[\d.]+),(-?[\d.]+)[\])]", value) if kind == "interval" else None
    if form.expects == "range" and between is not None:  # "4 < √20 < 5" to "Between which two…?"
        return "range", f"{between.group(1)}..{between.group(2)}"
    ends = value.split(" | ") if kind == "list" and form.expects == "range" else []
    if len(ends) == 2 and all(numbers.canonical(e) == e for e in ends) and float(ends[0]) < float(ends[1]):
        return "range", f"{ends[0]}..{ends[1]}"  # "7 and 8" to "Between which two integers…?"
    if form.expects == "century" and kind == "decade":
        century = _CENTURY_RE.match(value)
        if century is not None:
            return "ordinal", f"{int(century.group(1)) + 1}th"
    if form.expects == "decade" and kind == "text" and value in _DECADE_WORDS:
        return "decade", f"19{_DECADE_WORDS.index(value) + 2}0s"
    if form.expects == "century" and kind == "ordinal":
        return "ordinal", value.removesuffix(" century")
    if form.expects == "version" and kind == "number":
        return "version", re.sub(r"(?:\.0+)+$", "", value)
    return kind, value
