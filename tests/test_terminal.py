"""inert(): model and file text cannot act on the terminal it is printed to."""

import re

from hypothesis import given
from hypothesis import strategies as st

from llm_consortium.text.terminal import inert

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

# Text plus sequences a terminal would act on, mixed with plain text.
_pieces = st.one_of(
    st.text(),
    st.sampled_from([h for h, _ in HOSTILE]),
    st.sampled_from([ESC, "\x9b", "\x9d", "\r", "\b", "\x00", "\x7f", ESC + "]", ESC + "["]),
)
texts = st.lists(_pieces, max_size=8).map("".join)
plain = st.text(alphabet=st.characters(exclude_categories=["Cc", "Cs"]))


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


@given(st.text(alphabet=st.characters(exclude_categories=["Cc", "Cs"]) | st.sampled_from("\n\t")))
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


def test_non_strings_are_converted():
    assert inert(3) == "3"
    assert inert(None) == "None"
