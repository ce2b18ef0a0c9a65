"""Answer extraction and the pure matching modes (auto, exact, number, choice):
examples from docs/matching.md, and properties that hold for any answer."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_consortium.judging import matching, vote
from llm_consortium.judging.matching import Extracted, PureMatcher, extract

# ------------------------------------------------------------------ extraction


@pytest.mark.parametrize(
    "text, kind, value",
    [
        # stated answers
        ("The answer is 12.", "number", "12"),
        ("7 + 5 = 12.", "number", "12"),
        ("7 + 5 = 12", "number", "12"),
        ("12", "number", "12"),
        ("In this example, the answer is simply 12, which is the sum of the two numbers.", "number", "12"),
        ("Final answer: 42\n\nHope this helps!", "number", "42"),
        ("Reasoning: 3 * 4 = 12, minus 2.\n**Answer:** 10", "number", "10"),
        (r"So the result is \boxed{12}", "number", "12"),
        ("We add them: **12**", "number", "12"),
        ("7 plus 5 equals 12.", "number", "12"),
        ("43 + 14 = 57\n\nI'm ready to help with your math homework. Just ask.", "number", "57"),
        ("The sum of 7 and 5 is 12.", "number", "12"),
        # number forms
        ("eight", "number", "8"),
        ("The answer is twenty-one.", "number", "21"),
        ("one hundred and five apples", "number", "105"),
        ("It costs $1,200.50", "number", "1200.5"),
        ("12.0 km", "number", "12"),
        ("The answer is -3.", "number", "-3"),
        # yes/no
        ("Yes, 7 is greater than 5.", "yes/no", "yes"),
        ("No.", "yes/no", "no"),
        ("The answer is no, it is not.", "yes/no", "no"),
        # option letters
        ("B) Paris", "choice", "B"),
        ("I think the answer is (c).", "choice", "C"),
        ("Option D", "choice", "D"),
        # text
        ("The answer is a prime number", "text", "a prime number"),
        ("Let me think.\nIt is in France.\nFinal answer: Paris", "text", "paris"),
        ("Paris is the capital of France", "text", "paris is the capital of france"),
    ],
)
def test_extract_documented_examples(text, kind, value):
    assert extract(text) == Extracted(kind, value)


def test_a_long_reply_naming_several_numbers_is_compared_as_text():
    text = "The city had 2 million people in 2020 and has grown by about 3 percent every year since then."
    assert extract(text).kind == "text"


@given(st.integers(min_value=-10**9, max_value=10**9))
def test_every_way_of_stating_a_number_extracts_it(n):
    for text in (f"{n}", f"The answer is {n}.", f"x = {n}", f"Final answer: {n}", f"**{n}**", f"{n:,}"):
        assert extract(text) == Extracted("number", str(n)), text


@given(st.integers(min_value=0, max_value=999_999))
def test_number_words_read_as_their_digits(n):
    assert extract(_words(n)) == Extracted("number", str(n))


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_a_sum_written_out_extracts_its_result(a, b):
    assert extract(f"{a} + {b} = {a + b}.").value == str(a + b)


@given(st.decimals(min_value=-10**6, max_value=10**6, places=3, allow_nan=False))
def test_trailing_zeros_and_signs_do_not_split_a_number(d):
    assert matching.canonical_number(f"{d}") == matching.canonical_number(f"{d}000")


@given(st.sampled_from(["yes", "no"]), st.text(alphabet="abcdefghij ,.", max_size=30))
def test_yes_or_no_at_the_start_is_the_answer(word, rest):
    assert extract(f"{word.capitalize()}, {rest}") == Extracted("yes/no", word)


@given(st.text(max_size=80))
def test_extraction_never_fails_and_is_deterministic(text):
    assert extract(text) == extract(text)


_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("-" + _ONES[n % 10] if n % 10 else "")
    if n < 1000:
        return _ONES[n // 100] + " hundred" + (" and " + _words(n % 100) if n % 100 else "")
    return _words(n // 1000) + " thousand" + (" " + _words(n % 1000) if n % 1000 else "")


# ------------------------------------------------------------------- the modes


def groups(answers, matcher=matching.AUTO):
    return [(g.members, g.key) for g in vote.group(answers, matcher)]


def test_auto_puts_rewordings_of_one_number_in_one_group():
    answers = ["The answer is 12.", "7 + 5 = 12.", "12", "In this example, the answer is simply 12."]
    winner, trace = vote.tally(answers, ["a", "b", "c", "d"])
    assert winner.share == 1.0
    assert [g["extracted"] for g in trace["groups"]] == ["12"]


def test_auto_keeps_different_numbers_and_kinds_apart():
    assert groups(["12", "13", "Yes", "B)"]) == [((0,), "12"), ((1,), "13"), ((2,), "yes"), ((3,), "B")]


def test_exact_compares_whole_normalised_texts():
    exact = PureMatcher("exact")
    assert groups(["12", " 12. ", "The answer is 12."], exact) == [((0, 1), "12"), ((2,), "the answer is 12")]


def test_number_groups_within_the_tolerance_of_the_first_answer():
    assert groups(["3.14", "pi is about 3.1416", "3.2"], PureMatcher("number", 0.01)) == [
        ((0, 1), "3.14"), ((2,), "3.2")
    ]
    assert groups(["3.14", "3.1416"], PureMatcher("number")) == [((0,), "3.14"), ((1,), "3.1416")]


def test_number_mode_answers_without_a_number_compare_as_text():
    assert groups(["no idea", "No idea.", "12"], PureMatcher("number")) == [((0, 1), "no idea"), ((2,), "12")]


def test_choice_groups_by_option_letter():
    assert groups(["B", "The answer is (b).", "C) Lyon"], PureMatcher("choice")) == [((0, 1), "B"), ((2,), "C")]


@pytest.mark.parametrize("mode, tolerance", [("fuzzy", 0.0), ("number", -1.0)])
def test_bad_pure_settings_are_refused_when_made(mode, tolerance):
    with pytest.raises(ValueError):
        PureMatcher(mode, tolerance)


answer_lists = st.lists(
    st.one_of(st.sampled_from(["12", "The answer is 12.", "7 + 5 = 12", "Yes", "no.", "B", "Paris"]),
              st.text(max_size=30)),
    min_size=1, max_size=7,
)


@given(answer_lists, st.sampled_from(["auto", "exact", "number", "choice"]), st.floats(0, 5))
def test_every_mode_puts_each_answer_in_exactly_one_group(answers, mode, tolerance):
    present = [a for a in answers if a.strip()]
    clusters = PureMatcher(mode, tolerance).clusters(present)
    assert sorted(i for c in clusters for i in c.members) == list(range(len(present)))


@given(answer_lists, st.sampled_from(["auto", "exact", "number", "choice"]))
def test_identical_answers_are_always_one_group(answers, mode):
    home = {i: c for c in PureMatcher(mode).clusters(answers + answers) for i in c.members}
    assert all(home[i] is home[i + len(answers)] for i in range(len(answers)))


@given(answer_lists)
def test_the_awaitable_tally_agrees_with_the_plain_one(answers):
    names = [f"m{i}" for i in range(len(answers))]
    if not any(a.strip() for a in answers):
        return
    winner, trace = vote.tally(answers, names)
    winner2, trace2, grouping = asyncio.run(vote.tally_async(answers, names))
    assert (winner, trace, grouping.calls) == (winner2, trace2, [])
