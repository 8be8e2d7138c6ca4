"""The public types of an answer, and the check every question goes through."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field


@dataclass
class Source:
    text: str  # the passage (paragraph)
    highlight: list[str]  # the evidence sentence(s) inside it
    document: str  # title, or file name
    paragraph: int
    score: float
    file: str = ""
    cited: bool = True  # False: a related passage the answer does not quote


@dataclass
class Answer:
    text: str
    sources: list[Source]
    abstained: bool
    question: str = ""  # the question as understood (follow-ups rewritten)
    language: str = "en"
    answerer: str = "extractive"
    note: str = ""  # e.g. why an LLM answer fell back to the extractive one
    dropped: list[str] = field(default_factory=list)  # generated sentences removed by the grounding check

    def evidence(self) -> list[str]:
        """The sentences the answer rests on, in reading order: the highlights of the cited sources."""
        cited = sorted((s for s in self.sources if s.cited), key=lambda s: (s.file, s.paragraph))
        return [sentence for source in cited for sentence in source.highlight]


def clean_question(question: object, max_chars: int) -> str:
    """Normalise a question, or raise ValueError with a message a user can act on."""
    if not isinstance(question, str):
        raise ValueError("The question must be text.")
    text = "".join(" " if unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"} else c for c in question)
    text = " ".join(text.split())
    if not text:
        raise ValueError("Please type a question: this one is empty.")
    if len(text) > max_chars:
        raise ValueError(
            f"The question is {len(text):,} characters long; the limit is {max_chars:,}. Please shorten it."
        )
    if not any(c.isalnum() for c in text):
        raise ValueError("Please type a question in words: this one has no letters or digits.")
    return text
