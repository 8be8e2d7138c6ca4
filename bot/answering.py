"""The extractive answerer: the article's own sentences, cited, or an honest abstention."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from bot.embedding import BotEmbeddings
from bot.linguistics import language_of, leans_on_antecedent, missing_names, rewrite_follow_up
from bot.retrieval import Hit, Retrieval, Retriever
from bot.settings import Settings, get_settings
from bot.store import StoreError, forget_embedded, open_store, store_guard

MAX_QUOTED_CHARS = 300
MAX_SOURCES = 3


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


def message_text(content: object) -> str:
    """Text of a chat message content: a string, or Gradio's list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(message_text(part) for part in content)
    if isinstance(content, dict):
        return str(content.get("text") or content.get("content") or "")
    return ""


def normalise_history(history: Sequence[dict | Answer] | None) -> list[dict]:
    """Turns as {"role", "content"} dicts; an :class:`Answer` is the assistant's turn (its text)."""
    turns = []
    for turn in history or []:
        if isinstance(turn, Answer):
            turns.append({"role": "assistant", "content": turn.text})
        elif isinstance(turn, dict) and turn.get("role") in {"user", "assistant"}:
            turns.append({"role": turn["role"], "content": message_text(turn.get("content"))})
    return turns


PHRASES = {
    "en": {
        "lead": "According to the article:",
        "no_answer": "The article does not answer this question.",
        "no_mention": "It does not mention {names}.",
        "about": "It is about: {titles}.",
        "no_answer_many": "The indexed articles do not answer this question.",
        "no_mention_many": "They do not mention {names}.",
        "about_many": "They are about: {titles}.",
        "empty": "Nothing has been indexed yet, so there is nothing to answer from.",
    },
    "nl": {
        "lead": "Volgens het artikel:",
        "no_answer": "Het artikel geeft geen antwoord op deze vraag.",
        "no_mention": "Het noemt {names} niet.",
        "about": "Het gaat over: {titles}.",
        "no_answer_many": "De geïndexeerde artikelen geven geen antwoord op deze vraag.",
        "no_mention_many": "Ze noemen {names} niet.",
        "about_many": "Ze gaan over: {titles}.",
        "empty": "Er is nog niets geïndexeerd, dus er is niets om uit te antwoorden.",
    },
}


class ExtractiveAnswerer:
    def __init__(self, retriever: Retriever, settings: Settings) -> None:
        self.retriever = retriever
        self.settings = settings

    def answer(self, question: str, history: Sequence[dict] | None = None) -> Answer:
        question = clean_question(question, self.settings.max_question_chars)
        understood = rewrite_follow_up(question, normalise_history(history))
        language = language_of(question)
        retrieval = self.retriever.retrieve(understood)
        return self.compose(understood, language, retrieval)

    def compose(self, question: str, language: str, retrieval: Retrieval) -> Answer:
        say = PHRASES[language]
        if not retrieval.hits:
            return Answer(say["empty"], [], True, question, language)
        best = retrieval.hits[0]
        passages = [h.passage for h in retrieval.hits]
        missing, titles = missing_names(question, passages), None
        if missing:  # more text only takes names off the list: read the titles only when some are left
            titles = self.retriever.titles()
            missing = missing_names(question, passages + titles)
        missing = [name for name in missing if not self._indexed_anywhere(name)]
        if not self._relevant(retrieval.hits) or missing:
            return self._abstain(question, language, missing, titles or self.retriever.titles())
        evidence = self._evidence(best, retrieval.hits)
        sources = self._sources(evidence, retrieval.hits)
        return Answer(self._quote(evidence, sources, say["lead"]), sources, False, question, language)

    def _relevant(self, hits: list[Hit]) -> bool:
        """Relevant when the best sentence scores high, or fairly high and clearly ahead of the others."""
        top = hits[0].context_score
        fifth = hits[min(4, len(hits) - 1)].context_score
        return top >= self.settings.min_score or (
            top >= self.settings.min_score_distinct and top - fifth >= self.settings.distinct_gap
        )

    def _indexed_anywhere(self, name: str) -> bool:
        chunks = self.retriever.store.chunks
        for form in dict.fromkeys([name, name.capitalize(), name.lower()]):
            if chunks.get(where_document={"$contains": form}, limit=1, include=[])["ids"]:
                return True
        return False

    def _abstain(self, question: str, language: str, missing: list[str], titles: list[str]) -> Answer:
        say = PHRASES[language]
        many = "_many" if len(titles) > 1 else ""
        parts = [say["no_answer" + many]]
        if missing:
            parts.append(say["no_mention" + many].format(names=", ".join(missing)))
        parts.append(say["about" + many].format(titles="; ".join(f"«{t}»" for t in titles)))
        return Answer(" ".join(parts), [], True, question, language)

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

    def _before(self, hit: Hit) -> Hit | None:
        return self.retriever.neighbours(hit).get(hit.position - 1)

    @staticmethod
    def _fits(evidence: list[Hit], extra: Hit) -> bool:
        return sum(len(h.text) for h in evidence) + len(extra.text) <= MAX_QUOTED_CHARS

    def _sources(self, evidence: list[Hit], hits: list[Hit]) -> list[Source]:
        best = evidence[-1] if evidence[-1] is hits[0] else hits[0]
        order: list[tuple[str, int]] = [(best.document, best.paragraph)]
        for hit in evidence:
            if (hit.document, hit.paragraph) not in order:
                order.append((hit.document, hit.paragraph))
        for hit in hits:
            if len(order) >= MAX_SOURCES:
                break
            if (hit.document, hit.paragraph) not in order and hit.context_score >= self.settings.min_score:
                order.append((hit.document, hit.paragraph))
        by_paragraph: dict[tuple[str, int], Hit] = {}
        for hit in [*evidence, *hits]:
            by_paragraph.setdefault((hit.document, hit.paragraph), hit)
        sources = []
        for key in order:
            hit = by_paragraph[key]
            highlight = [h.text for h in evidence if (h.document, h.paragraph) == key] or [hit.text]
            score = max((h.context_score for h in hits if (h.document, h.paragraph) == key), default=0.0)
            cited = any((h.document, h.paragraph) == key for h in evidence)
            sources.append(Source(hit.passage, highlight, hit.title, hit.paragraph, round(score, 4), hit.document,
                                  cited))
        return sources

    @staticmethod
    def _quote(evidence: list[Hit], sources: list[Source], lead: str) -> str:
        numbers = {(s.file, s.paragraph): i + 1 for i, s in enumerate(sources)}
        pieces: list[str] = []
        run: list[str] = []
        run_key = None
        for hit in evidence:
            key = (hit.document, hit.paragraph)
            if run and key != run_key:
                pieces.append(f"«{' '.join(run)}» [{numbers[run_key]}]")
                run = []
            run.append(hit.text)
            run_key = key
        pieces.append(f"«{' '.join(run)}» [{numbers[run_key]}]")
        return f"{lead} {' '.join(pieces)}"


class Bot:
    """The model, the index and the answerer, opened once and shared (thread-safe)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.embeddings = BotEmbeddings(self.settings)
        self._reopen_lock = threading.Lock()
        self._stale = False
        self._open()
        self.llm = None  # the LLM answerer (bot/llm_answering.py), imported only when settings name one
        if self.settings.answerer != "extractive":
            from bot.llm_answering import LLMAnswerer

            self.llm = LLMAnswerer(self)

    def _open(self) -> None:
        self.store = open_store(self.settings, self.embeddings, create=False)
        self.retriever = Retriever(self.store, self.embeddings, self.settings.top_k)
        self.extractive = ExtractiveAnswerer(self.retriever, self.settings)

    def _reopen_if_stale(self) -> None:
        """After a store failure, the next question opens the index (reconnects to the server) afresh."""
        if self._stale:
            with self._reopen_lock:
                if self._stale:
                    forget_embedded(self.settings)
                    self._open()  # raises StoreUnavailableError again while the server is still down
                    self._stale = False

    def answer(self, question: str, history: Sequence[dict] | None = None) -> Answer:
        self._reopen_if_stale()
        try:
            with store_guard(self.settings):
                return (self.llm or self.extractive).answer(question, history)
        except StoreError:
            self._stale = True
            raise

    def stream(self, question: str, history: Sequence[dict] | None = None) -> Iterator[str | Answer]:
        """Text pieces as they become available, then the final Answer (what the UI shows)."""
        if self.llm is not None:  # the LLM's pieces as it writes them, then the verified Answer
            self._reopen_if_stale()
            try:
                with store_guard(self.settings):
                    yield from self.llm.stream(question, history)
                return
            except StoreError:
                self._stale = True
                raise
        result = self.answer(question, history)
        yield from re.findall(r"\S.*?(?:[.!?»\]]\s|$)", result.text)
        yield result


_bot: Bot | None = None
_bot_lock = threading.Lock()


def get_bot() -> Bot:
    global _bot
    if _bot is None:
        with _bot_lock:
            if _bot is None:
                _bot = Bot()
    return _bot


def reset_bot() -> None:
    """Forget the shared bot (after settings change, or to reconnect)."""
    global _bot
    with _bot_lock:
        _bot = None


def stream(question: str, history: Sequence[dict] | None = None) -> Iterator[str | Answer]:
    """Like :func:`answer`, streamed: yields text pieces (str), then the final :class:`Answer`."""
    if not isinstance(question, str) or not question.strip():
        clean_question(question, get_settings().max_question_chars)
    return get_bot().stream(question, history)


def answer(question: str, history: Sequence[dict] | None = None) -> Answer:
    """Answer a question about the indexed article(s). Raises ValueError for an empty or huge question."""
    if not isinstance(question, str) or not question.strip():
        clean_question(question, get_settings().max_question_chars)
    return get_bot().answer(question, history)

