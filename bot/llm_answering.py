"""The LLM answerer: retrieved passages, a generated answer in the question's language, then the grounding check.

The extractive answerer is the safety net. It decides first whether the article answers at all (an
abstention never reaches the LLM), and its answer is shown, with a note, whenever the LLM fails, times out,
refuses, or writes nothing that the grounding check keeps.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.answering import PHRASES, Answer, ExtractiveAnswerer, Source, clean_question, normalise_history
from bot.grounding import GroundingChecker, Verdict
from bot.linguistics import language_of, rewrite_follow_up
from bot.llm import Backend, LLMError, answer_messages, clean_rewrite, rewrite_messages
from bot.retrieval import Retrieval
from bot.text import split_sentences

if TYPE_CHECKING:
    from bot.answering import Bot

log = logging.getLogger(__name__)
MAX_PASSAGES = 4

NOTES = {
    "en": {
        "dropped": "{n} generated sentence(s) removed: the article does not support them.",
        "unsupported": "The generated answer was not supported by the article, so the article's own sentences are "
                       "shown instead.",
        "refused": "The language model found no answer in the passages; these are the article's closest sentences.",
        "failed": "The language model could not answer ({reason}), so the article's own sentences are shown.",
    },
    "nl": {
        "dropped": "{n} gegenereerde zin(nen) weggelaten: het artikel onderbouwt ze niet.",
        "unsupported": "Het gegenereerde antwoord werd niet door het artikel onderbouwd; daarom staan hier de "
                       "zinnen uit het artikel zelf.",
        "refused": "Het taalmodel vond geen antwoord in de passages; dit zijn de best passende zinnen uit het artikel.",
        "failed": "Het taalmodel kon niet antwoorden ({reason}); daarom staan hier de zinnen uit het artikel zelf.",
    },
}
REFUSALS = [PHRASES[lang]["no_answer"] for lang in ("en", "nl")]


@dataclass
class Passage:
    text: str
    file: str
    title: str
    paragraph: int
    score: float
    best_sentence: str


class LLMAnswerer:
    def __init__(self, bot: Bot, backend: Backend | None = None) -> None:
        self.bot = bot
        self.settings = bot.settings
        self.backend = backend or Backend(bot.settings)
        self.checker = GroundingChecker(bot.embeddings, bot.settings.grounding_threshold)

    @property
    def extractive(self) -> ExtractiveAnswerer:
        return self.bot.extractive  # the bot reopens its index after a store failure: always the current one

    def answer(self, question: str, history: Sequence[dict] | None = None) -> Answer:
        *_, final = self._run(question, history, streaming=False)
        return final  # type: ignore[return-value]

    def stream(self, question: str, history: Sequence[dict] | None = None) -> Iterator[str | Answer]:
        """The LLM's text pieces as they arrive, then the verified Answer (which the UI shows)."""
        return self._run(question, history, streaming=True)

    def _run(self, question: str, history: Sequence[dict] | None, streaming: bool) -> Iterator[str | Answer]:
        question = clean_question(question, self.settings.max_question_chars)
        language = language_of(question)
        try:
            understood = self._standalone(question, language, normalise_history(history))
        except LLMError as exc:
            understood = rewrite_follow_up(question, normalise_history(history))
            yield self._fallback(understood, language, None, "failed", reason=str(exc))
            return
        retrieval = self.extractive.retriever.retrieve(understood)
        safety_net = self.extractive.compose(understood, language, retrieval)
        if safety_net.abstained:  # the article does not answer: nothing for the LLM to write
            yield safety_net.text
            yield safety_net
            return
        passages = self._passages(safety_net, retrieval)
        messages = answer_messages(understood, language, [p.text for p in passages], PHRASES[language]["no_answer"])
        generated = ""
        try:
            if streaming:
                for piece in self.backend.stream(messages):
                    generated += piece
                    yield piece
            else:
                generated = self.backend.complete(messages)
        except LLMError as exc:
            log.warning("LLM answer failed: %s", exc)
            yield self._fallback(understood, language, safety_net, "failed", reason=str(exc))
            return
        verdict = self.checker.check(generated, [p.text for p in passages], REFUSALS)
        yield self._verified(understood, language, safety_net, passages, verdict)

    def _standalone(self, question: str, language: str, history: list[dict]) -> str:
        """A follow-up rewritten by the LLM into a question that stands alone (rules when it gives none)."""
        if not history:
            return question
        reply = self.backend.complete(rewrite_messages(question, language, history))
        return clean_rewrite(reply, question) or rewrite_follow_up(question, history)

    @staticmethod
    def _passages(safety_net: Answer, retrieval: Retrieval) -> list[Passage]:
        """The extractive answer's paragraphs first (they hold the best evidence), then the next best hits."""
        passages: dict[tuple[str, int], Passage] = {}
        for s in safety_net.sources:
            passages[(s.file, s.paragraph)] = Passage(s.text, s.file, s.document, s.paragraph, s.score, s.highlight[0])
        for hit in retrieval.hits:
            key = (hit.document, hit.paragraph)
            if key not in passages and len(passages) < MAX_PASSAGES:
                passages[key] = Passage(hit.passage, hit.document, hit.title, hit.paragraph,
                                        round(hit.context_score, 4), hit.text)
        return list(passages.values())[:MAX_PASSAGES]

    def _verified(self, question: str, language: str, safety_net: Answer, passages: list[Passage],
                  verdict: Verdict) -> Answer:
        dropped = [c.text for c in verdict.dropped]
        for claim in verdict.dropped:
            log.info("grounding check dropped %r: %s", claim.text, claim.reason)
        if verdict.refusal:
            return self._fallback(question, language, safety_net, "refused", dropped=dropped)
        if not verdict.kept:
            return self._fallback(question, language, safety_net, "unsupported", dropped=dropped)
        sources = []
        for n, p in enumerate(passages, 1):
            evidence = [c.evidence for c in verdict.kept if n in c.cites and c.evidence]
            highlight = [s for s in split_sentences(p.text) if any(s in e for e in evidence)] or [p.best_sentence]
            sources.append(Source(p.text, highlight, p.title, p.paragraph, p.score, p.file))
        note = NOTES[language]["dropped"].format(n=len(dropped)) if dropped else ""
        return Answer(verdict.text, sources, False, question, language, answerer=self.backend.name, note=note,
                      dropped=dropped)

    def _fallback(self, question: str, language: str, safety_net: Answer | None, why: str, reason: str = "",
                  dropped: list[str] | None = None) -> Answer:
        if safety_net is None:
            safety_net = self.extractive.compose(question, language, self.extractive.retriever.retrieve(question))
        safety_net.answerer = "extractive"
        safety_net.note = NOTES[language][why].format(reason=reason)
        safety_net.dropped = dropped or []
        return safety_net
