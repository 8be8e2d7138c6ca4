"""The extractive answerer: the article's own sentences, cited, or an honest abstention.

Retrieval proposes candidate sentences; a learned model (bot/answering/decision.py) over their signals
(bot/answering/features.py) picks the one that answers (and the runner-up when it is nearly as likely), or
abstains when none is likely to. A term of the question that the quote leaves unsaid brings the sentence of the
same article that says it (``_complement``).
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.answering.decision import DecisionModel, committed_model
from bot.answering.features import (
    Candidate,
    QuestionAnalysis,
    VocabularyCache,
    WordVectors,
    analyse,
    feature_rows,
    term_scores,
)
from bot.answering.history import History, followed_passages, last_evidence, normalise_history, passages_of
from bot.answering.phrases import PHRASES
from bot.answering.retrieval import Hit, Retriever
from bot.answering.types import Answer, Source, clean_question
from bot.language.linguistics import (
    language_of,
    leans_on_antecedent,
    name_groups,
    names_in,
    question_parts,
    rewrite_follow_up,
    without_topic,
)
from bot.language.terms import fold, has_type, phrased_words, term_in
from bot.model.embedding import BotEmbeddings
from bot.settings import Settings

MAX_QUOTED_CHARS = 300  # one piece of evidence: a sentence and the neighbours it needs
MAX_ANSWER_CHARS = 400  # the best evidence with the runner-up's and the complement's
MAX_SOURCES = 3
# Question types whose answer the quote must carry, or the bot abstains: "How old is Joost Klein?" is not answered
# by a sentence about him without an age. Only *age*: for the other types, such a rule also refused right answers
# (a sum of money, a place or a reason said in other words) that the learned decision keeps (README, Evaluation).
MUST_CARRY = ("age",)
# A term of the question is said by a text that has it literally (or its Dutch form) or a word at least this
# similar to it (``embed_words``). Chosen leave-one-article-out among 0.65-0.90 (README, Evaluation, session 19).
SAID_SIMILARITY = 0.75
# An abstention names what the articles are about: all of them up to this many, else this many closest ones (a
# list of every title of a large index would bury the answer).
ABOUT_ALL = 3


@dataclass
class Deliberation:
    """What the decisions look at: the question's analysis and the retrieved candidates with their signals."""

    question: str
    analysis: QuestionAnalysis
    hits: list[Hit]  # best first by dense context score
    candidates: list[Candidate] = field(default_factory=list)
    rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


class ExtractiveAnswerer:
    def __init__(self, retriever: Retriever, settings: Settings, decision: DecisionModel | None = None) -> None:
        self.retriever = retriever
        self.settings = settings
        self._decision = decision
        self.words = WordVectors(retriever.embeddings.embed_words)
        self.vocabularies = VocabularyCache(self.words)

    def deciding_with(self, decision: DecisionModel) -> ExtractiveAnswerer:
        """This answerer with another decision model, sharing its word and vocabulary caches."""
        other = copy.copy(self)
        other._decision = decision
        return other

    @property
    def decision(self) -> DecisionModel:
        """The given decision model, else the committed one (read on first use)."""
        return self._decision or committed_model()

    def answer(self, question: str, history: History | None = None) -> Answer:
        question = clean_question(question, self.settings.max_question_chars)
        turns = normalise_history(history)
        understood = rewrite_follow_up(question, turns)
        language = language_of(question)
        follows = followed_passages(question, understood, turns)
        said = last_evidence(turns) if follows else ()
        parts = question_parts(understood)
        if parts:  # "Who won, and where was it held?"
            return self._answer_in_parts(understood, language, parts, follows, said)
        return self.compose(understood, language, self.deliberate(understood, follows), said)

    def _answer_in_parts(self, question: str, language: str, parts: Sequence[str],
                         follows: Sequence[tuple[str, int]], said: Collection[str]) -> Answer:
        """Each part answered on its own, quoted together. A later part is a follow-up of the first: one question
        is about one thing, so its pronouns are the first answer's persons ("…, and where did he sleep?") and it is
        looked for first where the first answer was found. When a part would abstain, the whole question is
        answered as one; when that abstains too, the answered parts are quoted and the others named."""
        chosen: list[tuple[list[Hit], list[Hit]] | None] = []
        turns: list[dict] = []
        part_follows, part_said = follows, said
        for index, part in enumerate(parts):
            found = self._evidence(self.deliberate(rewrite_follow_up(part, turns), part_follows), part_said)
            chosen.append(found)
            if index == 0 and found is not None:
                evidence = found[0]
                part_follows = passages_of(evidence)
                part_said = [h.text for h in evidence]
                turns = [{"role": "user", "content": part}]
                # A name the first part gives is what a later pronoun means ("When was Klein excluded and when
                # was he questioned?"); else the person its answer names ("Who demanded it, and where did he sleep?").
                if not names_in(part):
                    turns.append({"role": "assistant", "content": " ".join(part_said), "question": part,
                                  "evidence": part_said})
        answered = [c for c in chosen if c is not None]
        if len(answered) < len(parts):
            whole = self.deliberate(question, follows)
            if not answered or self._evidence(whole) is not None:
                return self.compose(question, language, whole, said)
        evidence, hits = answered[0]
        for more_evidence, more_hits in answered[1:]:
            evidence = self._joined(evidence, more_evidence)
            hits = [*hits, *_not_in(more_hits, hits)]
        result = self._answered(question, language, evidence, hits)
        unanswered = [_asked_part(part) for part, c in zip(parts, chosen) if c is None]
        if unanswered:
            result.text += " " + PHRASES[language]["part_unanswered"].format(parts=" ".join(unanswered))
        return result

    def deliberate(self, question: str, follows: Sequence[tuple[str, int]] = ()) -> Deliberation:
        """Retrieve candidates for the question and compute their signals (one model call, the question's new terms
        packed with it). ``follows``: for a follow-up that points back, the passages the answer before it quoted."""
        analysis = analyse(question, follows)
        if not self.retriever.index.has_documents():
            return Deliberation(question, analysis, [])
        new_terms = self.words.missing(analysis.terms)
        query, new_term_vectors = self.retriever.embeddings.embed_query_and_words(question, new_terms)
        self.words.keep(new_terms, new_term_vectors)
        analysis.term_vectors = self.words.of(analysis.terms)
        hits = self.retriever.search(query)
        candidates = [Candidate(hit, self._previous_text(hit), self._vocabulary(hit)) for hit in hits]
        return Deliberation(question, analysis, hits, candidates, feature_rows(analysis, candidates))

    @staticmethod
    def _beside(deliberation: Deliberation, hits: Sequence[Hit]) -> Deliberation:
        """The deliberation with only the other sentences of these sentences' documents as candidates."""
        keys, files = {h.key for h in hits}, {h.file for h in hits}
        candidates = [c for c in deliberation.candidates if c.hit.key not in keys and c.hit.file in files]
        return Deliberation(deliberation.question, deliberation.analysis, [c.hit for c in candidates], candidates,
                            feature_rows(deliberation.analysis, candidates))

    def _vocabulary(self, hit: Hit):
        def texts() -> list[str]:
            return [hit.title, *(h.text for h in self.retriever.sentences(hit))]

        return self.vocabularies.get(hit.doc_hash, texts)

    def _previous_text(self, hit: Hit) -> str:
        previous = self.retriever.neighbours(hit).get(hit.position - 1)
        return previous.text if previous is not None and previous.paragraph == hit.paragraph else ""

    def compose(self, question: str, language: str, deliberation: Deliberation, said: Collection[str] = ()) -> Answer:
        """The answer from a deliberation; ``said``: the sentences the conversation's last answer quoted."""
        if not deliberation.hits:
            return Answer(text=PHRASES[language]["empty"], sources=[], abstained=True, question=question,
                          language=language)
        chosen = self._evidence(deliberation, said)
        if chosen is None:
            return self._abstain(question, language, self._unmentioned(question, deliberation.hits),
                                 self.retriever.titles(), [h.title for h in deliberation.hits])
        return self._answered(question, language, *chosen)

    def _evidence(self, deliberation: Deliberation, said: Collection[str] = ()) -> tuple[list[Hit], list[Hit]] | None:
        """What the answer quotes and the candidates, the chosen one first; None when the bot abstains.

        A question that follows an answer asks something new: when all it would quote is what that answer quoted
        (``said``), the best other sentence of the same article joins it, if the decision finds it likely enough
        ("Is it going to give up?" after «Milieudefensie heeft de zaak verloren.»: the answer may be elsewhere)."""
        if not deliberation.hits:
            return None
        probabilities = self.decision.probabilities(deliberation.rows)
        quoted = self.decision.quoted(probabilities)
        if self.decision.confidence(deliberation.rows, probabilities) < self.decision.threshold:
            return None
        best = deliberation.hits[quoted[0]]
        hits = [best, *(h for h in deliberation.hits if h is not best)]
        evidence = self.evidence_for(best, hits)
        # One question is about one article: a runner-up from another is not quoted (of the 750 evaluation answers,
        # two lost an unrelated sentence and none a right one; README, Evaluation, session 18).
        if len(quoted) > 1 and deliberation.hits[quoted[1]].file == best.file:
            evidence = self._extended(evidence, self.evidence_for(deliberation.hits[quoted[1]], hits))
        complement = self._complement(deliberation, evidence, probabilities)
        if complement is not None:
            evidence = self._extended(evidence, self.evidence_for(complement, hits))
        if said and all(h.text in said for h in evidence):
            other = self._evidence(self._beside(deliberation, evidence))
            if other is not None:
                evidence = self._joined(evidence, other[0])
        kind = deliberation.analysis.kind
        if kind in MUST_CARRY and not has_type(" ".join(h.text for h in evidence), kind):
            return None
        return evidence, hits

    @staticmethod
    def _complement(deliberation: Deliberation, evidence: list[Hit], probabilities: np.ndarray) -> Hit | None:
        """The most probable other sentence of the evidence's article that says a term of the question the evidence
        leaves unsaid ("How much of the penalty money has been paid so far, out of what total?": the total and the
        sum paid are two sentences apart); None when the evidence says every term."""
        analysis, first = deliberation.analysis, evidence[0]
        vocabulary = next((c.vocabulary for c in deliberation.candidates if c.hit.file == first.file), None)

        def said(text: str) -> np.ndarray:
            return np.asarray(term_scores(analysis, vocabulary, text)) >= SAID_SIMILARITY

        unsaid = ~said(f"{first.title}. " + " ".join(h.text for h in evidence))
        if not unsaid.any():
            return None
        in_quote = {h.key for h in evidence}
        for i in np.argsort(-probabilities, kind="stable"):
            hit = deliberation.hits[i]
            if hit.file == first.file and hit.key not in in_quote and (unsaid & said(hit.text)).any():
                return hit
        return None

    def _answered(self, question: str, language: str, evidence: list[Hit], hits: list[Hit]) -> Answer:
        sources = self._sources(evidence, hits)
        return Answer(text=self._quote(evidence, sources, PHRASES[language]["lead"]), sources=sources,
                      abstained=False, question=question, language=language)

    def _unmentioned(self, question: str, hits: list[Hit]) -> list[str]:
        """Names of the question that no indexed text mentions, in any folding or Dutch form: the reason an
        abstention gives ("It does not mention GroenLinks"). Only names absent everywhere are named, and a name of
        several words (or parts: "NAVO-top") only when none of them is found ("World Wide Fund for Nature" may be
        the Wereld Natuur Fonds of the text: never "It does not mention Wide")."""
        # A compound is a name of several words too: "NAVO-top" is mentioned when "NAVO" is; a name that EXONYMS
        # knows whole is one ("Party for Freedom" is mentioned when "PVV" is).
        groups = [(written, _name_parts(written, tokens)) for written, tokens in name_groups(question)]
        passages = "\n".join(f"{h.title}\n{h.passage}" for h in hits)
        missing = [name for name in dict.fromkeys(t for _, tokens in groups for t in tokens)
                   if not term_in(fold(name), passages)]
        if missing:  # more text only takes names off the list: read the titles only when some are left
            titles = "\n".join(self.retriever.titles())
            missing = [name for name in missing if not term_in(fold(name), titles)]
        missing = [name for name in missing if not self._indexed_anywhere(name)]
        return list(dict.fromkeys(written for written, tokens in groups if all(token in missing for token in tokens)))

    def _indexed_anywhere(self, name: str) -> bool:
        return any(self.retriever.mentioned(form) for form in dict.fromkeys([name, name.capitalize(), name.lower()]))

    def _abstain(self, question: str, language: str, missing: list[str], titles: list[str],
                 closest: list[str]) -> Answer:
        """``titles``: every indexed article's; ``closest``: the retrieved sentences' articles', best first.
        Up to ABOUT_ALL articles are all named; of more, the few the question came closest to."""
        say = PHRASES[language]
        many = "_many" if len(titles) > 1 else ""
        parts = [say["no_answer" + many]]
        if missing:
            parts.append(say["no_mention" + many].format(names=", ".join(missing)))
        if len(titles) <= ABOUT_ALL:
            parts.append(say["about" + many].format(titles="; ".join(f"«{t}»" for t in titles)))
        else:
            named = list(dict.fromkeys(closest))[:ABOUT_ALL]
            parts.append(say["closest_many"].format(count=len(titles), titles="; ".join(f"«{t}»" for t in named)))
        return Answer(text=" ".join(parts), sources=[], abstained=True, question=question, language=language)

    def evidence_for(self, best: Hit, hits: list[Hit]) -> list[Hit]:
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
        if (same_paragraph and best.context_score >= max(best.sentence_score, previous.sentence_score)
                and self._fits(evidence, previous)):
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
    def _extended(evidence: list[Hit], more: list[Hit]) -> list[Hit]:
        """The evidence and more of it (the runner-up's, the complement's), without repeats, in reading order within
        a document (the evidence's document first); the more only while the quote stays within MAX_ANSWER_CHARS."""
        joined = ExtractiveAnswerer._joined(evidence, more)
        if len(joined) == len(evidence) or sum(len(h.text) for h in joined) > MAX_ANSWER_CHARS:
            return evidence
        return joined

    @staticmethod
    def _joined(evidence: list[Hit], more: list[Hit]) -> list[Hit]:
        """Both, without repeats, in reading order within a document (the first evidence's document first)."""
        first = evidence[0].file
        return sorted([*evidence, *_not_in(more, evidence)], key=lambda h: (h.file != first, h.file, h.position))

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
        previous = None
        for hit in evidence:
            key = (hit.file, hit.paragraph)
            if run and (key != run_key or hit.position != previous.position + 1):
                pieces.append(f"«{' '.join(run)}» [{numbers[run_key]}]")
                run = []
            run.append(hit.text)
            run_key, previous = key, hit
        pieces.append(f"«{' '.join(run)}» [{numbers[run_key]}]")
        return f"{lead} {' '.join(pieces)}"


def _name_parts(written: str, tokens: Sequence[str]) -> tuple[str, ...]:
    phrases = [phrase for phrase in phrased_words(written) if " " in phrase]
    in_phrases = {word for phrase in phrases for word in phrase.split()}
    return (*phrases, *(part for token in tokens for part in token.split("-") if part and fold(part) not in in_phrases))


def _asked_part(part: str) -> str:
    """A part of a question as the user asked it (without the first part carried over in brackets), in “…”: «…»
    are the article's own words."""
    return f"“{without_topic(part)}”"


def _not_in(hits: Sequence[Hit], others: Sequence[Hit]) -> list[Hit]:
    """The hits that are not among the others (the same sentence of the same document)."""
    keys = {h.key for h in others}
    return [h for h in hits if h.key not in keys]


@dataclass(frozen=True)
class Answering:
    """What answering needs, as the service holds it now (after a reopen, new ones): what the LLM answerer
    takes from the service instead of the service itself."""

    extractive: ExtractiveAnswerer
    retriever: Retriever
    embeddings: BotEmbeddings
