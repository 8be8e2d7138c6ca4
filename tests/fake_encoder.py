"""A fake encoder for the fast tier: the embedding protocol of :class:`bot.model.embedding.BotEmbeddings`
without a model.

Vectors are deterministic unit vectors built from a hash of each text's character n-grams (and its words), so
texts that share words and word pieces are similar and unrelated texts are nearly orthogonal. Enough for
splitting, indexing, retrieval, composing, abstention and the CLI to run end to end in milliseconds; it says
nothing about answer quality (the real model's tests, marked ``slow``, do).

The ``fake_bot`` fixture (tests/conftest.py) makes the service, the UI's functions and the CLI build this instead
of the real embeddings, and answer with :func:`simple_decision` instead of the committed learned decision.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.answering.decision import DecisionModel
from bot.answering.features import FEATURES

DIMENSIONS = 384
NGRAM = 3
_WORD = re.compile(r"\w+")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def _bucket(feature: str, dimensions: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    number = int.from_bytes(digest, "little")
    return number % dimensions, 1.0 if (number >> 63) & 1 else -1.0


def fake_vector(text: str, dimensions: int = DIMENSIONS, n: int = NGRAM) -> np.ndarray:
    """A unit vector: each word and each character n-gram of each word (with its boundaries) adds ±1 to one
    hashed coordinate. The same text always gives the same vector, on every machine and Python."""
    vector = np.zeros(dimensions)
    for word in _WORD.findall(_fold(text)):
        index, sign = _bucket(f"w:{word}", dimensions)
        vector[index] += 2.0 * sign
        padded = f"<{word}>"
        for start in range(max(1, len(padded) - n + 1)):
            index, sign = _bucket(f"g:{padded[start:start + n]}", dimensions)
            vector[index] += sign
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:  # no word at all ("?!"): a fixed direction of its own, still a unit vector
        index, sign = _bucket(f"empty:{text}", dimensions)
        vector[index] = sign
        norm = 1.0
    return vector / norm


class FakeEmbeddings(Embeddings):
    """What :class:`~bot.model.embedding.BotEmbeddings` offers the index, ingestion, retrieval and the service:
    ``identity``, ``embed_documents``, ``embed_titled``, ``embed_query``, ``embed_queries`` (one array),
    ``embed_words``, ``embed_query_and_words``, ``documents_embedded``, ``load_in_background`` and ``loaded``.
    Built with the same ``settings`` argument, so it can stand in for it.

    The identity names the configured model too, so that another ``BOT_MODEL`` is another identity (as with the
    real model) and the index's model check can be exercised without a second model.
    """

    def __init__(self, settings: object | None = None, batch_size: int = 16, dimensions: int = DIMENSIONS) -> None:
        self.settings = settings
        self.batch_size = batch_size
        self.dimensions = dimensions
        self.documents_embedded = 0
        self.queries_embedded = 0
        model = getattr(settings, "model", "none")
        self.identity = f"fake-ngram-hash-{dimensions} for {model}"

    # the real class loads its model in a thread; nothing to load here
    def load_in_background(self) -> None:
        return None

    @property
    def loaded(self) -> bool:
        return True

    @property
    def model(self) -> object:
        raise AssertionError("the fake encoder has no model: this test needs the real one (mark it slow)")

    def embed_documents(self, texts: list[str], show_progress: bool = False) -> list[list[float]]:
        self.documents_embedded += len(texts)
        return [fake_vector(text, self.dimensions).tolist() for text in texts]

    def embed_titled(self, texts: list[str], title: str) -> list[list[float]]:
        return self.embed_documents([f"{title}. {text}" for text in texts])

    def embed_query(self, text: str) -> list[float]:
        return self.embed_queries([text])[0].tolist()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.queries_embedded += len(texts)
        if not texts:
            return np.zeros((0, self.dimensions))
        return np.stack([fake_vector(text, self.dimensions) for text in texts])

    def embed_words(self, words: Sequence[str]) -> np.ndarray:
        return self.embed_queries(words)

    def embed_query_and_words(self, query: str, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        words = [fake_vector(word, self.dimensions) for word in words]
        return self.embed_queries([query])[0], np.stack(words) if words else np.zeros((0, self.dimensions))


def simple_decision(min_context: float = 0.4, threshold: float = 0.5, runner_up_ratio: float = 2.0) -> DecisionModel:
    """A fixed, readable stand-in for the committed (learned, fake-encoder-blind) decision: the candidate with the
    highest dense context score answers when that score is above ``min_context`` and every name the question
    mentions is in its document; otherwise the bot abstains. It quotes the best candidate only, unless given a
    ``runner_up_ratio`` of at most 1 (bot/answering/decision.py). The fast tier tests the plumbing around the decision
    (what is quoted, cited, or said when abstaining), not the learned weights (``python -m bot.eval`` does)."""
    weights = dict.fromkeys(FEATURES, 0.0)
    weights.update(context_score=40.0, names_missing=-40.0)
    return DecisionModel(features=FEATURES, mean=(0.0,) * len(FEATURES), scale=(1.0,) * len(FEATURES),
                         weights=tuple(weights[f] for f in FEATURES), bias=-40.0 * min_context, threshold=threshold,
                         runner_up_ratio=runner_up_ratio)
