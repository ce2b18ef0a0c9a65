"""What a prompt asks, read once per vote: the form a reply's conclusion may take.

* `yes_no`: the prompt is one plain yes-or-no question ("Is 17 prime?", "… Answer
  yes or no."), so a reply that opens "Yes," or "No." has concluded. Never for two
  questions, "if not, …", alternatives ("A or B?"), an indirect question ("Can you
  tell me…", "Do you know…") or a "True or false:" statement: there the answer's
  content decides ("True or false:" is read off, and the statement is the question).
* `options`: the option letters it lists (two or more), so "B) Paris" picks B.
* `ask`: the question's own words and numbers, in order (stemmed; no filler,
  negation or offered candidates). A restated run never holds a number (`remnants`),
  except where a whole yes/no question is restated. A reply may restate a run of them around its answer ("The
  capital of France is Paris."): only such a run, in the question's order, is ever
  dropped from a conclusion, so "Bob beat Alice" never loses "Bob" to "Who beat Bob?".
* `candidates`: the words of the alternatives or listed options it offers; they are
  answers, never a restated question.
* `approximate`: it asks for an estimate, so "approximately" adds nothing.
* `option_texts`, `numbers`: each option's text, and the numbers it names.
* `unordered`: no word of it may ask for an order ("order", "first", "from",
  "largest"…), so a list answer is compared as a set: "Solid, liquid and gas" is
  "Gas, liquid, solid" for "What are the three classic states of matter?".

Standard library only; reads at most the prompt's last 4,000 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .tokens import FILLER, LINKS, NEGATIONS, stem, tokens

__all__ = ["NO_PROMPT", "PromptForm"]

_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+|\n+")
_AUX = {"is", "are", "was", "were", "do", "does", "did", "can", "could", "will", "would", "should", "has",
        "have", "had", "may", "must", "am", "isn't", "aren't", "doesn't", "don't", "didn't", "wasn't", "ist",
        "sind", "est-ce"}
_INDIRECT_RE = re.compile(
    r"\b(?:can|could|would|will)\s+you\s+(?:please\s+)?(?:tell|say|explain|give|name|list|let|help|find|show)\b"
    r"|\bdo\s+you\s+know\b|\bany\s+idea\b|\bif\s+(?:not|so|yes|no)\b|\bwhy\b|\bhow\b"
    r"|\bwhich\b|\bwhat\b|\bwho\b|\bwhen\b|\bwhere\b"
)
_TRUE_OR_FALSE_RE = re.compile(r"\btrue\s*(?:or|/)\s*false\b\s*[:?.-]?", re.IGNORECASE)
_YES_OR_NO_RE = re.compile(r"\byes\s*(?:or|/)\s*no\b")
_NEVER_RESTATED = NEGATIONS | {"yes", "no", "true", "false", "or", "and", "if", "but", "only", "also"}
"""Words that change what a sentence claims: never dropped as a restated question."""
_INSTRUCTION_RE = re.compile(
    r"^(?:reply|respond|answer|give only|keep|be |use |format|show your|explain|only|just|think|output|write)", re.I
)
_OPTION_RE = re.compile(r"(?:^|[\s:])[(\[]?(?P<l>[A-J])[)\].:](?=\s|$)")
_ORDER_RE = re.compile(
    r"\b(?:order\w*|sequence|rank\w*|ascending|descending|sort\w*|first|last|before|after|then|steps?|chrono\w*"
    r"|earliest|latest|from|increasing|decreasing|\w+est|most|least|top|bottom|next|previous|step by step)\b"
)
_APPROXIMATE_RE = re.compile(r"\b(?:approximately|approx|roughly|estimate|about how|around how|nearest)\b")


@dataclass(frozen=True)
class PromptForm:
    """A prompt's form (the module docstring says what each field means)."""

    yes_no: bool
    options: frozenset[str]
    alternatives: bool
    ask: tuple[str, ...]
    candidates: frozenset[str]
    approximate: bool
    option_texts: tuple[tuple[str, tuple[str, ...]], ...] = ()
    numbers: frozenset[str] = frozenset()
    unordered: bool = False

    @property
    def versions(self) -> bool:
        """It asks for a version: "3.10" and "3.1" differ, "3.0" is "3"."""
        return "version" in self.ask or "release" in self.ask

    @classmethod
    def of(cls, prompt: str) -> PromptForm:
        prompt = _TRUE_OR_FALSE_RE.sub("", (prompt or "")[-4000:])
        flat = prompt.casefold()
        sentences = [s.strip() for s in _SENTENCE_RE.split(prompt) if s.strip()]
        questions = [s for s in sentences if s.endswith("?")]
        asked = questions or [s for s in sentences if not _INSTRUCTION_RE.match(s)][-1:]
        alternatives = any(re.search(r"\bor\b", q.casefold()) and not _YES_OR_NO_RE.search(q.casefold())
                           for q in asked)
        texts = _option_texts(prompt)
        letters = frozenset(letter for letter, _ in texts)
        candidates = _candidates(asked, sentences, alternatives)
        ask = tuple(
            stem(t.fold) for q in asked for t in tokens(q)
            if t.kind != "sym" and t.fold not in FILLER | LINKS and t.fold not in _NEVER_RESTATED
            and not t.negation and stem(t.fold) not in candidates
        )
        if len(letters) < 2:
            letters, texts = frozenset(), ()
        return cls(_plain_yes_no(questions, flat, alternatives), letters, alternatives, ask, candidates,
                   bool(_APPROXIMATE_RE.search(flat)), texts,
                   frozenset(t.fold for t in tokens(prompt) if t.kind == "num"),
                   _ORDER_RE.search(flat) is None)

    def letter_of(self, words: tuple[str, ...]) -> str | None:
        """The option whose text these words are (the whole text, or its last words
        when only one option ends so: "Shakespeare" for "B) William Shakespeare")."""
        if not words:
            return None
        whole = [letter for letter, text in self.option_texts if text == words]
        ending = [letter for letter, text in self.option_texts if text[-len(words):] == words]
        found = whole or ending
        return found[0] if len(found) == 1 else None

    def run_ends(self, ends: frozenset[int] | None, word: str) -> frozenset[int]:
        """Where a run of the question's words ends once `word` (stemmed) is added to
        a run ending at `ends` (None: a new run); empty when the run is none."""
        if ends is None:
            return frozenset(i for i, w in enumerate(self.ask) if w == word)
        return frozenset(i + 1 for i in ends if i + 1 < len(self.ask) and self.ask[i + 1] == word)

    def run_starts(self, starts: frozenset[int] | None, word: str) -> frozenset[int]:
        """`run_ends` read backwards, for a run grown from a reply's end."""
        if starts is None:
            return frozenset(i for i, w in enumerate(self.ask) if w == word)
        return frozenset(i - 1 for i in starts if i >= 1 and self.ask[i - 1] == word)


def _option_texts(prompt: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The options a prompt lists, each as (letter, its text's words case-folded)."""
    marks = list(_OPTION_RE.finditer(prompt))
    found = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(prompt)
        text = prompt[mark.end() : end].split("\n")[0]
        words = tuple(t.fold for t in tokens(text) if t.kind != "sym" and t.fold not in ("a", "an", "the"))
        found.append((mark.group("l"), words))
    letters = [letter for letter, _ in found]
    return tuple(found) if len(set(letters)) == len(letters) else ()


def _plain_yes_no(questions: list[str], flat: str, alternatives: bool) -> bool:
    """One plain yes-or-no question: exactly one question, asked directly."""
    if len(questions) != 1 or alternatives:
        return False
    question = questions[0].casefold()
    if _INDIRECT_RE.search(flat):
        return False
    first = question.split()[0] if question.split() else ""
    return first in _AUX or bool(_YES_OR_NO_RE.search(flat))


def _candidates(asked: list[str], sentences: list[str], alternatives: bool) -> frozenset[str]:
    """The words of offered answers: a question's alternatives (after its last
    comma, "Which is larger, 9.11 or 9.9?"; else every word of it), a list after a
    colon ("…: Jupiter, Saturn, Neptune?") and list or option lines of the prompt."""
    found: set[str] = set()
    for q in asked:
        if alternatives and re.search(r"\bor\b", q.casefold()):
            head, comma, offered = q.rpartition(",")  # "Which is larger, 9.11 or 9.9?": the offer
            if not (comma and re.search(r"\bor\b", offered.casefold()) and not re.search(r"\bor\b", head.casefold())):
                offered = q
            found.update(stem(t.fold) for t in tokens(offered) if t.kind != "sym")
        head, colon, tail = q.partition(":")
        if colon and ("," in tail or re.search(r"\bor\b", tail.casefold())):
            found.update(stem(t.fold) for t in tokens(tail) if t.kind != "sym")
    for s in sentences:
        if re.match(r"^\s*(?:[-*•]|\d+[.)]|[(\[]?[A-Ja-j][).\]])\s", s):
            found.update(stem(t.fold) for t in tokens(s) if t.kind != "sym")
    return frozenset(found) - FILLER


NO_PROMPT = PromptForm(False, frozenset(), False, (), frozenset(), False)
