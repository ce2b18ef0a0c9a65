"""Which option a reply picks when the prompt lists lettered options (A to J).

"B", "(b)", "B) Dolphin", "B — Dolphin", "Option B", "The lion (B)." and, when the
prompt lists "B) Dolphin", "Dolphin" all pick B; "A, C", "A and C" and "A) 2 and
C) 11" pick the set A and C (a "select all that apply" answer). "B. Dolphin" is a
letter only when the prompt lists options, so "A. Lincoln was…" is no letter.

In a sentence that says one thing, the one option it names by its letter or its
text is its pick ("I'd pick C.", "Carbon dioxide (C).").

Standard library only; reads at most a short part of a reply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .asking import PromptForm
from .tokens import ARTICLES, Token, tokens

__all__ = ["letter", "letter_set", "named", "opening"]

LETTERS = "ABCDEFGHIJ"
_AT_END_RE = re.compile(r"\((?P<l>[A-J])\)\W*$")
_LETTER_MARK_RE = re.compile(r"(?<![A-Za-z])([A-J])\)")
_SEPARATORS = frozenset({",", "and", "&", ";"})
_LONGEST_LINE = 400  # characters of a line read for the letter it opens with


def letter(part: str, form: PromptForm) -> str | None:
    """The one option letter a part is, or leads with."""
    flat = part.strip().strip("*_ ")
    bare = flat.strip(".:")
    if len(bare) == 1 and bare.upper() in LETTERS and (bare.isupper() or bare.upper() in form.options):
        return bare.upper()
    if len(bare) == 3 and bare[0] in "([" and bare[2] in ")]" and bare[1].upper() in LETTERS:
        return bare[1].upper()
    if len(flat) > 3 and flat[0] in "([" and flat[2] in ")]" and flat[1].upper() in LETTERS and flat[3] == " ":
        return flat[1].upper()
    if len(flat) >= 2 and flat[0] in LETTERS and flat[1] in "):" and flat[2:3] in ("", " "):
        others = {m.group(1) for m in _LETTER_MARK_RE.finditer(flat)} - {flat[0]}
        return None if others else flat[0]  # "A) Solar and C) Wind" picks two
    if len(flat) > 3 and flat[0] in form.options and (flat[1:3] == ". " or flat[1:4] in (" — ", " – ", " - ")):
        return flat[0]
    if len(flat) > 2 and flat[0].islower() and flat[1] == ")" and flat[0].upper() in form.options:
        return flat[0].upper()  # "b) 4" when the prompt lists "(a) 3 (b) 4"
    if len(flat) > 3 and flat[0] in form.options and flat[1:3] in (", ", ": "):  # "B, Mercury"
        text = tuple(w.strip(".,;:!*_()").casefold() for w in flat[3:].split())
        if text and form.letter_of(text) == flat[0]:
            return flat[0]
    words = bare.split()
    named = words[1].strip("()").upper() if len(words) == 2 else ""
    if words[:1] and words[0].casefold() in ("option", "choice") and len(named) == 1 and named in LETTERS:
        return named
    at_end = _AT_END_RE.search(flat)
    if at_end and at_end.group("l") in form.options and not re.search(r"\b(?:not|never|isn't|no)\b", flat, re.I):
        return at_end.group("l")
    return None


def opening(line: str, form: PromptForm) -> str | None:
    """The option letter a line opens with, marked as one ("A) 2^10 = 1024, …",
    "**B** — …", "(c) …", "C. Mars", "Option D: …"); None for "A dolphin", and when
    the line names another option's letter too ("A, C", "B — not A")."""
    ts = [t for t in tokens(line[:_LONGEST_LINE]) if t.fold not in ("*", "_", "#", ">")]
    if ts and ts[0].fold in ("option", "choice", "answer"):
        ts = ts[1:]
    bracketed = bool(ts) and ts[0].fold in ("(", "[")
    ts = ts[1:] if bracketed else ts
    if not ts or ts[0].kind != "word" or ts[0].raw.upper() not in form.options or len(ts[0].raw) != 1:
        return None
    if ts[0].raw.islower() and not (bracketed or (len(ts) > 1 and ts[1].fold == ")")):
        return None
    after = ts[1].fold if len(ts) > 1 else ""
    if after not in ("", ")", "]", ".", ":", "—", "–", "-"):
        return None
    picked = ts[0].raw.upper()
    others = [t for i, t in enumerate(ts[1:], 1) if t.kind == "word" and t.raw in form.options and t.raw != picked
              and not (t.raw == "A" and i + 1 < len(ts) and ts[i + 1].raw.islower())]
    return None if others else picked  # "A) 2 and C) 11" picks two


def letter_set(ts: list[Token], form: PromptForm) -> str | None:
    """The letters of a "select all" answer ("A, C", "A and C", "A) 2 and C) 11"),
    sorted and joined with commas; None unless every token is a listed letter, its
    option's text or a separator, with two letters or more."""
    if not form.options:
        return None
    texts = dict(form.option_texts)
    picked: list[str] = []
    i = 0
    while i < len(ts):
        t = ts[i]
        if t.raw in form.options and t.kind == "word":
            picked.append(t.raw)
            i += 1
            if i < len(ts) and ts[i].fold == ")":
                i += 1
            text = texts.get(t.raw, ())
            if text and tuple(x.fold for x in ts[i : i + len(text)]) == text:
                i += len(text)
        elif t.fold in _SEPARATORS and picked:
            i += 1
        else:
            return None
    return ",".join(sorted(set(picked))) if len(set(picked)) >= 2 else None


def by_text(words: tuple[str, ...], form: PromptForm) -> str | None:
    """The option whose text a reply's words are ("Dolphin" for "B) Dolphin")."""
    return form.letter_of(words) if form.options else None


def named(ts: Sequence[Token], form: PromptForm) -> str | None:
    """The one option a sentence names, by its letter ("I'd pick C", "B is correct")
    or its text ("Carbon dioxide (C)."): None when it names two or none. (The
    sentence is one `candidates` found free of negations and hedges.)"""
    letters = {t.raw.upper() for i, t in enumerate(ts) if t.kind == "word" and len(t.raw) == 1
               and t.raw.upper() in form.options and (t.raw.isupper() or (0 < i < len(ts) - 1 and ts[i - 1].fold == "("
                                                                           and ts[i + 1].fold == ")"))
               and not (t.raw == "A" and i + 1 < len(ts) and ts[i + 1].kind == "word" and ts[i + 1].raw.islower())}
    words = [t.fold for t in ts if (t.kind != "sym") and t.fold not in ARTICLES]
    for letter, text in form.option_texts:
        n = len(text)
        if n and any(tuple(words[k : k + n]) == text for k in range(len(words) - n + 1)):
            letters.add(letter)
    if len(letters) > 1 and form.select_all:  # "Solar and wind (A and C)." to "Select all that apply."
        return ",".join(sorted(letters))
    return letters.pop() if len(letters) == 1 else None
