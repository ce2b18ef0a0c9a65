"""What a reply concludes, and by which rule: the value answers are grouped by.

Agreement is only worth a skipped arbiter when it is real, so a reply is reduced to
a conclusion only by a rule that cannot mistake an incidental number or word for
its answer; when no rule applies, the reply is compared by its whole text. The
rules, tried in this order (docs/matching.md has examples):

1. `stated answer`: the last "the answer is X", "Answer: X", "Final answer: X" or
   `\\boxed{X}`; X (to the end of its clause) is reduced as below.
2. `bare number`, `yes/no`, `choice`: the whole reply is a number, "Yes"/"No", or an
   option letter (`B`, `(B)`, `B) Paris`; `B. Paris` when the prompt lists options).
3. `yes/no`: the prompt asks a yes-or-no question and the reply opens "Yes," / "No.".
4. `stated answer`: a line ending in a result, `7 + 5 = 12` or "the sum of 7 and 5
   is 12", whose left side is arithmetic only.
5. `stated answer`: a one-sentence reply that, without the prompt's own words and
   filler ("it is", "of course"), names one short thing at its start or end ("The
   capital of France is Paris." -> paris). A negation anywhere keeps the sentence
   whole, and when the prompt offers alternatives ("A or B?") its words stay, so
   "Alice beat Bob" and "Bob beat Alice" never meet.
6. `same text`: the whole reply, normalised (case, spaces, outer punctuation).

Numbers are read by the one grammar (`numbers`); a number the prompt itself
contains is never a conclusion of rule 5. Standard library only, deterministic,
linear in the reply's length.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from . import numbers

RULES = ("stated answer", "bare number", "yes/no", "choice", "same text")  # as the trace names them

# Punctuation stripped from both ends; signs, currency and % carry meaning and stay.
SURROUNDING = " \t\r\n.,;:!?\"'`*_()[]{}<>«»“”‘’„。、！？"

_MARKER_RE = re.compile(
    r"(?:\bfinal\s+answer|\banswer|\bantwort|\bréponse|\brespuesta|\brisposta|\bresposta|\bответ)"
    r"\s*[*_]*\s*(?:[:：]|\bis\b|\bwould\s+be\b|\bshould\s+be\b|\bist\b|\best\b|\bes\b|\bè\b|\bé\b|=)"
    r"\s*[*_]*\s*(?P<answer>[^\n]+)",
    re.IGNORECASE,
)
_BOXED_RE = re.compile(r"\\boxed\{(?P<answer>[^{}\n]{1,200})\}")
_CLAUSE_END_RE = re.compile(r"(?<!\d)[.!?。](?:\s|$)|[.!?](?=\s)|,\s|;|\s[—–-]\s|\s\(|\n")
_NUMBER_RE = re.compile(numbers.PATTERN)
_NUMBER_ONLY_RE = re.compile(
    r"(?P<before>[$€£¥]?)\s*(?P<n>" + numbers.PATTERN + r")\s*(?P<after>%|percent|[$€£¥])?"
)
_LETTER_RE = re.compile(r"[(\[]?(?P<l>[A-J])[)\]]?")
_LETTER_LEAD_RE = re.compile(r"(?:[(\[](?P<a>[A-Ja-j])[)\]]|(?P<b>[A-J])[):])\s+\S")
_DOT_LEAD_RE = re.compile(r"(?P<l>[A-J])\.\s+\S")
_OPTION_RE = re.compile(r"(?:option|choice)\s*[:：]?\s*(?P<l>[A-J]|\([A-Ja-j]\))", re.IGNORECASE)
_PROMPT_OPTION_RE = re.compile(r"(?:^|[\s:])[(\[]?(?P<l>[A-J])[)\].:](?=\s|$)")
_YES_NO_RE = re.compile(r"(?P<w>yes|no)(?:\s*[,.!;:—–-]|\s*$)", re.IGNORECASE)
_AUX = {"is", "are", "was", "were", "do", "does", "did", "can", "could", "will", "would", "should",
        "has", "have", "had", "may", "must", "am", "ist", "sind", "est-ce"}
_WORD_RE = re.compile(numbers.PATTERN + r"|[^\W_]+(?:['’][^\W_]+)?")
_EQUATION_RE = re.compile(
    r"^(?P<lhs>[^\n=]*?)\s*(?:=|\bequals\b|\b(?:is|are)\s+equal\s+to\b|\bis\b|\bare\b)\s*[*_]*"
    r"(?P<rhs>[-+−]?[$€£¥]?" + numbers.PATTERN + r")[*_]*[ \t.!]*$",
    re.IGNORECASE | re.MULTILINE,
)
_RESULT_RE = re.compile(r"=\s*(?P<n>" + numbers.PATTERN + ")")
_SUM_TAIL_RE = re.compile(r"(?:^|\s)(?P<sum>[\d\s.,()]*\d\s*[-+−*/×÷^]\s*[\d\s.,()+\-−*/×÷^]*)$")
_ARITHMETIC_RE = re.compile(r"[\d\s+\-−*/×÷^().,xX²³√]+")
_ARITHMETIC_WORDS = {
    "the", "sum", "of", "and", "product", "difference", "between", "quotient", "half", "squared", "cubed",
    "plus", "minus", "times", "divided", "by", "multiplied", "to", "power", "result", "total", "twice",
    "double", "square", "root", "so", "then", "thus",
}
_NEGATIONS = {
    "not", "no", "never", "none", "nothing", "neither", "nor", "cannot", "without", "nobody", "nowhere",
    "isn't", "aren't", "wasn't", "weren't", "don't", "doesn't", "didn't", "won't", "can't", "couldn't",
    "shouldn't", "wouldn't", "hasn't", "haven't", "hadn't", "mustn't", "ain't", "isn’t", "doesn’t", "don’t",
    "didn’t", "can’t", "won’t", "wasn’t", "aren’t", "nicht", "kein", "pas", "non", "nein",
}
_FILLER = {
    "a", "an", "the", "is", "are", "was", "were", "be", "it", "its", "it's", "it’s", "this", "that", "there",
    "i", "i'm", "i’m", "me", "my", "we", "think", "believe", "guess", "would", "say", "probably", "likely",
    "surely", "certainly", "definitely", "of", "course", "simply", "just", "clearly", "obviously", "answer",
    "final", "correct", "so", "thus", "therefore", "hence", "well", "ok", "okay", "sure", "indeed", "in",
    "on", "at", "to", "for", "with", "by", "from", "about", "approximately", "around", "roughly", "nearly",
    "exactly", "called", "named", "known", "as", "and", "sum", "total", "product", "result", "plus",
    "minus", "times", "equals", "makes", "gives", "which",
}
_UNITS = {"km", "m", "cm", "mm", "kg", "g", "mg", "lb", "lbs", "miles", "mph", "percent", "degrees", "hours",
          "minutes", "seconds", "days", "years", "dollars", "euros", "usd", "eur"}
_SENTENCE_BREAK_RE = re.compile(r"[.!?。](?=\s+\S)|\n")
_SHORT_SENTENCE = 16  # words: a longer reply says more than one thing
_LONGEST_THING = 4  # words a conclusion of rule 5 may have

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety"
_UNIT_WORDS = {w: n for n, w in enumerate(f"{_ONES} seventeen eighteen nineteen".split())} | {
    w: 10 * n for n, w in enumerate(_TENS.split(), 2)
}
_SCALES = {"thousand": 1000, "million": 10**6, "billion": 10**9}
_MOST_NUMBER_WORDS = 8
_NUMBER_WORD = "|".join(sorted([*_UNIT_WORDS, "hundred", *_SCALES], key=len, reverse=True))
_NUMBER_WORDS_RE = re.compile(rf"\b(?:{_NUMBER_WORD})(?:[\s-]+(?:and\s+)?(?:{_NUMBER_WORD})\b)*\b", re.IGNORECASE)


@dataclass(frozen=True)
class Conclusion:
    """What a reply concludes: `kind` (number, yes/no, choice or text), `value` (the
    comparable form: "12", "yes", "B", "paris") and the `rule` that found it."""

    kind: str
    value: str
    rule: str

    @property
    def key(self) -> str:
        """The form answers are compared in: the kind keeps the number 12 apart from
        a text that reads "12"."""
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class PromptForm:
    """What the prompt asks for, read once per vote: a yes or no, one of its listed
    option letters, one of its alternatives ("A or B?"), and the words it already says."""

    yes_no: bool
    options: frozenset[str]
    alternatives: bool
    words: frozenset[str]

    @classmethod
    def of(cls, prompt: str) -> PromptForm:
        prompt = unicodedata.normalize("NFKC", prompt or "")[-4000:]
        flat = prompt.casefold()
        asks_yes_no = bool(re.search(r"\byes\s*(?:or|/)\s*no\b", flat))
        questions = [q.strip() for q in re.split(r"(?<=[?])|[.!\n]", flat) if q.strip().endswith("?")]
        alternatives = any(re.search(r"\bor\b", q) and not re.search(r"\byes\s*(?:or|/)\s*no\b", q) for q in questions)
        if not asks_yes_no:
            asks_yes_no = any(q.split()[0] in _AUX for q in questions if q.split()) and not alternatives
        letters = frozenset(m.group("l") for m in _PROMPT_OPTION_RE.finditer(prompt))
        return cls(asks_yes_no, letters if len(letters) >= 2 else frozenset(), alternatives,
                   frozenset(_stem(w) for w in _words(flat)))


NO_PROMPT = PromptForm(False, frozenset(), False, frozenset())


def normalise(text: str) -> str:
    """Unicode-normalised, case-folded, whitespace collapsed, outer punctuation removed."""
    text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().split()).strip(SURROUNDING)


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text)


def _stem(word: str) -> str:
    """A word as compared with the prompt's: case-folded, a plural or third-person
    "s" dropped ("prints" is "print")."""
    word = word.casefold()
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _clause(text: str) -> str:
    end = _CLAUSE_END_RE.search(text)
    return (text[: end.start()] if end else text).strip(" \t\r\n.,;:!?\"'`*_")


def stated_answer(text: str) -> str | None:
    """The part of a reply that states its answer, or None when it states none: the
    last "answer: X" / "the answer is X" (to the end of that clause) or \\boxed{X}."""
    text = unicodedata.normalize("NFKC", text)
    found = [(m.start(), _clause(m.group("answer"))) for m in _MARKER_RE.finditer(text)]
    found += [(m.start(), m.group("answer").strip()) for m in _BOXED_RE.finditer(text)]
    found = [(at, part) for at, part in found if part]
    return max(found)[1] if found else None


def _number_words(text: str) -> str | None:
    """The value of a text made only of number words ("twenty-one", "one hundred and
    five"), else None; at most a few words, so the value stays small."""
    split = [w for w in re.split(r"[\s-]+", text.casefold()) if w]
    if any(w == "and" and (i == 0 or split[i - 1] not in ("hundred", *_SCALES)) for i, w in enumerate(split)):
        return None  # "three and two" is two numbers, "one hundred and five" one
    words = [w for w in split if w != "and"]
    if not words or len(words) > _MOST_NUMBER_WORDS:
        return None
    total = current = 0
    for word in words:
        if word in _UNIT_WORDS:
            current += _UNIT_WORDS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in _SCALES:
            total += (current or 1) * _SCALES[word]
            current = 0
        else:
            return None
    return str(total + current)


def bare_number(text: str) -> str | None:
    """The number a whole text is, with its currency or percent sign ("12",
    "$1200" for "$1,200", "12%" for "12 percent", "8" for "eight"), else None: $12
    and €12 are different answers."""
    flat = normalise(text)
    match = _NUMBER_ONLY_RE.fullmatch(flat)
    if match:
        value = numbers.canonical(match.group("n"))
        after = "%" if match.group("after") == "percent" else match.group("after") or ""
        return None if value is None else match.group("before") + value + after
    return _number_words(flat)


def _choice(text: str, form: PromptForm) -> str | None:
    stripped = unicodedata.normalize("NFKC", text).strip().strip("*_ ")
    flat = stripped.strip(".:")
    bare = _LETTER_RE.fullmatch(flat)
    if bare:
        return bare.group("l")
    if len(flat) == 3 and flat[0] in "([" and flat[2] in ")]" and flat[1].upper() in "ABCDEFGHIJ":
        return flat[1].upper()
    lead = _LETTER_LEAD_RE.match(stripped)
    if lead:
        return (lead.group("a") or lead.group("b")).upper()
    dot = _DOT_LEAD_RE.match(stripped)
    if dot and dot.group("l") in form.options:
        return dot.group("l")
    option = _OPTION_RE.fullmatch(flat)
    if option:
        return option.group("l").strip("()").upper()
    return None


def _yes_no(text: str) -> str | None:
    match = _YES_NO_RE.match(normalise(text) + " ")
    return match.group("w") if match else None


def _short_thing(text: str, form: PromptForm, keep_numbers: bool) -> Conclusion | None:
    """Rule 5: the one short thing a sentence names beyond the prompt and filler."""
    words = _words(unicodedata.normalize("NFKC", text).casefold())
    if not words or len(words) > _SHORT_SENTENCE or any(w in _NEGATIONS or w.endswith(("n't", "n’t")) for w in words):
        return None

    def said(word: str) -> bool:
        if word in _FILLER:
            return True
        if form.alternatives:
            return False
        if _NUMBER_RE.fullmatch(word):
            return not keep_numbers and numbers.canonical(word) in {numbers.canonical(w) for w in form.words}
        return _stem(word) in form.words

    left = [i for i, word in enumerate(words) if not said(word)]
    if not left or left[-1] - left[0] >= _LONGEST_THING:
        return None
    span = words[left[0] : left[-1] + 1]
    if any(not said(w) for w in span) and len(left) != len(span):
        return None  # what is left is not one run of words
    inner = left[0] > 0 and left[-1] < len(words) - 1
    value = [numbers.canonical(w) for w in span if _NUMBER_RE.fullmatch(w)]
    if None in value:
        return None  # a number too long to compare: the text is compared whole
    if len(value) == 1 and all(_NUMBER_RE.fullmatch(w) or w in _UNITS for w in span):
        units = [w for w in span if w in _UNITS]  # 12 km and 12 miles are different answers
        return Conclusion("number", " ".join([str(value[0]), *units]), "stated answer")
    spelled = _number_words(" ".join(span))
    if spelled is not None:
        return Conclusion("number", spelled, "stated answer")
    if inner or value:
        return None  # a thing named mid-sentence, or a name with a figure: the sentence says more
    return Conclusion("text", " ".join(span), "stated answer")


def _reduce(part: str, form: PromptForm) -> Conclusion:
    """A stated answer's conclusion: a number, yes/no, letter or short thing in it,
    else its whole text."""
    number = bare_number(part)
    if number is not None:
        return Conclusion("number", number, "stated answer")
    answer = _yes_no(part)
    if answer is not None and len(_words(part)) == 1:
        return Conclusion("yes/no", answer, "stated answer")
    letter = _choice(part, form)
    if letter is not None:
        return Conclusion("choice", letter, "stated answer")
    thing = _short_thing(part, form, keep_numbers=True)
    if thing is not None:
        return thing
    result = _equation(part)  # "the answer is based on the equation 5 + 39 = 22"
    if result is not None:
        return Conclusion("number", result, "stated answer")
    return Conclusion("text", normalise(part), "stated answer")


def _digits(line: str) -> str:
    """A line with its runs of number words written as digits ("three and two" ->
    "3 and 2"); runs longer than a few words stay as they are."""

    def value(match: re.Match[str]) -> str:
        found = _number_words(match.group(0))
        if found is not None:
            return found
        parts = re.split(r"(\s+and\s+)", match.group(0))  # "three and two": two numbers
        return "".join(_number_words(p) or p for p in parts)

    return _NUMBER_WORDS_RE.sub(value, line)


def _arithmetic(lhs: str) -> bool:
    """Whether a result's left side is only arithmetic ("7 + 5", "the sum of 7 and 5")."""
    words = [w for w in re.findall(r"[^\W\d_]+", lhs.casefold()) if w != "what"]
    rest = re.sub(r"[^\W\d_]+", " ", lhs).strip()
    return bool(re.search(r"\d", lhs)) and all(w in _ARITHMETIC_WORDS for w in words) and bool(
        _ARITHMETIC_RE.fullmatch(rest or "0")
    )


def _equation(text: str) -> str | None:
    """Rule 4: the result of the last line that ends in one, its left side arithmetic
    or ending in a sum with an operator ("..., and 3 + 3 equals 6")."""
    lines = [_digits(line) for line in text.splitlines()[-200:]]
    for match in reversed(list(_EQUATION_RE.finditer("\n".join(lines)))):
        lhs = match.group("lhs").strip().strip("*_")
        tail = _SUM_TAIL_RE.search(lhs)
        if _arithmetic(lhs) or (tail is not None and _arithmetic(tail.group(0))):
            return numbers.canonical(match.group("rhs").lstrip("$€£¥+"))
    return None


def conclude(text: str, prompt: str = "", form: PromptForm | None = None) -> Conclusion:
    """What `text` concludes as an answer to `prompt` (the rules in the module
    docstring); `form` is the prompt already read, when grouping many replies."""
    form = form if form is not None else PromptForm.of(prompt)
    text = unicodedata.normalize("NFKC", text)
    if "```" in text:
        return Conclusion("text", normalise(text), "same text")
    opening = _yes_no(text)
    if opening is not None and form.yes_no:
        return Conclusion("yes/no", opening, "yes/no")
    stated = stated_answer(text)
    if stated is not None:
        return _reduce(stated, form)
    number = bare_number(text)
    if number is not None:
        return Conclusion("number", number, "bare number")
    if opening is not None and len(_words(text)) == 1:
        return Conclusion("yes/no", opening, "yes/no")
    letter = _choice(text, form)
    if letter is not None:
        return Conclusion("choice", letter, "choice")
    result = _equation(text)
    if result is not None:
        return Conclusion("number", result, "stated answer")
    sentence = text.strip().rstrip(".!?。 \n")
    if not _SENTENCE_BREAK_RE.search(sentence):
        thing = _short_thing(sentence, form, keep_numbers=False)
        if thing is not None:
            return thing
    return Conclusion("text", normalise(text), "same text")


def final_number(text: str) -> str | None:
    """The number a reply concludes with, for `number` matching and eval's `number`
    scorer: its conclusion when that is a number; else the last result after "=";
    else its stated answer's last number; else the last number it names."""
    concluded = conclude(text)
    if concluded.kind == "number":
        return concluded.value.lstrip("$€£¥").rstrip("%").split(" ")[0]  # without its unit or currency
    results = [numbers.canonical(m.group("n")) for m in _RESULT_RE.finditer(text)]
    results = [n for n in results if n is not None]
    if results:
        return results[-1]
    stated = stated_answer(text)
    found = numbers.find(stated) if stated is not None else []
    if found:
        return found[-1]
    found = numbers.find(text)
    return found[-1] if found else None


def choice_letter(text: str, prompt: str = "") -> str | None:
    """The option letter (A to J) a reply picks, or None."""
    concluded, stated = conclude(text, prompt), stated_answer(text)
    if concluded.kind == "choice" or stated is None:
        return concluded.value if concluded.kind == "choice" else None
    return _choice(stated, PromptForm.of(prompt))


def yes_no(text: str) -> str | None:
    """"yes" or "no" when the reply (or its stated answer) opens with that word."""
    for part in (stated_answer(text), text):
        if part is not None:
            answer = _yes_no(part)
            if answer is not None:
                return answer
    return None
