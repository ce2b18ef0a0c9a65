"""LaTeX maths in a reply written as the plain text the other readers read.

Models write "$x \\in (-\\infty, 4)$", "$\\frac{7}{8}$" or "$m_p \\approx 1.673
\\times 10^{-27}\\,\\text{kg}$"; read as plain text these are "x ∈ (-∞, 4)", "7/8" and
"m_p ≈ 1.673 × 10^-27 kg". Only a closed list of commands is rewritten (relations,
operators, infinity, π, fractions, roots, text and spacing); anything else is left
as written, so an unknown command keeps two replies apart rather than together.
A dollar sign opens maths only when a closing one follows on the line and what
it holds does not start with a digit: "$30 and $40" is money.

Standard library only; one pass of bounded patterns, linear in the text.
"""

from __future__ import annotations

import re

__all__ = ["plain"]

_SYMBOLS = {
    "infty": "∞", "in": "∈", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠",
    "approx": "≈", "times": "×", "cdot": "·", "div": "÷", "pi": "π", "pm": "±", "to": "→", "cup": "∪",
    "lt": "<", "gt": ">", "%": "%", "$": "$", ",": " ", ";": " ", "!": "", ":": " ", "quad": " ", "qquad": " ",
    "left": "", "right": "", "displaystyle": "", "circ": "°", "degree": "°", "minus": "−", "ldots": "…",
    "dots": "…", "cdots": "…",
}
_COMMAND_RE = re.compile(r"\\(?P<name>[A-Za-z]{1,12}|[%$,;!:])(?![A-Za-z])")
_GROUPS_RE = re.compile(
    r"\\d?frac\{(?P<top>[^{}\n]{1,60})\}\{(?P<bottom>[^{}\n]{1,60})\}"
    r"|\\sqrt\{(?P<root>[^{}\n]{1,60})\}"
    r"|\\(?:text|mathrm|mathbf|textbf|operatorname|mbox)\{(?P<text>[^{}\n]{0,80})\}"
    r"|(?P<mark>[\^_])\{(?P<script>[^{}\n]{1,20})\}"
)
_MATH_RE = re.compile(r"\$\$?(?P<math>[^$\n\d\s][^$\n]{0,400})\$\$?|\\[(\[](?P<display>[^\n]{1,400}?)\\[)\]]")


def _group(match: re.Match[str]) -> str:
    if match.group("top") is not None:
        return f"{match.group('top')}/{match.group('bottom')}"
    if match.group("root") is not None:
        return f"√{match.group('root')}"
    if match.group("text") is not None:
        return f" {match.group('text')}"
    return f"{match.group('mark')}{match.group('script')}"


def _command(match: re.Match[str]) -> str:
    name = match.group("name")
    return _SYMBOLS.get(name, match.group(0))


def _math(match: re.Match[str]) -> str:
    inner = match.group("math") if match.group("math") is not None else match.group("display")
    return _COMMAND_RE.sub(_command, _GROUPS_RE.sub(_group, _GROUPS_RE.sub(_group, inner)))


def plain(text: str) -> str:
    """`text` with its LaTeX maths written plainly (the module docstring says how);
    text without a backslash or dollar sign comes back as it is."""
    if "\\" not in text and "$" not in text:
        return text
    text = _MATH_RE.sub(_math, text)
    if "\\" in text:  # commands outside $…$ ("\\frac{1}{2}" on its own)
        text = _COMMAND_RE.sub(_command, _GROUPS_RE.sub(_group, _GROUPS_RE.sub(_group, text)))
    return text
