"""The conversation so far, as :func:`bot.answer` takes it: structured turns, never parsed display text.

A history item is either a dict ``{"role": "user"|"assistant", "content": ...}`` (the content a string or
Gradio's list of parts), or an :class:`~bot.answering.types.Answer` for an assistant turn. From an Answer, a
follow-up is resolved against its evidence sentences (the highlights of its cited sources); from a dict,
against its text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from bot.answering.types import Answer

if TYPE_CHECKING:
    from bot.answering.retrieval import Hit

HistoryItem = dict | Answer
History = Sequence[HistoryItem]


def message_text(content: object) -> str:
    """Text of a chat message content: a string, or Gradio's list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(message_text(part) for part in content)
    if isinstance(content, dict):
        return str(content.get("text") or content.get("content") or "")
    return ""


def normalise_history(history: History | None) -> list[dict]:
    """Turns as dicts: ``role``, ``content`` and, for an assistant turn given as an Answer, ``evidence``
    (its evidence sentences; an abstention has none), ``question`` (the question as it understood it) and
    ``cited`` (the file and paragraph of each passage it quotes)."""
    turns: list[dict] = []
    for turn in history or []:
        if isinstance(turn, Answer):
            turns.append({"role": "assistant", "content": turn.text, "evidence": turn.evidence(),
                          "question": turn.question,
                          "cited": [(s.file, s.paragraph) for s in turn.sources if s.cited]})
        elif isinstance(turn, dict) and turn.get("role") in {"user", "assistant"}:
            turns.append({"role": turn["role"], "content": message_text(turn.get("content"))})
    return turns


def last_evidence(turns: Sequence[dict]) -> tuple[str, ...]:
    """The sentences the conversation's last answer quoted (none when it abstained or came as plain text)."""
    for turn in reversed(turns):
        if turn.get("role") == "assistant":
            return tuple(turn.get("evidence") or ())
    return ()


def passages_of(sentences: Iterable[Hit]) -> tuple[tuple[str, int], ...]:
    """The passages (file, paragraph) the sentences are in, in order: where a follow-up is looked for first."""
    return tuple(dict.fromkeys((s.file, s.paragraph) for s in sentences))


def followed_passages(question: str, understood: str, turns: Sequence[dict]) -> tuple[tuple[str, int], ...]:
    """For a follow-up that points back ("it", "there": ``understood``, its rewrite, differs from ``question``),
    the passages (file, paragraph) the last answer quoted, where it is most likely answered. Empty for a
    question asked afresh, or when the last answer abstained or came as plain text."""
    if understood == question:
        return ()
    for turn in reversed(turns):
        if turn.get("role") == "assistant":
            return tuple(turn.get("cited") or ())
    return ()
