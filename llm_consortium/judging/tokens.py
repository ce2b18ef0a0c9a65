"""A reply as a list of tokens (words, numbers, symbols), and the closed lists of
words a conclusion may drop.

Everything that decides what a reply concludes reads tokens made here, so a word is
a word in one way everywhere. Tokenising is one left-to-right pass of one regex
whose branches cannot overlap, over text whose whitespace runs are already single
spaces: linear in the reply's length, whatever the reply holds.

The filler lists are closed on purpose: a conclusion is what a reply commits to,
and only these words (and words restating the question, `asking`) may be dropped
from its edges. Negations, "and", "or", "if", "but", numbers and every other word
are content and are never dropped.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from . import latex, numbers

__all__ = ["Token", "flat_lines", "stem", "tokens"]

_TOKEN_RE = re.compile(
    r"(?P<num>" + numbers.PATTERN + r")|(?P<word>[^\W\d_]+(?:['’][^\W\d_]+)*)|(?P<digits>\d+)|(?P<sym>\S)"
)
_SUPERSCRIPTS = str.maketrans({"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7",
                               "⁸": "8", "⁹": "9", "⁻": "-", "⁺": "+"})
_SUPERSCRIPT_RUN_RE = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+")

DROPPED_SYMBOLS = frozenset(",;:.!?\"'`()[]{}*_#“”‘’«»—–-…|。、「」『』")
"""Punctuation that is no part of an answer's content ("Paris, Texas" is "paris
texas"); a hyphen or colon between two numbers is kept ("0-65535", "3:00")."""

ARTICLES = frozenset({"a", "an", "the"})

FILLER = frozenset({
    *ARTICLES,
    # the verb that links a restated question to its answer
    "is", "are", "was", "were", "be", "been", "'s", "’s", "has", "have", "had", "do", "does", "did",
    "will", "would",
    # pronouns standing for the thing asked about
    "it", "it's", "it’s", "its", "this", "that", "that's", "that’s", "there", "these", "those", "they",
    "he", "she", "he's", "she's", "you", "you're", "you’re", "you'll", "you’ll", "we're", "they're",
    # a pronoun with "will" or "would", each filler on its own
    "you'd", "you’d", "we'd", "we’d", "we'll", "we’ll", "they'd", "they’d", "they'll", "they’ll", "it'll", "it’ll",
    # saying that an answer follows
    "answer", "final", "correct", "result", "sum", "product", "difference", "quotient", "total", "my", "our",
    "solution", "output", "outputs", "prints", "printed", "logs", "logged", "returns", "displays", "shows",
    "so", "thus", "therefore", "hence", "here", "here's",
    "well", "ok", "okay", "sure", "simply", "just", "indeed", "course", "i", "i'm", "i’m", "we",
    "think", "believe", "say", "i'd", "i’d", "called", "named", "known", "hi", "hello", "hey", "certainly",
    "absolutely", "alright", "surely", "probably", "definitely", "clearly", "obviously",
})
"""Words dropped at the edges of an answer part (never inside it, never a number)."""

LINKS = frozenset({"of", "in", "on", "at", "to", "for", "by", "from", "with", "as"})
"""Prepositions dropped at an answer's edge only where they tie it to a restated
question ("painted by …", "… in France") or stand before a number ("in 1945"):
"in the box" and "on the box" stay different answers."""

SECOND_THOUGHTS = frozenset({
    "actually", "wait", "correction", "oops", "sorry", "mistake", "mistaken", "wrong", "incorrect", "instead",
    "rather", "recalculate", "recheck", "reconsider", "re-check", "however",
})
"""Words after a reply's first answer that may take it back: a rule that reads the
first answer only does not apply when any follows it."""

APPROXIMATE = frozenset({"approximately", "about", "around", "roughly", "approx", "circa", "ca", "~", "≈"})
"""Dropped only where the question asks for an approximation; elsewhere
"approximately 3" and "exactly 3" are different answers."""

NEGATIONS = frozenset({
    "not", "no", "never", "none", "nothing", "neither", "nor", "cannot", "without", "nobody", "nowhere",
    "n't", "nicht", "kein", "pas", "non", "nein",
})


class Token(NamedTuple):
    """One token: `kind` is "num", "word" or "sym"; `raw` as written; `fold` the
    compared form (case-folded; for numbers the written form, so "3.10" stays "3.10");
    `glued` when no space came before it. (A named tuple: a reply makes many.)"""

    kind: str
    raw: str
    fold: str
    glued: bool

    @property
    def negation(self) -> bool:
        return self.fold in NEGATIONS or self.fold.endswith(("n't", "n’t"))


def _normal(text: str) -> str:
    """NFKC, LaTeX maths written plainly (`latex`), and a superscript written as a
    power first ("10⁸" is "10^8", "x²" is "x^2", never "108" or "x2")."""
    text = _SUPERSCRIPT_RUN_RE.sub(lambda m: "^" + m.group(0).translate(_SUPERSCRIPTS), latex.plain(text))
    return unicodedata.normalize("NFKC", text)


def flat_lines(text: str) -> list[str]:
    """The reply's non-empty lines, Unicode-normalised, each with its whitespace
    runs made single spaces (so no later pattern can backtrack over a long run)."""
    text = _normal(text)
    return [line for line in (" ".join(raw.split()) for raw in text.splitlines()) if line]


def _emphasis_free(text: str) -> str:
    """Markdown emphasis and inline code marks removed ("**391**" -> "391")."""
    return text.replace("**", " ").replace("__", " ").replace("`", " ")


def tokens(text: str) -> list[Token]:
    """`text` (one line or several, already flat or not) as tokens, in order."""
    text = _emphasis_free(_normal(text))
    out: list[Token] = []
    end = 0
    for match in _TOKEN_RE.finditer(text):
        kind = {"digits": "num"}.get(match.lastgroup or "sym", match.lastgroup or "sym")
        raw = match.group(0)
        fold = raw.casefold() if kind != "num" else raw.replace("−", "-")
        out.append(Token(kind, raw, fold, match.start() == end and bool(out)))
        end = match.end()
    return out


def stem(word: str) -> str:
    """A word as compared with the question's: case-folded, without a possessive
    "'s", a plural, "-ed" or "-ing" ending or a final "e" ("painted" and "paint",
    "died" and "die", "released" and "release" meet). Only used to recognise a
    restated question, never to compare answers."""
    word = word.casefold().removesuffix("'s").removesuffix("’s")
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    elif len(word) == 4 and word.endswith("ed") and word[1] != "e":  # "died", "used"; never "need"
        word = word[:-1]
    elif len(word) > 4 and word.endswith("es") and word[-3] in "sxz":
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word[:-1] if len(word) > 3 and word.endswith("e") else word
