"""Side by side with the textbook pipeline, on the same article, dev questions and model, in the same run.

The textbook pipeline: ``RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)``,
``HuggingFaceEmbeddings`` (sentence-transformers, default settings: no query/document prompts), a LangChain
``Chroma`` store, ``similarity_search(question, k=4)``; what it shows the user is its top chunk. Ours:
``bot.answer()``, what it shows is ``Answer.text`` (the quoted sentences; the sources are a click away).

Figures: build time (split/chunk + embed + store; the model already loaded, its load time shown apart),
query latency (p50/p95 over the dev questions, medians of repeats, alternating), key-fact accuracy of what
is shown (the evaluation set's keys; abstention questions count as right only when nothing is asserted, which
a top chunk never does), and the length of what is shown.

``python -m bench textbook [--repeats N]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from bench.common import (
    ARTICLE,
    dev_items,
    header,
    ingest_paths,
    median,
    percentile,
    save,
    table,
    temp_dir,
    use_index,
)
from bot.eval.scoring import keys_match  # the evaluation's rule, defined once


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench textbook", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    header("Our bot vs the textbook LangChain pipeline (same article, questions and model, same process)")
    items = dev_items()
    answerable = [i for i in items if not i.get("abstain")]
    unanswerable = [i for i in items if i.get("abstain")]
    with temp_dir("textbook") as tmp:
        use_index(tmp / "ours", "bench-ours")
        from bot.model.embedding import load_model
        from bot.settings import get_settings

        settings = get_settings()
        start = time.perf_counter()
        load_model(settings)
        ours_load = time.perf_counter() - start
        start = time.perf_counter()
        ours_chunks = ingest_paths([ARTICLE]).chunks_written
        ours_build = time.perf_counter() - start
        from bot import answer
        from bot.answering import Bot

        answer("warm-up: what is this article about?")
        # Our bot once more on the other model runtime (BOT_ENCODER), same index: same answers, other latency.
        other = "lean" if settings.encoder != "lean" else "sentence-transformers"
        start = time.perf_counter()
        other_bot = Bot(settings.model_copy(update={"encoder": other}))
        other_bot.answer("warm-up: what is this article about?")
        other_load = time.perf_counter() - start

        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma
        from langchain_core.documents import Document
        from langchain_huggingface import HuggingFaceEmbeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        start = time.perf_counter()
        embeddings = HuggingFaceEmbeddings(model=str(settings.model_dir),
                                           model_kwargs={"device": "cpu", "local_files_only": True})
        textbook_load = time.perf_counter() - start
        start = time.perf_counter()
        splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
        chunks = splitter.split_documents([Document(page_content=ARTICLE.read_text(encoding="utf-8"),
                                                    metadata={"source": ARTICLE.name})])
        client = chromadb.PersistentClient(path=str(tmp / "textbook"),
                                           settings=ChromaSettings(anonymized_telemetry=False))
        store = Chroma.from_documents(chunks, embeddings, client=client, collection_name="textbook")
        textbook_build = time.perf_counter() - start
        store.similarity_search("warm-up", k=4)

        ours_t: dict[str, list[float]] = {i["id"]: [] for i in items}
        other_t: dict[str, list[float]] = {i["id"]: [] for i in items}
        book_t: dict[str, list[float]] = {i["id"]: [] for i in items}
        ours_shown: dict[str, Any] = {}
        other_text: dict[str, str] = {}
        book_shown: dict[str, list] = {}
        pipelines = ["ours", "other", "book"]
        for round_number in range(args.repeats):
            for number, item in enumerate(items):
                turn = (round_number + number) % 3
                for who in pipelines[turn:] + pipelines[:turn]:
                    start = time.perf_counter()
                    if who == "ours":
                        ours_shown[item["id"]] = answer(item["q"])
                        ours_t[item["id"]].append(time.perf_counter() - start)
                    elif who == "other":
                        other_text[item["id"]] = other_bot.answer(item["q"]).text
                        other_t[item["id"]].append(time.perf_counter() - start)
                    else:
                        book_shown[item["id"]] = store.similarity_search(item["q"], k=4)
                        book_t[item["id"]].append(time.perf_counter() - start)

    def accuracy_ours() -> tuple[int, int]:
        facts = sum((not ours_shown[i["id"]].abstained) and keys_match(ours_shown[i["id"]].text, i["keys"])
                    for i in answerable)
        return facts, sum(ours_shown[i["id"]].abstained for i in unanswerable)

    ours_facts, ours_abstained = accuracy_ours()
    book_facts = sum(keys_match(book_shown[i["id"]][0].page_content, i["keys"]) for i in answerable)
    book_any = sum(any(keys_match(d.page_content, i["keys"]) for d in book_shown[i["id"]]) for i in answerable)
    ours_len = [len(ours_shown[i["id"]].text) for i in answerable if not ours_shown[i["id"]].abstained]
    book_len = [len(book_shown[i["id"]][0].page_content) for i in answerable]
    book_len4 = [sum(len(d.page_content) for d in book_shown[i["id"]]) for i in answerable]
    same_answers = all(other_text[i["id"]] == ours_shown[i["id"]].text for i in items)
    other_med = [median(v) for v in other_t.values()]
    ours_med = [median(v) for v in ours_t.values()]
    book_med = [median(v) for v in book_t.values()]
    from bench.common import encoder_labels

    labels = encoder_labels()
    figures = {
        "questions": len(items), "answerable": len(answerable), "unanswerable": len(unanswerable),
        "ours": {"encoder": settings.encoder, "chunks": ours_chunks, "model_load_s": ours_load, "build_s": ours_build,
                 "p50_ms": 1000 * percentile(ours_med, 50), "p95_ms": 1000 * percentile(ours_med, 95),
                 "key_facts": ours_facts, "abstained_right": ours_abstained,
                 "shown_chars_mean": statistics.mean(ours_len) if ours_len else 0},
        "ours_other_encoder": {"encoder": other, "model_load_s": other_load, "same_answers": same_answers,
                               "p50_ms": 1000 * percentile(other_med, 50), "p95_ms": 1000 * percentile(other_med, 95)},
        "textbook": {"chunks": len(chunks), "model_load_s": textbook_load, "build_s": textbook_build,
                     "p50_ms": 1000 * percentile(book_med, 50), "p95_ms": 1000 * percentile(book_med, 95),
                     "key_facts": book_facts, "key_facts_any_of_4": book_any, "abstained_right": 0,
                     "shown_chars_mean": statistics.mean(book_len),
                     "four_chunks_chars_mean": statistics.mean(book_len4)},
    }
    o, x, b = figures["ours"], figures["ours_other_encoder"], figures["textbook"]
    same = "same answers" if same_answers else "DIFFERENT answers"
    print(table(["", f"our bot, {labels[settings.encoder]}", f"our bot, {labels[other]}", "textbook (top chunk)"], [
        ["model load (not in build)", f"{o['model_load_s']:.1f} s", f"{x['model_load_s']:.1f} s (+ warm-up)",
         f"{b['model_load_s']:.1f} s"],
        ["build (chunk + embed + store)", f"{o['build_s']:.1f} s ({o['chunks']} chunks)", "(same index)",
         f"{b['build_s']:.1f} s ({b['chunks']} chunks)"],
        ["query latency p50 / p95", f"{o['p50_ms']:.0f} / {o['p95_ms']:.0f} ms",
         f"{x['p50_ms']:.0f} / {x['p95_ms']:.0f} ms", f"{b['p50_ms']:.0f} / {b['p95_ms']:.0f} ms"],
        [f"key facts shown ({len(answerable)} answerable)", f"{o['key_facts']}/{len(answerable)}", same,
         f"{b['key_facts']}/{len(answerable)} (in any of the 4 chunks: {b['key_facts_any_of_4']})"],
        [f"says it cannot answer ({len(unanswerable)} unanswerable)", f"{o['abstained_right']}/{len(unanswerable)}",
         same, f"0/{len(unanswerable)} (always shows chunks)"],
        ["text shown, mean chars", f"{o['shown_chars_mean']:.0f}", same,
         f"{b['shown_chars_mean']:.0f} (all 4 chunks: {b['four_chunks_chars_mean']:.0f})"],
    ]))
    print(f"latency p50 ratio to the textbook: {o['p50_ms'] / b['p50_ms']:.2f}x ({labels[settings.encoder]}), "
          f"{x['p50_ms'] / b['p50_ms']:.2f}x ({labels[other]}); text shown: "
          f"{o['shown_chars_mean'] / b['shown_chars_mean']:.2f}x the textbook's top chunk")
    save("textbook", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
