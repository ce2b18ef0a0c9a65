"""Fencing untrusted text inside a prompt.

Member answers (and anything else a model wrote) reach another model's prompt inside
fenced blocks whose fence carries a random nonce chosen after the text exists and
checked against it, so no text can close its own block early or pose as another
block or as instructions.
"""

from __future__ import annotations

import secrets


def _new_nonce(length: int) -> str:
    """A fresh random hex string; separate so tests can force collisions."""
    return secrets.token_hex((length + 1) // 2)[:length]


def pick_nonce(texts: list[str]) -> str:
    """A nonce that occurs in none of `texts` (case-insensitively).

    Random, so an answer written before the prompt existed cannot predict it;
    checked, so an answer that contains it anyway (by chance or by brute force)
    cannot forge a fence. The length grows after repeated clashes, so this always
    ends: a finite text cannot contain every string of every length.
    """
    haystack = "\x00".join(texts).lower()
    length, tries = 8, 0
    while True:
        nonce = _new_nonce(length).lower()
        if nonce and nonce not in haystack:
            return nonce
        tries += 1
        if tries % 8 == 0:
            length += 4


def fenced(title: str, body: str, nonce: str) -> str:
    """`body` verbatim between a start and an end fence that both carry `nonce`."""
    return f"<<<{title} {nonce}>>>\n{body}\n<<<END {title} {nonce}>>>"


def one_line(text: str, limit: int = 500) -> str:
    """Collapse whitespace and cap length: error strings go outside any fence."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
