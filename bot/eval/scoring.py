"""Scoring answers against the question sets: per question, then per category, per article and overall."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.eval.sets import Conversation, Question

AnswerFunction = Callable[[str, Sequence], object]  # (question, history) -> bot.Answer


def keys_match(text: str, keys: Sequence[Sequence[str]]) -> bool:
    """True when the text holds one alternative of every key group (case-insensitive)."""
    lowered = text.lower()
    return all(any(alt.lower() in lowered for alt in group) for group in keys)


@dataclass
class Row:
    question: Question
    abstained: bool
    text: str
    paragraphs: tuple[int, ...]  # of the sources, best first
    files: tuple[str, ...]
    seconds: float
    turn: int = 0  # 0: a question on its own or a conversation's first turn

    @property
    def right(self) -> bool:
        if self.question.abstain:
            return self.abstained
        return not self.abstained and keys_match(self.text, self.question.keys)

    def recall_at(self, k: int) -> bool:
        return any(p in self.question.gold and f == self.question.file
                   for p, f in zip(self.paragraphs[:k], self.files[:k]))


def ask(answer: AnswerFunction, question: Question, history: Sequence = (), turn: int = 0) -> tuple[Row, object]:
    start = time.perf_counter()
    result = answer(question.q, list(history))
    seconds = time.perf_counter() - start
    sources = list(getattr(result, "sources", []))
    row = Row(question, result.abstained, result.text, tuple(s.paragraph for s in sources),
              tuple(s.file for s in sources), seconds, turn)
    return row, result


def run_questions(answer: AnswerFunction, questions: Sequence[Question],
                  conversations: Sequence[Conversation]) -> list[Row]:
    rows = [ask(answer, q)[0] for q in questions]
    for conversation in conversations:
        history: list = []
        for turn, question in enumerate(conversation.turns):
            row, result = ask(answer, question, history, turn)
            rows.append(row)
            history += [{"role": "user", "content": question.q}, result]
    return rows


def _share(values: Sequence[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def figures(rows: Sequence[Row]) -> dict[str, float | int | None]:
    """The figures the README reports and CI checks."""
    single = [r for r in rows if r.turn == 0]
    answerable = [r for r in single if not r.question.abstain]
    answered = [r for r in answerable if not r.abstained]
    with_gold = [r for r in answerable if r.question.gold]
    lengths = [len(r.text) for r in answered] or [0]
    seconds = sorted(r.seconds for r in rows) or [0.0]
    return {
        "questions": len(rows),
        "key_facts": _share([r.right for r in answerable]),
        "false_abstentions": _share([r.abstained for r in answerable]),
        "unanswerable_abstained": _share([r.abstained for r in single if r.question.category == "unanswerable"]),
        "offtopic_abstained": _share([r.abstained for r in single if r.question.category == "offtopic"]),
        "follow_ups": _share([r.right for r in rows if r.turn > 0]),
        "recall_at_1": _share([r.recall_at(1) for r in with_gold]),
        "recall_at_3": _share([r.recall_at(3) for r in with_gold]),
        "answer_chars_mean": statistics.mean(lengths),
        "answer_chars_max": max(lengths),
        "latency_p50_ms": 1000 * seconds[len(seconds) // 2],
    }


def by(rows: Sequence[Row], key: Callable[[Row], str]) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return dict(sorted(groups.items()))


def category_of(row: Row) -> str:
    return "follow-up" if row.turn > 0 else row.question.category


# Targets of issue 12, on left-out articles. (figure, at least?, bound)
TARGETS: dict[str, tuple[bool, float]] = {
    "key_facts": (True, 0.92),
    "false_abstentions": (False, 0.02),
    "unanswerable_abstained": (True, 0.85),
    "offtopic_abstained": (True, 1.00),
    "follow_ups": (True, 0.90),
    "answer_chars_mean": (False, 300.0),
}


def missed_targets(result: dict, targets: dict[str, tuple[bool, float]]) -> list[str]:
    missed = []
    for name, (at_least, bound) in targets.items():
        value = result.get(name)
        if value is None:
            continue
        if (value < bound - 1e-9) if at_least else (value > bound + 1e-9):
            missed.append(f"{name} {value:.3f} {'<' if at_least else '>'} {bound}")
    return missed
