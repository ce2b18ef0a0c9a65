"""Answers rendered as markdown on the HTML trace page, with nothing active in them."""

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_consortium.render.markdown import FOLD_LINES, answer_html, to_html

ALLOWED_ATTRIBUTES = {"class", "start", "style", "align"}


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(html):
    parser = Tags()
    parser.feed(html)
    return parser.tags


def assert_inert(html):
    """No active element, no attribute that loads or runs anything, and no URL scheme
    that runs script inside any attribute value (model text shows it only as text)."""
    for tag, attrs in tags(html):
        assert tag not in {"script", "img", "iframe", "a", "object", "embed", "style", "link"}, tag
        assert set(attrs) <= ALLOWED_ATTRIBUTES, (tag, attrs)
        for value in attrs.values():
            assert not re.search(r"javascript:|url\(", value or "", re.IGNORECASE), (tag, attrs)


@pytest.mark.parametrize(
    "html",
    [
        '<p><span style="background:url(javascript:alert(1))">x</span></p>',
        '<p class="JavaScript:alert(1)">x</p>',
        '<a href="#">x</a>',
        '<span onclick="alert(1)">x</span>',
    ],
)
def test_assert_inert_catches_what_it_is_for(html):
    with pytest.raises(AssertionError):
        assert_inert(html)


def test_markdown_is_rendered():
    html = to_html("# Title\n\n- **one**\n- `two`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```py\nx < 1\n```")
    assert "<h1>Title</h1>" in html
    assert "<li><strong>one</strong></li>" in html
    assert "<code>two</code>" in html
    assert "<td>1</td>" in html
    assert "x &lt; 1" in html


def test_raw_html_in_an_answer_is_escaped():
    html = to_html('<script>alert(1)</script>\n\n<img src=x onerror="alert(2)"> <b>bold?</b>')
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert_inert(html)


def test_links_and_images_become_text():
    html = to_html(
        "[docs](https://docs.example/a?b=1) [js](javascript:alert(1)) "
        "![chart](https://tracker.example/p.png) <https://auto.example>"
    )
    assert_inert(html)
    assert "docs</span> <span class=\"url\">&lt;https://docs.example/a?b=1&gt;" in html
    assert "[image: chart]" in html and "tracker.example/p.png" in html
    assert "https://auto.example" in html
    # A javascript: link is not a link at all, only text.
    assert "[js](javascript:alert(1))" in html


@settings(max_examples=150)
@given(st.text(alphabet=st.sampled_from(list("<>\"'&[]()!:=/ \nabjsvcript#*`|-_")), max_size=120))
def test_no_markup_from_the_answer_survives(text):
    assert_inert(to_html(text))


def test_long_answers_are_folded():
    long = "\n".join(f"line {n}" for n in range(FOLD_LINES + 5))
    html = answer_html(long)
    assert html.startswith("<details><summary>line 0 ")
    assert f"({FOLD_LINES + 5} lines" in html
    assert "<details>" not in answer_html("short answer")
    assert "<details>" not in answer_html(long, fold=False)
