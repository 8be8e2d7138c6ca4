"""Scale: query latency and index size with 1 article, 1k, 10k and 100k chunks, embedded and server mode.

The large collections are built by the product's own ingestion (``bot.ingest.ingest``: same chunking,
ids, metadata and per-document markers) from real Dutch text: the article's sentences recombined into
new documents and paragraphs. **The vectors are reused, not computed**: embedding 100k chunks would take
hours here, and the point is the store, not the model. Each chunk's vector is built from the article's
real sentence embeddings (the sentence's own; for a context view, the sum with the preceding sentence's),
plus a little noise so that no two vectors are equal. Questions are embedded once with the real model.

Per size: the bare Chroma query (k = 2 x BOT_TOP_K, no filter) and ``answer()`` with the question vectors
cached (everything but the model: the markers read, the filtered query, the neighbours, abstention checks),
p50/p95 over the dev questions, each the median of repeats; the ratio to the 1-article collection
(target: 100k p50 <= 1.5x); the index's size on disk. Server mode: ``chroma run --path COPY`` over a copy
of the same index folder, queried over HTTP (``BOT_CHROMA_URL``).

``python -m bench scale [--sizes 1000,10000,100000] [--repeats N] [--no-server]``
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

SENTENCES_PER_DOCUMENT = 100  # 200 chunks per document


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


def measure(questions: list[str], vectors: dict[str, list[float]], repeats: int,
            with_model: int = 0) -> dict[str, float]:
    """Bare query and answer() (cached query vectors) on the index use_index() points at; with_model > 0:
    also answer() with the model embedding each question (that many rounds)."""
    from bot import answer
    from bot.answering import get_bot

    bot = get_bot()
    chunks, k = bot.store.chunks, 2 * bot.settings.top_k
    embed_query = bot.embeddings.embed_query
    cached = lambda text: vectors[text]  # noqa: E731 - the point is the store, not the model
    bot.embeddings.embed_query = cached
    answer(questions[0])
    chunks.query(query_embeddings=[vectors[questions[0]]], n_results=k)
    times: dict[str, dict[str, list[float]]] = {kind: {q: [] for q in questions} for kind in ("query", "answer",
                                                                                              "model")}
    for number in range(max(repeats, with_model)):
        for question in questions:
            start = time.perf_counter()
            if number < repeats:
                chunks.query(query_embeddings=[vectors[question]], n_results=k)
                middle = time.perf_counter()
                answer(question)
                times["query"][question].append(middle - start)
                times["answer"][question].append(time.perf_counter() - middle)
            if number < with_model:
                bot.embeddings.embed_query = embed_query
                start = time.perf_counter()
                answer(question)
                times["model"][question].append(time.perf_counter() - start)
                bot.embeddings.embed_query = cached
    result: dict[str, float] = {"chunks": chunks.count()}
    for kind, name in (("query", "query"), ("answer", "answer"), ("model", "answer_with_model")):
        if times[kind][questions[0]]:
            medians = [median(v) for v in times[kind].values()]
            result[f"{name}_p50_ms"] = 1000 * percentile(medians, 50)
            result[f"{name}_p95_ms"] = 1000 * percentile(medians, 95)
    return result


def profile_answers(questions: list[str]) -> None:
    from pyinstrument import Profiler

    from bot import answer

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for question in questions:
        answer(question)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench scale", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000", help="chunk counts beyond the article")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model-repeats", type=int, default=2,
                        help="rounds of answer() with the model, at the smallest and the largest size")
    parser.add_argument("--no-server", action="store_true", help="embedded mode only")
    parser.add_argument("--profile", action="store_true", help="profile answer() at the largest size (embedded)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    header("Scale: query latency and index size by collection size",
           "(vectors of the recombined chunks are reused from the article's real sentence embeddings)")
    questions = [item["q"] for item in dev_items()]
    rows: list[dict[str, Any]] = []
    with temp_dir("scale") as tmp:
        index = tmp / "index"
        use_index(index, "bench-scale")
        ingest_paths([ARTICLE])  # the real article, really embedded
        from bot.answering import get_bot

        model_holder = get_bot().embeddings
        model = model_holder.model
        vectors = {q: model_holder.embed_query(q) for q in questions}
        reused = ReusedVectors(model)

        def fake_embed_documents(texts: list[str], show_progress: bool = False) -> list[list[float]]:
            return [reused.vector(t, current[t]) for t in texts]

        current: dict[str, str] = {}
        documents_written = 0
        for target in [0, *sizes]:
            if target:
                from bot.embedding import BotEmbeddings
                from bot.ingest import chunk_document
                from bot.settings import get_settings
                from bot.text import read_document

                embeddings = BotEmbeddings(get_settings())
                embeddings.embed_documents = fake_embed_documents  # type: ignore[method-assign]
                have = get_bot().store.chunks.count()
                count = max(1, round((target - have) / (2 * SENTENCES_PER_DOCUMENT)))
                batch = recombined_documents(count, SENTENCES_PER_DOCUMENT, seed=documents_written + 1)
                batch = [(f"s{documents_written + i:05d}-{name}", text) for i, (name, text) in enumerate(batch)]
                documents_written += count
                paths = write_documents(tmp / f"corpus-{target}", batch)
                for path in paths:
                    for chunk in chunk_document(read_document(path)):
                        current[chunk.page_content] = chunk.metadata["sentence_text"]
                start = time.perf_counter()
                report = ingest_paths(paths, embeddings)
                build = time.perf_counter() - start
                use_index(index, "bench-scale")  # a fresh Bot sees the new markers
            else:
                build, report = 0.0, None
            ends = args.model_repeats if target in (0, sizes[-1]) else 0
            row = {"mode": "embedded", **measure(questions, vectors, args.repeats, ends),
                   "size_mb": dir_size(index) / 1e6, "build_s": build,
                   "chunks_per_s": (report.chunks_written / build) if report else None}
            rows.append(row)
            print(f"  embedded {row['chunks']:>7} chunks: query p50 {row['query_p50_ms']:.1f} ms, "
                  f"answer (no model) p50 {row['answer_p50_ms']:.1f} ms, {row['size_mb']:.0f} MB"
                  + (f", built at {row['chunks_per_s']:.0f} chunks/s" if report else ""), flush=True)
            if args.profile and target == sizes[-1]:
                profile_answers(questions)
            if not args.no_server:
                copy = tmp / "server-copy"
                shutil.rmtree(copy, ignore_errors=True)
                shutil.copytree(index, copy)
                with ChromaServer(copy) as server:
                    use_index(None, "bench-scale", chroma_url=server.url)
                    srow = {"mode": "server", **measure(questions, vectors, args.repeats, ends),
                            "size_mb": dir_size(copy) / 1e6}
                    rows.append(srow)
                    print(f"  server   {srow['chunks']:>7} chunks: query p50 {srow['query_p50_ms']:.1f} ms, "
                          f"answer (no model) p50 {srow['answer_p50_ms']:.1f} ms", flush=True)
                use_index(index, "bench-scale")
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
            if "answer_with_model_p50_ms" in r and "answer_with_model_p50_ms" in base:
                r["answer_with_model_ratio"] = r["answer_with_model_p50_ms"] / base["answer_with_model_p50_ms"]

        def with_model(r: dict) -> str:
            if "answer_with_model_p50_ms" not in r:
                return "-"
            return f"{r['answer_with_model_p50_ms']:.0f} ms ({r.get('answer_with_model_ratio', 1):.2f}x)"

        print(f"{mode} mode (p50 over the dev questions; x = ratio to the 1-article collection):")
        print(table(["chunks", "Chroma query", "x", "answer() without model", "x", "answer() p50 (x)",
                     "index size"], [
            [r["chunks"], f"{r['query_p50_ms']:.1f} ms", f"{r['query_ratio']:.2f}x", f"{r['answer_p50_ms']:.1f} ms",
             f"{r['answer_ratio']:.2f}x", with_model(r), f"{r['size_mb']:.1f} MB"] for r in mine]))
    print("target: 100k-chunk query p50 <= 1.5x the 1-article p50")
    save("scale", {"rows": rows, "note": "recombined texts, reused vectors (see bench/scale.py)"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
