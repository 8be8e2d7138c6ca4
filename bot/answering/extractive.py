"""The extractive answerer: the article's own sentences, cited, or an honest abstention."""

from __future__ import annotations

from dataclasses import dataclass

from bot.answering.history import History, normalise_history
from bot.answering.phrases import PHRASES
from bot.answering.retrieval import Hit, Retriever
from bot.answering.types import Answer, Source, clean_question
from bot.language.linguistics import language_of, leans_on_antecedent, missing_names, rewrite_follow_up
from bot.model.embedding import BotEmbeddings
from bot.settings import Settings

MAX_QUOTED_CHARS = 300
MAX_SOURCES = 3


class ExtractiveAnswerer:
    def __init__(self, retriever: Retriever, settings: Settings) -> None:
        self.retriever = retriever
        self.settings = settings

    def answer(self, question: str, history: History | None = None) -> Answer:
        question = clean_question(question, self.settings.max_question_chars)
        understood = rewrite_follow_up(question, normalise_history(history))
        language = language_of(question)
        return self.compose(understood, language, self.retriever.retrieve(understood))

    def compose(self, question: str, language: str, hits: list[Hit]) -> Answer:
        say = PHRASES[language]
        if not hits:
            return Answer(text=say["empty"], sources=[], abstained=True, question=question, language=language)
        best = hits[0]
        passages = [h.passage for h in hits]
        missing, titles = missing_names(question, passages), None
        if missing:  # more text only takes names off the list: read the titles only when some are left
            titles = self.retriever.titles()
            missing = missing_names(question, passages + titles)
        missing = [name for name in missing if not self._indexed_anywhere(name)]
        if not self._relevant(hits) or missing:
            return self._abstain(question, language, missing, titles or self.retriever.titles())
        evidence = self._evidence(best, hits)
        sources = self._sources(evidence, hits)
        return Answer(text=self._quote(evidence, sources, say["lead"]), sources=sources, abstained=False,
                      question=question, language=language)

    def _relevant(self, hits: list[Hit]) -> bool:
        """Relevant when the best sentence scores high, or fairly high and clearly ahead of the others."""
        top = hits[0].context_score
        fifth = hits[min(4, len(hits) - 1)].context_score
        return top >= self.settings.min_score or (
            top >= self.settings.min_score_distinct and top - fifth >= self.settings.distinct_gap
        )

    def _indexed_anywhere(self, name: str) -> bool:
        return any(self.retriever.mentioned(form) for form in dict.fromkeys([name, name.capitalize(), name.lower()]))

    def _abstain(self, question: str, language: str, missing: list[str], titles: list[str]) -> Answer:
        say = PHRASES[language]
        many = "_many" if len(titles) > 1 else ""
        parts = [say["no_answer" + many]]
        if missing:
            parts.append(say["no_mention" + many].format(names=", ".join(missing)))
        parts.append(say["about" + many].format(titles="; ".join(f"«{t}»" for t in titles)))
        return Answer(text=" ".join(parts), sources=[], abstained=True, question=question, language=language)

    def _evidence(self, best: Hit, hits: list[Hit]) -> list[Hit]:
        """The answering sentence(s), in reading order: the best one, the sentence before it when the pair
        matched better than either alone or when it leans on it ("dit", "zij", ...)."""
        around = self.retriever.neighbours(best)
        previous = around.get(best.position - 1)
        same_paragraph = previous is not None and previous.paragraph == best.paragraph
        if same_paragraph:
            retrieved = {h.key: h for h in hits}
            weakest = min(h.sentence_score for h in hits)
            previous.sentence_score = retrieved[previous.key].sentence_score if previous.key in retrieved else weakest
        evidence = [best]
        if same_paragraph and best.context_score >= max(best.sentence_score, previous.sentence_score):
            evidence = [previous, best]
        elif same_paragraph and previous.sentence_score > best.sentence_score:
            evidence = [previous]
        first = evidence[0]
        # first is best or the sentence before it: its antecedent is among the neighbours already read
        antecedent = around.get(first.position - 1)
        if antecedent and leans_on_antecedent(first.text) and self._fits(evidence, antecedent):
            evidence.insert(0, antecedent)
        # A following sentence that leans on the evidence continues it ("Dat zou dan gaan om ...").
        following = around.get(evidence[-1].position + 1)
        if (following and following.paragraph == evidence[-1].paragraph and leans_on_antecedent(following.text)
                and self._fits(evidence, following)):
            evidence.append(following)
        return evidence

    @staticmethod
    def _fits(evidence: list[Hit], extra: Hit) -> bool:
        return sum(len(h.text) for h in evidence) + len(extra.text) <= MAX_QUOTED_CHARS

    def _sources(self, evidence: list[Hit], hits: list[Hit]) -> list[Source]:
        best = evidence[-1] if evidence[-1] is hits[0] else hits[0]
        order: list[tuple[str, int]] = [(best.file, best.paragraph)]
        for hit in evidence:
            if (hit.file, hit.paragraph) not in order:
                order.append((hit.file, hit.paragraph))
        for hit in hits:
            if len(order) >= MAX_SOURCES:
                break
            if (hit.file, hit.paragraph) not in order and hit.context_score >= self.settings.min_score:
                order.append((hit.file, hit.paragraph))
        by_paragraph: dict[tuple[str, int], Hit] = {}
        for hit in [*evidence, *hits]:
            by_paragraph.setdefault((hit.file, hit.paragraph), hit)
        sources = []
        for key in order:
            hit = by_paragraph[key]
            highlight = [h.text for h in evidence if (h.file, h.paragraph) == key] or [hit.text]
            score = max((h.context_score for h in hits if (h.file, h.paragraph) == key), default=0.0)
            cited = any((h.file, h.paragraph) == key for h in evidence)
            sources.append(Source(text=hit.passage, highlight=highlight, document=hit.title, paragraph=hit.paragraph,
                                  score=round(score, 4), file=hit.file, cited=cited))
        return sources

    @staticmethod
    def _quote(evidence: list[Hit], sources: list[Source], lead: str) -> str:
        numbers = {(s.file, s.paragraph): i + 1 for i, s in enumerate(sources)}
        pieces: list[str] = []
        run: list[str] = []
        run_key = None
        for hit in evidence:
            key = (hit.file, hit.paragraph)
            if run and key != run_key:
                pieces.append(f"«{' '.join(run)}» [{numbers[run_key]}]")
                run = []
            run.append(hit.text)
            run_key = key
        pieces.append(f"«{' '.join(run)}» [{numbers[run_key]}]")
        return f"{lead} {' '.join(pieces)}"


@dataclass(frozen=True)
class Answering:
    """What answering needs, as the service holds it now (after a reopen, new ones): what the LLM answerer
    takes from the service instead of the service itself."""

    extractive: ExtractiveAnswerer
    retriever: Retriever
    embeddings: BotEmbeddings
