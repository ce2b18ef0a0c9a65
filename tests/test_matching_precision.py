"""Replies that look alike but commit to different answers are never one group: one
case per principle the adversarial set (tests/data/matching_adversarial.jsonl)
showed was missing, in new wording. A false merge prints one member's answer at
confidence 1.00, so each principle keeps apart what it cannot read soundly, and the
agreement it still reads is checked beside it."""

from __future__ import annotations

import pytest

from llm_consortium.judging.asking import PromptForm
from llm_consortium.judging.conclusions import conclude

from helpers import kept_apart, one_group


def why(prompt: str, answers: list[str]) -> list[tuple[str, str, str]]:
    return [(c.kind, c.value, c.rule) for c in (conclude(a, prompt) for a in answers)]


# 1. an aside comes off only when what stays holds content


@pytest.mark.parametrize(
    "prompt, answers",
    [
        ("Could you tell me who painted The Starry Night?", ["Sure — Vincent van Gogh.", "Sure — Claude Monet."]),
        ("Do you know which planet is the largest?", ["Of course — Jupiter.", "Of course — Saturn."]),
        ("Can you tell me what the capital of Canada is?", ["Yes — Ottawa.", "Yes — Toronto."]),
    ],
)
def test_filler_before_an_aside_never_answers(prompt, answers):
    assert kept_apart(prompt, answers), why(prompt, answers)


def test_the_answer_after_filler_is_still_read():
    prompt = "Could you tell me who painted The Starry Night?"
    assert one_group(prompt, ["Sure — Vincent van Gogh.", "Vincent van Gogh."])


# 2. a question that asks two things never reduces to the first part's yes/no


@pytest.mark.parametrize(
    "prompt, answers",
    [
        ("Is Mercury the closest planet to the Sun, and does it have any moons?",
         ["Yes, it is the closest, and it has no moons.", "Yes, it is the closest, and it has two small moons."]),
        ("Is it true that bulls hate the colour red, and can they see it?",
         ["No, that's a myth — bulls are red-green colour-blind, so they can't see red as we do.",
          "No, that's a myth — and yes, they see red perfectly well."]),
    ],
)
def test_two_questions_in_one_are_answered_by_both_parts(prompt, answers):
    assert not PromptForm.of(prompt).yes_no
    assert kept_apart(prompt, answers), why(prompt, answers)


# 3. a result is one chain of arithmetic; an opening option letter is the pick


def test_words_between_two_equations_make_no_result():
    prompt = "Which is the smallest? A) 3^4 B) 4^3 C) 2^7 D) 9^2"
    answers = ["B) 4^3 = 64, which is below 3^4 = 81.", "A) 3^4 = 81."]
    assert kept_apart(prompt, answers), why(prompt, answers)
    assert conclude("2^5 = 32, which beats 5^2 = 25.", "What is 2^5?").value != "25"


def test_a_reply_opening_with_an_option_letter_picks_it():
    prompt = "Which is the smallest? A) 3^4 B) 4^3 C) 2^7 D) 9^2"
    assert one_group(prompt, ["B) 4^3 = 64, which is below 3^4 = 81.", "B", "**B** — 64 is the least."])
    assert kept_apart(prompt, ["B. 4^3 = 64 is the least.\nThe next is 3^4 = 81.", "D) 9^2 = 81."])


# 4. what code prints is compared as written


@pytest.mark.parametrize(
    "prompt, answers",
    [
        ('What does `print(repr("a"))` print?', ["It prints `'a'`.", "It prints `a`."]),
        ("What does `print([4, 5] + [6])` print?", ["[4, 5, 6]", "[4, 5, [6]]"]),
        ("What does `print([3, str(4)])` print in Python?", ["[3, '4']", "['3', '4']"]),
        ("What does `print('%4s|' % 'x')` output?", ["```\n   x|\n```", "```\nx   |\n```"]),
        ("What does `print(1 < 2)` print?", ["True", "true"]),
        ("What does `print(7 / 2)` print?", ["3.5", "3.50"]),
    ],
)
def test_printed_text_keeps_its_quotes_brackets_case_and_spaces(prompt, answers):
    assert kept_apart(prompt, answers), why(prompt, answers)


def test_printed_text_is_found_in_a_block_a_code_span_or_a_sentence():
    prompt = 'What does `print(repr("a"))` print?'
    assert one_group(prompt, ["It prints `'a'`.", "```\n'a'\n```", "'a'", "`'a'` — repr adds the quotes."])
    assert one_group("What does `print(len('hey'))` output?", ["3", "The output is 3.", "len('hey') = 3"])


# 5. figures that differ meet only when the question asks for an estimate


@pytest.mark.parametrize(
    "prompt, answers",
    [
        ("What is e to 4 decimal places?", ["2.7183", "2.718"]),
        ("Exactly how many minutes are in a week?", ["10,080 minutes.", "About 10,000 minutes."]),
        ("How many hours are in a (non-leap) year?", ["8,760 hours", "About 8,800 hours."]),
        ("What is 1 mile in metres, to three significant figures?", ["1,610 m", "1,609.344 m"]),
    ],
)
def test_a_replys_own_about_rounds_only_at_the_digits_it_writes(prompt, answers):
    assert kept_apart(prompt, answers), why(prompt, answers)


def test_a_question_asking_for_an_estimate_still_rounds():
    assert one_group("Roughly how many hours are in a year?", ["8,760 hours", "About 8,800 hours."])


def test_a_replys_own_about_meets_what_rounds_to_its_written_digits():
    """A figure the reply marks as rounded, precise to 2 %, meets a finer one that
    rounds to it at the digits it writes; zeros ending a whole number are digits
    written, and a rough figure meets nothing."""
    assert one_group("How many miles is a 10 km run?", ["About 6.2 miles.", "6.21 miles", "≈ 6.214 mi"])
    assert one_group("What is 6 feet in centimetres?", ["182.88 cm", "About 183 cm"])
    assert one_group("What is 300 K in Celsius?", ["26.9 °C", "Approximately 26.87 °C."])
    for answers in (["About 6.2 miles.", "6.26 miles"], ["182.88 cm", "About 180 cm"], ["3.4", "About 3."],
                    ["8,760 hours", "About 8,800 hours."]):
        assert kept_apart("How many miles is a 10 km run?" if "miles." in answers[0] else "What is it?", answers), answers


# 6. before a copula, the subject is the question's own words


def test_a_sentence_about_something_else_answers_nothing():
    prompt = "A car brakes from 20 m/s at 5 m/s². How far does it travel before it stops?"
    intro = "At rest, the final speed is zero. Use v² = u² − 2as with u = 20 m/s and a = 5 m/s².\n\n"
    answers = [intro + "s = 400 / 10 = 40 m\n\n**The car travels 40 metres.**",
               intro + "s = 400 / 5 = 80 m\n\n**The car travels 80 metres.**"]
    assert conclude("At rest, the final speed is zero.", prompt).value != "0"
    assert kept_apart(prompt, answers), why(prompt, answers)
    assert conclude("The distance is 40 m.", prompt).value == "40 m"


def test_a_subject_restating_the_question_in_other_spellings_still_answers():
    assert one_group("Convert 5 km to miles.", ["Five kilometres is 3.107 miles.", "3.107 miles"])
    assert one_group("What is 100 °F in Celsius?", ["100 degrees Fahrenheit is 37.8 degrees Celsius.", "37.8 °C"])


# 7. a line ending with a colon introduces


def test_a_heading_is_no_answer():
    prompt = "Which database would you choose for a small read-heavy site, and why?"
    answers = ["Factors:\n\n- reads dominate\n- the data is small\n\nSQLite needs no server.\n\n**Choice: SQLite.**",
               "Factors:\n\n- reads dominate\n- the data is small\n\nPostgres scales later.\n\n**Choice: PostgreSQL.**"]
    assert conclude(answers[0], prompt).value != "factors"
    assert kept_apart(prompt, answers), why(prompt, answers)


# a bracket that opens with "and", "also" or "plus" adds a second answer


def test_a_bracket_adding_an_answer_is_no_context():
    prompt = "In which century was the printing press invented in Europe?"
    assert kept_apart(prompt, ["The 15th century.", "The 15th century (and early 16th)."])
    assert kept_apart(prompt, ["The 15th century.", "The 15th century (plus the 16th for its spread)."])
    assert kept_apart(prompt, ["The 15th century.", "The 15th century (also the 16th)."])
    assert one_group(prompt, ["The 15th century.", "The 15th century (around 1440)."])
    assert kept_apart("Which city hosted the 2024 Summer Olympics?", ["Paris.", "Paris — and also Marseille."])
    assert one_group("Which city hosted the 2024 Summer Olympics?", ["Paris.", "Paris (and it was a great show)."])


# amounts side by side are one quantity only when precise enough, or one says it is rough


def test_rough_amounts_in_two_units_side_by_side_are_two_answers():
    prompt = "How far did the runners go?"
    assert kept_apart(prompt, ["2 km", "2 km, 2 miles"])
    assert kept_apart(prompt, ["2 miles", "2 km, 2 miles"])
    assert one_group(prompt, ["3,218 m", "3,218 m (2.000 miles)", "It was 3,218 m (2.000 miles)."])
