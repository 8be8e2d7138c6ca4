"""Scale: query latency and index size with 1 article, 1k, 10k and 100k chunks, embedded and server mode.

The large collections hold the product's own chunks (``bot.ingest.chunk_document``: same ids, texts and
metadata) of real Dutch text, the article's sentences recombined into new documents and paragraphs
(documents of 200 chunks: 500 of them at 100k), and each document's marker is written by the product's
``ingest()``. **The vectors are reused, not computed**: embedding 100k chunks would take hours here, and the
point is the store, not the model. Each chunk's vector is built from the article's real sentence embeddings
(the sentence's own; for a context view, the sum with the preceding sentence's), plus a little noise so
that no two vectors are equal. Chunks are written in batches of 1000 (ingest() would write the same
records in batches of 64, which only matters when the model is not the bottleneck). Questions are embedded
once with the real model.

Per size, over the dev questions (p50 of per-question medians of the repeats):
- the bare Chroma query (k = 2 x BOT_TOP_K, no filter);
- ``answer()`` with the question vectors cached: everything but the model (markers, query, neighbours,
  abstention checks);
- ``answer()`` with the model, paired with the same question on a 1-article collection in the same index
  (or server), alternating, and the ratio of the two p50s: the target is <= 1.5 at 100k chunks;
- the index's size on disk.
Server mode: ``chroma run --path COPY`` over a copy of the same index folder, queried over HTTP.

``python -m bench scale [--sizes 1000,10000,100000] [--repeats N] [--model-repeats N] [--no-server]``
"""

from __future__ import annotations

import argparse
import shutil
import time
from typing import Any

from bench.common import (
    ARTICLE,
    ChromaServer,
    article_sentences,
    dev_items,
    dir_size,
    header,
    ingest_paths,
    median,
    percentile,
    recombined_documents,
    save,
    table,
    temp_dir,
    use_index,
    write_documents,
)

SENTENCES_PER_DOCUMENT = 100  # 200 chunks per document: 500 documents at 100k
BULK = 1000
BIG, SMALL = "bench-scale", "bench-scale-article"


class ReusedVectors:
    """Vectors for recombined chunks, from the article's real sentence embeddings (see the module doc)."""

    def __init__(self, model: Any, seed: int = 11) -> None:
        import numpy as np

        sentences = list(dict.fromkeys(article_sentences()))
        vectors = model.encode(sentences, batch_size=16, prompt_name="document", normalize_embeddings=True)
        self.pool = {s: np.asarray(v, dtype=np.float32) for s, v in zip(sentences, vectors)}
        self.rng = np.random.default_rng(seed)
        self.np = np

    def vector(self, text: str, sentence: str) -> list[float]:
        np = self.np
        base = self.pool[sentence].copy()
        before = text[: -len(sentence)].strip()
        for candidate in (before, before.rstrip(".")):
            if candidate in self.pool:
                base += self.pool[candidate]
                break
        base += self.rng.normal(0.0, 0.01, base.shape).astype(np.float32)
        return (base / np.linalg.norm(base)).tolist()


def open_bot(collection: str) -> Any:
    """A Bot (the product's answerer) on one collection of the index or server use_index() points at."""
    from bot.answering import Bot
    from bot.settings import get_settings

    return Bot(get_settings().model_copy(update={"collection": collection}))


def measure(questions: list[str], vectors: dict[str, list[float]], repeats: int, with_model: int) -> dict[str, Any]:
    """The three latencies of the module doc, on the index or server use_index() points at."""
    big, small = open_bot(BIG), open_bot(SMALL)
    chunks, k = big.index.chunks, 2 * big.settings.top_k
    embed_query = big.embeddings.embed_query
    cached = lambda text: vectors[text]  # noqa: E731 - the point is the store, not the model
    big.answer(questions[0])
    small.answer(questions[0])
    big.embeddings.embed_query = cached
    times: dict[str, dict[str, list[float]]] = {kind: {q: [] for q in questions}
                                                for kind in ("query", "answer", "model", "model_article")}
    for number in range(max(repeats, with_model)):
        for position, question in enumerate(questions):
            if number < repeats:
                start = time.perf_counter()
                chunks.query(query_embeddings=[vectors[question]], n_results=k)
                middle = time.perf_counter()
                big.answer(question)
                times["query"][question].append(middle - start)
                times["answer"][question].append(time.perf_counter() - middle)
            if number < with_model:
                big.embeddings.embed_query = embed_query
                pairs = [("model", big), ("model_article", small)]
                for kind, bot in pairs[:: 1 if (number + position) % 2 else -1]:
                    start = time.perf_counter()
                    bot.answer(question)
                    times[kind][question].append(time.perf_counter() - start)
                big.embeddings.embed_query = cached
    result: dict[str, Any] = {"chunks": chunks.count(), "documents": len(big.index.complete_documents())}
    for kind in times:
        if times[kind][questions[0]]:
            medians = [median(v) for v in times[kind].values()]
            result[f"{kind}_p50_ms"] = 1000 * percentile(medians, 50)
            result[f"{kind}_p95_ms"] = 1000 * percentile(medians, 95)
    if "model_p50_ms" in result:
        result["model_ratio"] = result["model_p50_ms"] / result["model_article_p50_ms"]
    return result


def profile_answers(questions: list[str], vectors: dict[str, list[float]]) -> None:
    """Where answer() spends its time on the big collection, the model left out (cached query vectors)."""
    from pyinstrument import Profiler

    bot = open_bot(BIG)
    bot.embeddings.embed_query = lambda text: vectors[text]
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for question in questions:
        bot.answer(question)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))


def grow(target: int, folder: Any, reused: ReusedVectors, written: int) -> tuple[int, float]:
    """Add recombined documents to the big collection until it holds ~target chunks; (documents, seconds)."""
    from bot.index import open_index
    from bot.ingest import chunk_document, ingest
    from bot.language.text import read_document
    from bot.model.embedding import BotEmbeddings
    from bot.settings import get_settings

    settings = get_settings().model_copy(update={"collection": BIG})
    embeddings = BotEmbeddings(settings)
    store = open_index(settings, embeddings)
    count = max(1, round((target - store.chunks.count()) / (2 * SENTENCES_PER_DOCUMENT)))
    documents = recombined_documents(count, SENTENCES_PER_DOCUMENT, seed=written + 1)
    paths = write_documents(folder, [(f"s{written + i:05d}-{name}", text)
                                     for i, (name, text) in enumerate(documents)])
    chunks = [c for path in paths for c in chunk_document(read_document(path))]
    sentence_of = {c.page_content: c.metadata["sentence_text"] for c in chunks}
    embeddings.embed_documents = lambda texts, show_progress=False: [  # type: ignore[method-assign]
        reused.vector(t, sentence_of[t]) for t in texts]
    context_of = {(c.metadata["doc_hash"], c.metadata["position"]): c.page_content for c in chunks
                  if c.metadata["view"] == "context"}
    start = time.perf_counter()
    for first in range(0, len(chunks), BULK):
        part = chunks[first:first + BULK]
        store.chunks.upsert(ids=[c.id for c in part], documents=[c.page_content for c in part],
                            metadatas=[_with_titled(c, context_of, reused, sentence_of) for c in part],
                            embeddings=embeddings.embed_documents([c.page_content for c in part]))
    report = ingest(store, embeddings, paths, progress=False)  # finds every chunk in place: writes the markers
    assert report.embedded == 0 and len(report.added) == len(paths)
    return count, time.perf_counter() - start


def _with_titled(chunk: Any, context_of: dict, reused: ReusedVectors, sentence_of: dict[str, str]) -> dict:
    """A sentence view's metadata with its titled vector (schema.TITLED_VECTOR), as ingestion writes it: the
    reused vector of its context view."""
    from bot.index.schema import SENTENCE_VIEW, TITLED_HASH, TITLED_VECTOR, pack_vector

    meta = dict(chunk.metadata)
    if meta["view"] == SENTENCE_VIEW:
        context = context_of[(meta["doc_hash"], meta["position"])]
        meta[TITLED_VECTOR] = pack_vector(reused.vector(context, sentence_of[context]))
        meta[TITLED_HASH] = meta["content_hash"]
    return meta


def copy_collection(source: str, target: str) -> None:
    """The article's real chunks and vectors into another collection; the product's ingest() writes the marker."""
    from bot.index import open_index
    from bot.model.embedding import BotEmbeddings
    from bot.settings import get_settings

    settings = get_settings()
    embeddings = BotEmbeddings(settings)
    got = open_index(settings.model_copy(update={"collection": source}), embeddings).chunks.get(
        include=["embeddings", "documents", "metadatas"])
    store = open_index(settings.model_copy(update={"collection": target}), embeddings)
    store.chunks.upsert(ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"],
                        metadatas=got["metadatas"])
    from bot.ingest import ingest

    assert ingest(store, embeddings, [ARTICLE], progress=False).embedded == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench scale", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000", help="chunk counts beyond the article")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model-repeats", type=int, default=2,
                        help="rounds of the paired answer() with the model (at the largest size)")
    parser.add_argument("--no-server", action="store_true", help="embedded mode only")
    parser.add_argument("--profile", action="store_true", help="profile answer() at the largest size (embedded)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    header("Scale: query latency and index size by collection size",
           "(recombined Dutch text; vectors reused from the article's real sentence embeddings: bench/scale.py)")
    questions = [item["q"] for item in dev_items()]
    rows: list[dict[str, Any]] = []
    with temp_dir("scale") as tmp:
        index = tmp / "index"
        use_index(index, SMALL)
        ingest_paths([ARTICLE])  # the real article, really embedded
        copy_collection(SMALL, BIG)
        small = open_bot(SMALL)
        vectors = {q: small.embeddings.embed_query(q) for q in questions}
        reused = ReusedVectors(small.embeddings.model)
        written = 0
        for target in [0, *sizes]:
            seconds = 0.0
            if target:
                added, seconds = grow(target, tmp / f"corpus-{target}", reused, written)
                written += added
            with_model = args.model_repeats if target == ([0, *sizes])[-1] else 0
            row = {"mode": "embedded", **measure(questions, vectors, args.repeats, with_model),
                   "size_mb": dir_size(index) / 1e6, "write_s": seconds}
            rows.append(row)
            print(f"  embedded {row['chunks']:>7} chunks: query p50 {row['query_p50_ms']:.1f} ms, "
                  f"answer (no model) p50 {row['answer_p50_ms']:.1f} ms, {row['size_mb']:.0f} MB"
                  + (f", written in {seconds:.0f} s" if target else ""), flush=True)
            if args.profile and target == sizes[-1]:
                profile_answers(questions, vectors)
            if not args.no_server:
                copy = tmp / "server-copy"
                shutil.rmtree(copy, ignore_errors=True)
                shutil.copytree(index, copy)
                with ChromaServer(copy) as server:
                    use_index(None, SMALL, chroma_url=server.url)
                    srow = {"mode": "server", **measure(questions, vectors, args.repeats, with_model),
                            "size_mb": dir_size(copy) / 1e6}
                    rows.append(srow)
                    print(f"  server   {srow['chunks']:>7} chunks: query p50 {srow['query_p50_ms']:.1f} ms, "
                          f"answer (no model) p50 {srow['answer_p50_ms']:.1f} ms", flush=True)
                use_index(index, SMALL)
                shutil.rmtree(copy, ignore_errors=True)

    print()
    for mode in ("embedded", "server"):
        mine = [r for r in rows if r["mode"] == mode]
        if not mine:
            continue
        base = mine[0]
        for r in mine:
            r["query_ratio"] = r["query_p50_ms"] / base["query_p50_ms"]
            r["answer_ratio"] = r["answer_p50_ms"] / base["answer_p50_ms"]

        def with_model(r: dict) -> str:
            if "model_ratio" not in r:
                return "-"
            return f"{r['model_p50_ms']:.0f} vs {r['model_article_p50_ms']:.0f} ms: {r['model_ratio']:.2f}x"

        print(f"{mode} mode (p50 over the dev questions; x = ratio to the 1-article collection):")
        print(table(["chunks", "documents", "Chroma query", "x", "answer() without model", "x",
                     "answer() with model, vs 1 article", "index size"], [
            [r["chunks"], r["documents"], f"{r['query_p50_ms']:.1f} ms", f"{r['query_ratio']:.2f}x",
             f"{r['answer_p50_ms']:.1f} ms", f"{r['answer_ratio']:.2f}x", with_model(r), f"{r['size_mb']:.1f} MB"]
            for r in mine]))
    print("target: 100k-chunk query p50 <= 1.5x the 1-article p50 (answer() with the model, paired)")
    save("scale", {"rows": rows, "note": "recombined texts, reused vectors (see bench/scale.py)"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
