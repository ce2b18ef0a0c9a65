"""What a reply says a program prints, as written.

To "What does `print(repr('1'))` output?", `'1'` and `1` are different outputs, and
so are `[1, 2, 3]` and `[1, 2, [3]]`, `[1, '2']` and `['1', '2']`, `   ab|` and
`ab   |`, `True` and `true`. So when a question asks what code prints, outputs,
returns or evaluates to (`asking`), the printed text is compared as the reply
writes it: quotes, brackets, case, inner whitespace and every symbol kept. Only
the reply's own framing comes off:

* the fence around a block, and a short label above it ("Output:");
* trailing whitespace on each line, and blank lines around the whole;
* the marks of one inline code span (`` `3.5` ``), when the words around it only
  say that an output follows ("It prints", "The output is", `tokens.FILLER`);
* those words, and the full stop of the sentence they open ("It prints 3.5.").

Two replies that write one output in two ways (`[1,2]`, `[1, 2]`) stay apart:
whether they are one output depends on the language, and when unsure the arbiter
decides. Standard library only; linear in the reply.
"""

from __future__ import annotations

import re

from .tokens import FILLER, LINKS, Token, tokens

__all__ = ["as_written", "block", "code_spans", "literal", "says_output", "spaced"]

_FENCE_RE = re.compile(r"^```[\w+-]*$")
_SPAN_RE = re.compile(r"`([^`\n]{1,400})`")
_SAYS_OUTPUT = FILLER | LINKS | frozenset({
    "evaluates", "evaluate", "evaluated", "gives", "yields", "output", "outputs", "return", "print", "log", ":",
})
"""Words that only say an output follows ("It evaluates to", "Output:")."""
_ANNOUNCES = frozenset({
    "is", "are", "was", "be", "prints", "printed", "print", "outputs", "output", "returns", "return", "logs", "logged",
    "log", "gives", "yields", "displays", "shows", "to", ":",
})
"""The word that ends such a run ("It prints", "The output is"): what follows it is
the output, even "a" or "the" ("It prints a.")."""
_RESTATED_RE = re.compile(r" ?(?:=|is|returns|prints|outputs|gives|yields|evaluates to)(?: |$)")
_SPACED_RE = re.compile(r"^[ \t]|[^\s.!?:;,][ \t]{2,}\S|\t", re.MULTILINE)  # two spaces after a full stop are typing
_OUTPUT_RE = re.compile(r"`|\b(?:prints?|printed|outputs?|logs?|logged|displays?|shows?|returns?|echoes)\b", re.I)
_LONGEST_LABEL = 3  # words of a label above a block ("Output:", "It prints:")


def as_written(text: str) -> str:
    """The text with trailing whitespace off each line and blank lines off both
    ends: everything else is part of an output."""
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def spaced(text: str) -> bool:
    """Whether a text's whitespace may be part of its output: a line that opens with
    it, a run of two or more inside a line, a tab. (Read line by line, such a text
    would lose it: it is compared whole.)"""
    return _SPACED_RE.search(as_written(text)) is not None


def says_output(text: str) -> bool:
    """Whether text after a first answer tells of more output ("Then it prints 2.",
    a code span): the first sentence is then not all a program prints."""
    return _OUTPUT_RE.search(text) is not None


def block(text: str) -> str | None:
    """What a reply that is one fenced block holds, as written (a short label above
    the block, "Output:", says nothing); None for any other reply."""
    lines = as_written(text).split("\n")
    if len(lines) >= 3 and lines[0].endswith(":") and len(lines[0].split()) <= _LONGEST_LABEL:
        lines = lines[1:]
        while lines and not lines[0]:
            lines.pop(0)
    if len(lines) < 2 or not _FENCE_RE.match(lines[0].strip()) or lines[-1].strip() != "```":
        return None
    body = lines[1:-1]
    return None if any(line.lstrip().startswith("```") for line in body) else "\n".join(body)


def code_spans(text: str) -> list[tuple[int, int]]:
    """Where the text's inline code spans are (start and end, marks included)."""
    return [match.span() for match in _SPAN_RE.finditer(text)]


def _joined(ts: list[Token]) -> str:
    """Tokens written back, one space where the reply had any."""
    return "".join((" " if i and not t.glued else "") + t.raw for i, t in enumerate(ts))


def _unstated(part: str, shown: tuple[str, ...]) -> str:
    """The part less the question's code restated before its output ("len('hello')
    = 5", "`3 * 'ab'` gives ababab")."""
    for code in shown:
        for written in (f"`{code}`", code):
            if part.startswith(written):
                rest = _RESTATED_RE.match(part, len(written))
                if rest is not None:
                    return part[rest.end() :]
    return part


def literal(part: str, one_per_line: bool = False, sentence: bool = False, shown: tuple[str, ...] = ()) -> str | None:
    """The printed text an answer part commits to: its one code span when the words
    around it only say an output follows, else the part less those words at its
    start (and the full stop of the sentence they open); None when it holds two
    code spans or more words around its one. `one_per_line`: the part lists the
    output's lines ("0, 1 and 2, each on its own line"); `sentence`: an aside came
    off it, so it is prose and its full stop no output ("3.5 (in Python 2, 3).");
    `shown`: the question's code, which may be restated before the output."""
    restated = _unstated(part, shown)
    sentence, part = sentence or restated != part, restated
    spans = _SPAN_RE.findall(part)
    if len(spans) > 1:
        return None
    if spans:
        around = [t for t in tokens(_SPAN_RE.sub(" ", part)) if t.fold not in _SAYS_OUTPUT and t.fold not in ".!,;"]
        return None if around else spans[0]
    ts = tokens(part)
    start = 0
    while start < len(ts) and ts[start].fold in _SAYS_OUTPUT:
        start += 1
    while start and ts[start - 1].fold not in _ANNOUNCES:  # "a" alone is an output, no article
        start -= 1
    rest = ts[start:]
    if (start or sentence) and rest and rest[-1].fold in (".", "!"):
        rest = rest[:-1]
    if not one_per_line:
        return _joined(rest)
    items: list[list[Token]] = [[]]
    for t in rest:
        if t.fold in (",", "and"):
            items.append([])
        else:
            items[-1].append(t)
    return "\n".join(_joined(item) for item in items) if all(items) else None
