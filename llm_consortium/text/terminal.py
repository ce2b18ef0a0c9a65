"""Making model and file text inert before it reaches a terminal.

Answers, errors and file names are untrusted: a member can reply with `ESC ] 52 ; c ;
… BEL` (write the clipboard), `ESC ] 0 ; … BEL` (set the window title), a DCS or APC
string, or a bare carriage return or backspace that overwrites what was printed
before it. Unicode has quieter ways to mislead: a right-to-left override (U+202E) shows
the rest of a model id backwards, zero-width and tag characters hide text in plain
sight. click only strips colour codes, and only when stdout is not a terminal, so
every command that prints such text passes it through `inert()` first. One function,
used everywhere, so there is one place to get it right.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Whole escape sequences are dropped: they carry no text a reader needs.
#   CSI  ESC [ (or 0x9b) parameters, intermediates, one final byte
#   OSC  ESC ] (0x9d)  } a string up to BEL or ST (ESC \ or 0x9c); an unterminated
#   DCS  ESC P (0x90)  } string runs to the end of the text, as a terminal would
#   SOS  ESC X (0x98)  } swallow it
#   PM   ESC ^ (0x9e)  }
#   APC  ESC _ (0x9f)  }
#   any other ESC + one character (ESC c resets the terminal, ESC ( B picks a charset)
_SEQUENCE = re.compile(
    r"""
    (?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?
  | (?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|\Z)
  | \x1b[\x20-\x2f]*[\x30-\x7e]?
    """,
    re.VERBOSE | re.DOTALL,
)
# What is left of the controls: every C0 control but tab and newline, DEL, and C1.
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"
# Format characters (Unicode category Cf) that reorder or hide text without being
# shown themselves: bidi embeddings, overrides, isolates and marks (U+202E shows
# what follows backwards), zero-width spaces and joiners-that-are-not, soft hyphen,
# word joiner and invisible operators, BOM, interlinear annotations, the tag
# characters (they spell out ASCII no one sees), and the layout controls of
# hieroglyphs, shorthand and music. Left alone, out of category Cf: ZWNJ and ZWJ
# (U+200C, U+200D), which emoji sequences and several scripts need, and the
# prepended concatenation marks (U+0600-U+0605 and the like), which are visible.
# tests/test_terminal.py checks this list against the running Python's Unicode data.
FORMAT_CHARACTERS = (
    "\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)
# Line and paragraph separators: line breaks to a reader, raw bytes to a terminal.
_SEPARATORS = "\u2028\u2029"
# Lone surrogates (from JSON such as "\\ud800") cannot even be encoded for output.
_SURROGATES = "\ud800-\udfff"

_REMOVED = re.compile(f"[{_CONTROLS}{FORMAT_CHARACTERS}]")
_LINE_BREAK = re.compile(f"\r\n?|[{_SEPARATORS}]")
_SURROGATE = re.compile(f"[{_SURROGATES}]")
#: Every character that `inert` changes and `inert_json` escapes: one policy.
HIDDEN = re.compile(f"[{_CONTROLS}{FORMAT_CHARACTERS}{_SEPARATORS}{_SURROGATES}]")
# The same test for ASCII text (CPython knows a string is ASCII without a scan), so
# a long ASCII answer is searched for a short class rather than the full one.
_HIDDEN_ASCII = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def inert(text: object) -> str:
    """`text` as a string that a terminal prints and cannot act on.

    Escape sequences (colour, cursor moves, titles, clipboard writes, DCS/APC strings)
    are removed whole; Windows line ends become `\\n`, a lone carriage return (or a
    U+2028/U+2029 separator) becomes a line break, so it cannot overwrite the line;
    any other control character and every hidden format character (FORMAT_CHARACTERS)
    is removed, and a lone surrogate becomes U+FFFD. Tabs, newlines and all other
    printable Unicode are kept as they are."""
    value = text if isinstance(text, str) else str(text)
    if (_HIDDEN_ASCII if value.isascii() else HIDDEN).search(value) is None:  # plain text: no copy
        return value
    value = _SEQUENCE.sub("", value)
    value = _LINE_BREAK.sub("\n", value)
    value = _SURROGATE.sub("\ufffd", value)
    return _REMOVED.sub("", value)


def inert_json(value: Any, indent: int | None = 2) -> str:
    """`value` as JSON text that is safe on a terminal and still the same data.

    json.dumps escapes C0 controls itself; every other character `inert` would change
    (DEL, C1 - 0x9b is a one-byte CSI -, the hidden format characters, U+2028/U+2029
    and lone surrogates) is left raw when non-ASCII is kept readable, so it becomes
    a \\u escape here: such characters only occur inside strings, where an escape
    means the same character."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    return HIDDEN.sub(_json_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    """A character as JSON's \\u escape; past the BMP, as its UTF-16 surrogate pair."""
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
