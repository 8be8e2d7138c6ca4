"""The chat's 👍/👎 votes, appended to a local JSONL file (BOT_FEEDBACK_FILE); nothing leaves the machine.

One line per vote: ``time`` (UTC, ISO 8601), ``vote`` ("up" or "down"), ``question`` (as typed),
``understood`` (as answered, follow-ups rewritten), ``history`` (the earlier turns as text), ``answer`` (its
text), ``abstained``, ``files`` (the scope: None for all articles) and ``sources`` (the paragraphs retrieved:
file, document, paragraph, text, highlight, score, cited). ``python -m bot.eval --feedback FILE`` turns the 👎
ones into a review list (:mod:`bot.eval.feedback`). A file that cannot be written is logged, never raised: the
chat goes on.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.answering.history import History, normalise_history
from bot.answering.types import Answer

log = logging.getLogger("newsbot.feedback")
_append_lock = threading.Lock()  # one line at a time from this process (lines stay whole)


def vote_record(vote: bool, question: str, answer: Answer, history: History | None = None,
                files: Sequence[str] | None = None) -> dict[str, Any]:
    """One vote as the JSONL line holds it."""
    return {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "vote": "up" if vote else "down",
        "question": question,
        "understood": answer.question,
        "history": [{"role": t["role"], "content": str(t["content"])} for t in normalise_history(history)],
        "answer": answer.text,
        "abstained": answer.abstained,
        "files": list(files) if files is not None else None,
        "sources": [dataclasses.asdict(source) for source in answer.sources],
    }


def record_vote(path: Path, record: dict[str, Any]) -> bool:
    """Append one vote to the JSONL file (its folder made when missing). False, with a warning logged, when
    it cannot be written."""
    line = json.dumps(record, ensure_ascii=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _append_lock, path.open("a", encoding="utf-8") as out:
            out.write(line)
        return True
    except OSError as exc:
        log.warning("feedback not saved: cannot write %s (%s)", path, exc.strerror or exc)
        return False


def read_votes(path: Path) -> Iterator[dict[str, Any]]:
    """Every vote in the file, in order; a line that is not a JSON object raises ValueError naming the line."""
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}, line {number}: not a JSON object ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise ValueError(f"{path}, line {number}: not a JSON object")
            yield record
