"""The product, opened over a private index of the evaluation articles, answering fold by fold."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from bot.eval import scoring
from bot.eval.sets import Question, QuestionSet


class EvaluationBot:
    def __init__(self, index_dir: Path, articles: Sequence[Path]) -> None:
        from bot.answering import Bot
        from bot.embedding import BotEmbeddings
        from bot.ingest import ingest
        from bot.settings import Settings
        from bot.store import open_store

        self.settings = Settings(index_dir=index_dir, collection="eval", chroma_url=None, answerer="extractive")
        embeddings = BotEmbeddings(self.settings)
        store = open_store(self.settings, embeddings)
        ingest(store, embeddings, list(articles), prune=True, progress=False)
        self.bot = Bot(self.settings)
        # Every fold asks the same questions again: embed each text once per run.
        self.bot.embeddings.embed_query = functools.lru_cache(maxsize=None)(self.bot.embeddings.embed_query)

    def answer_function(self, model=None) -> scoring.AnswerFunction:
        return lambda question, history: self.bot.answer(question, history)

    def leave_one_article_out(self, question_set: QuestionSet) -> list[scoring.Row]:
        rows: list[scoring.Row] = []
        for file in question_set.files():
            answer = self.answer_function(self.fit([q for q in question_set.questions if q.file != file]))
            rows += scoring.run_questions(
                answer, [q for q in question_set.questions if q.file == file],
                [c for c in question_set.conversations if c.file == file],
            )
        return rows

    def with_committed_model(self, question_set: QuestionSet) -> list[scoring.Row]:
        return scoring.run_questions(self.answer_function(), question_set.questions, question_set.conversations)

    def fit(self, questions: Sequence[Question]):
        return None
