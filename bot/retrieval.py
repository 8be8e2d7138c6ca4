"""Retrieval: one query embedding, one Chroma query over both views, scores per sentence.

Sentences are ranked by their *context* view (the sentence after the one before it, or after the
heading above it): a sentence alone is often ambiguous ("Voor de ChristenUnie is dit een rode lijn"),
and a headline says what the lead paragraph is about. The *sentence* view scores each sentence on its
own, which decides whether the sentence before it belongs in the answer.
"""

from __future__ import annotations

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
    titles: list[str]  # titles of every completely ingested document


class Retriever:
    def __init__(self, store: Store, embeddings: BotEmbeddings, top_k: int) -> None:
        self.store = store
        self.embeddings = embeddings
        self.top_k = top_k

    def retrieve(self, question: str) -> Retrieval:
        markers = self.store.complete_documents()
        if not markers:
            return Retrieval([], [])
        # Only versions with a marker: a document being (or killed while being) written is never seen.
        hashes = sorted({m["doc_hash"] for m in markers.values()})
        query = self.embeddings.embed_query(question)  # outside the guard: model errors keep their type
        # The collection itself (what LangChain's Chroma.similarity_search_with_score calls): cosine distances.
        # Usually every chunk belongs to a complete document, and the plain query is exactly the filtered one
        # at a fraction of its cost (the filter costs ~0.8 s with 100k chunks; bench/scale.py). Only when the
        # top k hold a chunk of an unfinished or replaced version does the filtered query run.
        valid, include = set(hashes), ["metadatas", "distances"]
        with store_guard(self.store.settings):
            got = self.store.chunks.query(query_embeddings=[query], n_results=2 * self.top_k, include=include)
            if any(meta["doc_hash"] not in valid for meta in got["metadatas"][0]):
                got = self.store.chunks.query(query_embeddings=[query], n_results=2 * self.top_k,
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
        return Retrieval(ranked, sorted({m["title"] for m in markers.values()}))

    def neighbours(self, hit: Hit) -> dict[int, Hit]:
        """The sentences around a hit (by position), for antecedents and continuations."""
        # doc_hash and the positions select a handful of records quickly; document and view are checked here
        # (five conditions in Chroma cost ~0.3 s with 100k chunks; bench/scale.py).
        positions = list(range(hit.position - 2, hit.position + 2))
        with store_guard(self.store.settings):
            got = self.store.chunks.get(
                where={"$and": [{"doc_hash": hit.doc_hash}, {"position": {"$in": positions}}]}, include=["metadatas"]
            )
        result: dict[int, Hit] = {}
        for meta in got["metadatas"]:
            if meta["document"] != hit.document or meta["view"] != "sentence":
                continue
            position = int(meta["position"])
            result[position] = Hit(
                document=meta["document"], title=meta["title"], paragraph=int(meta["paragraph"]),
                sentence=int(meta["sentence"]), position=position, text=meta["sentence_text"],
                passage=meta["passage"], doc_hash=meta["doc_hash"], context_score=0.0, sentence_score=0.0,
            )
        return result
