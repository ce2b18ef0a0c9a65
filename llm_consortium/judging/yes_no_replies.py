"""What a reply says to a yes/no question.

* `opening`: the reply opens "Yes," / "No." (also "True", "False", "Nope"…) with
  no "but", "if", "only"… after it, and no later sentence opens by taking it back
  ("Actually, …") or with the other word;
* `restated`: for one plain yes/no question, a sentence that restates the question
  whole is "yes" ("Mercury is a gas at room temperature."), with only a negation
  left "no" ("It is not safe."), and a short echo of its verb answers too ("You
  cannot.", "It does not.", "It is.");
* `claimed`: for an indirect question about a claim ("Can you tell me if Paris is
  the capital of France?"), the claim restated or denied, after a "Yes,"/"No,"
  that must agree with it; a bare "Yes" or "Yes, it is." answers nothing. To "True
  or false: …", "True", "False" and "That's false." answer too.

Standard library only; reads one sentence or the reply's opening.
"""

from __future__ import annotations

import re

from . import answer_parts, remnants
from .asking import PromptForm
from .tokens import tokens

__all__ = ["claimed", "opening", "restated"]

_QUALIFIERS = frozenset({
    "but", "if", "only", "unless", "although", "though", "however", "except", "partly", "partially", "sometimes",
    "depends", "mostly", "generally", "usually", "technically", "and", "or", "in", "for", "when",
})
_CLAIM_HEAD = 40
_SUBJECTS = frozenset({"it", "they", "you", "he", "she", "we", "i", "there", "that", "this"})
_AUX = frozenset({"is", "are", "was", "were", "am", "do", "does", "did", "can", "cannot", "could", "will", "wo",
                  "would", "should", "has", "have", "had", "may", "might", "must", "ca", "is not"})
_AFFIRMING = frozenset({"considered", "regarded", "classified", "counted", "really", "actually", "indeed", "truly"})
_TRUE_FALSE = {"true": "yes", "false": "no", "yep": "yes", "yeah": "yes", "yup": "yes", "correct": "yes",
               "nope": "no", "nah": "no", "incorrect": "no"}
"""Words that open a reply as "yes" or "no" would ("Nope — it's a fruit.")."""


_VERDICTS = {
    **dict.fromkeys(("correct", "that's correct", "that is correct", "that's right", "that is right", "right",
                     "that's true", "that is true", "true", "indeed", "it is indeed", "exactly"), "yes"),
    **dict.fromkeys(("incorrect", "that's incorrect", "that is incorrect", "that's wrong", "that is wrong", "wrong",
                     "that's false", "that is false", "false", "not true", "that's not true", "that is not true",
                     "untrue", "that's a myth", "it's a myth", "that is a myth", "a myth", "myth", "not at all",
                     "no way", "definitely not", "absolutely not", "certainly not", "of course not"), "no"),
}
"""Whole sentences that answer a yes/no question on their own ("That's correct.")."""


_QUALIFIED_RE = re.compile(
    r"^\W*(?:" + "|".join(sorted(_QUALIFIERS)) + r"|at|apart|provided|assuming|as long|not|no|never|nor|yet|except)\b",
    re.IGNORECASE,
)


_CLAUSE_END_RE = re.compile(r"[:;—,] ")
_TRUTH = frozenset({"true", "false", "correct", "incorrect"})


def _folded(sentence: str) -> str:
    return " ".join(sentence.casefold().split()).strip(" \t.,;:!?\"'`*_()[]{}<>«»“”‘’")


def opening(lines: list[str]) -> str | None:
    """"yes" or "no" when the reply opens with it, unqualified ("Yes, but…", "Yes,
    not always"), and takes nothing back."""
    first = [t for t in tokens(lines[0][:200]) if t.fold not in ("*", "_", "#", ">")]
    if not first or _TRUE_FALSE.get(first[0].fold, first[0].fold) not in ("yes", "no"):
        return None
    if len(first) > 1 and not (first[1].kind == "sym" and first[1].fold in ",.!;:—–-"):
        return None  # "Yes and no", "No one knows"
    after = [t for t in first[1:] if t.kind != "sym"]
    if len(after) > 1 and after[0].fold == "in" and after[1].fold == "fact":  # "Yes, in fact…" qualifies nothing
        after = after[2:]
    if after and (after[0].fold in _QUALIFIERS or (_TRUE_FALSE.get(first[0].fold, first[0].fold) == "yes"
                                                   and after[0].negation)):
        return None
    said = _TRUE_FALSE.get(first[0].fold, first[0].fold)
    other = "no" if said == "yes" else "yes"
    rest = answer_parts.sentences(lines)[1:]
    if answer_parts.turns_back(rest) or any(_folded(s).startswith(other) for s in rest):
        return None
    return said


def restated(sentence: str, form: PromptForm, echo_ok: bool = True) -> str | None:
    """For one plain yes/no question: a sentence that restates the question whole is
    "yes" ("Mercury is a gas at room temperature."), and with only a negation left
    "no" ("It is not safe.")."""
    verdict = _VERDICTS.get(_folded(remnants.without_asides(sentence, form)))
    if verdict is not None and echo_ok:  # "That's correct.", "Not true."
        return verdict
    ts = [t for t in remnants.content(tokens(remnants.without_asides(sentence, form))) if t.fold != "°"]
    echo = [t for t in ts if t.fold != ","]
    verb = echo[1].fold.replace("n't", "").replace("n’t", "") if len(echo) > 1 else ""
    if echo_ok and 2 <= len(echo) <= 3 and echo[0].fold in _SUBJECTS and verb in _AUX and all(
            t.negation for t in echo[2:]):
        # "You cannot.", "It does not.", "It is."
        return "no" if any(t.negation for t in echo) else "yes"
    left, whole = remnants.strip(ts, form, claim=True)
    left = [t for t in left if t.fold != ","]
    head, comma, rest = sentence.partition(", ")
    if comma and left and not _QUALIFIED_RE.match(rest) and not answer_parts.takes_back(rest):
        found = restated(head, form, echo_ok)  # "Venus is hotter than Mercury, despite being farther out."
        if found is not None:
            return found
    if not whole:
        return None
    left = [t for t in left if t.fold not in _AFFIRMING]
    if not left and len(ts) > 1:
        return "yes"
    if len(left) == 1 and left[0].negation:
        return "no"
    return None


def claimed(sentence: str, form: PromptForm) -> str | None:
    """For an indirect question about a claim ("Can you tell me if Paris is the
    capital of France?"): the claim restated or denied, after a "Yes,"/"No," that
    must agree with it ("Yes, Paris is the capital of France." holds; a bare "Yes"
    or "Yes, it is." answers nothing, and stays its words)."""
    ts = tokens(sentence[:_CLAIM_HEAD])
    if form.true_false and ts and ts[0].fold in _TRUTH:  # "False — bats can see." to "True or false: …"
        return opening([sentence])
    flat = remnants.without_asides(sentence, form)
    end = _CLAUSE_END_RE.search(flat)
    head, rest = (flat[: end.start()], flat[end.end() :]) if end else (flat, "")
    verdict = _VERDICTS.get(_folded(head)) if form.true_false else None
    if verdict is not None and not (_QUALIFIED_RE.match(rest) or answer_parts.takes_back(rest)):
        return verdict  # "That's false.", "Not true: bats can see."
    said = _TRUE_FALSE.get(ts[0].fold, ts[0].fold) if ts else ""
    if said in ("yes", "no") and len(ts) > 2 and ts[1].kind == "sym" and ts[1].fold in ",.!;:—–-":
        sentence = sentence[sentence.index(ts[1].raw) + 1 :]
    else:
        said = ""
    found = restated(sentence, form, echo_ok=False)
    return found if found is not None and said in ("", found) else None
