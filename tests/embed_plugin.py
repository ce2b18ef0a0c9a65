"""A tiny deterministic embedding model for tests, registered through llm's own
plugin hook (`register_embedding_models`): `pm.register(EmbedPlugin(), name=...)`.

`letters` embeds a text as the counts of each letter and digit in it, case-folded:
texts with the same characters point the same way ("Paris", "paris!", "PARIS"),
others do not. Every batch it embeds is recorded, so tests can count the calls.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator

import llm

ALPHABET = string.ascii_lowercase + string.digits


class LetterEmbedding(llm.EmbeddingModel):
    model_id = "letters"
    batch_size = 100

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def embed_batch(self, items: Iterable[str | bytes]) -> Iterator[list[float]]:
        texts = [item if isinstance(item, str) else item.decode() for item in items]
        self.batches.append(texts)
        for text in texts:
            folded = text.casefold()
            yield [float(folded.count(c)) for c in ALPHABET]


class EmbedPlugin:
    """The plugin object; `model` is the one instance llm hands out."""

    def __init__(self) -> None:
        self.model = LetterEmbedding()

    @llm.hookimpl
    def register_embedding_models(self, register):
        register(self.model)
