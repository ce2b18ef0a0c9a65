"""What an answer part commits to, once what adds nothing is taken off its edges.

Only three things ever come off, and only at the part's edges:

* filler from a closed list (`tokens.FILLER`: "the", "it is", "of course", …;
  "approximately" only when the question asks for an estimate);
* a run of the question's own words in the question's order (`asking`): "The
  capital of France is Paris." for "What is the capital of France?" is "paris".
  Numbers, negations and the candidates the question offers are never such words,
  and a capitalised word right before a number stays with it ("Python 3.10");
* an aside after a short answer (`SHORT_ANSWER` words once stripped): a clause
  after " — ", ", which", "because", or in parentheses, unless it starts "or",
  "but", "not", "unless"… or takes the answer back ("Jupiter — not Saturn" keeps
  all of it), and only when what stays holds content ("Sure — Steven Spielberg."
  keeps it: "Sure" answers nothing), never inside a code span, and never to a
  question that asks two things.

What is left is read as one amount, date or range (`quantities`), yes/no, an
option letter or set (`options`), a list ("2, 3 and 5"; in any order unless the
question may ask for one), or else as its words. "Jupiter, the gas giant." keeps "the
gas giant": an appositive is content, and so is anything after a comma, "and",
"or", "if" or "but".

Standard library only; linear in the part's length.
"""

from __future__ import annotations

import re

from . import intervals, numbers, options, printed, quantities
from .asking import PromptForm, asked_word
from .tokens import APPROXIMATE, ARTICLES, DROPPED_SYMBOLS, FILLER, LINKS, SECOND_THOUGHTS, Token, stem, tokens
from .units import UNIT_OF, named_in

__all__ = ["AFFIRMATIONS", "Reading", "content", "holds_content", "read", "without_asides"]

_LAYOUT = r",? (?:each |all )?(?:on (?:its own|their own|a separate|separate|a new|new) lines?|one per line)\b"
_LAYOUT_RE = re.compile(_LAYOUT)
_ASIDE_RE = re.compile(
    r" [—–] |(?<!\d) - (?!\d)| \((?P<paren>[^()]{0,200})\)|, (?:which|because|since)\b| because\b"
    r"|" + _LAYOUT + r"|, (?!excluding\b|including\b)[a-z]{3,}ing\b"
    r"|, (?:located|founded|released|discovered|built|born|published)\b"
)
_KEEPS_RE = re.compile(
    r"^\W*(?:or|but|not|no|never|unless|except|if|only|and|also|plus|as well|although|though|inclusive|exclusive|open|"
    r"closed)\b", re.I
)
_INTERVAL_RE = re.compile(
    r"[\[(]\s*[-−+]?(?:[\d.,π/√]{1,12}|∞|inf\w*)\s*,\s*[-−+]?(?:[\d.,π/√]{1,12}|∞|inf\w*)\s*[\])]|∞"
)
_SEPARATORS = frozenset({"is", "are", "was", "were", "=", "equals", "makes", "gives", "has", "have", "had"})
_LIST_JOINS = frozenset({",", "and", "&", ";", "→", "then"})
_LONGEST_ITEM = 4
SHORT_ANSWER = 4
"""Tokens an answer may hold for an aside after it to come off: "1 when the list is
empty, which is a bug" keeps its aside, "True — it's a G-type star" loses it."""
_BRACKETS = frozenset("[]()")
_UNIT_WORDS = frozenset(w for alias in UNIT_OF for w in alias.split())
_VERSION_ZEROS_RE = re.compile(r"(?:\.0+)+$")
_TRUE_FALSE = {"true": "yes", "false": "no", "untrue": "no", "myth": "no", "misconception": "no"}
AFFIRMATIONS = frozenset({"yes", "no", "yeah", "yep", "yup", "nope", "nah"})
"""Words that answer only a question asking for yes or no ("True" may be a value a
program prints, "Right" a direction)."""
_VERDICTS = frozenset({"right", "correct", "true", "sure", "accurate", "it", "the", "quite"})


class Reading:
    """A part's reading: (kind, value), and whether a restated question came off."""

    def __init__(self, kind: str, value: str, restated: bool) -> None:
        self.kind, self.value, self.restated = kind, value, restated


def content(ts: list[Token], brackets: bool = False) -> list[Token]:
    """The tokens that carry content: punctuation out, except a hyphen, dot, colon
    or slash glued between two numbers ("0-65535", "3:00", "1.2.3") and commas,
    kept to tell list items apart; brackets too when `brackets` (an interval)."""
    out: list[Token] = []
    dropped = False
    for i, t in enumerate(ts):
        if t.kind == "sym" and t.fold in DROPPED_SYMBOLS and t.fold != ",":
            if brackets and t.fold in _BRACKETS:
                out.append(t)
                continue
            between = 0 < i < len(ts) - 1 and ts[i - 1].kind == ts[i + 1].kind == "num"
            signed = t.fold in "-−" and i < len(ts) - 1 and ts[i + 1].fold == "∞" and ts[i + 1].glued  # "-∞"
            if not (between and t.fold in "-–:/." and t.glued and ts[i + 1].glued) and not signed:
                dropped = True  # what follows is glued to nothing kept ("prints `[1": "prints" names nothing)
                continue
        out.append(t._replace(glued=False) if dropped else t)
        dropped = False
    return out


def without_asides(part: str, form: PromptForm) -> str:
    """The part without a trailing aside (the module docstring says which), when
    what stays holds content: "Sure — Steven Spielberg." keeps its aside, "Sure"
    answers nothing. To a question that asks two things nothing is an aside: what
    follows the first answer answers the second."""
    if form.compound:
        return part
    code = printed.code_spans(part)
    for match in _ASIDE_RE.finditer(part):
        if match.start() == 0 or not part[: match.start()].strip(" *_"):
            continue
        if any(start < match.start() < end for start, end in code):  # "`f (x)`" is code, no aside
            continue
        rest = part[match.end() :] if match.group("paren") is None else match.group("paren")
        if _KEEPS_RE.match(rest) or _INTERVAL_RE.fullmatch(match.group(0).strip()) or _takes_back(rest):
            return part
        if not holds_content(part[: match.start()], form):
            return part
        if match.group("paren") is not None:
            return (part[: match.start()] + " " + without_asides(part[match.end() :], form)).strip()
        return part[: match.start()]
    return part


def holds_content(part: str, form: PromptForm) -> bool:
    """Whether a part says something once filler and the question restated are off
    its edges: "Sure", "Of course", "The director" say nothing, and "Yes" / "No"
    only to a question that asks for them; to one about what code prints, a code
    span holds its output whatever it reads ("`'a'`")."""
    if form.printed and printed.code_spans(part):
        return True
    left, _ = strip(content(tokens(part)), form)
    said = [t for t in left if t.kind != "sym" and t.fold not in LINKS and t.fold != "course"]
    if not form.yes_no:
        said = [t for t in said if t.fold not in AFFIRMATIONS]
    return bool(said)


def _takes_back(text: str) -> bool:
    """Second thoughts, or a negation right before "right", "correct"… ("— that's
    not right"); a negation elsewhere in an aside explains ("— not addition")."""
    ts = tokens(text)
    return any(t.fold in SECOND_THOUGHTS for t in ts) or any(
        t.negation and any(u.fold in _VERDICTS for u in ts[i + 1 : i + 3]) for i, t in enumerate(ts)
    )


def _droppable(t: Token, form: PromptForm) -> bool:
    if t.raw in form.options:  # "A, C" picks options; it is no article
        return False
    return t.fold in FILLER or t.fold == "," or (form.approximate and t.fold in APPROXIMATE)


def _number_at(ts: list[Token], i: int) -> bool:
    return 0 <= i < len(ts) and (ts[i].kind == "num" or ts[i].fold in numbers.NUMBER_WORDS or ts[i].fold in "$€£¥")


def _named(ts: list[Token], i: int) -> bool:
    """A word that names something with the token after it: "Python 3.10" (a
    version's "3.10" is no number 3.1), "HTTP/2"; never "HTTP 404"."""
    after = ts[i + 1] if i + 1 < len(ts) else None
    return after is not None and ts[i].kind == "word" and (
        (after.kind == "num" and ts[i].raw[:1].isupper() and not after.raw.isdecimal())
        or (after.glued and after.fold not in DROPPED_SYMBOLS)
    )


def _restated(t: Token, ts: list[Token], i: int, claim: bool, version: bool = False,
              quoted: frozenset[str] = frozenset()) -> bool:
    """Whether a token may be part of a restated run: a word (a number too when a
    whole yes/no claim is restated), no negation (unless the question quotes it: "404
    Not Found" to "Which code means 'Not Found'?"), no unit after an amount, not
    naming something with the token after it."""
    if (t.negation and t.fold not in quoted) or (_named(ts, i) and not version):
        return False
    if t.kind == "num" or t.fold in numbers.NUMBER_WORDS:
        return claim
    unit_after_amount = not claim and t.fold in _UNIT_WORDS and i > 0 and (
        ts[i - 1].kind == "num" or ts[i - 1].fold in _UNIT_WORDS)
    return t.kind == "word" and not unit_after_amount


def strip(ts: list[Token], form: PromptForm, claim: bool = False) -> tuple[list[Token], bool]:
    """The tokens without filler and a restated run of the question at either edge,
    and whether a restated run came off. A link ("by", "in") comes off only between
    a restated run and the answer, or before a number. `claim`: the question's
    numbers may be restated too (a yes/no question restated whole)."""
    start, ends, restated = 0, None, False
    while start < len(ts):
        t = ts[start]
        slash = t.fold == "/" and restated and form.versions  # "HTTP/2" for "Which version of HTTP…?"
        if _droppable(t, form) or slash or (t.fold in LINKS and (restated or _number_at(ts, start + 1))):
            start += 1
            continue
        restatable = _restated(t, ts, start, claim, form.versions, form.quoted)
        run = form.run_ends(ends, asked_word(t.fold)) if restatable else frozenset()
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
        restatable = _restated(t, ts, end - 1, claim, quoted=form.quoted)
        run = form.run_starts(starts, asked_word(t.fold)) if restatable else frozenset()
        if not run:
            break
        starts, restated, outer, end = run, True, True, end - 1
    return ts[start:end], restated


def _solutions(ts: list[Token]) -> bool:
    """Whether the tokens are an equation's solutions, "x = 2 or x = 3", "x = ±3"."""
    if len(ts) >= 2 and ts[0].fold == "=":  # the variable already read off as the question's
        ts = [Token("word", "x", "x", False), *ts]
    name = ts[0].fold if ts and ts[0].kind == "word" and len(ts[0].raw) == 1 else ""
    return bool(name) and len(ts) >= 3 and ts[1].fold == "=" and all(
        t.fold != "=" or (i > 0 and ts[i - 1].fold == name) for i, t in enumerate(ts))


def _plus_minus(item: list[Token]) -> list[list[Token]]:
    """"±3" as -3 and 3."""
    if len(item) == 2 and item[0].fold == "±" and item[1].kind == "num":
        value = item[1].raw.lstrip("+")
        return [[Token("num", "-" + value, "-" + value, False)], [item[1]]]
    return [item]


def _list(ts: list[Token], unordered: bool) -> str | None:
    """"2, 3 and 5" as its items, each read as an amount or words, in the order
    given unless the question asks for none (`asking`); None unless two items or
    more, each short, joined by commas or "and" only."""
    items: list[list[Token]] = [[]]
    solutions = _solutions(ts)
    for t in ts:
        if t.fold in _LIST_JOINS or (t.fold == "or" and solutions):
            items.append([])
        elif t.fold == "or" or t.negation:
            return None
        else:
            items[-1].append(t)
    items = [item for item in items if item] if ts[-1].fold not in _LIST_JOINS else []
    if solutions:  # "x = 2 or x = 3": the values
        items = [item[2:] if len(item) > 2 and item[1].fold == "=" else item[1:] if item[0].fold == "=" else item
                 for item in items]
    items = [part for item in items for part in _plus_minus(item)]  # "±3" is -3 and 3
    if len(items) < 2 or any(len(item) > _LONGEST_ITEM for item in items):
        return None
    values = []
    for item in items:
        item = item[1:] if len(item) > 1 and item[0].fold in ARTICLES else item  # "Canada and the United States"
        found = quantities.read(item)
        values.append(found[1] if found is not None else " ".join(t.fold for t in item))
    return " | ".join(sorted(values) if unordered else values)


def _typed(ts: list[Token], form: PromptForm) -> tuple[str, str] | None:
    """(kind, value) when the tokens are an amount, date, range, yes/no, option
    letter or set; a version when the question asks for one. (A list is read last,
    after a restated question: `_list`.)"""
    interval = intervals.read(ts, notation=not form.code)
    if interval is not None:
        return "interval", interval
    words = [t for t in ts if t.fold != ","]
    if form.versions and len(words) == 1 and words[0].kind == "num":
        return "version", _VERSION_ZEROS_RE.sub("", words[0].raw)
    named = options.by_text(tuple(t.fold for t in words if t.fold not in ("a", "an", "the")), form)
    if named is not None:  # "56" to "…? A) 54 B) 56 C) 58" picks B
        return "choice", named
    found = quantities.read(words)
    if found is not None:
        return found
    if len(words) == 1 and words[0].fold in ("yes", "no"):
        return "yes/no", words[0].fold
    if len(words) == 1 and words[0].fold in _TRUE_FALSE and form.yes_no:  # "That's false." to "Do we…?"
        return "yes/no", _TRUE_FALSE[words[0].fold]
    if len(words) == 1 and words[0].raw in form.options:
        return "choice", words[0].raw
    letters = options.letter_set(ts, form)
    if letters is not None:
        return "choice", letters
    return None


def _restated_equation(ts: list[Token], form: PromptForm) -> tuple[str, str] | None:
    """"A 15% tip on $60 is $9.00.", "The first three primes are 2, 3 and 5.":
    everything before the last "is" / "=" / "has" restates the question (its words,
    its numbers, its units in any spelling, "1" for its "a mile", filler) and what
    follows reads as an amount, list or letter: "1 mi = 5,280 ft"."""
    at = max((i for i, t in enumerate(ts) if t.fold in _SEPARATORS), default=-1)
    if at < 1:
        return None
    rest, _ = strip(ts[at + 1 :], form)
    found = _typed(rest, form) if rest else None
    listed = _list(rest, form.unordered) if rest and found is None else None
    found = found or (("list", listed) if listed is not None else None)
    if found is None or found[0] == "yes/no":
        return None
    ask = set(form.ask)
    units = named_in([t.fold for t in ts[:at]])  # "1 m = 100 cm" to "How many centimetres are in a metre?"
    for i, t in enumerate(ts[:at]):
        spelled = numbers.spelled([t.fold]) if t.fold in numbers.NUMBER_WORDS else None
        said = t.fold in FILLER or t.fold in LINKS or t.fold in "%$€£¥,°" or stem(t.fold) in ask or spelled in ask
        one = t.fold == "1" and units.get(i + 1, "") in form.units  # "1 m" restates "a metre"
        if not (said or one or t.fold in form.numbers or units.get(i, "") in form.units):
            return None
    return found


def read(part: str, form: PromptForm) -> Reading:
    """What the part commits to (the module docstring says how)."""
    short = without_asides(part, form)
    if form.printed:
        return _printed(part, short, form.shown)
    readings = [_reading(short, form), _reading(part, form)] if short != part else [_reading(part, form)]
    label, colon, listed = part.partition(": ")
    if colon and len(label.split()) == 1 and not _KEEPS_RE.match(label) and label.casefold() not in ("yes", "no"):
        after = _reading(without_asides(listed, form), form)  # "ROYGBIV: red, orange, …", "Primes: 2, 3, 5"
        if after.kind == "list" and readings[0].kind in ("list", "text"):
            return after
    typed = [r for r in readings if r.kind != "text"]
    if typed:
        return typed[0]
    if len(readings) == 2 and 0 < len(readings[0].value.split()) <= SHORT_ANSWER:
        return readings[0]
    return readings[-1]


def _printed(part: str, short: str, shown: tuple[str, ...]) -> Reading:
    """To a question about what code prints, the output the part writes, as written
    (`printed`): its aside off when what stays is one code span or a short answer."""
    if short != part:
        one_per_line = _LAYOUT_RE.match(part, len(short)) is not None  # "0, 1 and 2, each on its own line"
        said = printed.literal(short, one_per_line, sentence=True, shown=shown)
        if said is not None and ("`" in short or one_per_line or len(said.split()) <= SHORT_ANSWER):
            return Reading("printed", said, False)
    said = printed.literal(part, shown=shown)
    return Reading("printed", said if said is not None else part.strip(), False)


def _reading(part: str, form: PromptForm) -> Reading:
    ts = content(tokens(part), brackets=_INTERVAL_RE.search(part) is not None)
    remnant, restated = strip(ts, form)
    typed = _typed(remnant or ts, form) or _restated_equation(ts, form)
    if typed is not None and typed[0] == "yes/no" and not form.yes_no and len(remnant) < len(ts):
        # "Yes, Paris is the capital." to "Can you tell me if…": its content decides
        return Reading("text", " ".join(t.fold for t in ts if t.fold != ","), restated)
    listed = _list(remnant, form.unordered) if remnant and typed is None else None
    if typed is None and listed is not None:
        typed = "list", listed
    if typed is not None:
        return Reading(typed[0], typed[1], restated)
    words = [t.fold for t in (remnant or ts) if t.fold != ","]
    return Reading("text", " ".join(words), restated)
