"""Making model and file text inert before it reaches a terminal.

Answers, errors and file names are untrusted: a member can reply with `ESC ] 52 ; c ;
… BEL` (write the clipboard), `ESC ] 0 ; … BEL` (set the window title), a DCS or APC
string, or a bare carriage return or backspace that overwrites what was printed
before it. click only strips colour codes, and only when stdout is not a terminal, so
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
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def inert(text: object) -> str:
    """`text` as a string that a terminal prints and cannot act on.

    Escape sequences (colour, cursor moves, titles, clipboard writes, DCS/APC strings)
    are removed whole; Windows line ends become `\\n`, a lone carriage return becomes
    a line break (so it cannot overwrite the line), and any other control character
    is removed. Tabs, newlines and all printable Unicode are kept as they are."""
    value = text if isinstance(text, str) else str(text)
    if not _needs_work(value):
        return value
    value = _SEQUENCE.sub("", value)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", value)


def _needs_work(value: str) -> bool:
    # The common case, plain text, costs one scan and no copy.
    return _CONTROL.search(value) is not None


_JSON_UNESCAPED_CONTROL = re.compile(r"[\x7f-\x9f]")


def inert_json(value: Any, indent: int | None = 2) -> str:
    """`value` as JSON text that is safe on a terminal and still the same data.

    json.dumps escapes C0 controls itself; DEL and C1 controls (0x9b is a one-byte
    CSI) are left raw when non-ASCII is kept readable, so they become \\u escapes
    here: they can only occur inside strings, where an escape means the same."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    return _JSON_UNESCAPED_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
