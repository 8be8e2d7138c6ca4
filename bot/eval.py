"""Evaluation harness: ``python -m bot.eval [--set FILE]``.

Reads the product only through ``bot.answer`` (the same call users make) and prints every figure
the README reports. Question-set format: see ``bot/eval_sets/questions.json`` ("keys" are groups of
alternatives; an answer is right when its text contains one alternative of every group).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SET = Path(__file__).parent / "eval_sets" / "questions.json"


def keys_match(text: str, keys: list[list[str]]) -> bool:
    lowered = text.lower()
    return all(any(alt.lower() in lowered for alt in group) for group in keys)


def recall_at(sources: list, gold: list[int], k: int) -> bool:
    return any(s.paragraph in gold for s in sources[:k])


@dataclass
class Report:
    rows: list[dict]
    conversations: list[dict]
    latencies: list[float]

    def figures(self) -> dict[str, float]:
        answerable = [r for r in self.rows if not r["abstain_expected"]]
        unanswerable = [r for r in self.rows if r["abstain_expected"]]
        with_gold = [r for r in answerable if r["gold"]]
        lengths = [r["length"] for r in answerable if not r["abstained"]] or [0]
        lat = sorted(self.latencies) or [0.0]
        turns = [t for c in self.conversations for t in c["turns"]]
        return {
            "questions": len(self.rows),
            "key_fact_accuracy": _mean(r["keys_ok"] for r in answerable),
            "recall_at_1": _mean(r["r1"] for r in with_gold),
            "recall_at_3": _mean(r["r3"] for r in with_gold),
            "abstention_accuracy": _mean(r["abstained"] for r in unanswerable),
            "false_abstentions": sum(r["abstained"] for r in answerable),
            "conversation_turns_right": sum(t["ok"] for t in turns),
            "conversation_turns": len(turns),
            "answer_chars_mean": statistics.mean(lengths),
            "answer_chars_max": max(lengths),
            "latency_p50_ms": 1000 * lat[len(lat) // 2],
            "latency_p95_ms": 1000 * lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))],
        }


def _mean(values) -> float:
    values = [float(v) for v in values]
    return sum(values) / len(values) if values else float("nan")


def run(question_set: dict, answer: Callable) -> Report:
    rows, conversations, latencies = [], [], []
    answer("warm-up: what is this article about?")  # model load and index open are not answer latency
    for item in question_set.get("items", []):
        start = time.perf_counter()
        result = answer(item["q"])
        latencies.append(time.perf_counter() - start)
        rows.append({
            "id": item["id"], "q": item["q"], "gold": item.get("gold", []),
            "abstain_expected": bool(item.get("abstain")), "abstained": result.abstained,
            "keys_ok": (not result.abstained) and keys_match(result.text, item.get("keys", [])),
            "r1": recall_at(result.sources, item.get("gold", []), 1),
            "r3": recall_at(result.sources, item.get("gold", []), 3),
            "length": len(result.text), "text": result.text,
        })
    for conv in question_set.get("conversations", []):
        history: list[dict] = []
        turns = []
        for turn in conv["turns"]:
            start = time.perf_counter()
            result = answer(turn["q"], history=history)
            latencies.append(time.perf_counter() - start)
            ok = (not result.abstained) and keys_match(result.text, turn.get("keys", []))
            turns.append({"q": turn["q"], "ok": ok, "text": result.text})
            history += [{"role": "user", "content": turn["q"]}, {"role": "assistant", "content": result.text}]
        conversations.append({"id": conv["id"], "turns": turns})
    return Report(rows, conversations, latencies)


def print_report(report: Report, verbose: bool) -> None:
    if verbose:
        for row in report.rows:
            status = "ok " if (row["abstained"] if row["abstain_expected"] else row["keys_ok"] and row["r1"]) else "BAD"
            print(f"{status} {row['id']:26s} {row['text'][:150]}")
        for conv in report.conversations:
            for turn in conv["turns"]:
                print(f"{'ok ' if turn['ok'] else 'BAD'} {conv['id']:26s} {turn['q']} -> {turn['text'][:110]}")
        print()
    f = report.figures()
    print(f"questions: {f['questions']}  key facts: {f['key_fact_accuracy']:.2f}  "
          f"R@1: {f['recall_at_1']:.2f}  R@3: {f['recall_at_3']:.2f}")
    print(f"abstention accuracy: {f['abstention_accuracy']:.2f}  false abstentions: {f['false_abstentions']}  "
          f"conversation turns right: {f['conversation_turns_right']}/{f['conversation_turns']}")
    print(f"answer length (chars): mean {f['answer_chars_mean']:.0f}  max {f['answer_chars_max']}")
    print(f"latency: p50 {f['latency_p50_ms']:.0f} ms  p95 {f['latency_p95_ms']:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.eval", description=__doc__)
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="question set (JSON)")
    parser.add_argument("--quiet", action="store_true", help="figures only, no per-question lines")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    from bot import answer

    report = run(json.loads(args.set.read_text(encoding="utf-8")), answer)
    if args.json:
        print(json.dumps(report.figures(), indent=2))
    else:
        print_report(report, verbose=not args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
