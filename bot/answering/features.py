"""The signals behind the extractive answerer's decisions, one row per candidate sentence.

Which sentence answers and whether to abstain are decided by a small learned model over these signals
(bot/answering/decision.py), fitted leave-one-article-out by ``python -m bot.eval --fit``. Everything here is
cheap: the question's terms are embedded in the same batch as the question, the candidates' vectors come
back with the Chroma query, and the rest is string work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.language.linguistics import leans_on_antecedent, names_in
from bot.language.terms import content_terms, fold, has_type, question_type, term_in

FEATURES = (
    "context_score", "sentence_score", "behind_best", "best_margin", "reciprocal_rank",
    "terms_covered", "terms_covered_sentence", "terms_soft", "terms_soft_min",
    "typed", "type_mismatch", "type_mismatch_pair", "names_missing", "leans_on_previous", "bm25",
)


@dataclass
class QuestionAnalysis:
    question: str
    terms: list[str]
    names: list[str]  # folded
    kind: str  # bot.language.terms.QUESTION_TYPES
    term_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def texts_to_embed(self) -> list[str]:
        """The question first, then its terms: one batch, one model call."""
        return [self.question, *self.terms]


def analyse(question: str) -> QuestionAnalysis:
    names = [fold(n) for n in dict.fromkeys(names_in(question))]
    return QuestionAnalysis(question, content_terms(question), names, question_type(question))


@dataclass
class Candidate:
    """A retrieved sentence with what the decisions look at."""

    hit: object  # bot.retrieval.Hit
    previous: str  # the sentence before it in its paragraph, or the heading above it ('' when none)
    vector: np.ndarray | None  # its sentence-view embedding (unit length)
    bm25: float = 0.0  # normalised to the best candidate's: 0..1


def _soft(analysis: QuestionAnalysis, covered: list[bool], vector: np.ndarray | None) -> list[float]:
    """Per term: 1 when the text has it; else its embedding's similarity to the sentence."""
    if vector is None or not len(analysis.term_vectors):
        return [float(c) for c in covered]
    similarities = analysis.term_vectors @ vector
    return [1.0 if c else float(s) for c, s in zip(covered, similarities)]


def feature_rows(analysis: QuestionAnalysis, candidates: Sequence[Candidate]) -> np.ndarray:
    """One row of FEATURES per candidate (candidates best first by dense context score)."""
    if not candidates:
        return np.zeros((0, len(FEATURES)))
    scores = [c.hit.context_score for c in candidates]
    best = max(scores)
    margin = best - (sorted(scores, reverse=True)[1] if len(scores) > 1 else 0.0)
    rows = []
    for rank, candidate in enumerate(candidates):
        hit = candidate.hit
        around = f"{hit.title}. {candidate.previous} {hit.text}"
        covered = [term_in(t, around) for t in analysis.terms]
        covered_alone = [term_in(t, hit.text) for t in analysis.terms]
        soft = _soft(analysis, covered, candidate.vector)
        typed = analysis.kind != "other"
        in_document = f"{hit.title}\n{hit.passage}"
        missing = [n for n in analysis.names if not term_in(n, in_document)]
        rows.append([
            hit.context_score, hit.sentence_score, hit.context_score - best, margin, 1.0 / (1 + rank),
            _mean(covered, 1.0), _mean(covered_alone, 1.0), _mean(soft, 1.0), min(soft, default=1.0),
            float(typed), float(typed and not has_type(hit.text, analysis.kind)),
            float(typed and not has_type(f"{candidate.previous} {hit.text}", analysis.kind)),
            len(missing) / len(analysis.names) if analysis.names else 0.0,
            float(leans_on_antecedent(hit.text)), candidate.bm25,
        ])
    return np.asarray(rows, dtype=float)


def _mean(values: Sequence[float | bool], empty: float) -> float:
    return sum(float(v) for v in values) / len(values) if values else empty
