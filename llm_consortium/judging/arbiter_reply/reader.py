"""Reading the arbiter's reply while it streams, so the answer can be printed as it
is written.

The arbiter is asked for its verdict first (analysis, dissent, confidence,
needs_iteration, refinement areas) and the synthesis last. `ReplyReader` watches the
reply chunk by chunk: when a top-level ``<synthesis>`` opens after a complete verdict,
it *commits*, exposes that verdict as `head` (so the engine can decide whether this
round's answer will be final before any of it exists), and from then on returns the
synthesis text as it arrives: tags removed, reasoning blocks dropped, whitespace
trimmed at both ends, and a tag cut across chunks (``<syn`` + ``thesis>``) never
printed.

The reader is a pure function of the reply's text: any chunking of a reply yields the
same `head`, the same text and the same `verdict()`, so an arbiter that cannot stream
(its reply arrives as one chunk) gets exactly the answer a streaming one would. A
reply that is not verdict-first (no tags, synthesis first, a synthesis inside an
unclosed reasoning block) never commits: it is read whole by `verdict.read_whole`
once it has ended, and nothing of it streams.

That is the one rule for reading an arbiter's reply, and `parse_verdict` (a whole
reply fed as one chunk) is its only entry for a reply already complete: the first
synthesis after a complete verdict is the answer, with that verdict's confidence,
and what follows it is ignored; any other reply is read whole (the last synthesis
wins). See docs/confidence.md#reading-the-arbiters-reply.
"""

from __future__ import annotations

import re

from .grammar import NAMES, SEPARATOR, TAG_RE, tag_info, written
from .verdict import Verdict, parse_head, read_whole

__all__ = ["ReplyReader", "parse_verdict"]


def _prefixes(word: str) -> str:
    """A regex matching every prefix of `word`, the empty one included."""
    pattern = ""
    for char in reversed(word):
        pattern = f"(?:{re.escape(char)}{pattern})?"
    return pattern


def _partial(parts: tuple[str, ...]) -> str:
    """Every prefix of a name written as `parts` with separators between them."""
    options = [_prefixes(parts[0])]
    for i in range(1, len(parts)):
        options.append(written(parts[:i]) + SEPARATOR + _prefixes(parts[i]))
    return "(?:" + "|".join(options) + ")"


# What a tag (`grammar.TAG_RE`) looks like before its ">" has arrived: held back
# until it is decided.
_ANY_FULL = "|".join(written(parts) for parts in NAMES.values())
_ANY_PARTIAL = "|".join(_partial(parts) for parts in NAMES.values())
_PARTIAL_TAG = re.compile(
    rf"<\s*(?:/\s*)?(?:{_ANY_PARTIAL}|(?:{_ANY_FULL})\s*(?:/\s*)?)", re.IGNORECASE
)


class _Tag:
    """One recognised tag: canonical name ("think" for reasoning), open or close."""

    __slots__ = ("close", "name", "selfclose", "text")

    def __init__(self, m: re.Match[str]) -> None:
        self.name, self.close, self.selfclose = tag_info(m)
        self.text = m.group(0)


Token = str | _Tag


class _Scanner:
    """Splits a stream of text into text runs and tags, holding back a possible tag
    whose end has not arrived yet. Chunking never changes the tokens' content."""

    def __init__(self) -> None:
        self.pending = ""

    def feed(self, text: str, final: bool = False) -> list[Token]:
        data = self.pending + text
        tokens: list[Token] = []
        pos = 0
        start = 0  # where the current text run began
        while True:
            lt = data.find("<", pos)
            if lt < 0:
                break
            m = TAG_RE.match(data, lt)
            if m:
                if lt > start:
                    tokens.append(data[start:lt])
                tokens.append(_Tag(m))
                pos = start = m.end()
                continue
            if not final and _PARTIAL_TAG.fullmatch(data, lt):
                # Possibly the start of a tag: decide when more text arrives.
                if lt > start:
                    tokens.append(data[start:lt])
                self.pending = data[lt:]
                return tokens
            pos = lt + 1  # a "<" that is just text
        if len(data) > start:
            tokens.append(data[start:])
        self.pending = ""
        return tokens


class _Defuser:
    """The last guard on the printed text: removing tags can join two halves into a
    new one ("<syn" + "<synthesis>" + "thesis>"); such a tag is made inert by swapping
    its "<" for a look-alike (as `verdict` does), so no tag is ever printed."""

    def __init__(self) -> None:
        self.scanner = _Scanner()

    def feed(self, text: str, final: bool = False) -> str:
        return "".join(
            token if isinstance(token, str) else "\u2039" + token.text[1:]
            for token in self.scanner.feed(text, final)
        )


class _Trimmer:
    """Strips the printed text at both ends without seeing it whole: leading
    whitespace is dropped, trailing whitespace is held until text follows it."""

    def __init__(self) -> None:
        self.started = False
        self.held = ""

    def feed(self, text: str) -> str:
        if not self.started:
            text = text.lstrip()
            if not text:
                return ""
            self.started = True
        body = text.rstrip()
        if not body:
            self.held += text
            return ""
        out = self.held + body
        self.held = text[len(body):]
        return out


class ReplyReader:
    """Reads one arbiter reply incrementally; see the module docstring.

    `feed(chunk)` returns the synthesis text that became printable with this chunk
    ("" before the commit, after the synthesis ended, or for a reply that never
    commits); `finish()` returns what was held back at the end. Together they give
    the synthesis exactly once, in order. `head` is the verdict, set at the commit.
    """

    def __init__(self) -> None:
        self._raw: list[str] = []  # joined only when asked: a long reply comes in many chunks
        self.head: Verdict | None = None
        self.gave_up = False  # the reply is not verdict-first: read it whole at the end
        self.ended = False  # the synthesis closed
        self._text: list[str] = []
        self._head_text: list[str] = []
        self._cr = False  # a trailing "\r" that may be half of "\r\n"
        self._scanner = _Scanner()
        self._defuser = _Defuser()
        self._trimmer = _Trimmer()
        self._think = 0
        self._section: str | None = None

    def feed(self, chunk: str) -> str:
        self._raw.append(chunk)
        if self._cr:
            chunk = "\r" + chunk
        self._cr = chunk.endswith("\r")
        if self._cr:
            chunk = chunk[:-1]
        return self._take(self._scanner.feed(_newlines(chunk)), final=False)

    def finish(self) -> str:
        """The end of the reply: release what was held back."""
        tail = "\n" if self._cr else ""
        self._cr = False
        return self._take(self._scanner.feed(tail, final=True), final=True)

    @property
    def raw(self) -> str:
        """The reply so far, as received."""
        return "".join(self._raw)

    @property
    def text(self) -> str:
        """The synthesis printed so far."""
        return "".join(self._text)

    def verdict(self) -> Verdict:
        """The round's verdict once the reply has ended: the committed head and the
        printed synthesis, or, when nothing committed (or the synthesis came out
        empty), `verdict.read_whole` of the whole reply."""
        text = self.text
        if self.head is not None and text:
            head = self.head
            return Verdict(
                synthesis=text,
                confidence=head.confidence,
                needs_iteration=head.needs_iteration,
                refinement_areas=list(head.refinement_areas),
                analysis=head.analysis,
                dissent=head.dissent,
                tagged=True,
                raw=self.raw,
            )
        return read_whole(self.raw)

    # -- internals

    def _take(self, tokens: list[Token], final: bool) -> str:
        body: list[str] = []
        for token in tokens:
            if self.gave_up or self.ended:
                break
            if self.head is None:
                self._before(token)
            else:
                self._inside(token, body)
        out = self._defuser.feed("".join(body), final=final or self.ended)
        out = self._trimmer.feed(out)
        if out:
            self._text.append(out)
        return out

    def _skipped(self, token: _Tag) -> bool:
        """Whether a tag needs nothing more: a self-closing one, or a `<think>` tag,
        which only moves how deep in reasoning the reader is."""
        if token.selfclose:
            return True
        if token.name != "think":
            return False
        self._think = max(0, self._think - 1) if token.close else self._think + 1
        return True

    def _before(self, token: Token) -> None:
        """Before the synthesis: keep the verdict's text, watch for the commit."""
        if isinstance(token, str):
            self._head_text.append(token)
            return
        self._head_text.append(token.text)
        if self._skipped(token):
            return
        if token.close:
            if token.name == self._section:
                self._section = None
        elif token.name != "synthesis":
            if not self._think:
                self._section = token.name
        elif self._think or self._section is not None:
            # Inside reasoning or another section that may never close: whether
            # this is the real synthesis depends on text not seen yet.
            self.gave_up = True
        else:
            head = parse_head("".join(self._head_text[:-1]))
            if head is None:
                self.gave_up = True  # synthesis first, or no usable verdict
            else:
                self.head = head
                self._head_text = []

    def _inside(self, token: Token, body: list[str]) -> None:
        """Inside the synthesis: pass text on, drop tags and reasoning."""
        if isinstance(token, str):
            if not self._think:
                body.append(token)
            return
        if self._skipped(token):
            return
        if token.name == "synthesis" and not token.close:
            return  # a nested or repeated opening tag: just removed
        elif token.name == "synthesis" or not token.close:
            # Its end, or the next section opening because it was left unclosed.
            self.ended = True


def parse_verdict(raw: str) -> Verdict:
    """A whole arbiter reply as a Verdict, by the same rule as when it streams (it is
    read as one chunk). Never raises for any str."""
    reader = ReplyReader()
    reader.feed(raw)
    reader.finish()
    return reader.verdict()


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")
