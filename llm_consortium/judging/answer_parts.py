"""Where a reply states its answer: the part a conclusion is read from.

* the final-answer line: the reply's last line is "Final answer: X" (or "Answer: X");
  `with_final_answer_line` asks a member for one;
* a stated answer: the last "the answer is X", "Answer: X" or `\\boxed{X}`, X running
  to the end of its sentence. Never cut at a comma, "and", "or", "if" or "but" ("The
  answer is 2, 3, 5." is all of "2, 3, 5");
* a result: the last line holding a digit ends in "= N" (or "is N", "equals N")
  after arithmetic ("17 × 23 = 340 + 51 = 391", "The sum of 7 and 5 is 12") that is
  one chain (no words between two equations), and nothing after it takes it back;
* the sentences of a reply, for the rules that read one sentence.

Every function works on `tokens.flat_lines` (whitespace runs already single spaces)
with patterns whose repeats are bounded or cannot overlap: linear in the reply.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from . import numbers, quantities
from .tokens import SECOND_THOUGHTS, Token, flat_lines, tokens
from .units import UNIT_OF

__all__ = [
    "LONGEST_PART", "bold", "concluding", "final_line", "flat_lines", "introduces", "list_items", "printed_lines",
    "result", "sentences", "stated", "takes_back", "turns_back", "unfenced", "with_final_answer_line",
]

LONGEST_PART = 2000
"""Characters of a part a rule reads: a longer stated answer or sentence is no short
conclusion and is compared whole, and a result's arithmetic is checked over at most
this much text before it."""

_FINAL_LINE_RE = re.compile(
    r"^[#>*_ -]{0,8}(?:final )?answer[*_ ]{0,6}[:：][*_ ]{0,6}(?P<answer>.+)$", re.IGNORECASE
)
_HEADING_RE = re.compile(r"^[#>*_ -]{0,8}(?:final )?answer[*_ ]{0,6}[:：]?[*_ ]{0,6}$", re.IGNORECASE)
_MARKER_RE = re.compile(
    r"\b(?:final answer|answer|antwort|réponse|respuesta|risposta|resposta|ответ)[*_]{0,4} ?"
    r"(?:[:：]|is\b|would be\b|should be\b|ist\b|est\b|es\b|è\b|é\b|=)[*_]{0,4} ?",
    re.IGNORECASE,
)
_TURNS_RE = re.compile(r"^\W*(?:actually|wait|correction|oops|sorry|hmm|scratch that|on second thought|no wait)\b",
                       re.IGNORECASE)
_SECOND_THOUGHTS_RE = re.compile(r"\b(?:" + "|".join(sorted(SECOND_THOUGHTS)) + r")\b", re.IGNORECASE)
_BOXED_RE = re.compile(r"\\boxed\{(?P<answer>[^{}\n]{1,200})\}")
_SENTENCE_END_RE = re.compile(r"[.!?。](?= |$)")
_SENTENCE_SPLIT_RE = re.compile(  # "B. Paris", "e.g. x" and "reactor No. 4" are one
    r"(?<=[.!?。;])(?<!\b[A-Za-z]\.)(?<!\bNo\.)(?<!\bno\.)(?<!\bvs\.)(?<!\bca\.)(?<!\bSt\.)(?<!\bDr\.)"
    r"(?<!\bMr\.)(?<!\bMt\.) (?=\S)"
)
_CONCLUDING_RE = re.compile(
    r"(?:[,;:] (?:and )?(?:so|therefore|thus|hence|i\.e\.|that is)(?= |,|$),?|→|=>|⇒|\bwhich gives\b|\bgiving\b) ?",
    re.IGNORECASE,
)
_BOLD_RE = re.compile(r"\*\*(?P<bold>[^*\n]{1,80})\*\*")

_OPERATORS = frozenset("+-−*×/÷^x·%") | frozenset({
    "plus", "minus", "times", "divided", "multiplied", "sum", "product", "difference", "quotient", "squared",
    "cubed", "twice", "double", "half", "add", "added", "subtract", "subtracted", "less", "more", "over",
})
_ARITHMETIC = _OPERATORS | frozenset({
    "(", ")", "=", ",", "of", "the", "and", "by", "to", "then", "so", "thus", "total", "²", "³", "√", "into",
    "result", "is", "equals",
}) | frozenset(UNIT_OF) | frozenset({"°", "$", "€", "£", "¥"})
_SEPARATORS = frozenset({"=", "≈", "equals", "is", "are", "makes", "gives"})
_EQUALS = frozenset({"=", "≈"})
_TRAILING = frozenset(".!*_`")
_JUSTIFYING = frozenset({"since", "because", "as", "check", "checking", "verify", "indeed", "proof"})
_SEPARATOR_RE = re.compile(r"[=≈]|\b(?:is|are|equals|makes|gives)\b")
_RESULT_LINES = 50  # lines tried, from the last, for a result
_LIST_ITEM_RE = re.compile(r"^(?:[-*•]|\d{1,2}[.)]) (?P<item>[^,;]{1,80})$")
_EXPLAINED_RE = re.compile(r" [—–-] |: ")  # "- **Estonia** – capital Tallinn": the item is Estonia
_LONGEST_PRINT = 20  # lines of output a reply may list
_FENCED_RE = re.compile(r"^```[\w+-]*$")
_TRAILING_ASIDE_RE = re.compile(r" \([^()]{0,200}\)\W*$")


def with_final_answer_line(prompt: str) -> str:
    """A member's request with the one line the `final_answer_line` setting adds,
    asking for the line `final_line` reads (docs/matching.md)."""
    return f"{prompt}\n\nEnd your reply with one line of the form: Final answer: <your answer>"


def final_line(lines: list[str]) -> str | None:
    """X when the reply's last line is "Final answer: X" or "Answer: X", or a
    heading "## Answer" stands right above its last line X."""
    if not lines:
        return None
    match = _FINAL_LINE_RE.match(lines[-1])
    if match is None and len(lines) >= 2 and _HEADING_RE.match(lines[-2]):
        return lines[-1].strip(" *_") or None
    return match.group("answer").strip(" *_") or None if match else None


def _sentence(part: str) -> str:
    """A stated answer to the end of its sentence (an aside after a short answer
    comes off later, `remnants`)."""
    end = _SENTENCE_END_RE.search(part)
    return (part[: end.start()] if end else part).strip(" *_\"'")


def _last(matches: Iterator[re.Match[str]]) -> re.Match[str] | None:
    found = None
    for found in matches:  # noqa: B007 - the last one is wanted
        pass
    return found


def stated(lines: list[str]) -> str | None:
    """The last stated answer's part ("the answer is X", "Answer: X", \\boxed{X})."""
    text = "\n".join(lines)
    last = _last(_MARKER_RE.finditer(text))
    boxed = _last(_BOXED_RE.finditer(text))
    if boxed is not None and (last is None or boxed.start() > last.start()):
        return boxed.group("answer").strip() or None
    if last is None:
        return None
    line_end = text.find("\n", last.end())
    return _sentence(text[last.end() : line_end if line_end >= 0 else len(text)][:LONGEST_PART]) or None


def introduces(sentence: str) -> bool:
    """Whether a sentence ends with a colon ("Considerations:", "The steps are:"): it
    introduces what follows and never answers, whatever word it holds."""
    return sentence.rstrip(" *_#").endswith((":", "："))


def takes_back(text: str) -> bool:
    """Whether text after an answer holds a word that may take the answer back."""
    return _SECOND_THOUGHTS_RE.search(text) is not None


def turns_back(later: list[str]) -> bool:
    """Whether a later sentence opens by taking an answer back ("Actually, …",
    "Wait, …"): a yes/no answer opened with is read despite second thoughts in the
    middle of an explanation, never past one that opens a sentence."""
    return any(_TURNS_RE.match(sentence) for sentence in later)


def _is_number(t: Token) -> bool:
    return t.kind == "num" or (t.kind == "word" and t.fold in numbers.NUMBER_WORDS)


def _counted(ts: list[Token]) -> tuple[str, str] | None:
    """"3 apples", "6 slices": a count and the thing counted, as the count."""
    if len(ts) == 2 and ts[0].kind == "num" and ts[1].kind == "word" and ts[1].raw.isalpha() and ts[1].raw.islower():
        value = numbers.canonical(ts[0].raw)
        return ("number", value) if value is not None else None
    return None


def _one_chain(lhs: list[Token]) -> bool:
    """Whether what follows the first "=" of a line is one chain of arithmetic: every
    word in it an operand ("speed × time"), never words between two equations
    ("1024, which beats 10^3")."""
    first = next((k for k, t in enumerate(lhs) if t.fold in _EQUALS), len(lhs))
    for k in range(first + 1, len(lhs)):
        t = lhs[k]
        if _is_number(t) or t.fold in _ARITHMETIC or t.kind == "sym":
            continue
        near = {lhs[k - 1].fold, lhs[k + 1].fold if k + 1 < len(lhs) else "="}
        if not near & (_OPERATORS | _EQUALS):
            return False
    return True


def _result_of(ts: list[Token]) -> str | None:
    """N when the tokens end "… arithmetic = N" (the arithmetic right before it)."""
    while ts and ts[-1].fold in _TRAILING:
        ts = ts[:-1]
    for cut in range(len(ts) - 1, 0, -1):  # the shortest amount at the end that follows a separator
        if ts[cut - 1].fold in _SEPARATORS or (ts[cut - 1].fold == "to" and cut > 1 and ts[cut - 2].fold == "equal"):
            found = quantities.read(ts[cut:]) or _counted(ts[cut:])
            if found is None or found[0] != "number":
                return None
            lhs = ts[: cut - 1] if ts[cut - 1].fold != "to" else ts[: cut - 2]
            while lhs and lhs[-1].fold in ("is", "are"):
                lhs = lhs[:-1]
            run = 0
            while run < len(lhs) and (lhs[-1 - run].fold in _ARITHMETIC or _is_number(lhs[-1 - run])):
                run += 1
            arithmetic = lhs[len(lhs) - run :]
            if not _one_chain(lhs):  # "2^10 = 1024, which beats 10^3 = 1000" is two equations
                return None
            numbers_seen = sum(_is_number(t) for t in arithmetic)
            operators = sum(t.fold in _OPERATORS for t in arithmetic)
            sum_of_two = [t.fold for t in arithmetic][-2:-1] == ["and"] and numbers_seen == 2  # "three and two"
            root = numbers_seen == 1 and arithmetic[:1] and arithmetic[0].fold == "√"  # "√144 = 12"
            if not root and (numbers_seen < 2 or not (operators >= 1 or sum_of_two)):
                return None
            if any(t.fold in _JUSTIFYING for t in lhs):  # "12, since 12 × 12 = 144" concludes 12, not 144
                return None
            return found[1] if ts[cut - 1].fold != "≈" or found[1].startswith("≈") else "≈" + found[1]
        if len(ts) - cut > 6:  # no amount is that long
            return None
    return None


def _may_be_result(line: str) -> bool:
    return any(c.isdigit() for c in line) and _SEPARATOR_RE.search(line) is not None


def result(lines: list[str]) -> str | None:
    """The result of the reply's last line that ends in arithmetic, when no later
    line names a number the line does not hold (a later "So you pay $30." is a
    different conclusion; "I added 28 and 39 to get 77." restates it) or takes it
    back. Number words count only on the last line ("Three and two are five.")."""
    digits = [i for i in range(len(lines)) if _may_be_result(lines[i][-LONGEST_PART:])]
    for i in reversed((digits or [len(lines) - 1] if lines else [])[-_RESULT_LINES:]):
        tail = _SENTENCE_SPLIT_RE.split(lines[i][-LONGEST_PART:])[-1]
        ts = tokens(_TRAILING_ASIDE_RE.sub("", tail))
        found = _result_of(ts)
        if found is None:
            continue
        later = "\n".join(lines[i + 1 :])
        said = {n for n in numbers.find(lines[i][-LONGEST_PART:])}
        if takes_back(later) or not set(numbers.find(later)) <= said:
            return None
        return found
    return None


def sentences(lines: list[str]) -> list[str]:
    """The reply's sentences (and clauses after a semicolon), line by line."""
    return [s for line in lines for s in _SENTENCE_SPLIT_RE.split(line) if s.strip()]


def concluding(sentence: str) -> str | None:
    """What a sentence concludes after ", so", "therefore", "→"…: "In Python 3, `/`
    is true division, so it prints `3.5`." concludes "it prints `3.5`"."""
    found = _last(_CONCLUDING_RE.finditer(sentence[:LONGEST_PART]))
    return sentence[found.end() :].strip(" .!") or None if found is not None else None


def bold(text: str) -> str | None:
    """The one bold span of a reply, when it has exactly one."""
    spans = _BOLD_RE.findall(text[: 20 * LONGEST_PART])
    return spans[0].strip() if len(spans) == 1 else None


def list_items(lines: list[str]) -> str | None:
    """A reply made only of list lines ("- 2", "1. Mercury"), as "2, 3, 5"."""
    items = [_LIST_ITEM_RE.match(line) for line in lines]
    if len(items) < 2 or any(item is None for item in items):
        return None
    return ", ".join(_EXPLAINED_RE.split(item.group("item"), maxsplit=1)[0] for item in items if item is not None)


def printed_lines(lines: list[str]) -> str | None:
    """A program's output given line by line ("0", "1", "2"), as "0, 1, 2"."""
    if not 2 <= len(lines) <= _LONGEST_PRINT or any(
        len(tokens(line)) > 3 or line.endswith((".", ":", "?")) for line in lines
    ):
        return None
    return ", ".join(lines)


def unfenced(lines: list[str]) -> list[str]:
    """A reply that is one fenced block, read by what the block holds; a short label
    above it ("Output:") says nothing."""
    labelled = len(lines) >= 4 and lines[0].endswith(":") and len(lines[0].split()) <= 3
    body = lines[1:] if labelled else lines
    if len(body) >= 3 and _FENCED_RE.match(body[0]) and body[-1] == "```" and not any(
        line.startswith("```") for line in body[1:-1]
    ):
        return body[1:-1]
    return lines
