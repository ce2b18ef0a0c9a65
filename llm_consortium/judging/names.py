"""Names in a sentence, and when two names are one answer though written differently.

A name is a run of capitalised words ("Leonardo da Vinci", "CO2"), less the
question's own words at its edges ("Pacific Ocean" is "pacific" for "Which is the
largest ocean?"); months, weekdays, titles and words that open a sentence without
naming anything ("The", "In") are none.

"Einstein" and "Albert Einstein" are one answer to "Who developed general
relativity?": to a question about a person, a surname alone names the person a
longer answer names in full. "Mount Everest" and "Everest", "the Nile River" and
"the Nile", "the Sahara Desert" and "the Sahara" are one place: a closed list of
words that only say what kind of place it is may be missing. Nothing else: a
given name ("Leonardo") never meets a full name, "Mexico City" never meets
"Mexico", and two full names never meet because their surnames do.

The matcher compares every member of a group, so "Bush" joins "George W. Bush" or
"George H. W. Bush", never both.

Standard library only; linear in a sentence, constant time per pair.
"""

from __future__ import annotations

from collections.abc import Sequence

from .asking import PromptForm
from .tokens import ARTICLES, FILLER, LINKS, NEGATIONS, Token, stem

__all__ = ["MONTHS", "TITLES", "WEEKDAYS", "in_sentence", "same"]

_OPENERS = FILLER | LINKS | ARTICLES | NEGATIONS | frozenset({
    "yes", "no", "after", "before", "since", "during", "according", "although", "because", "while", "when",
    "if", "as", "both", "all", "most", "some", "many", "each", "every", "one", "only", "also", "then", "today",
    "currently", "traditionally", "originally", "technically", "officially", "historically", "botanically",
    "generally", "usually", "approximately", "about", "around", "roughly", "note", "in", "on", "at", "for",
})
"""Capitalised words that open a sentence without naming anything."""
_PARTICLES = frozenset({"da", "de", "di", "del", "van", "von", "der", "den", "la", "le", "of", "du", "des", "y",
                        "bin", "al", "st", "the"})
WEEKDAYS = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"})
TITLES = frozenset({"sir", "dame", "dr", "mr", "mrs", "ms", "prof", "professor"})
MONTHS = frozenset({"january", "february", "march", "april", "may", "june", "july", "august", "september",
                    "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
                    "sept", "oct", "nov", "dec"})
_ABBREVIATED = frozenset({"mt", "st", "ft", "jr", "sr"})
"""Words written short with a full stop inside a name: "Mt. Everest", "St. Louis"."""
_KIND_OF_PLACE = frozenset({"mount", "mt", "river", "ocean", "desert", "lake"})
_LONGEST_NAME = 4
_NOT_NAMES = FILLER | LINKS | NEGATIONS


def in_sentence(ts: Sequence[Token], form: PromptForm) -> list[tuple[str, int, int]]:
    """Runs of capitalised words ("Leonardo da Vinci"), less the question's own words
    at their edges; none the question itself names, none opening the sentence
    without naming ("The", "In"): each as (its words, where it starts, where it ends).
    A capitalised word opening the sentence names only when a verb or the
    question's own word follows ("France won…", never "Carbon dioxide")."""
    found: list[tuple[str, int, int]] = []
    i = 0
    while i < len(ts):
        t = ts[i]
        if (t.kind != "word" or not t.raw[:1].isupper() or (i == 0 and t.fold in _OPENERS) or t.fold in ARTICLES
                or t.fold in MONTHS or t.fold in WEEKDAYS or t.fold in TITLES):
            i += 1
            continue
        end = i + 1
        while end < len(ts) and (
            (ts[end].glued and ts[end].kind != "sym")
            or (ts[end].fold == "." and end + 1 < len(ts) and ts[end + 1].raw[:1].isupper()
                and ((len(ts[end - 1].raw) == 1 and ts[end - 1].raw.isupper()) or ts[end - 1].fold in _ABBREVIATED))
            or (ts[end].kind == "word" and (ts[end].raw[:1].isupper() or (
                ts[end].fold in _PARTICLES and end + 1 < len(ts) and ts[end + 1].raw[:1].isupper())))
        ):
            end += 1
        if i == 0 and end == 1 and len(ts) > 1 and ts[1].kind == "word" and not (
                ts[1].fold in FILLER or stem(ts[1].fold) in form.ask):
            i = end  # "Carbon dioxide", "Hydrogen and oxygen": capitalised as the sentence opens
            continue
        words: list[str] = []
        for w in ts[i:end]:  # "CO2" is one word
            if w.fold == ".":
                continue
            if w.glued and words and w is not ts[i]:
                words[-1] += w.fold
            else:
                words.append(w.fold)
        while words and stem(words[0]) in form.ask:
            words = words[1:]
        while words and stem(words[-1]) in form.ask:
            words = words[:-1]
        if words:
            found.append((" ".join(words), i, end))
        i = end
    return found


def _place(words: list[str]) -> list[str]:
    return [w for w in words if w not in _KIND_OF_PLACE]


def same(a: str, b: str, form: PromptForm) -> bool:
    """Whether two text conclusions name one person or place (the module docstring
    says when); only for a question that asks for a name."""
    if form.expects != "name" or a == b:
        return a == b
    wa, wb = a.split(), b.split()
    if not wa or not wb or len(wa) > _LONGEST_NAME or len(wb) > _LONGEST_NAME:
        return False
    if any(w in _NOT_NAMES or not w.isalpha() for w in wa + wb):
        return False
    if _place(wa) == _place(wb) and _place(wa) and (len(wa) != len(_place(wa)) or len(wb) != len(_place(wb))):
        return True
    short, full = (wa, wb) if len(wa) < len(wb) else (wb, wa)
    return form.person and len(short) == 1 and len(full) >= 2 and full[-1] == short[0]
