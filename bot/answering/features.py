"""The signals behind the extractive answerer's decisions, one row per candidate sentence.

Which sentence answers and whether to abstain are decided by a small learned model over these signals
(bot/answering/decision.py), fitted leave-one-article-out by ``python -m bot.eval --fit``. Everything here is
cheap: words (the question's terms, a document's vocabulary) are embedded once and then kept, and the rest is
string work.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.language.linguistics import leans_on_antecedent, names_in
from bot.language.terms import (
    STOPWORDS,
    beyond_question,
    content_terms,
    fold,
    folded_words,
    has_type,
    question_type,
    term_in,
)
from bot.model.cache import VectorCache

FEATURES = (
    "context_score", "sentence_score", "behind_best", "best_margin", "reciprocal_rank",
    "terms_covered", "terms_covered_sentence", "terms_soft", "terms_soft_min",
    "typed", "type_mismatch", "type_mismatch_pair", "names_missing", "leans_on_previous",
    "in_followed_document", "next_to_followed_passage", "titled_score", "titled_behind_best",
    "new_type_mismatch", "new_type_mismatch_pair",
)
# Signals that choose among the candidates but never decide whether to answer: with the article's title in every
# sentence's vector, a question the article touches without answering looks answered (README, Evaluation).
CHOICE_ONLY = ("titled_score", "titled_behind_best")


@dataclass
class QuestionAnalysis:
    question: str
    terms: list[str]
    names: list[str]  # folded
    kind: str  # bot.language.terms.QUESTION_TYPES
    term_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    # A follow-up that points back: the passages (file, paragraph) the answer before it quoted.
    follows: tuple[tuple[str, int], ...] = ()


def analyse(question: str, follows: Sequence[tuple[str, int]] = ()) -> QuestionAnalysis:
    # The names signal stays word by word, while the terms know names of several words whole ("party for
    # freedom"): with whole names the model trusted a missing name more and refused more answerable questions
    # on the blind set (README, Evaluation, session 16).
    names = [fold(n) for n in dict.fromkeys(names_in(question))]
    return QuestionAnalysis(question, content_terms(question), names, question_type(question), follows=tuple(follows))


@dataclass
class Candidate:
    """A retrieved sentence with what the decisions look at."""

    hit: object  # bot.answering.retrieval.Hit
    previous: str  # the sentence before it in its paragraph, or the heading above it ('' when none)
    vocabulary: Vocabulary | None = None  # its document's words and their vectors


@dataclass
class Vocabulary:
    """A document version's content words, embedded like the question's terms (``embed_words``), so that a
    term can be matched with the word that translates it ('gold' with 'goud', 'director' with 'directeur'): a
    translation scores 0.82 on average against 0.60 for unrelated pairs (README, Evaluation)."""

    index: dict[str, int]
    vectors: np.ndarray

    def similarities(self, term_vectors: np.ndarray, text: str) -> np.ndarray:
        """Per term: its best similarity to a content word of the text (0 when none is known)."""
        rows = [self.index[w] for w in dict.fromkeys(folded_words(text)) if w in self.index]
        if not rows or not len(term_vectors):
            return np.zeros(len(term_vectors))
        return (term_vectors @ self.vectors[rows].T).max(axis=1)


class WordVectors(VectorCache):
    """Vectors of single words (question terms and documents' words alike), embedded once and kept. A question's
    new terms are embedded in the question's own forward pass, packed beside it rather than padded to its length
    in its batch (:mod:`bot.model.packing`; README, Evaluation, session 25)."""

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray], size: int = 20_000) -> None:
        super().__init__(embed, size)


class VocabularyCache:
    """The vocabularies of recently read document versions (a version's text never changes)."""

    def __init__(self, words: WordVectors, size: int = 64) -> None:
        self._words = words
        self._size = size
        self._vocabularies: OrderedDict[str, Vocabulary] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version: str, texts: Callable[[], Sequence[str]]) -> Vocabulary:
        with self._lock:
            if version in self._vocabularies:
                self._vocabularies.move_to_end(version)
                return self._vocabularies[version]
        words = vocabulary_words(texts())
        vocabulary = Vocabulary({w: i for i, w in enumerate(words)}, self._words.of(words))
        with self._lock:
            self._vocabularies[version] = vocabulary
            while len(self._vocabularies) > self._size:
                self._vocabularies.popitem(last=False)
        return vocabulary


def vocabulary_words(texts: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(w for text in texts for w in folded_words(text)
                              if w not in STOPWORDS and len(w) >= 2 and not w.isdigit()))


def term_scores(analysis: QuestionAnalysis, vocabulary: Vocabulary | None, text: str,
                covered: Sequence[bool] | None = None) -> list[float]:
    """Per question term: 1 when the text has it literally (or its Dutch form); else its best similarity to a word
    of the text (0 without the document's vocabulary). ``covered``: the literal test's results, when known."""
    if covered is None:
        covered = [term_in(t, text) for t in analysis.terms]
    if vocabulary is None or not len(analysis.term_vectors):
        return [float(c) for c in covered]
    similarities = vocabulary.similarities(analysis.term_vectors, text)
    return [1.0 if c else float(s) for c, s in zip(covered, similarities)]


def feature_rows(analysis: QuestionAnalysis, candidates: Sequence[Candidate]) -> np.ndarray:
    """One row of FEATURES per candidate (candidates best first by dense context score)."""
    if not candidates:
        return np.zeros((0, len(FEATURES)))
    scores = [c.hit.context_score for c in candidates]
    best = max(scores)
    best_titled = max(c.hit.titled_score for c in candidates)
    margin = best - (sorted(scores, reverse=True)[1] if len(scores) > 1 else 0.0)
    rows = []
    for rank, candidate in enumerate(candidates):
        hit = candidate.hit
        around = f"{hit.title}. {candidate.previous} {hit.text}"
        covered = [term_in(t, around) for t in analysis.terms]
        covered_alone = [term_in(t, hit.text) for t in analysis.terms]
        soft = term_scores(analysis, candidate.vocabulary, around, covered)
        typed = analysis.kind != "other"
        # The type's evidence among words the question does not use itself (terms.beyond_question).
        new_alone = beyond_question(hit.text, analysis.question)
        new_pair = f"{beyond_question(candidate.previous, analysis.question)} {new_alone}"
        in_document = f"{hit.title}\n{hit.passage}"
        missing = [n for n in analysis.names if not term_in(n, in_document)]
        rows.append([
            hit.context_score, hit.sentence_score, hit.context_score - best, margin, 1.0 / (1 + rank),
            _mean(covered, 1.0), _mean(covered_alone, 1.0), _mean(soft, 1.0), min(soft, default=1.0),
            float(typed), float(typed and not has_type(hit.text, analysis.kind)),
            float(typed and not has_type(f"{candidate.previous} {hit.text}", analysis.kind)),
            len(missing) / len(analysis.names) if analysis.names else 0.0,
            float(leans_on_antecedent(hit.text)),
            float(any(hit.file == file for file, _ in analysis.follows)),
            float(any(hit.file == file and abs(hit.paragraph - paragraph) <= 1
                      for file, paragraph in analysis.follows)),
            hit.titled_score, hit.titled_score - best_titled,
            float(typed and not has_type(new_alone, analysis.kind)),
            float(typed and not has_type(new_pair, analysis.kind)),
        ])
    return np.asarray(rows, dtype=float)


def _mean(values: Sequence[float | bool], empty: float) -> float:
    return sum(float(v) for v in values) / len(values) if values else empty
