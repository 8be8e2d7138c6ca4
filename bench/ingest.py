"""Ingestion: chunks/s against raw ``encode_document`` throughput, and re-ingesting an unchanged corpus.

- Throughput: the product's ``ingest()`` of the article, and of a larger corpus (the article's sentences
  recombined into new Dutch documents), into a fresh temporary collection with the model loaded, against
  the loaded model's own ``encode_document`` of the same chunk texts with the same batch size (16), in
  the same process, alternating. Since session 10 the raw side also embeds each sentence's context with the title
  (as ingestion does: schema.TITLED_VECTOR), so that both sides do the same model work. Ratio ingest / raw:
  target >= 0.9.
- Re-ingesting the unchanged corpus: in-process (``ingest()`` with a new, unloaded embeddings object) and
  as a new process (``python -m bot ingest --quiet PATHS``, start to exit), with a check that the model's
  runtime (torch, sentence-transformers) was never imported. Target: no model load, <= 1 s.

``python -m bench ingest [--repeats N] [--corpus-documents N]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bench.common import (
    ARTICLE,
    PY,
    env_for,
    header,
    ingest_paths,
    json_from,
    median,
    recombined_documents,
    run,
    save,
    table,
    temp_dir,
    use_index,
    write_documents,
)

BATCH_SIZE = 16  # BotEmbeddings' batch size


def reingest_probe(paths: list[str]) -> None:
    """Runs in a fresh process: re-ingest through the CLI's own entry point; what got imported."""
    start = time.perf_counter()
    from bot.cli import main

    code = main(["ingest", "--quiet", *paths])
    heavy = [m for m in ("torch", "sentence_transformers", "transformers", "tokenizers") if m in sys.modules]
    print(json.dumps({"code": code, "seconds": time.perf_counter() - start, "imported": heavy}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ingest", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="rounds for the article (the corpus runs once)")
    parser.add_argument("--corpus-documents", type=int, default=8, help="documents of 20 sentences (40 chunks)")
    parser.add_argument("--probe", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe is not None:
        reingest_probe(args.probe)
        return 0
    header("Ingestion: product ingest() vs the model's own encode_document, same batch size, same process")
    figures: dict = {}
    with temp_dir("ingest") as tmp:
        corpus = write_documents(tmp / "corpus", recombined_documents(args.corpus_documents, 20))
        use_index(tmp / "warm", "bench-warm")
        ingest_paths([ARTICLE])  # loads the model: loading is cold start, not throughput
        from bot.ingest import chunk_document
        from bot.language.text import read_document
        from bot.model.embedding import BotEmbeddings, load_model
        from bot.settings import get_settings

        model = load_model(get_settings())

        def raw(path) -> float:
            """The model's own work for one document: its chunks with the document prompt, and each sentence's
            context with the title in it (schema.TITLED_VECTOR), as ingestion embeds them."""
            doc = read_document(path)
            chunks = chunk_document(doc)
            texts = [c.page_content for c in chunks]
            contexts = [c.page_content for c in chunks if c.metadata["view"] == "context"]
            titled = (model.prompts or {}).get("document", "").replace("title: none", f"title: {doc.title}", 1)
            start = time.perf_counter()
            if hasattr(model, "encode_document"):
                model.encode_document(texts, batch_size=BATCH_SIZE, normalize_embeddings=True)
            else:
                model.encode(texts, batch_size=BATCH_SIZE, prompt_name="document", normalize_embeddings=True)
            model.encode(contexts, batch_size=BATCH_SIZE, prompt=titled, normalize_embeddings=True)
            return time.perf_counter() - start

        def product(index: str, paths: list, expected: int) -> float:
            use_index(tmp / index, "bench-ingest")
            embeddings = BotEmbeddings(get_settings())
            start = time.perf_counter()
            report = ingest_paths(paths, embeddings)
            elapsed = time.perf_counter() - start
            assert report.chunks_written == expected == report.embedded
            return elapsed

        # Pairs, alternating which goes first: the article (a fresh collection each round), then the corpus
        # document by document (into one collection, as ingest() of a folder does), so that the load of the
        # machine drifts alike for both; the figure is the sum over the pairs (the median over the article's).
        rows = []
        texts = [c.page_content for c in chunk_document(read_document(ARTICLE))]
        pairs = []
        for number in range(args.repeats):
            if number % 2:
                pairs.append((product(f"article-{number}", [ARTICLE], len(texts)), raw(ARTICLE)))
            else:
                raw_s = raw(ARTICLE)
                pairs.append((product(f"article-{number}", [ARTICLE], len(texts)), raw_s))
        rows.append({"what": "article", "chunks": len(texts), "pairs": len(pairs),
                     "ingest_chunks_per_s": len(texts) / median([p[0] for p in pairs]),
                     "raw_chunks_per_s": len(texts) / median([p[1] for p in pairs])})
        total, pairs = 0, []
        for number, path in enumerate(corpus):
            texts = [c.page_content for c in chunk_document(read_document(path))]
            total += len(texts)
            if number % 2:
                pairs.append((product("corpus-index", [path], len(texts)), raw(path)))
            else:
                raw_s = raw(path)
                pairs.append((product("corpus-index", [path], len(texts)), raw_s))
        rows.append({"what": f"corpus ({len(corpus)} documents)", "chunks": total, "pairs": len(pairs),
                     "ingest_chunks_per_s": total / sum(p[0] for p in pairs),
                     "raw_chunks_per_s": total / sum(p[1] for p in pairs)})
        for row in rows:
            row["ratio"] = row["ingest_chunks_per_s"] / row["raw_chunks_per_s"]
        figures["throughput"] = rows
        print(table(["", "chunks", "ingest()", "raw encode_document", "ratio"], [
            [r["what"], r["chunks"], f"{r['ingest_chunks_per_s']:.2f} chunks/s",
             f"{r['raw_chunks_per_s']:.2f} chunks/s", f"{r['ratio']:.2f}x"] for r in rows]))
        print("target: ratio >= 0.90")

        # Re-ingesting what is already indexed: the corpus, in the index it was just ingested into.
        index = tmp / "corpus-index"
        use_index(index, "bench-ingest")
        paths = [str(p) for p in corpus]
        fresh = BotEmbeddings(get_settings())
        start = time.perf_counter()
        report = ingest_paths(corpus, fresh)
        in_process = time.perf_counter() - start
        assert report.embedded == report.chunks_written == 0 and not fresh.loaded
        env = env_for(index, "bench-ingest")
        walls, probes = [], []
        for _ in range(3):
            walls.append(run([PY, "-m", "bot", "ingest", "--quiet", *paths], env)[0])
            probes.append(json_from(run([PY, "-m", "bench.ingest", "--probe", *paths], env)[1].stdout))
        figures["reingest"] = {"documents": len(paths), "in_process_s": in_process, "cli_wall_s": median(walls),
                               "cli_inside_s": median([p["seconds"] for p in probes]),
                               "model_runtime_imported": sorted({m for p in probes for m in p["imported"]}),
                               "model_loaded": fresh.loaded}
        r = figures["reingest"]
        print(f"\nRe-ingesting {len(paths)} unchanged documents: in-process {1000 * in_process:.0f} ms; "
              f"`python -m bot ingest` start to exit {r['cli_wall_s']:.2f} s (of which the command itself "
              f"{r['cli_inside_s']:.2f} s); model loaded: {r['model_loaded']}; model runtime imported: "
              f"{', '.join(r['model_runtime_imported']) or 'none'} (target: no model load, <= 1 s)")
    save("ingest", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
