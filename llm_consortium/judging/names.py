"""When two names are one answer though written differently.

"Einstein" and "Albert Einstein" are one answer to "Who developed general
relativity?": to a question about a person, a surname alone names the person a
longer answer names in full. "Mount Everest" and "Everest", "the Nile River" and
"the Nile", "the Sahara Desert" and "the Sahara" are one place: a closed list of
words that only say what kind of place it is may be missing. Nothing else: a
given name ("Leonardo") never meets a full name, "Mexico City" never meets
"Mexico", and two full names never meet because their surnames do.

The matcher compares every member of a group, so "Bush" joins "George W. Bush" or
"George H. W. Bush", never both.

Standard library only; constant time per pair.
"""

from __future__ import annotations

from .asking import PromptForm
from .tokens import FILLER, LINKS, NEGATIONS

__all__ = ["same"]

_KIND_OF_PLACE = frozenset({"mount", "mt", "river", "ocean", "desert", "lake"})
_LONGEST_NAME = 4
_NOT_NAMES = FILLER | LINKS | NEGATIONS


def _place(words: list[str]) -> list[str]:
    return [w for w in words if w not in _KIND_OF_PLACE]


def same(a: str, b: str, form: PromptForm) -> bool:
    """Whether two text conclusions name one person or place (the module docstring
    says when); only for a question that asks for a name."""
    if form.expects != "name" or a == b:
        return a == b
    wa, wb = a.split(), b.split()
    if not wa or not wb or len(wa) > _LONGEST_NAME or len(wb) > _LONGEST_NAME:
        return False
    if any(w in _NOT_NAMES or not w.isalpha() for w in wa + wb):
        return False
    if _place(wa) == _place(wb) and _place(wa) and (len(wa) != len(_place(wa)) or len(wb) != len(_place(wb))):
        return True
    short, full = (wa, wb) if len(wa) < len(wb) else (wb, wa)
    return form.person and len(short) == 1 and len(full) >= 2 and full[-1] == short[0]
