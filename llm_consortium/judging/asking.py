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
* `approximate`: it asks for an estimate ("roughly", "approximately", "ballpark",
  "estimate", "about how…"), so "approximately" adds nothing and a figure rounded
  is the finer one; never when it also asks for a precision (`precise`: "exactly",
  "precisely", "to 5 decimal places", "3 significant figures", "to the nearest…"),
  where only amounts exactly equal are one answer.
* `option_texts`, `numbers`: each option's text, and the numbers it names.
* `expects`: what one question asks for (`candidates`: a year, date, amount, name…);
  `implied_unit`: the unit it means without naming it ("How old…": years; an area
  in the square of the one length unit its amounts are in);
  `code`: it shows code, so brackets in a reply are a list a program prints;
  `words`: every word of the prompt, stemmed ("Sam has 14 marbles." names what
  the prompt counts); `asks_who`: it asks who.
* `claim`: it asks indirectly whether a claim holds ("Can you tell me if…", "True or
  false: …"): only a reply that restates the claim (or denies it) answers yes or
  no; `true_false`: it asks "True or false", so "True" and "False" answer it.
* `select_all`: it asks for every option that fits ("Select all that apply").
* `asks_form`: it asks for a number written one way ("as a fraction", "simplify").
* `compound`: it asks two things (two questions, ", and does …", "if not, …"):
  each is answered in its own part, so no part of a reply is an aside and no
  first sentence is the whole answer.
* `printed`: it shows code and asks what it prints, outputs, returns or evaluates
  to: a reply's output is compared as written (`printed`); `shown`: the code it
  shows inline, which a reply may restate before the output ("len('hello') = 5").
* `units`: the units it names, however spelled ("100 °F", "in Celsius").
* `quoted`: the words the question quotes ("Which code means 'Not Found'?"): a name,
  so even a negation among them may be restated.
* `unordered`: no word of it may ask for an order ("order", "first", "from",
  "largest"…), so a list answer is compared as a set: "Solid, liquid and gas" is
  "Gas, liquid, solid" for "What are the three classic states of matter?".

Standard library only; reads at most the prompt's last 4,000 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .numbers import NUMBER_WORDS, spelled
from .tokens import FILLER, LINKS, NEGATIONS, stem, tokens
from .units import FACTORS, UNIT_OF, named_in

__all__ = ["NO_PROMPT", "PromptForm", "asked_word"]

_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+|\n+")
_AUX = {"is", "are", "was", "were", "do", "does", "did", "can", "could", "will", "would", "should", "has",
        "have", "had", "may", "must", "am", "isn't", "aren't", "doesn't", "don't", "didn't", "wasn't", "ist",
        "sind", "est-ce"}
_INDIRECT_RE = re.compile(
    r"\b(?:can|could|would|will)\s+you\s+(?:please\s+)?(?:tell|say|explain|give|name|list|let|help|find|show)\b"
    r"|\bdo\s+you\s+know\b|\bany\s+idea\b|\bif\s+(?:not|so|yes|no)\b|\bwhy\b|\bhow\b"
    r"|\bwhich\b|\bwhat\b|\bwho\b|\bwhen\b|\bwhere\b"
)
_SECOND_QUESTION_RE = re.compile(
    r"(?:[,;]|\band\b|\bbut\b|\bor\b) (?:(?:and|but|or|also|if so,?) )?(?:" + "|".join(sorted(_AUX)) + r")\b"
)
"""A second question joined to the first (", and does …", "; is …")."""
_CODE_RE = re.compile(r"```|`[^`\n]{1,200}`|\b[A-Za-z_][\w.]+\([^()\n]{0,80}\)")
"""Code in a prompt: a fenced block, an inline span, a call ("len('hello')")."""
_SPAN_RE = re.compile(r"`([^`\n]{1,200})`")
_CALL_RE = re.compile(r"\b[A-Za-z_][\w.]+\([^()\n]{0,80}\)")
_ASKS_OUTPUT_RE = re.compile(
    r"\bwhat\b.*\b(?:prints?|printed|outputs?|logs?|logged|returns?|returned|displays?|evaluates?|echo(?:es)?)\b"
    r"|\bwhat(?: is|'s) (?:the (?:output|result|value) of )?(?:`|[a-z_][\w.]+\()"
)
"""It asks what code prints, outputs, returns or evaluates to ("What does `print(7 / 2)`
output?", "What is `len('héllo')`?"): the printed text is compared as written
(`printed`)."""
_TRUE_OR_FALSE_RE = re.compile(r"\btrue\s*(?:or|/)\s*false\b\s*[:?.-]?", re.IGNORECASE)
_YES_OR_NO_RE = re.compile(r"\byes\s*(?:or|/)\s*no\b")
_NEVER_RESTATED = NEGATIONS | {"yes", "no", "true", "false", "or", "and", "if", "but", "only", "also"}
"""Words that change what a sentence claims: never dropped as a restated question."""
_INSTRUCTION_RE = re.compile(
    r"^(?:reply|respond|answer|give only|keep|be |use |format|show your|explain|only|just|think|output|write)", re.I
)
_OPTION_RE = re.compile(r"(?:^|[\s:])(?:[(\[]?(?P<l>[A-J])[)\].:]|[(\[]?(?P<lower>[a-j])\))(?=\s|$)")
_ORDER_RE = re.compile(
    r"\b(?:order\w*|sequence|rank\w*|ascending|descending|sort\w*|first|last|before|after|then|steps?|chrono\w*"
    r"|earliest|latest|from|increasing|decreasing|\w+est|most|least|top|bottom|next|previous|step by step)\b"
)
_APPROXIMATE_RE = re.compile(r"\b(?:approximately|approx|roughly|estimat\w*|ballpark|about how|around how)\b")
_PRECISE_RE = re.compile(
    r"\b(?:exact|exactly|precise|precisely|decimal places?|significant (?:figures?|digits?)|to the nearest)\b"
)
"""It asks for a figure to a stated precision: no rounding of it is the answer."""
_EXPECTS = (  # (what the question asks for, how it asks), the first that matches
    ("year", re.compile(r"\b(?:what|which) year\b")),
    ("century", re.compile(r"\b(?:what|which) century\b")),
    ("decade", re.compile(r"\b(?:what|which) decade\b")),
    ("time", re.compile(r"\bwhat time\b|\bat what time\b")),
    ("weekday", re.compile(r"\bday of the week\b|^(?:on )?what day\b|^which day\b")),
    ("date", re.compile(r"^when\b|\b(?:what|which) (?:date|day of the (?:month|year))\b|\bon what day\b")),
    ("range", re.compile(r"\bbetween (?:what|which)\b")),
    ("amount", re.compile(r"\bhow (?:many|much|far|long|tall|high|old|big|heavy|fast|deep|wide|large|hot|cold)\b")),
    ("amount", re.compile(r"^(?:convert|express|estimate)\b")),
    ("amount", re.compile(r"^(?:at|to|by) what (?:temperature|speed|height|altitude|depth|age|price|pressure|"
                          r"distance|percentage|rate)\b")),
    ("amount", re.compile(r"\bwhat(?: is|'s| was| are) (?:the |its |their |an? )?(?:\w+ )?(?:speed|distance|height|"
                          r"weight|mass|length|width|depth|area|volume|temperature|population|age|price|cost|diameter|"
                          r"radius|circumference|density|duration|boiling point|melting point|freezing point|"
                          r"percentage|probability|value|total|sum|product|difference|average|mean|median)\b")),
    ("name", re.compile(r"^(?:who|whom|whose|which|what|in which|in what|on which)\b")),
)
_SUM_RE = re.compile(r"^what(?: is|'s)\b.*(?:\d\s*[-+−×*/÷^%]\s*\d|\d\s*(?:[a-z°]+\s+)?(?:in|to)\s+[a-z°]+\W*$)")
_IN_UNIT_RE = re.compile(r"\bin (?:degrees )?([a-z°]+(?: [a-z]+)?)\W*$")
_SEVERAL_RE = re.compile(
    r"^\w+ (?:are|were)\b|\b(?:two|three|four|five|six|seven|eight|nine|ten|several|all|both|list)\b"
)
_TITLED_RE = re.compile(r"(?<=\w )(?:Two|Three|Four|Five|Six|Seven|Eight|Nine|Ten|Several|All|Both)\b")
"""A number word capitalised inside a question is part of a name ("Who composed the
Four Seasons?"), not a count of answers."""
_CLAIM_RE = re.compile(r"\b(?:tell me|you know|wonder\w*|confirm|check)\s+(?:if|whether)\b")
"""An indirect yes/no question about a claim: "Can you tell me if Paris is the capital
of France?" is answered by restating the claim, never by a bare "Yes"."""
_FORM_RE = re.compile(r"\bas an? (?:fraction|decimal|percent\w*|mixed number)|\bsimplif|\blowest terms|\bexpress\b")
"""It asks for a number in one form: "1/8" and "0.125" are then different answers."""
_SELECT_ALL_RE = re.compile(
    r"\bselect all\b|\ball that apply\b|\bchoose all\b|\bmore than one\b|\bwhich (?:of (?:the following|these) )?are\b"
)
_QUOTED_RE = re.compile(r"['‘’\"“”]([^'‘’\"“”]{1,60})['‘’\"“”]")
_IMPLIED_UNITS = {"how old": "year"}
"""A unit the question implies without naming it: "How old is Bob?" is in years."""
_LENGTH_POWER = ((re.compile(r"\barea\b"), "^2"), (re.compile(r"\bvolume\b"), "^3"), (re.compile(
    r"\b(?:perimeter|circumference|how (?:far|tall|high|wide|deep))\b"), ""))
"""A measure of lengths: its unit is the question's one length unit, squared or cubed
("A rectangle is 7 cm long and 4 cm wide. What is its area?" is in cm²)."""


def _implied_unit(question: str, units: frozenset[str]) -> str:
    """The unit the question means without naming it (`implied_unit`): years for "How
    old…"; to a question whose amounts are all in one length unit, the measure it
    asks for in that unit, its square or its cube."""
    fixed = next((unit for words, unit in _IMPLIED_UNITS.items() if words in question), "")
    if fixed or len(units) != 1:
        return fixed
    (unit,) = units
    power = next((power for pattern, power in _LENGTH_POWER if pattern.search(question)), None)
    if power is None or FACTORS.get(unit, ("",))[0] != "length":
        return ""
    return unit + power if unit + power in FACTORS else ""


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
    expects: str = ""
    implied_unit: str = ""
    code: bool = False
    words: frozenset[str] = frozenset()
    asks_who: bool = False
    claim: bool = False
    asks_form: bool = False
    select_all: bool = False
    true_false: bool = False
    quoted: frozenset[str] = frozenset()
    compound: bool = False
    precise: bool = False
    printed: bool = False
    shown: tuple[str, ...] = ()
    units: frozenset[str] = frozenset()

    @property
    def person(self) -> bool:
        """It asks who: a name is a person's."""
        return self.expects == "name" and self.asks_who

    @property
    def versions(self) -> bool:
        """It asks for a version: "3.10" and "3.1" differ, "3.0" is "3"."""
        return "version" in self.ask or "release" in self.ask

    @classmethod
    def of(cls, prompt: str) -> PromptForm:
        true_false = _TRUE_OR_FALSE_RE.search((prompt or "")[-4000:]) is not None
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
        quoted = frozenset(t.fold for q in asked for quote in _QUOTED_RE.findall(q) for t in tokens(quote))
        ask = tuple(
            asked_word(t.fold) for q in asked for t in tokens(q)
            if t.kind != "sym" and t.fold not in FILLER | LINKS
            and ((t.fold not in _NEVER_RESTATED and not t.negation) or t.fold in quoted)
            and stem(t.fold) not in candidates
        )
        if len(letters) < 2:
            letters, texts = frozenset(), ()
        question = asked[0].casefold() if len(asked) == 1 else ""
        code = "```" in prompt
        precise = _PRECISE_RE.search(flat) is not None
        units = frozenset(named_in([t.fold for t in tokens(prompt)]).values())
        printed = _CODE_RE.search(prompt) is not None and any(_ASKS_OUTPUT_RE.search(q.casefold()) for q in asked)
        return cls(
            _plain_yes_no(questions, flat, alternatives), letters, alternatives, ask, candidates,
            bool(_APPROXIMATE_RE.search(flat)) and not precise, texts,
            numbers=frozenset(t.fold for t in tokens(prompt) if t.kind == "num"),
            unordered=_ORDER_RE.search(flat) is None and not code,
            expects=_expects(question, code or printed, asked[0] if len(asked) == 1 else ""),
            implied_unit=_implied_unit(question, units),
            code=code,
            words=frozenset(stem(t.fold) for t in tokens(prompt) if t.kind == "word"),
            asks_who=bool(re.match(r"(?:who|whom)\b", question)),
            claim=bool(question and (_CLAIM_RE.search(question) or true_false)),
            asks_form=bool(_FORM_RE.search(flat)),
            select_all=bool(_SELECT_ALL_RE.search(flat)),
            true_false=true_false,
            quoted=quoted,
            precise=precise,
            printed=printed,
            shown=_shown(prompt) if printed else (),
            units=units,
            compound=len(questions) > 1 or any(_SECOND_QUESTION_RE.search(q.casefold()) for q in questions)
            or re.search(r"\bif (?:not|so)\b", flat) is not None,
        )

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


def asked_word(fold: str) -> str:
    """A word as the question's words are kept and a reply's are matched to them:
    stemmed, a number word as digits ("Zero is even." restates "Is 0 even?")."""
    if fold in NUMBER_WORDS:
        return spelled([fold]) or fold
    return stem(fold)


def _expects(question: str, code: bool, written: str = "") -> str:
    """What one question asks for ("year", "date", "amount", "name", "version"…, or
    "" when it is not one of these): the kind of candidate `candidates` looks for."""
    if not question or code:
        return ""
    found = next((kind for kind, pattern in _EXPECTS if pattern.search(question)), "")
    if found in ("", "name") and re.search(r"\bversion\b|\brelease", question):
        return "version"
    in_unit = _IN_UNIT_RE.search(question)
    if found == "name" and (_SUM_RE.search(question) or (in_unit and in_unit.group(1) in UNIT_OF)):
        return "amount"  # "What is 0.1 + 0.2?", "What is 6 feet in centimetres?"
    if found == "name" and _SEVERAL_RE.search(_TITLED_RE.sub("", written).casefold() if written else question):
        return ""  # "Which two elements…", "What are the first three…": a list, not a name
    return found


def _shown(prompt: str) -> tuple[str, ...]:
    """The code a prompt shows inline: its code spans and the calls in it or them
    ("print(len('hey'))", "len('hey')")."""
    return tuple(m.group(1) for m in _SPAN_RE.finditer(prompt)) + tuple(m.group(0) for m in _CALL_RE.finditer(prompt))


def _option_texts(prompt: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The options a prompt lists, each as (letter, its text's words case-folded)."""
    marks = list(_OPTION_RE.finditer(prompt))
    found = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(prompt)
        text = prompt[mark.end() : end].split("\n")[0]
        words = tuple(t.fold for t in tokens(text) if t.kind != "sym" and t.fold not in ("a", "an", "the"))
        found.append(((mark.group("l") or mark.group("lower")).upper(), words))
    letters = [letter for letter, _ in found]
    return tuple(found) if len(set(letters)) == len(letters) else ()


def _plain_yes_no(questions: list[str], flat: str, alternatives: bool) -> bool:
    """One plain yes-or-no question: exactly one question, asked directly, and not
    two joined into one ("Does CPython have a GIL, and does 3.13 let you run without
    it?": a "Yes," answers only the first)."""
    if len(questions) != 1 or alternatives:
        return False
    question = questions[0].casefold()
    if _INDIRECT_RE.search(flat) or _SECOND_QUESTION_RE.search(question):
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
