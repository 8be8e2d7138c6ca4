"""Retrieval: one query embedding, one Chroma query over both views, scores per sentence.

Sentences are ranked by their *context* view (the sentence after the one before it, or after the
heading above it): a sentence alone is often ambiguous ("Voor de ChristenUnie is dit een rode lijn"),
and a headline says what the lead paragraph is about. The *sentence* view scores each sentence on its
own, which decides whether the sentence before it belongs in the answer. The *titled* score (the context
embedded with its article's title) helps choose among the candidates, never to find them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.index import ChunkRecord, Index
from bot.index.schema import CONTEXT_VIEW
from bot.model.embedding import BotEmbeddings


@dataclass
class Hit:
    file: str
    title: str
    paragraph: int
    sentence: int
    position: int
    text: str  # the sentence
    passage: str  # its paragraph
    doc_hash: str
    context_score: float
    sentence_score: float
    titled_score: float = 0.0  # the question against the context embedded with the title (schema.TITLED_VECTOR)

    @property
    def key(self) -> tuple[str, int]:
        return (self.file, self.position)

    @classmethod
    def of(cls, record: ChunkRecord, context_score: float = 0.0, sentence_score: float = 0.0) -> Hit:
        return cls(file=record.file, title=record.title, paragraph=record.paragraph, sentence=record.sentence,
                   position=record.position, text=record.sentence_text, passage=record.passage,
                   doc_hash=record.doc_hash, context_score=context_score, sentence_score=sentence_score)


VERSIONS_CACHED = 32  # document versions whose sentences neighbours() keeps


class Retriever:
    def __init__(self, index: Index, embeddings: BotEmbeddings, top_k: int) -> None:
        self.index = index
        self.embeddings = embeddings
        self.top_k = top_k
        # The sentence views of recently answered document versions, by position. Never stale: a version's
        # chunks do not change (doc_hash hashes its text, a new text is a new version) and hits only come from
        # completely ingested versions. Reading them costs ~40 ms per document with 100k chunks (bench/scale.py).
        self._sentences: OrderedDict[tuple[str, str], dict[int, ChunkRecord]] = OrderedDict()
        self._sentences_lock = threading.Lock()

    def retrieve(self, question: str) -> list[Hit]:
        """The sentences that match the question, best first by context score."""
        if not self.index.has_documents():
            return []
        # Embedded outside the index's guard: model errors keep their type.
        return self.search(self.embeddings.embed_queries([question])[0])

    def search(self, query: Sequence[float]) -> list[Hit]:
        """The sentences nearest to a query vector, best first by context score."""
        if not self.index.has_documents():
            return []
        # Only versions with a marker: a document being (or killed while being) written is never seen.
        found = self.index.query(query, 2 * self.top_k)
        hits: dict[tuple[str, int], Hit] = {}
        floor = {"sentence": 0.0, "context": 0.0}
        for record, similarity in found:
            view = record.view
            floor[view] = similarity if floor[view] == 0.0 else min(floor[view], similarity)
            key = (record.file, record.position)
            hit = hits.get(key)
            if hit is None:
                hit = hits[key] = Hit.of(record, context_score=-1.0, sentence_score=-1.0)
            if view == CONTEXT_VIEW:
                hit.context_score = similarity
            else:
                hit.sentence_score = similarity
        # A view that did not make the top results scores at most the weakest result of that view.
        for hit in hits.values():
            if hit.context_score < 0:
                hit.context_score = floor["context"]
            if hit.sentence_score < 0:
                hit.sentence_score = floor["sentence"]
            hit.titled_score = self._titled_score(hit, query)
        return sorted(hits.values(), key=lambda h: (h.context_score, h.sentence_score), reverse=True)

    def _titled_score(self, hit: Hit, query: Sequence[float]) -> float:
        """Read from the sentence views that neighbours() needs anyway (one read per document version)."""
        record = self._sentences_of(hit.file, hit.doc_hash).get(hit.position)
        titled = record.titled() if record is not None else None
        return float(titled @ np.asarray(query, dtype=float)) if titled is not None else hit.context_score

    def titles(self) -> list[str]:
        """Titles of every completely ingested document (read when needed: an abstention, an unknown name)."""
        return self.index.titles()

    def mentioned(self, text: str) -> bool:
        """Whether any indexed text contains ``text``."""
        return self.index.contains_text(text)

    def sentences(self, hit: Hit) -> list[Hit]:
        """Every sentence of the hit's document version, in reading order."""
        sentences = self._sentences_of(hit.file, hit.doc_hash)
        return [Hit.of(sentences[position]) for position in sorted(sentences)]

    def neighbours(self, hit: Hit) -> dict[int, Hit]:
        """The sentences around a hit (by position), for antecedents and continuations."""
        sentences = self._sentences_of(hit.file, hit.doc_hash)
        return {position: Hit.of(sentences[position]) for position in range(hit.position - 2, hit.position + 2)
                if position in sentences}

    def _sentences_of(self, file: str, doc_hash: str) -> dict[int, ChunkRecord]:
        """The sentence views of one document version, by position (cached, see __init__)."""
        key = (file, doc_hash)
        with self._sentences_lock:
            if key in self._sentences:
                self._sentences.move_to_end(key)
                return self._sentences[key]
        sentences = self.index.sentences(file, doc_hash)
        with self._sentences_lock:
            self._sentences[key] = sentences
            while len(self._sentences) > VERSIONS_CACHED:
                self._sentences.popitem(last=False)
        return sentences
