"""The HTML page both the trace (`trace --html`) and the eval report are written as.

Both pages promise the same things, so they are made in one place: a complete
document that opens from disk, offline, years later (inline CSS, no script, no link,
no URL), the CSS they share, and the escaping of untrusted text. Model text may hold
raw controls (ESC, BEL), bidi overrides or zero-width characters; an HTML parser
reports controls as invalid code points, and a browser would apply an override to
the page around it. So every such character is shown as a visible marker such as
`[U+001B]` - the reader sees that it was there and which it was - and the document is
passed through `visible` as a whole, which also covers text rendered as markdown.
"""

from __future__ import annotations

import html
import re

from ..text.terminal import FORMAT_CHARACTERS

# What the HTML standard calls invalid in a document: C0 controls but tab, line
# feed, form feed and carriage return; DEL and C1; surrogates; noncharacters. Plus
# the format characters that a terminal also never sees (text/terminal.py).
_NONCHARACTERS = "\ufdd0-\ufdef\ufffe\uffff" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(1, 17)
)
_SHOWN_AS_MARKER = re.compile(
    f"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff{_NONCHARACTERS}{FORMAT_CHARACTERS}]"
)

#: The CSS both pages share; each adds its own after it.
BASE_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1400px;padding:1.5em;color:#1d1d1f;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.6em 0 .5em;border-bottom:1px solid #ddd}
.meta{color:#555}
pre{white-space:pre-wrap;word-wrap:break-word;font:13px/1.4 ui-monospace,monospace;margin:.3em 0}
svg text{font:12px system-ui,sans-serif}
"""


def marker(character: str) -> str:
    """How a hidden or invalid character is shown: `[U+202E]`."""
    return f"[U+{ord(character):04X}]"


def visible(markup: str) -> str:
    """`markup` with every invalid or hidden character replaced by its marker. The
    markers hold no markup characters, so this is safe on a whole document."""
    return _SHOWN_AS_MARKER.sub(lambda m: marker(m.group()), markup)


def escape(value: object) -> str:
    """Untrusted text as HTML text or attribute value: markup escaped, hidden
    characters made visible; None is empty."""
    return visible(html.escape("" if value is None else str(value)))


def document(title: str, body: str, css: str = "") -> str:
    """The complete page: `title` is text, `body` markup, `css` the page's own rules
    after the shared ones."""
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title><style>{BASE_CSS}{css}</style></head><body>\n"
        f"{body}\n</body></html>\n"
    )
    return visible(page)
