"""``python -m bot.eval --feedback FILE``: the 👎 votes of the chat (bot/feedback.py) as a review list.

Each entry: the question (and how it was understood, when a follow-up was rewritten), what was answered, and
the paragraphs retrieved, with the evidence sentences marked. This is how real use grows the evaluation set:
a reviewer writes the right keys for each entry into ``bot/eval_sets/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.feedback import read_votes


def downvotes(path: Path) -> list[dict[str, Any]]:
    return [record for record in read_votes(path) if record.get("vote") == "down"]


def review_list(records: list[dict[str, Any]]) -> str:
    """The down-voted answers as plain text, one numbered entry each."""
    if not records:
        return "No 👎 votes: nothing to review."
    out = [f"{len(records)} answer(s) voted 👎, to review:"]
    for number, record in enumerate(records, 1):
        out.append(f"\n{number}. {record.get('question', '')}   ({record.get('time', '?')})")
        if record.get("understood") and record["understood"] != record.get("question"):
            out.append(f"   understood as: {record['understood']}")
        if record.get("files"):
            out.append(f"   asked of: {', '.join(record['files'])}")
        for turn in record.get("history") or []:
            out.append(f"   earlier {turn.get('role')}: {str(turn.get('content', ''))[:200]}")
        kind = "abstained" if record.get("abstained") else "answered"
        out.append(f"   {kind}: {record.get('answer', '')}")
        sources = record.get("sources") or []
        out.append("   paragraphs retrieved:" if sources else "   paragraphs retrieved: none")
        for source in sources:
            out.append(f"   - {source.get('file') or source.get('document')}, paragraph {source.get('paragraph')} "
                       f"(score {source.get('score')}): {source.get('text', '')}")
            for sentence in source.get("highlight") or []:
                out.append(f"       > {sentence}")
    return "\n".join(out)


def main(path: Path) -> int:
    """Print the review list of a feedback file; 1 with a message when it cannot be read."""
    try:
        records = downvotes(path)
    except (OSError, ValueError) as exc:
        print(f"error: cannot read the feedback file {path}: {getattr(exc, 'strerror', None) or exc}")
        return 1
    print(review_list(records))
    return 0
