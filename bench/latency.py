"""Warm answer latency: ``answer()`` against the bare floor, measured in the same process.

The floor is what no answer can avoid: one ``encode_query`` of the same question with the loaded model,
plus one Chroma query of the same size (k = 2 x BOT_TOP_K) on the same collection. Each question is
timed both ways in every round, alternating which goes first; the figures are per-question medians,
then p50/p95 over the questions, and the ratio answer / floor (target: <= 1.2; issue 12's bound: 1.3).

Each round also times a question's *first ask*: the bot forgets the vectors of the question's terms that it
did not know after the warm-up (its documents' words it knows), as a server that has answered nothing but the
warm-up, so they are embedded with the question (packed into its forward pass, bot/model/packing.py). The
plain rounds ask again, with those vectors kept. Both are reported; the first ask is what a user's new
question costs.

``python -m bench latency [--repeats N] [--all] [--profile]``; --all uses every question of the
evaluation set instead of the shared dev questions; --profile prints a pyinstrument profile of answer().
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench.common import (
    ARTICLE,
    dev_items,
    header,
    ingest_paths,
    median,
    percentile,
    question_set,
    save,
    table,
    temp_dir,
    use_index,
)


def encode_query(model: Any, question: str) -> Any:
    if hasattr(model, "encode_query"):
        return model.encode_query(question)
    return model.encode(question, prompt_name="query")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench latency", description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--all", action="store_true", help="every question of the evaluation set")
    parser.add_argument("--profile", action="store_true", help="print a pyinstrument profile of answer()")
    args = parser.parse_args(argv)
    items = question_set()["items"] if args.all else dev_items()
    questions = [item["q"] for item in items]
    header(f"Warm answer latency: {len(questions)} questions x {args.repeats} rounds, answer() vs floor")

    with temp_dir("latency") as tmp:
        use_index(tmp / "index", "bench-latency")
        ingest_paths([ARTICLE])
        import torch

        from bot import answer
        from bot.answering import get_bot
        from bot.answering.features import analyse
        from bot.answering.types import clean_question

        bot = get_bot()
        answer("warm-up: what is this article about?")  # model load and index open are cold start, not latency
        model, chunks, k = bot.embeddings.model, bot.index.chunks, 2 * bot.settings.top_k

        def floor(question: str) -> None:
            chunks.query(query_embeddings=[encode_query(model, question)], n_results=k)

        # A server that has answered only the warm-up knows its documents' words, not the questions' other terms.
        words = bot.extractive.words
        new_terms = {q: words.missing(analyse(clean_question(q, bot.settings.max_question_chars)).terms)
                     for q in questions}

        floor(questions[0])
        timings: dict[str, dict[str, list[float]]] = {name: {q: [] for q in questions}
                                                      for name in ("answer", "first ask", "floor")}
        for round_number in range(args.repeats):
            for question in questions:
                steps = [("answer", answer), ("first ask", answer), ("floor", floor)]
                for name, call in steps[::-1] if (round_number + questions.index(question)) % 2 else steps:
                    if name == "first ask":
                        words.forget(new_terms[question])
                    start = time.perf_counter()
                    call(question)
                    timings[name][question].append(time.perf_counter() - start)

        first = [median(timings["first ask"][q]) for q in questions]
        answer_med = [median(timings["answer"][q]) for q in questions]  # asked again
        floor_med = [median(timings["floor"][q]) for q in questions]
        ratios = [a / f for a, f in zip(answer_med, floor_med)]
        figures = {
            "questions": len(questions), "repeats": args.repeats, "torch_threads": torch.get_num_threads(),
            "encoder": type(model).__name__,
            "answer_p50_ms": 1000 * percentile(answer_med, 50), "answer_p95_ms": 1000 * percentile(answer_med, 95),
            "floor_p50_ms": 1000 * percentile(floor_med, 50), "floor_p95_ms": 1000 * percentile(floor_med, 95),
            "ratio_p50": percentile(answer_med, 50) / percentile(floor_med, 50),
            "ratio_p95": percentile(answer_med, 95) / percentile(floor_med, 95),
            "ratio_median_per_question": median(ratios),
            "overhead_p50_ms": 1000 * median([a - f for a, f in zip(answer_med, floor_med)]),
            "first_ask_p50_ms": 1000 * percentile(first, 50), "asked_again_p50_ms": 1000 * percentile(answer_med, 50),
            "ratio_first_ask_p50": percentile(first, 50) / percentile(floor_med, 50),
            "ratio_asked_again_p50": percentile(answer_med, 50) / percentile(floor_med, 50),
        }
        print(table(["", "p50", "p95"], [
            ["answer()", f"{figures['answer_p50_ms']:.0f} ms", f"{figures['answer_p95_ms']:.0f} ms"],
            ["floor (encode_query + Chroma query)", f"{figures['floor_p50_ms']:.0f} ms",
             f"{figures['floor_p95_ms']:.0f} ms"],
            ["ratio answer / floor", f"{figures['ratio_p50']:.2f}x", f"{figures['ratio_p95']:.2f}x"],
        ]))
        print(f"first ask (its new terms not yet embedded): p50 {figures['first_ask_p50_ms']:.0f} ms, "
              f"{figures['ratio_first_ask_p50']:.2f}x the floor; "
              f"asked again: p50 {figures['asked_again_p50_ms']:.0f} ms, "
              f"{figures['ratio_asked_again_p50']:.2f}x")
        print(f"per-question ratio, median: {figures['ratio_median_per_question']:.2f}x; "
              f"overhead beyond the floor, median: {figures['overhead_p50_ms']:.0f} ms "
              f"(targets: ratio <= 1.20, first ask <= 1.3; encoder {figures['encoder']}, "
              f"torch threads {figures['torch_threads']})")

        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
            for question in questions:
                answer(question)
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False))
    save("latency", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
