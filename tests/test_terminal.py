"""inert(): model and file text cannot act on the terminal it is printed to."""

import json
import re
import sys
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from llm_consortium.text.terminal import FORMAT_CHARACTERS, HIDDEN, inert, inert_json

# Every C0 control but tab and newline, DEL, and every C1 control.
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
ESC, BEL, ST = "\x1b", "\x07", "\x1b\\"

HOSTILE = [
    (f"{ESC}]0;pwned title{BEL}", "pwned title"),
    (f"{ESC}]52;c;cm0gLXJmIH4={BEL}", "cm0gLXJmIH4="),
    (f"{ESC}]52;c;cm0gLXJmIH4={ST}", "cm0gLXJmIH4="),
    (f"{ESC}P1$qm{ST}", "$qm"),
    (f"{ESC}_Gf=100;AAAA{ST}", "AAAA"),
    (f"{ESC}^private{ST}", "private"),
    ("\x9d0;c1 title\x9c", "c1 title"),
    ("\x90dcs payload\x9c", "dcs payload"),
    (f"{ESC}[2J{ESC}[H", "[2J"),
    (f"{ESC}c", "c"),
]

# Characters that reorder text (bidi controls).
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"

# Text plus sequences a terminal would act on, mixed with plain text.
_pieces = st.one_of(
    st.text(),
    st.sampled_from([h for h, _ in HOSTILE]),
    st.sampled_from([ESC, "\x9b", "\x9d", "\r", "\b", "\x00", "\x7f", ESC + "]", ESC + "["]),
    st.sampled_from([*BIDI, "\u200b", "\u00ad", "\ufeff", "\U000e0041", "\u2028", "\u2029", "\ud800"]),
)
texts = st.lists(_pieces, max_size=8).map("".join)
# What inert() keeps as it is: no controls, format characters, separators or surrogates
# (ZWJ and ZWNJ, kept on purpose, are mixed in).
plain = st.text(
    alphabet=st.characters(exclude_categories=["Cc", "Cs", "Cf", "Zl", "Zp"]) | st.sampled_from("\u200c\u200d")
)
FORMAT = re.compile(f"[{FORMAT_CHARACTERS}]")


@given(texts)
def test_no_control_character_survives(text):
    assert not CONTROLS.search(inert(text))


@given(texts)
def test_inert_is_idempotent(text):
    once = inert(text)
    assert inert(once) == once


@given(plain)
def test_plain_text_is_untouched(text):
    assert inert(text) == text


@given(st.text(alphabet=st.characters(exclude_categories=["Cc", "Cs", "Cf", "Zl", "Zp"]) | st.sampled_from("\n\t")))
def test_tabs_and_newlines_are_kept(text):
    assert inert(text) == text


@given(plain, st.sampled_from([h for h, _ in HOSTILE]), plain)
def test_text_around_a_sequence_is_kept(before, sequence, after):
    assert inert(before + sequence + after) == before + after


def test_hostile_payloads_are_removed_whole():
    for sequence, payload in HOSTILE:
        out = inert(f"before {sequence} after")
        assert payload not in out, sequence
        assert out == "before  after", repr(sequence)


def test_a_hyperlink_keeps_its_text_and_loses_its_target():
    assert inert(f"{ESC}]8;;http://evil.example{ST}click{ESC}]8;;{ST}") == "click"


def test_carriage_returns_cannot_overwrite_a_line():
    assert inert("safe\rEVIL") == "safe\nEVIL"
    assert inert("one\r\ntwo") == "one\ntwo"
    assert inert("rm -rf /\b\b\b\b\b\b\bls") == "rm -rf /ls"


def test_format_characters_are_removed_and_joiners_kept():
    assert inert("gpt\u202e-4o-mini") == "gpt-4o-mini"
    assert inert("".join(BIDI)) == ""
    assert inert("pay\u200b\u2060pal\U000e0069\U000e0067\ufeff\u00ad") == "paypal"
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert inert(family) == family  # an emoji sequence keeps its joiners
    assert inert("\u0645\u06cc\u200c\u062e") == "\u0645\u06cc\u200c\u062e"  # Persian needs ZWNJ


def test_separators_become_line_breaks_and_surrogates_a_replacement():
    assert inert("one\u2028two\u2029three") == "one\ntwo\nthree"
    assert inert("lone \ud800 half") == "lone \ufffd half"
    inert("lone \ud800 half").encode("utf-8")  # printable at all


def test_the_format_list_is_category_cf_less_what_is_kept():
    """Every Cf character of this Python's Unicode data is removed but the documented
    few; every character removed is Cf (or Cf in a newer Unicode)."""
    kept = {0x200C, 0x200D, *range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD}
    newer = set(range(0x13439, 0x13440))  # Egyptian format controls added in Unicode 15
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        listed = FORMAT.match(char) is not None
        if unicodedata.category(char) == "Cf":
            assert listed != (code in kept), f"U+{code:04X}"
        else:
            assert not listed or code in newer, f"U+{code:04X}"


# A high surrogate followed by a low one is one character to JSON, not two.
hidden = st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Cs", "Lu", "Zs"])).filter(
    lambda t: not re.search("[\ud800-\udbff][\udc00-\udfff]", t)
)


@given(hidden)
def test_json_escapes_what_inert_changes_and_keeps_the_data(text):
    out = inert_json({"text": text})
    assert json.loads(out) == {"text": text}
    assert not HIDDEN.search(out)
    assert inert(out) == out


@given(hidden)
def test_nothing_hidden_survives_inert(text):
    assert not HIDDEN.search(inert(text)) and not FORMAT.search(inert(text))


def test_non_strings_are_converted():
    assert inert(3) == "3"
    assert inert(None) == "None"
