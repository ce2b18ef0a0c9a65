"""A conclusion is what a reply commits to, never what is left after deleting its
content (issue 38): the property that says so for any reply a rule reduces, every
"disagree" example the issue names kept apart, and the agreements it asks for."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_consortium.judging import vote
from llm_consortium.judging.conclusions import conclude

from helpers import kept_apart

# ------------------------------------------------------------------ the property

WORDS = ["Lyon", "Texas", "walrus", "copper", "Marlowe", "violet", "granite", "Osaka", "tundra", "Kepler",
         "saffron", "harbour", "Nile", "quartz", "falcon", "meadow", "Quito", "basalt", "lantern", "orchid"]
UNITS = ["km", "miles", "kg", "seconds", "litres", "%", "dollars", "feet"]
JOINS = [", ", " and ", " or ", " if ", " but ", " ", ", not "]

# (prompt, reply with the answer part in {}): the rules that reduce a reply
FRAMES = [
    ("What is the capital of France?", "The capital of France is {}."),
    ("What is the capital of France?", "It is {}, of course."),
    ("Who painted the Mona Lisa?", "It was painted by {}."),
    ("What is 7 + 5?", "The answer is {}."),
    ("What is 7 + 5?", "Let me think about it.\nFinal answer: {}"),
    ("What is 7 + 5?", "My answer: {}"),
    ("What is 7 + 5?", r"So we get \boxed{{{}}}"),
    ("What is 7 + 5?", "{}"),
    ("How far is it?", "{} — it is a long way."),
    ("How far is it?", "{} (as the crow flies)."),
    ("How many legs does a spider have?", "A spider has {}."),
    ("Name the three Baltic states.", "{}"),
    ("Which is larger, 9.11 or 9.9?", "{} is larger."),
    ("What is 100 °F in Celsius?", "It is {}, so that is warm."),
    # the one candidate of the asked kind in a sentence (`candidates`)
    ("When did the Titanic sink?", "The Titanic sank on {} after hitting an iceberg."),
    ("Who painted the Mona Lisa?", "The Mona Lisa was painted by {}, probably around 1503."),
    ("Roughly how far is it from New York to London?", "Roughly {} as the crow flies."),
    ("Which Python version added f-strings?", "f-strings were added in {}, released in 2016."),
    ("How many moons does Mars have?", "Mars has {}, discovered in 1877."),
    ("Which planet is the largest?", "The largest planet is {} — it is huge."),
    ("Can you tell me if Paris is the capital of France?", "Yes, Paris is the capital of {}."),
    ("True or false: the Sun is a star.", "The Sun is a {}."),
    # what stays after an aside comes off holds content; filler alone never answers
    ("Could you tell me who wrote Hamlet?", "Sure — {}."),
    ("Could you tell me who wrote Hamlet?", "Of course — {}, as everyone knows."),
    # a question that asks two things: nothing is an aside
    ("Is Lyon in France, and is it larger than Paris?", "Yes, {} — but not larger."),
    # a line ending with a colon introduces
    ("Which metal would you pick for the frame?", "Considerations:\n\n- weight\n- cost\n\nI would pick {}."),
    # the subject before a copula is the question's own words
    ("How tall is the tower?", "The tower is {} tall."),
    ("How tall is the tower?", "Its height is {}."),
    # figures to a stated precision
    ("Exactly how many feet are in a mile?", "About {}."),
    ("What is pi to 5 decimal places?", "It is {}."),
    # what code prints, as written
    ("What does `print(x)` print in Python?", "It prints `{}`."),
    ("What does `print(x)` print in Python?", "{}"),
    ("What does `print(x)` output?", "The output is {}."),
    ("What does this print?\n```python\nprint(x)\n```", "```\n{}\n```"),
    ("What does `print(x)` print in Python?", "`{}` — it is the value of x."),
]


@st.composite
def answer_parts(draw):
    """An answer part of one to four items joined by commas, "and", "or", "if",
    "but"…: each item a word, a number or a number with a unit."""
    items = []
    for _ in range(draw(st.integers(1, 4))):
        shape = draw(st.sampled_from(["word", "number", "amount", "two words"]))
        if shape == "word":
            items.append([("word", draw(st.sampled_from(WORDS)))])
        elif shape == "two words":
            items.append([("word", draw(st.sampled_from(WORDS))), ("word", draw(st.sampled_from(WORDS)))])
        elif shape == "number":
            items.append([("number", str(draw(st.integers(0, 9999))))])
        else:
            items.append([("number", str(draw(st.integers(0, 9999)))), ("unit", draw(st.sampled_from(UNITS)))])
    joins = [draw(st.sampled_from(JOINS)) for _ in items[1:]]
    return items, joins


def written(items, joins) -> str:
    texts = [" ".join(value for _, value in item).replace(" %", "%") for item in items]
    out = texts[0]
    for join, text in zip(joins, texts[1:], strict=True):
        out += join + text
    return out


@settings(deadline=None, max_examples=300)  # regexes over whole replies: slow on a loaded machine
@given(st.sampled_from(FRAMES), answer_parts(), st.data())
def test_replacing_a_number_or_word_of_the_answer_changes_the_conclusion(frame, part, data):
    prompt, reply = frame
    items, joins = part
    slots = [(i, j) for i, item in enumerate(items) for j, _ in enumerate(item)]
    i, j = data.draw(st.sampled_from(slots))
    kind, value = items[i][j]
    pool = {"word": WORDS, "number": [str(n) for n in range(0, 10000, 7)], "unit": UNITS}[kind]
    other = data.draw(st.sampled_from([v for v in pool if v != value]))
    changed = [list(item) for item in items]
    changed[i][j] = (kind, other)
    before = reply.format(written(items, joins))
    after = reply.format(written(changed, joins))
    assert conclude(before, prompt).key != conclude(after, prompt).key, (before, after, conclude(before, prompt))


# --------------------------------------------------- the issue's "disagree" examples


@pytest.mark.parametrize(
    "prompt, answers",
    [
        ("Alice is 12 and Bob is 15. How old is Bob?", ["15 years.", "12 years."]),
        ("Which of these is the largest planet: Jupiter, Saturn, Neptune?",
         ["Jupiter, the gas giant.", "Saturn, the gas giant."]),
        ("What are the first three prime numbers?", ["The answer is 2, 3, 5.", "The answer is 2, 4, 6."]),
        ("Which of these are mammals? Select all that apply. A) Shark B) Dolphin C) Bat D) Trout",
         ["The answer is B, C.", "B, D."]),
        ("What is the capital of France?", ["Final answer: Paris", "Final answer: Paris, Texas"]),
        ("What is the capital of France?", ["Paris", "Paris, Texas"]),
        ("Can you tell me what the capital of Australia is?", ["Yes, it's Canberra.", "Yes, it's Sydney."]),
        ("Is 91 prime? If not, what are its factors?", ["No, 91 = 7 × 13.", "No, 91 = 3 × 31."]),
        ("Which Python version added the match statement?", ["Python 3.10", "Python 3.1"]),
        ("", ["Python 3.10", "Python 3.1"]),
        ("What is 0 - 5?", ["Minus five.", "5"]),
        ("How many apples are left?", ["Approximately 3.", "Exactly 3."]),
        ("A jacket costs $40 and is 25% off. How much do you pay?",
         ["The discount is 25% of $40.\n40 × 0.25 = 10\nSo you pay $30.", "$10"]),
        ("What is the capital of Australia?", ["canberra", "The capital of Australia is Canberra, a vibrant city…"]),
    ],
)
def test_every_disagree_example_of_the_issue_is_kept_apart(prompt, answers):
    assert kept_apart(prompt, answers), [conclude(a, prompt) for a in answers]


def test_a_worked_answer_concludes_its_final_amount_not_an_intermediate_line():
    prompt = "A jacket costs $40 and is 25% off. How much do you pay?"
    worked = "The discount is 25% of $40.\n40 × 0.25 = 10\nSo you pay $30."
    assert (conclude(worked, prompt).kind, conclude(worked, prompt).value) == ("number", "$30")


@pytest.mark.parametrize(
    "prompt",
    ["Can you tell me if 17 is prime?", "Is 91 prime? If not, what are its factors?", "Is it A or B?",
     "Do you know whether 17 is prime?", "True or false: 17 is prime."],
)
def test_a_question_that_is_not_one_plain_question_never_reduces_to_a_bare_yes(prompt):
    assert conclude("Yes, 17 is prime.", prompt).kind != "yes/no"
    assert conclude("Yes, it is.", prompt).kind != "yes/no"


# ----------------------------------------------------------- the agreements asked for


@pytest.mark.parametrize(
    "prompt, answers",
    [
        ("What is 7 + 5?", ["The answer is 12.", "7 + 5 = 12.", "12"]),
        ("How many legs does a spider have?", ["A spider has 8 legs.", "Eight.", "8"]),
        ("Is 17 prime?", ["Yes.", "Yes, 17 is prime: it has no divisors but 1 and 17.", "**Yes** — it is prime."]),
        ("Who painted the Mona Lisa?", ["Leonardo da Vinci.", "It was painted by Leonardo da Vinci."]),
    ],
)
def test_the_agreements_the_issue_asks_for_are_one_group(prompt, answers):
    [group] = vote.group(answers, prompt=prompt)
    assert group.members == tuple(range(len(answers)))


@pytest.mark.parametrize(
    "prompt, answers",
    [
        ("How tall is Mount Everest?", ["8,849 m", "Mount Everest is 8849 metres tall."]),
        ("What is 17 × 23?", ["391", "17 × 23 = 17 × 20 + 17 × 3 = 340 + 51 = **391**"]),
        ("True or false: the Sun is a G-type main-sequence star.",
         ["True", "True — it's a G-type main-sequence star."]),
        ("What is the range of an unsigned 16-bit integer?", ["0–65535", "0 to 65,535"]),
    ],
)
def test_the_issues_agreements_that_a_rule_reads_soundly_are_one_group(prompt, answers):
    [group] = vote.group(answers, prompt=prompt)
    assert group.members == tuple(range(len(answers)))
