"""The product, opened over a private index of the evaluation articles, answering fold by fold."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.answering.decision import DecisionModel, committed_model
from bot.answering.extractive import ExtractiveAnswerer
from bot.eval import fit, scoring
from bot.eval.sets import QuestionSet


class EvaluationBot:
    def __init__(self, index_dir: Path, articles: Sequence[Path]) -> None:
        from bot.answering.service import Bot
        from bot.index import IndexOutdatedError, ModelMismatchError, open_index
        from bot.ingest import ingest
        from bot.model.embedding import BotEmbeddings
        from bot.settings import Settings

        self.settings = Settings(index_dir=index_dir, collection="eval", chroma_url=None, answerer="extractive")
        embeddings = BotEmbeddings(self.settings)
        try:
            index = open_index(self.settings, embeddings)
        except (IndexOutdatedError, ModelMismatchError):  # the private index of an older version: build it anew
            index = open_index(self.settings, embeddings, allow_model_change=True)
            index.reset()
            index = open_index(self.settings, embeddings)
        ingest(index, embeddings, list(articles), prune=True, progress=False)
        self.bot = Bot(self.settings)
        self._cache_embeddings()
        self._labelled: dict[str, list[fit.Labelled]] = {}

    def _cache_embeddings(self) -> None:
        """Every fold asks the same questions again: embed each batch of texts once per run."""
        embeddings, cache = self.bot.embeddings, {}
        original, original_pair = embeddings.embed_queries, embeddings.embed_query_and_words

        def embed_queries(texts: Sequence[str]) -> np.ndarray:
            key = tuple(texts)
            if key not in cache:
                cache[key] = original(texts)
            return cache[key]

        def embed_query_and_words(query: str, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
            if (query,) in cache and not words:
                return cache[(query,)][0], cache[(query,)][:0]
            vector, word_vectors = original_pair(query, words)  # the first ask comes packed with its new terms
            cache.setdefault((query,), vector[None])
            return vector, word_vectors

        embeddings.embed_queries = embed_queries
        embeddings.embed_query_and_words = embed_query_and_words

    def answerer(self, model: DecisionModel) -> ExtractiveAnswerer:
        # Every fold shares the product's word vectors: a document's words are embedded once per run.
        return self.bot.extractive.deciding_with(model)

    def labelled(self, question_set: QuestionSet) -> list[fit.Labelled]:
        if question_set.name not in self._labelled:
            # Labelling reads retrieval and the signals only: any decision model will do.
            self._labelled[question_set.name] = fit.label(self.answerer(_any_model()), question_set)
        return self._labelled[question_set.name]

    def leave_one_article_out(self, question_set: QuestionSet) -> list[scoring.Row]:
        rows: list[scoring.Row] = []
        labelled = self.labelled(question_set)
        for file in question_set.files():
            model = fit.fit([item for item in labelled if item.question.file != file])
            rows += scoring.run_questions(
                self.answerer(model).answer, [q for q in question_set.questions if q.file == file],
                [c for c in question_set.conversations if c.file == file],
            )
        return rows

    def fit_all(self, question_set: QuestionSet) -> DecisionModel:
        return fit.fit(self.labelled(question_set))

    def with_model(self, question_set: QuestionSet, model: DecisionModel | None = None) -> list[scoring.Row]:
        answer = self.answerer(model or committed_model()).answer
        return scoring.run_questions(answer, question_set.questions, question_set.conversations)


def _any_model() -> DecisionModel:
    from bot.answering.features import FEATURES

    zeros = (0.0,) * len(FEATURES)
    return DecisionModel(features=FEATURES, mean=zeros, scale=(1.0,) * len(FEATURES), weights=zeros, bias=0.0,
                         threshold=0.5)
