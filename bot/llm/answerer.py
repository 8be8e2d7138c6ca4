"""The LLM answerer: retrieved passages, a generated answer in the question's language, each sentence anchored on
a verbatim quote and checked (:mod:`bot.llm.grounding`) as soon as it is complete.

Only verified sentences are ever yielded: a sentence the check drops is never shown, not even for a moment.
The extractive answerer is the safety net. It decides first whether the article answers at all (an
abstention never reaches the LLM), and its answer is shown, with a note, whenever the LLM fails, times out,
refuses, or writes nothing that the check keeps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.answering.extractive import Answering, ExtractiveAnswerer
from bot.answering.history import History, followed_passages, normalise_history
from bot.answering.phrases import NOTES, PHRASES, REFUSALS
from bot.answering.retrieval import Hit
from bot.answering.types import Answer, Source, clean_question
from bot.language.linguistics import language_of, rewrite_follow_up
from bot.llm.client import Backend, LLMError, answer_messages, clean_rewrite, rewrite_messages
from bot.llm.grounding import Claim, GroundingChecker, Verdict
from bot.llm.quotes import QuoteParser

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)
MAX_PASSAGES = 4

@dataclass
class Passage:
    text: str
    file: str
    title: str
    paragraph: int
    score: float
    best_sentence: str


class LLMAnswerer:
    """``current`` yields what answering needs as it is now: the service reopens its index after a store
    failure, and then yields new ones."""

    def __init__(self, current: Callable[[], Answering], settings: Settings, backend: Backend | None = None) -> None:
        self.current = current
        self.settings = settings
        self.backend = backend or Backend(settings)
        self._checker: GroundingChecker | None = None

    @property
    def extractive(self) -> ExtractiveAnswerer:
        return self.current().extractive

    @property
    def checker(self) -> GroundingChecker:
        if self._checker is None:  # the embeddings outlive a reopen: one checker (and its cache) is enough
            self._checker = GroundingChecker(self.current().embeddings, self.settings.grounding_threshold)
        return self._checker

    def answer(self, question: str, history: History | None = None) -> Answer:
        *_, final = self._run(question, history, streaming=False)
        return final  # type: ignore[return-value]

    def stream(self, question: str, history: History | None = None) -> Iterator[str | Answer]:
        """Each verified sentence as soon as it is complete and checked, then the Answer (which the UI shows)."""
        return self._run(question, history, streaming=True)

    def _run(self, question: str, history: History | None, streaming: bool) -> Iterator[str | Answer]:
        question = clean_question(question, self.settings.max_question_chars)
        language = language_of(question)
        turns = normalise_history(history)
        try:
            understood = self._standalone(question, language, turns)
        except LLMError as exc:
            understood = rewrite_follow_up(question, turns)
            yield self._fallback(understood, language, None, "failed", reason=str(exc))
            return
        parts = self.current()
        deliberation = parts.extractive.deliberate(understood, followed_passages(question, understood, turns))
        hits = deliberation.hits
        safety_net = parts.extractive.compose(understood, language, deliberation)
        if safety_net.abstained:  # the article does not answer: nothing for the LLM to write
            yield safety_net.text
            yield safety_net
            return
        passages = self._passages(safety_net, hits)
        texts = [p.text for p in passages]
        messages = answer_messages(understood, language, texts, PHRASES[language]["no_answer"], self.backend.structured)
        verdict = Verdict()
        try:
            for claim in self._claims(messages, streaming):
                self.checker.verify(claim, texts, REFUSALS)
                verdict.add(claim)
                if streaming and verdict.kept and verdict.kept[-1] is claim:
                    yield (" " if len(verdict.kept) > 1 else "") + claim.shown
        except LLMError as exc:
            log.warning("LLM answer failed: %s", exc)
            yield self._fallback(understood, language, safety_net, "failed", reason=str(exc))
            return
        verdict.refusal = verdict.refusal and not verdict.kept
        yield self._verified(understood, language, safety_net, passages, verdict)

    def _claims(self, messages: list, streaming: bool) -> Iterator[Claim]:
        """The answer's claims, each as soon as its last character has arrived."""
        parser = QuoteParser()
        if streaming:
            for piece in self.backend.stream(messages, structured=True):
                yield from parser.feed(piece)
        else:
            yield from parser.feed(self.backend.complete(messages, structured=True))
        yield from parser.finish()

    def _standalone(self, question: str, language: str, history: list[dict]) -> str:
        """A follow-up rewritten by the LLM into a question that stands alone (rules when it gives none)."""
        if not history:
            return question
        reply = self.backend.complete(rewrite_messages(question, language, history))
        return clean_rewrite(reply, question) or rewrite_follow_up(question, history)

    @staticmethod
    def _passages(safety_net: Answer, hits: list[Hit]) -> list[Passage]:
        """The extractive answer's paragraphs first (they hold the best evidence), then the next best hits."""
        passages: dict[tuple[str, int], Passage] = {}
        for s in safety_net.sources:
            passages[(s.file, s.paragraph)] = Passage(text=s.text, file=s.file, title=s.document, paragraph=s.paragraph,
                                                      score=s.score, best_sentence=s.highlight[0])
        for hit in hits:
            key = (hit.file, hit.paragraph)
            if key not in passages and len(passages) < MAX_PASSAGES:
                passages[key] = Passage(text=hit.passage, file=hit.file, title=hit.title, paragraph=hit.paragraph,
                                        score=round(hit.context_score, 4), best_sentence=hit.text)
        return list(passages.values())[:MAX_PASSAGES]

    def _verified(self, question: str, language: str, safety_net: Answer, passages: list[Passage],
                  verdict: Verdict) -> Answer:
        dropped = [c.text for c in verdict.dropped]
        for claim in verdict.dropped:
            log.info("quote check dropped %r (passage %s, quote %r): %s", claim.text, claim.passage, claim.quote,
                     claim.reason)
        if verdict.refusal:
            return self._fallback(question, language, safety_net, "refused", dropped=dropped)
        if not verdict.kept:
            return self._fallback(question, language, safety_net, "unsupported", dropped=dropped)
        sources = []
        for n, p in enumerate(passages, 1):
            # The quoted spans themselves, exactly as the passage has them: the words each claim rests on. A
            # passage the answer does not rest on is shown as related, with its best sentence.
            quoted = list(dict.fromkeys(c.evidence for c in verdict.kept if c.passage == n))
            sources.append(Source(text=p.text, highlight=quoted or [p.best_sentence], document=p.title,
                                  paragraph=p.paragraph, score=p.score, file=p.file, cited=bool(quoted)))
        note = NOTES[language]["dropped"].format(n=len(dropped)) if dropped else ""
        return Answer(text=verdict.text, sources=sources, abstained=False, question=question, language=language,
                      answerer=self.backend.name, note=note, dropped=dropped)

    def _fallback(self, question: str, language: str, safety_net: Answer | None, why: str, reason: str = "",
                  dropped: list[str] | None = None) -> Answer:
        if safety_net is None:
            parts = self.current()
            safety_net = parts.extractive.compose(question, language, parts.extractive.deliberate(question))
        safety_net.answerer = "extractive"
        safety_net.note = NOTES[language][why].format(reason=reason)
        safety_net.dropped = dropped or []
        return safety_net
