"""What a reply concludes (judging/conclusions.py), the one number grammar
(judging/numbers.py) and the pure matching modes: examples from docs/matching.md,
the misreadings issue 31 found, and properties that hold for any answer."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_consortium.evaluation import scorers
from llm_consortium.judging import matching, numbers, vote
from llm_consortium.judging.arbiter_reply import grammar
from llm_consortium.judging.conclusions import Conclusion, conclude
from llm_consortium.judging.matching import PureMatcher

SUM = "What is 7 + 5?"
CAPITAL = "What is the capital of France?"
YES_NO = "Is 7 greater than 5? Answer yes or no."
OPTIONS = "Which is a mammal? A) Shark B) Dolphin C) Trout"

# ------------------------------------------------------------------ conclusions


@pytest.mark.parametrize(
    "prompt, text, kind, value, rule",
    [
        # stated answers
        (SUM, "The answer is 12.", "number", "12", "stated answer"),
        (SUM, "7 + 5 = 12.", "number", "12", "result"),
        (SUM, "12", "number", "12", "bare number"),
        (SUM, "In this example, the answer is simply 12, which is the sum of the two numbers.", "number", "12",
         "stated answer"),
        (SUM, "Final answer: 42\n\nHope this helps!", "number", "42", "stated answer"),
        (SUM, "Reasoning: 3 * 4 = 12, minus 2.\n**Answer:** 10", "number", "10", "stated answer"),
        (SUM, r"So the result is \boxed{12}", "number", "12", "stated answer"),
        (SUM, "7 plus 5 equals 12.", "number", "12", "result"),
        (SUM, "43 + 14 = 57\n\nI'm ready to help with your math homework. Just ask.", "number", "57", "result"),
        (SUM, "The sum of 7 and 5 is 12.", "number", "12", "result"),
        (SUM, "Three and two are equal to five.", "number", "5", "result"),
        # number forms
        (SUM, "eight", "number", "8", "bare number"),
        (SUM, "The answer is twenty-one.", "number", "21", "stated answer"),
        (SUM, "$1,200.50", "number", "$1200.5", "bare number"),
        (SUM, "12 percent", "number", "12%", "bare number"),
        ("How far is it?", "It is 12 km.", "number", "12 km", "short answer"),
        (SUM, "The answer is -3.", "number", "-3", "stated answer"),
        # yes/no
        (YES_NO, "Yes, 7 is greater than 5.", "yes/no", "yes", "yes/no"),
        (YES_NO, "No.", "yes/no", "no", "yes/no"),
        (YES_NO, "The answer is no, it is not.", "yes/no", "no", "stated answer"),
        # option letters
        (OPTIONS, "B) Dolphin", "choice", "B", "choice"),
        (OPTIONS, "B. Dolphin", "choice", "B", "choice"),
        (OPTIONS, "I think the answer is (c).", "choice", "C", "stated answer"),
        (OPTIONS, "Option B", "choice", "B", "choice"),
        # one short thing named beyond the prompt's words
        (CAPITAL, "The capital of France is Paris.", "text", "paris", "short answer"),
        (CAPITAL, "It is Paris.", "text", "paris", "short answer"),
        (CAPITAL, "Paris, of course.", "text", "paris", "short answer"),
        (CAPITAL, "Let me think.\nIt is in France.\nFinal answer: Paris", "text", "paris", "stated answer"),
        # the whole text
        (SUM, "The answer is a prime number", "text", "prime number", "stated answer"),
        ("", "Paris is the capital of France", "text", "paris is the capital of france", "same text"),
    ],
)
def test_documented_conclusions(prompt, text, kind, value, rule):
    assert conclude(text, prompt) == Conclusion(kind, value, rule)


@pytest.mark.parametrize(
    "prompt, text, not_read_as",
    [
        # issue 31: numbers inside sentences that say other things are no answer
        ("Which French city has about 2 million people?", "Paris, with about 2 million people.", "2000000"),
        ("Name a country in South America.", "Brazil is one country in South America.", "1"),
        ("Which is larger, 9.11 or 9.9?", "9.11 is larger than 9.9.", "9.9"),
        ("", "9.11 is larger than 9.9.", "9.9"),
        ("Who wrote Hamlet?", "Shakespeare wrote Hamlet in 1600.", "1600"),
        ("", "The city had 2 million people in 2020 and has grown by about 3 percent a year.", "3"),
    ],
)
def test_an_incidental_number_is_no_conclusion(prompt, text, not_read_as):
    found = conclude(text, prompt)
    assert found.kind != "number" and found.value != not_read_as, found


@pytest.mark.parametrize(
    "text, kind, value",
    [
        # issue 31, item 2: yes/no and letters were tried before a stated answer
        ("No doubt about it: the answer is 12.", "number", "12"),
        ("My answer: I believe it is 42.", "number", "42"),
        ("The answer is 12. Choice C would be wrong.", "number", "12"),
        ("Yes! The answer is 12.", "number", "12"),
    ],
)
def test_a_stated_answer_wins_over_a_leading_word_or_letter(text, kind, value):
    assert (conclude(text, SUM).kind, conclude(text, SUM).value) == (kind, value)


@pytest.mark.parametrize("answers", [["$12", "€12"], ["12 km", "12 miles"], ["12%", "12 dollars"]])
def test_a_number_in_different_units_is_a_different_answer(answers):
    assert [g.members for g in vote.group(answers, prompt="How much is it?")] == [(0,), (1,)]
    assert len({scorers.stated_number(a) for a in answers}) == 1  # the scorer compares the number alone


def test_a_name_starting_with_an_initial_is_no_option_letter():
    assert conclude("A. Lincoln was the 16th president.", "Who was the 16th US president?").kind == "text"


def test_yes_and_then_a_stated_answer_is_one_vote_with_the_bare_answer():
    assert [g.members for g in vote.group(["Yes! The answer is 12.", "12"], prompt=SUM)] == [(0, 1)]


# ------------------------------------------------------------------- equal answers


def test_four_ways_of_saying_paris_are_one_group():
    answers = ["Paris", "The capital of France is Paris.", "It is Paris.", "Paris, of course."]
    [group] = vote.group(answers, prompt=CAPITAL)
    assert group.share == 1.0 and group.key == "paris"


def test_three_more_ways_of_saying_paris_are_one_group():
    [group] = vote.group(["The capital is Paris.", "Final answer: Paris", "paris"], prompt=CAPITAL)
    assert group.members == (0, 1, 2)


@pytest.mark.parametrize(
    "prompt, answers",
    [
        ("Which French city has about 2 million people?",
         ["Paris, with about 2 million people.", "Lyon, with about 2 million people.", "Marseille, about 2 million."]),
        ("Name a city in France.",
         ["One city in France is Paris.", "One city in France is Lyon.", "One city in France is Marseille."]),
        ("Who wrote Hamlet?",
         ["Shakespeare wrote Hamlet in 1600.", "Marlowe wrote Hamlet in 1600.", "Jonson wrote Hamlet in 1600."]),
        ("Which city is the capital of France?", ["Yes, Paris", "Yes, Lyon"]),
        ("Name a country in South America.", ["Brazil is one country in South America.",
                                              "Peru is one country in South America."]),
        ("Who won, Alice or Bob?", ["Alice beat Bob.", "Bob beat Alice."]),
        ("Tell me about Paris.", ["Paris is the capital of France.", "Paris is not the capital of France."]),
        ("Which is larger, 9.11 or 9.9?", ["9.11 is larger than 9.9.", "9.9 is larger than 9.11."]),
    ],
)
def test_different_answers_with_shared_words_or_figures_stay_apart(prompt, answers):
    assert [g.members for g in vote.group(answers, prompt=prompt)] == [(i,) for i in range(len(answers))]


# ------------------------------------------------------------ one number grammar


@pytest.mark.parametrize(
    "token, value",
    [("1,200", "1200"), ("1,200.50", "1200.5"), ("12.0", "12"), ("−3", "-3"), ("0,85", "0.85"),
     ("5e-1", "0.5"), ("-0", "0"), ("1e1000000", "1e1000000"), ("1" + "0" * 50, "1e50")],
)
def test_canonical_numbers(token, value):
    assert numbers.canonical(token) == value


def test_the_vote_the_confidence_and_the_scorer_read_numbers_alike():
    assert conclude("1,200", SUM).value == "1200"
    assert scorers.deterministic("number")("The answer is 1,200.", "1200")
    assert conclude("0,85", SUM).value == "0.85"
    assert grammar.parse_confidence("0,85") == pytest.approx(0.85)
    assert scorers.stated_number("0,85") == "0.85"


def test_the_number_scorer_takes_the_result_not_a_number_in_the_prose():
    reply = "7 + 12 = 19. So the answer is a straightforward sum of 7 and 12."
    assert scorers.stated_number(reply) == "19"
    assert scorers.deterministic("number")(reply, "19")
    assert not scorers.deterministic("number")(reply, "7")


@pytest.mark.parametrize("text", ["The answer is 1e1000000", "The answer is 1e999999", "1e-1000000",
                                  "9" * 1_000_000, "The answer is " + "9" * 1_000_000 + "."])
def test_huge_numbers_neither_raise_nor_grow(text):
    found = conclude(text, SUM)
    assert len(found.value) <= max(60, len(text))
    value = numbers.canonical(text.removeprefix("The answer is ").rstrip("."))
    assert value is None or len(value) <= 2 * numbers.MAX_CHARS
    vote.tally([text, text], ["a", "b"])  # and the vote groups them without raising


@settings(deadline=None)  # regexes over the whole reply: slow on a loaded machine, never unbounded
@given(st.from_regex(r"[-+−]?\d{0,120}([.,]\d{0,120})?([eE][-+]?\d{1,120})?", fullmatch=True))
def test_canonical_number_never_raises_and_stays_short(token):
    value = numbers.canonical(token)
    assert value is None or len(value) <= 2 * numbers.MAX_CHARS
    if value is not None:
        float(value)  # always a float literal (inf beyond float's range)


@settings(deadline=None)  # regexes over the whole reply: slow on a loaded machine, never unbounded
@given(st.integers(min_value=-10**9, max_value=10**9))
def test_every_way_of_stating_a_number_concludes_it(n):
    for text in (f"{n}", f"The answer is {n}.", f"7 + 5 = {n}", f"Final answer: {n}", f"{n:,}"):
        assert (conclude(text, SUM).kind, conclude(text, SUM).value) == ("number", str(n)), text


@settings(deadline=None)  # regexes over the whole reply: slow on a loaded machine, never unbounded
@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_a_sum_written_out_concludes_its_result(a, b):
    assert conclude(f"{a} + {b} = {a + b}.", f"What is {a} + {b}?").value == str(a + b)


@settings(deadline=None)  # regexes over the whole reply: slow on a loaded machine, never unbounded
@given(st.decimals(min_value=-10**6, max_value=10**6, places=3, allow_nan=False))
def test_trailing_zeros_and_signs_do_not_split_a_number(d):
    assert matching.canonical_number(f"{d}") == matching.canonical_number(f"{d}000")


@settings(deadline=None)  # regexes over the whole reply: slow on a loaded machine, never unbounded
@given(st.text(max_size=80), st.text(max_size=40))
def test_conclusions_never_fail_and_are_deterministic(text, prompt):
    assert conclude(text, prompt) == conclude(text, prompt)


# ------------------------------------------------------------------- the modes


def groups(answers, matcher=matching.AUTO, prompt=SUM):
    return [(g.members, g.key) for g in vote.group(answers, matcher, prompt)]


def test_auto_puts_rewordings_of_one_number_in_one_group():
    answers = ["The answer is 12.", "7 + 5 = 12.", "12", "In this example, the answer is simply 12."]
    winner, trace = vote.tally(answers, ["a", "b", "c", "d"], prompt=SUM)
    assert winner.share == 1.0
    assert [g["extracted"] for g in trace["groups"]] == ["12"]
    assert [c["rule"] for c in trace["groups"][0]["conclusions"]] == [
        "stated answer", "result", "bare number", "stated answer"
    ]


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
    st.one_of(st.sampled_from(["12", "The answer is 12.", "7 + 5 = 12", "Yes", "no.", "B", "Paris", "1e1000000"]),
              st.text(max_size=30)),
    min_size=1, max_size=7,
)


@settings(deadline=None)  # regexes over the whole reply: slow on a loaded machine, never unbounded
@given(answer_lists, st.sampled_from(["auto", "exact", "number", "choice"]), st.floats(0, 5))
def test_every_mode_puts_each_answer_in_exactly_one_group(answers, mode, tolerance):
    present = [a for a in answers if a.strip()]
    clusters = PureMatcher(mode, tolerance).clusters(present, SUM)
    assert sorted(i for c in clusters for i in c.members) == list(range(len(present)))
    assert all(len(c.reduced) == len(c.members) for c in clusters)


@settings(deadline=None)  # regexes over the whole reply: slow on a loaded machine, never unbounded
@given(answer_lists, st.sampled_from(["auto", "exact", "number", "choice"]))
def test_identical_answers_are_always_one_group(answers, mode):
    home = {i: c for c in PureMatcher(mode).clusters(answers + answers, SUM) for i in c.members}
    assert all(home[i] is home[i + len(answers)] for i in range(len(answers)))


@settings(deadline=None)  # regexes over the whole reply: slow on a loaded machine, never unbounded
@given(answer_lists)
def test_the_awaitable_tally_agrees_with_the_plain_one(answers):
    names = [f"m{i}" for i in range(len(answers))]
    if not any(a.strip() for a in answers):
        return
    winner, trace = vote.tally(answers, names, prompt=SUM)
    winner2, trace2, grouping = asyncio.run(vote.tally_async(answers, names, prompt=SUM))
    assert (winner, trace, grouping.calls) == (winner2, trace2, [])


def test_the_trace_names_the_rule_even_when_the_conclusion_is_the_shown_answer():
    from llm_consortium.render import trace_phrases

    _, trace = vote.tally(["12", "12"], ["a", "b"], prompt=SUM)
    assert trace_phrases.group_extracted(trace["groups"][0]) == " (bare number)"
    _, trace = vote.tally(["Paris", "Lyon"], ["a", "b"], prompt="Name a city.")
    assert [trace_phrases.group_extracted(g) for g in trace["groups"]] == [" (same text)", " (same text)"]
