"""Agreement found where replies say one thing in other words (issue 38's recall),
never at the cost of keeping apart replies that say different things: the answer
of the asked kind in a sentence (`candidates`), one quantity in two units or one
figure rounded (`estimates`, `units`), intervals (`intervals`), names (`names`),
yes/no replies (`yes_no_replies`), LaTeX (`latex`), times and dates (`quantities`).

Each case is a panel of replies to one prompt that must be one group, or whose
replies must each stay alone."""

from __future__ import annotations

import pytest

from llm_consortium.judging import vote
from llm_consortium.judging.conclusions import conclude

from helpers import kept_apart, one_group


def why(prompt: str, answers: list[str]) -> list[tuple[str, str, str]]:
    return [(c.kind, c.value, c.rule) for c in (conclude(a, prompt) for a in answers)]


@pytest.mark.parametrize(
    "prompt, answers",
    [
        # the one answer of the asked kind in a sentence
        ("When did the Titanic sink?", ["April 15, 1912", "15/04/1912",
                                        "The RMS Titanic sank in the early hours of 15 April 1912 after hitting an "
                                        "iceberg the night before."]),
        ("When did Queen Elizabeth II die?", ["8 September 2022",
                                              "She died on September 8, 2022, at Balmoral Castle in Scotland, aged 96."]),
        ("In what year was the first iPhone released?", ["2007", "The original iPhone went on sale on June 29, 2007."]),
        ("When did the Berlin Wall fall?", ["9.11.1989", "November 9, 1989"]),
        ("Which planet is the largest in the solar system?",
         ["Jupiter", "The largest planet is Jupiter — it is more than twice as massive as all the others combined."]),
        ("What is the smallest country in the world by area?", ["Vatican City", "Vatican City, at about 0.44 km²."]),
        ("Who wrote Pride and Prejudice?",
         ["Jane Austen", "Pride and Prejudice was written by Jane Austen and published in 1813."]),
        ("Which country has the largest population?", ["India", "India, having overtaken China in 2023."]),
        ("Which Python version introduced f-strings?",
         ["Python 3.6", "f-strings were added in Python 3.6, released in December 2016."]),
        ("How many eggs do I need for 4 cakes at 3 eggs each?", ["12 eggs", "You'll need a dozen eggs (12)."]),
        # one quantity in two units, one figure rounded
        ("Roughly how far is it from New York to London?",
         ["About 5,570 km", "Roughly 3,460 miles (5,570 km) as the crow flies.", "About 5,600 km."]),
        ("Approximately how long does sunlight take to reach Earth?",
         ["About 8 minutes.", "Roughly 8 minutes 20 seconds (≈ 499 s).", "About 8.3 minutes"]),
        ("Roughly how far is the Sun from Earth?",
         ["About 150 million km", "Approximately 93 million miles.", "1 AU, about 1.5 × 10⁸ km."]),
        ("How tall is Mount Everest?", ["8,849 m", "29,032 feet"]),
        ("How long is a marathon?", ["42,195 metres", "42.195 km"]),
        ("Roughly what is 6 feet in centimetres?", ["182.88 cm", "About 183 cm"]),
        ("A tank fills at 4 litres per minute. How long does it take to fill 60 litres?",
         ["15 minutes", "A quarter of an hour."]),
        ("What is 0.1 + 0.2?", ["0.3", "3/10"]),
        ("Between what temperatures is water liquid at 1 atm?",
         ["0 °C to 100 °C", "Between 32 °F and 212 °F (0–100 °C).", "Between 273.15 K and 373.15 K."]),
        # intervals, LaTeX
        ("Solve 2x + 3 < 11.", ["x < 4", "2x + 3 < 11\n2x < 8\nx < 4", "$x \\in (-\\infty, 4)$"]),
        ("What is the range of the sine function?", ["[-1, 1]", "−1 ≤ sin x ≤ 1", "From -1 to 1, inclusive."]),
        ("Solve 3 ≤ 2x − 1 ≤ 9.", ["2 ≤ x ≤ 5", "Add 1 throughout: 4 ≤ 2x ≤ 10. Divide by 2: 2 ≤ x ≤ 5.", "[2, 5]"]),
        ("Solve x² = 9.", ["x = ±3", "x = 3 or x = -3", "x = −3, 3"]),
        # names
        ("Who developed the theory of general relativity?", ["Albert Einstein", "Einstein (1915)."]),
        ("What is the tallest mountain in the world?", ["Mount Everest", "Everest", "Mt. Everest"]),
        # dates, times, centuries
        ("In which century was William Shakespeare born?", ["The 16th century (he was born in 1564).", "1500s"]),
        ("Which decade were the Beatles formed in?", ["1960s", "The sixties."]),
        ("What time is 3 pm in 24-hour format?", ["15:00", "15:00 hours.", "It is 15:00."]),
        # yes/no and claims
        ("Can you see the far side of the Moon from Earth?", ["No.", "You cannot; the same face always points toward Earth."]),
        ("Do humans use only 10% of their brains?", ["No, that's a myth.", "That's false — every part has a function."]),
        ("Can you tell me if Paris is the capital of France?",
         ["Yes, Paris is the capital of France.", "Paris is indeed the capital."]),
        ("True or false: bats are blind.", ["False", "False — bats can see.", "Bats are not blind."]),
        ("Is Venus hotter than Mercury?", ["Yes.", "Venus is hotter than Mercury, despite being farther from the Sun."]),
        # options
        ("Which of the following are renewable? Select all that apply.\nA) Solar\nB) Coal\nC) Wind\nD) Natural gas",
         ["A and C", "**A) Solar** and **C) Wind** are renewable. Coal and natural gas are fossil fuels."]),
        ("What is 7 × 8? A) 54 B) 56 C) 58", ["B", "56", "7 × 8 = 56"]),
        # a quoted name may hold a negation; a word before a whole number does not name it
        ("Which HTTP status code means 'Not Found'?", ["404", "404 Not Found", "HTTP 404"]),
        ("Which gas do plants absorb? A) Oxygen B) Nitrogen C) Carbon dioxide", ["C", "I'd pick C.", "Carbon dioxide (C)."]),
    ],
)
def test_replies_that_say_one_thing_in_other_words_are_one_group(prompt, answers):
    assert one_group(prompt, answers), why(prompt, answers)


@pytest.mark.parametrize(
    "prompt, answers",
    [
        # a candidate among others, or put in relation, is no answer
        ("When did World War II end?", ["1944", "World War II ended in 1945 — in Europe on 8 May."]),
        ("In which year was Julius Caesar assassinated?", ["In 44 BCE, on the Ides of March.", "He died in 44 AD."]),
        ("Who painted The Starry Night?", ["Vincent van Gogh painted it in 1889.", "Claude Monet painted it in 1889."]),
        ("Which planet is closest to the Sun?", ["Mercury", "Venus is closest to the Sun.", "Not Mercury but Venus."]),
        ("What is the largest planet in our solar system?", ["Jupiter, the gas giant.", "Saturn, the gas giant."]),
        ("How old is Bob? Alice is 12 and Bob is 15.", ["Bob is 15 years old.", "12"]),
        # figures that do not round to each other, units that differ
        ("Roughly how many teeth does an adult have?", ["32", "About 20."]),
        ("What is 6 feet in centimetres?", ["182.88 cm", "About 180 cm"]),  # "about" rounds at the digits written
        ("How tall is the Eiffel Tower?", ["330 m", "About 1,000 feet", "300 metres"][:2]),
        ("How far is it?", ["5 km", "3 miles"]),
        ("What is 0.1 + 0.2 in Python?", ["0.3", "0.30000000000000004"]),
        ("What is 0.125 as a fraction?", ["1/8", "0.125"]),
        ("How many apples are left?", ["Approximately 3.", "Exactly 3."]),
        # intervals keep their ends
        ("What is the domain of √(x − 2)?", ["x ≥ 2", "x > 2"]),
        ("What is the range of arctan?", ["(-π/2, π/2)", "[−π/2, π/2]"]),
        ("For which x is x² − 5x + 6 < 0?", ["2 < x < 3", "x < 2 or x > 3"]),
        # names: a given name, two full names, a city and its country
        ("Who painted the Mona Lisa?", ["Leonardo", "Leonardo DiCaprio"]),
        ("Who was US president in 2005?", ["George W. Bush", "George H. W. Bush"]),
        ("What is the capital of Mexico?", ["Mexico City", "Mexico"]),
        # claims: a bare yes answers nothing
        ("Can you tell me whether 221 is prime?", ["221 is not prime: 221 = 13 × 17.", "Yes, 221 is a prime number."]),
        ("Can you tell me if 17 is prime?", ["Yes.", "Yes, 17 is prime."]),
        ("True or false: bats are blind.", ["False — bats can see.", "True"]),
        # options: two letters, or a number that is not an option
        ("Which is a mammal? A) Shark B) Dolphin C) Trout", ["B", "B or C, I am not sure.", "A"]),
        ("What is 7 × 8? A) 54 B) 56 C) 58", ["B", "58"]),
        # a version's "3.10" is no number 3.1
        ("Which Python release added the match statement?", ["Python 3.10", "Python 3.1"]),
        ("What runs the match statement?", ["Python 3.10", "Python 3.1"]),
        # a justification is no result
        ("What is the square root of 144?", ["144", "12, since 12 × 12 = 144."]),
    ],
)
def test_replies_that_say_different_things_stay_apart(prompt, answers):
    assert kept_apart(prompt, answers), why(prompt, answers)


def test_bush_joins_one_full_name_never_both():
    groups = vote.group(["Bush", "George W. Bush", "George H. W. Bush"], prompt="Who was US president in 1990?")
    assert sorted(len(g.members) for g in groups) == [1, 2]


@pytest.mark.parametrize(
    "prompt, text, kind, value",
    [
        ("When did the Titanic sink?", "The RMS Titanic sank on 15 April 1912.", "date", "1912-04-15"),
        ("In what year did the Berlin Wall fall?", "It fell on 9 November 1989.", "date", "1989"),
        ("Roughly how far is it from New York to London?", "It is roughly 3,460 miles (5,570 km) by air.", "number",
         "5570 km"),
        ("How much does it weigh?", "About 183 cm", "number", "≈183 cm"),
        ("Solve x + 3 > 5.", "Subtract 3: x > 2.", "interval", "(2,∞)"),
        ("What is the domain of 1/x?", "x ≠ 0", "interval", "(-∞,0)∪(0,∞)"),
        ("What is 0.1 + 0.2?", "3/10", "number", "3/10"),
        ("How long is the trip?", "2 hours and 30 minutes", "number", "2 h 30 min"),
        ("What time does it open?", "9:30 a.m.", "time", "09:30"),
        ("What is the range of a byte?", "0 to 255", "range", "0..255"),
        ("What is the mass of a proton?", r"$m_p \approx 1.673 \times 10^{-27}\,\text{kg}$", "number",
         "≈0.000000000000000000000000001673 kg"),
        ("True or false: the Sun is a star.", "True.", "claim", "yes"),
    ],
)
def test_the_readings_are_written_in_one_comparable_form(prompt, text, kind, value):
    found = conclude(text, prompt)
    assert (found.kind, found.value) == (kind, value), found


def test_the_trace_names_the_rule_that_read_an_answer_in_a_sentence():
    found = conclude("She died on September 8, 2022, at Balmoral Castle.", "When did Queen Elizabeth II die?")
    assert found.rule == "in a sentence"


def test_notation_glued_to_a_bracket_is_never_cut_to_its_first_letter():
    """`O(log n)` is no name "O" followed by an aside: read as "o", it merged with
    `O(n log n)` (the final blind set's group 290, measured once and then fixed)."""
    prompt = "What's the time complexity of binary search, and why?"
    replies = [
        "**O(log n)**. Each comparison halves the remaining search space.",
        "Binary search runs in O(log n) time because it discards half of the array at every step.",
        "O(n log n), because you first have to sort the array and then search it.",
    ]
    assert kept_apart(prompt, [replies[0], replies[2]]) and kept_apart(prompt, [replies[1], replies[2]])


def test_a_closing_sentence_naming_the_operations_result_concludes():
    """"The product is 552." closes a worked reply as "The total is …" does: the
    word says the answer follows. A sum of something else ("of the digits") is no
    such word, and a hedged close concludes nothing."""
    prompt = "What is 46 × 12?"
    worked = "Work it in columns:\n   46\n×  12\n-----\n   92\n  460\n-----\n  552\n\n"
    assert one_group(prompt, ["552", worked + "The product is 552.", "Split it up first.\n\nThe result is 552."])
    assert kept_apart(prompt, ["24", "I multiplied the tens first.\n\nThe product of the digits is 24."])
    assert kept_apart(prompt, ["552", "I multiplied.\n\nThe result is 552, or 562 if you carry wrong."])
    assert kept_apart(prompt, ["552", worked + "The product is 562."])


def test_an_area_is_in_the_square_of_the_questions_one_length_unit():
    """A bare figure to "What is its area?" of a plot given in metres is in square
    metres, as a bare age is in years; a unit the question does not mean stays."""
    prompt = "A garden plot is 6 m long and 5 m wide. What is its area?"
    assert one_group(prompt, ["30", "30 m²", "Area = 6 × 5 = 30 square metres."])
    assert kept_apart(prompt, ["30", "30 cm²"])
    assert kept_apart(prompt, ["30", "30 m"])
    assert one_group("A box has 2 m sides. What is its volume?", ["8", "8 m³"])
    assert kept_apart("A plot is 6 m by 5 ft. What is its area?", ["30", "30 m²"])  # two units: none is meant


def test_a_pronoun_with_will_or_would_is_filler_as_each_is_alone():
    """"You'd need 15 litres." answers as "You will need 15 litres." does; what the
    sentence commits to still decides."""
    prompt = "A car burns 6 litres per 100 km. How much fuel does it need for 250 km?"
    assert one_group(prompt, ["15 litres", "You'd need 15 litres.", "You would need 15 litres."])
    assert kept_apart(prompt, ["15 litres", "You'd need 16 litres."])
    assert kept_apart(prompt, ["15 litres", "You'd need more than 15 litres."])
    assert kept_apart(prompt, ["15 litres", "We'd need 15 litres if it were empty."])


def test_a_day_of_the_year_is_a_date_without_its_year():
    """"4 July" and "July 4th" name one day of the year, in either order; a year
    added, or another day, is another answer."""
    prompt = "When is Independence Day celebrated in the US?"
    assert one_group(prompt, ["July 4", "4 July", "On July 4th.", "It is celebrated on 4 July."])
    assert kept_apart(prompt, ["July 4", "July 14"])
    assert kept_apart(prompt, ["July 4", "4 July 1776"])
    assert kept_apart(prompt, ["July 4", "June 4"])


def test_an_equation_restating_the_questions_unit_concludes_its_right_side():
    """"1 mile = 5,280 feet" to "How many feet are in a mile?": the left side is the
    question's "a mile" in its unit; another amount or unit on the left is not."""
    prompt = "How many feet are in a mile?"
    assert one_group(prompt, ["5280", "5,280 feet", "1 mile = 5,280 feet.", "1 mi = 5280 ft"])
    assert kept_apart(prompt, ["5280", "2 miles = 10,560 feet"])
    assert kept_apart(prompt, ["3281", "1 km = 3,281 feet"])
    assert kept_apart(prompt, ["5280", "1 mile = 5,280 feet, or 1,760 yards if you meant yards."])


def test_at_what_measure_asks_for_an_amount():
    """"At what temperature…" asks for an amount as "What is the temperature…" does,
    so the one amount of a sentence that answers it is read."""
    prompt = "At what temperature does pure water freeze, in Celsius?"
    assert one_group(prompt, ["0 °C", "At standard pressure, 0 °C.", "It freezes at 0 °C."])
    assert kept_apart(prompt, ["0 °C", "At standard pressure, 0 °C, but −2 °C in seawater."])
    assert kept_apart(prompt, ["0 °C", "At high pressure, below 0 °C."])


def test_a_capitalised_number_word_is_part_of_a_title_not_a_count():
    """"Who wrote The Three Musketeers?" asks for one name ("Three" is in a title),
    "Which three…" for several."""
    prompt = "Who wrote The Three Musketeers?"
    assert one_group(prompt, ["Alexandre Dumas", "Dumas.", "It was written by Alexandre Dumas."])
    assert kept_apart(prompt, ["Alexandre Dumas", "Alexandre"])
    assert kept_apart("Who were the three musketeers?", ["Athos", "Athos, Porthos and Aramis."])
