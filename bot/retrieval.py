"""Retrieval: one query embedding, one Chroma query over both views, scores per sentence.

Sentences are ranked by their *context* view (the sentence after the one before it, or after the
heading above it): a sentence alone is often ambiguous ("Voor de ChristenUnie is dit een rode lijn"),
and a headline says what the lead paragraph is about. The *sentence* view scores each sentence on its
own, which decides whether the sentence before it belongs in the answer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from bot.embedding import BotEmbeddings
from bot.store import Store, store_guard


@dataclass
class Hit:
    document: str
    title: str
    paragraph: int
    sentence: int
    position: int
    text: str  # the sentence
    passage: str  # its paragraph
    doc_hash: str
    context_score: float
    sentence_score: float

    @property
    def key(self) -> tuple[str, int]:
        return (self.document, self.position)


@dataclass
class Retrieval:
    hits: list[Hit]  # best first, by context score


VERSIONS_CACHED = 32  # document versions whose sentences neighbours() keeps


class Retriever:
    def __init__(self, store: Store, embeddings: BotEmbeddings, top_k: int) -> None:
        self.store = store
        self.embeddings = embeddings
        self.top_k = top_k
        # The sentence views of recently answered document versions, by position. Never stale: a version's
        # chunks do not change (doc_hash hashes its text, a new text is a new version) and hits only come from
        # completely ingested versions. Reading them costs ~40 ms per document with 100k chunks (bench/scale.py).
        self._sentences: OrderedDict[tuple[str, str], dict[int, dict]] = OrderedDict()
        self._sentences_lock = threading.Lock()

    def retrieve(self, question: str) -> Retrieval:
        with store_guard(self.store.settings):
            if not self.store.markers.count():
                return Retrieval([])
        query = self.embeddings.embed_query(question)  # outside the guard: model errors keep their type
        # Only versions with a marker: a document being (or killed while being) written is never seen.
        # The collection itself (what LangChain's Chroma.similarity_search_with_score calls): cosine distances.
        # Usually the top k all belong to completely ingested versions, and the plain query, checked against
        # the markers of the documents it found, is exactly the query filtered by every marker's doc_hash at a
        # fraction of its cost (with 100k chunks the filter costs ~0.8 s, reading every marker ~50 ms;
        # bench/scale.py). Otherwise the filtered query runs.
        include, k = ["metadatas", "distances"], 2 * self.top_k
        with store_guard(self.store.settings):
            got = self.store.chunks.query(query_embeddings=[query], n_results=k, include=include)
            found = sorted({meta["document"] for meta in got["metadatas"][0]})
            marked = {}
            if found:
                marks = self.store.markers.get(where={"document": {"$in": found}}, include=["metadatas"])
                marked = {meta["document"]: meta["doc_hash"] for meta in marks["metadatas"] or []}
            if any(marked.get(meta["document"]) != meta["doc_hash"] for meta in got["metadatas"][0]):
                markers = self.store.complete_documents()
                hashes = sorted({m["doc_hash"] for m in markers.values()})
                got = self.store.chunks.query(query_embeddings=[query], n_results=k,
                                              where={"doc_hash": {"$in": hashes}}, include=include)
        hits: dict[tuple[str, int], Hit] = {}
        floor = {"sentence": 0.0, "context": 0.0}
        for meta, distance in zip(got["metadatas"][0], got["distances"][0]):
            similarity = 1.0 - float(distance)
            view = meta["view"]
            floor[view] = similarity if floor[view] == 0.0 else min(floor[view], similarity)
            key = (meta["document"], int(meta["position"]))
            hit = hits.get(key)
            if hit is None:
                hit = hits[key] = Hit(
                    document=meta["document"], title=meta["title"], paragraph=int(meta["paragraph"]),
                    sentence=int(meta["sentence"]), position=int(meta["position"]), text=meta["sentence_text"],
                    passage=meta["passage"], doc_hash=meta["doc_hash"], context_score=-1.0, sentence_score=-1.0,
                )
            if view == "context":
                hit.context_score = similarity
            else:
                hit.sentence_score = similarity
        # A view that did not make the top results scores at most the weakest result of that view.
        for hit in hits.values():
            if hit.context_score < 0:
                hit.context_score = floor["context"]
            if hit.sentence_score < 0:
                hit.sentence_score = floor["sentence"]
        ranked = sorted(hits.values(), key=lambda h: (h.context_score, h.sentence_score), reverse=True)
        return Retrieval(ranked)

    def titles(self) -> list[str]:
        """Titles of every completely ingested document (read when needed: an abstention, an unknown name)."""
        with store_guard(self.store.settings):
            return sorted({m["title"] for m in self.store.complete_documents().values()})

    def neighbours(self, hit: Hit) -> dict[int, Hit]:
        """The sentences around a hit (by position), for antecedents and continuations."""
        sentences = self._sentences_of(hit.document, hit.doc_hash)
        result: dict[int, Hit] = {}
        for position in range(hit.position - 2, hit.position + 2):
            meta = sentences.get(position)
            if meta is None:
                continue
            result[position] = Hit(
                document=meta["document"], title=meta["title"], paragraph=int(meta["paragraph"]),
                sentence=int(meta["sentence"]), position=position, text=meta["sentence_text"],
                passage=meta["passage"], doc_hash=meta["doc_hash"], context_score=0.0, sentence_score=0.0,
            )
        return result

    def _sentences_of(self, document: str, doc_hash: str) -> dict[int, dict]:
        """The sentence views of one document version, by position (cached, see __init__)."""
        key = (document, doc_hash)
        with self._sentences_lock:
            if key in self._sentences:
                self._sentences.move_to_end(key)
                return self._sentences[key]
        # One condition: Chroma's cost grows with every condition (five took ~0.3 s with 100k chunks).
        with store_guard(self.store.settings):
            got = self.store.chunks.get(where={"doc_hash": doc_hash}, include=["metadatas"])
        sentences = {int(meta["position"]): meta for meta in got["metadatas"] or []
                     if meta["document"] == document and meta["view"] == "sentence"}
        with self._sentences_lock:
            self._sentences[key] = sentences
            while len(self._sentences) > VERSIONS_CACHED:
                self._sentences.popitem(last=False)
        return sentences
