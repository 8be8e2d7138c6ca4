"""The quote check: every sentence of a generated answer must rest on a verbatim quote of the passage it cites.

The LLM writes, per sentence, the passage number and the short Dutch span it rests on (:mod:`bot.llm.quotes`
parses that). A sentence is kept when

1. its quote occurs in the cited passage, after folding case, diacritics, quotes, punctuation and whitespace,
   with a small edit tolerance (rapidfuzz), and is no instruction the document gives (prompt injection);
2. it says no more than its quote:
   - its embedding (EmbeddingGemma, the ``STS`` prompt: cross-lingual, so English is checked against Dutch)
     reaches ``threshold`` against the quote, its sentence, or its sentence with one it leans on (so that
     "war refugees" may stand for the quote's "deze groep");
   - every number, date and name it states occurs in the quote or the passage sentence(s) the quote lies in,
     matched across languages (:func:`bot.language.terms.term_in`: Israel/Israël, Netherlands/Nederland,
     Christian Union/ChristenUnie; "two hundred" = "tweehonderd");
   - a negation (not, no, niet, geen...) is in both or in neither;
   - a cause (because, omdat, door...) is stated only when the quote's sentence gives one.

Whatever fails is dropped with its reason; the caller decides what is left to show. The threshold is fitted
by ``python bench/quote_calibration.py``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from rapidfuzz import fuzz

from bot.language.linguistics import leans_on_antecedent, names_in
from bot.language.terms import fold, has_type, term_in
from bot.language.text import split_sentences
from bot.llm.numbers import dates_in, numbers_in
from bot.model.cache import VectorCache

if TYPE_CHECKING:
    from bot.model.embedding import BotEmbeddings

SIMILARITY_PROMPT = "STS"  # EmbeddingGemma: "task: sentence similarity | query: "
MIN_QUOTE_WORDS = 2
MIN_ALIGNMENT = 90.0
MAX_ANTECEDENTS = 2  # rapidfuzz partial_ratio (0-100): about one edit in ten characters
_NEGATIONS = frozenset("not no never none nobody nothing neither nor without cannot niet geen nooit niets niemand "
                       "nergens zonder noch".split())
_ENGLISH_CAUSE = re.compile(r"\b(because|due to|owing to|as a result|caused by|thanks to|therefore|the reason|"
                            r"in order to|so that|since)\b")
# A document sentence that addresses the model is data, never evidence: quoting it proves nothing.
_INSTRUCTION = re.compile(r"\b(ignore|disregard|negeer|vergeet)\b.{0,60}\b(instruction|instructies?|opdracht|rules|"
                          r"regels|prompt)|\b(system prompt|you are an? (ai|assistant|language model))\b", re.I)


@dataclass
class Claim:
    text: str  # as generated (the sentence alone)
    plain: str  # without markers or markup
    passage: int | None = None  # the passage number it cites (1-based)
    quote: str = ""  # the quote as the LLM wrote it
    span: tuple[int, int] | None = None  # where the quote lies in the passage
    evidence: str = ""  # that span, exactly as the passage has it
    context: str = ""  # the passage sentence(s) the span lies in, with those they lean on
    readings: list[str] = field(default_factory=list)  # what the sentence's similarity is measured against
    score: float = 0.0  # similarity of the sentence to its quote
    reason: str = ""  # why it was dropped; empty when verified
    refusal: bool = False  # the LLM's "the article does not answer" phrase

    @property
    def shown(self) -> str:
        """The sentence as the user sees it, with the number of the passage it rests on: "… [2]."."""
        body = self.plain.rstrip()
        end = re.search(r"[.!?…]+$", body)
        return f"{body[:end.start()] if end else body} [{self.passage}]{end.group() if end else '.'}"


@dataclass
class Verdict:
    kept: list[Claim] = field(default_factory=list)
    dropped: list[Claim] = field(default_factory=list)
    refusal: bool = False  # the answer is (only) the refusal phrase

    @property
    def text(self) -> str:
        return " ".join(c.shown for c in self.kept)

    def add(self, claim: Claim) -> None:
        if claim.refusal:
            self.refusal = True
        else:
            (self.dropped if claim.reason else self.kept).append(claim)


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", fold(text)).split())


def is_refusal(plain: str, refusals: list[str]) -> bool:
    said = _normal(plain)
    return bool(said) and any(_normal(r) in said for r in refusals)


def _folded_with_offsets(text: str) -> tuple[str, list[int]]:
    """``text`` folded to lower-case letters, digits and single spaces, and for each character of the result
    the offset of the character of ``text`` it comes from."""
    chars: list[str] = []
    offsets: list[int] = []
    for i, c in enumerate(text):
        for d in unicodedata.normalize("NFKD", c):
            if unicodedata.combining(d):
                continue
            d = d.lower() if d.isalnum() else " "
            if d == " " and (not chars or chars[-1] == " "):
                continue
            chars.append(d)
            offsets.append(i)
    while chars and chars[-1] == " ":
        chars.pop()
        offsets.pop()
    return "".join(chars), offsets


def locate(quote: str, passage: str) -> tuple[int, int] | None:
    """Where the quote lies in the passage (start, end offsets), allowing a few edits; None when it does not."""
    needle, _ = _folded_with_offsets(quote)
    haystack, offsets = _folded_with_offsets(passage)
    if not needle or not haystack:
        return None
    start = f" {haystack} ".find(f" {needle} ")
    if start >= 0:
        end = start + len(needle)
    else:
        alignment = fuzz.partial_ratio_alignment(needle, haystack)
        if alignment.score < MIN_ALIGNMENT:
            return None
        start, end = alignment.dest_start, alignment.dest_end
        while start > 0 and haystack[start - 1] != " ":  # whole words of the passage
            start -= 1
        while end < len(haystack) and haystack[end] != " ":
            end += 1
    first, last = offsets[start], offsets[end - 1] + 1
    while last < len(passage) and passage[last].isalnum():  # a folded "ß"/ligature ends inside a character
        last += 1
    return first, last


def quote_sentences(passage: str, span: tuple[int, int]) -> tuple[list[str], list[str]]:
    """The passage's sentence(s) that the span overlaps, and the sentences before them that the first one
    leans on ("Voor deze groep is gezinshereniging geen optie" names the group in a sentence before), two at
    most."""
    sentences, found, before, position = split_sentences(passage), [], [], 0
    for i, sentence in enumerate(sentences):
        start = passage.find(sentence, position)
        if start < 0:
            continue
        position = start + len(sentence)
        if start < span[1] and span[0] < position:
            if not found and leans_on_antecedent(sentence):
                before = sentences[max(0, i - MAX_ANTECEDENTS):i]
            found.append(sentence)
    return before, found or [passage[span[0]:span[1]]]


def quote_context(passage: str, span: tuple[int, int]) -> str:
    """The quote's sentence(s) with what they lean on: where its numbers, dates and names may be stated."""
    before, found = quote_sentences(passage, span)
    return " ".join(before + found)


def unsupported_specifics(sentence: str, evidence: str) -> list[str]:
    """Numbers, dates and names in the sentence that the evidence does not state, in any language."""
    missing = [f"{n:g}" for n in sorted(numbers_in(sentence) - numbers_in(evidence))]
    missing += sorted(dates_in(sentence) - dates_in(evidence))
    folded = fold(evidence)
    for name in dict.fromkeys(names_in(sentence)):
        if name[0].isdigit():  # "46-year-old": its number is checked above
            continue
        parts = [w for w in re.split(r"[-'’]", fold(name)) if w and not w.isdigit()]
        if name.isupper() and len(name) <= 4:  # "UN" is not "un-"
            present = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", evidence) is not None
        else:  # across languages, or inside a Dutch compound ("Secretary": "staatssecretaris")
            present = all(term_in(part, evidence) or (len(part) >= 6 and part[:-2] in folded) for part in parts)
        if not present:
            missing.append(name)
    return missing


def negated(text: str) -> bool:
    return "n't" in text.lower() or any(w in _NEGATIONS for w in re.findall(r"\w+", fold(text)))


def states_cause(text: str) -> bool:
    return bool(_ENGLISH_CAUSE.search(fold(text))) or has_type(text, "reason")


def is_instruction(text: str) -> bool:
    return bool(_INSTRUCTION.search(text))


class GroundingChecker:
    def __init__(self, embeddings: BotEmbeddings, threshold: float, cache_size: int = 4096) -> None:
        self.embeddings = embeddings
        self.threshold = threshold
        self._vectors = VectorCache(self._encode, cache_size)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors (sentence-similarity prompt), cached by text."""
        return self._vectors.of(texts)

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = self.embeddings.model
        kwargs = {"prompt_name": SIMILARITY_PROMPT} if SIMILARITY_PROMPT in (model.prompts or {}) else {}
        return model.encode(texts, batch_size=16, normalize_embeddings=True, convert_to_numpy=True, **kwargs)

    def anchor(self, claim: Claim, passages: list[str]) -> str:
        """Find the claim's quote in its passage (fills span, evidence, context); the reason when it fails."""
        if claim.passage is None:
            return "cites no passage"
        if not 1 <= claim.passage <= len(passages):
            return f"cites a passage that does not exist ({claim.passage})"
        if len(fold(claim.quote).split()) < MIN_QUOTE_WORDS:
            return "gives no quote" if not claim.quote.strip() else "its quote is too short to rest on"
        passage = passages[claim.passage - 1]
        claim.span = locate(claim.quote, passage)
        if claim.span is None:
            return f"its quote is not in passage {claim.passage}"
        claim.evidence = passage[claim.span[0]:claim.span[1]]
        before, found = quote_sentences(passage, claim.span)
        claim.context = " ".join(before + found)
        # What the sentence may be compared with: the quote, its sentence(s), and those with each sentence
        # they lean on (so that "war refugees" may stand for the quote's "deze groep").
        claim.readings = list(dict.fromkeys([claim.evidence, " ".join(found)]
                                            + [f"{b} {' '.join(found)}" for b in before]))
        if is_instruction(claim.context):
            return "its quote is an instruction in the document, not a statement"
        return ""

    def says_no_more(self, claim: Claim) -> str:
        """Whether the sentence says no more than its quote; the reason when it does."""
        missing = unsupported_specifics(claim.plain, claim.context)
        if missing:
            return f"its quote does not mention {', '.join(missing)}"
        if negated(claim.plain) != negated(claim.evidence):
            return "its negation differs from the quote's"
        if states_cause(claim.plain) and not states_cause(claim.context):
            return "it states a cause its quote does not give"
        vectors = self.encode([claim.plain, *(claim.readings or [claim.evidence])])
        claim.score = float(np.max(vectors[1:] @ vectors[0]))
        if claim.score < self.threshold:
            return f"it says more than its quote (similarity {claim.score:.2f})"
        return ""

    def verify(self, claim: Claim, passages: list[str], refusals: list[str]) -> Claim:
        """Check one claim (sets its reason, or marks it as the refusal phrase) and return it."""
        if is_refusal(claim.plain, refusals):
            claim.refusal = True
            return claim
        claim.reason = self.anchor(claim, passages) or self.says_no_more(claim)
        return claim
