"""Model answers as HTML for the trace page: markdown rendered, and nothing active.

Answers are markdown, so the page renders them (headings, lists, code, tables) with
markdown-it-py, a well-kept CommonMark implementation, configured so model text stays
inert: raw HTML in an answer is escaped, never passed through, and no link or image
becomes a URL the page would follow or fetch - a link shows its text and its address
as plain text, an image its alt text and address. That keeps the page script-free,
self-contained and free of anything that points elsewhere, as `trace --html` promises.
Long answers are folded into a `<details>` element so a round of long answers stays
readable.
"""

from __future__ import annotations

from html import escape
from typing import Any

from markdown_it import MarkdownIt

from ..text.cuts import shortened

# Answers longer than this many lines or characters are folded.
FOLD_LINES = 24
FOLD_CHARS = 2400
SUMMARY_WIDTH = 90


def _link_open(renderer: Any, tokens: list, index: int, options: Any, env: dict) -> str:
    env.setdefault("hrefs", []).append(tokens[index].attrGet("href") or "")
    return '<span class="link">'


def _link_close(renderer: Any, tokens: list, index: int, options: Any, env: dict) -> str:
    href = env["hrefs"].pop() if env.get("hrefs") else ""
    text = tokens[index - 1].content if index > 0 else ""
    shown = "" if not href or href in (text, f"mailto:{text}") else f' <span class="url">&lt;{escape(href)}&gt;</span>'
    return f"</span>{shown}"


def _image(renderer: Any, tokens: list, index: int, options: Any, env: dict) -> str:
    token = tokens[index]
    alt = escape(token.content or "image")
    src = escape(str(token.attrGet("src") or ""))
    return f'<span class="image">[image: {alt}] <span class="url">&lt;{src}&gt;</span></span>'


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    md.add_render_rule("image", _image)
    return md


_MD = _parser()


def to_html(text: Any) -> str:
    """`text` (markdown from a model) as an HTML fragment with no markup of its own
    passed through, no URL attributes and no script."""
    return _MD.render(str(text if text is not None else ""), {})


def is_long(text: str) -> bool:
    """Whether an answer is long enough to be folded."""
    return len(text) > FOLD_CHARS or text.count("\n") + 1 > FOLD_LINES


def answer_html(text: Any, fold: bool = True) -> str:
    """An answer rendered in a `<div class="md">`; long ones (when `fold`) inside
    `<details>` whose summary is the first line and the size."""
    value = str(text if text is not None else "")
    body = f'<div class="md">{to_html(value)}</div>'
    if not fold or not is_long(value):
        return body
    first = next((line.strip() for line in value.splitlines() if line.strip()), "")
    first = shortened(first, SUMMARY_WIDTH)
    lines = value.count("\n") + 1
    return (
        f"<details><summary>{escape(first)} <span class=\"size\">({lines} lines, "
        f"{len(value)} characters)</span></summary>{body}</details>"
    )
