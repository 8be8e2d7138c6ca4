"""The grounding check: every sentence of a generated answer must cite a passage that supports it.

A sentence is *supported* when
- it cites at least one of the numbered passages the LLM was given (``[n]``);
- its embedding is close enough (cosine >= threshold) to a sentence of a cited passage, two adjacent
  sentences, or the whole passage. EmbeddingGemma is cross-lingual, so an English sentence is checked
  against Dutch evidence;
- every number and every acronym-like name it states (D66, VVD, ChristenUnie, UN) occurs in a cited
  passage: embeddings barely notice "300" for "tweehonderd" or a party swapped for another.

Sentences that fail are dropped; the caller decides what is left to show. The threshold is calibrated by
``bench/grounding_calibration.py``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from bot.language.text import split_sentences
from bot.llm.numbers import numbers_in
from bot.model.cache import VectorCache

if TYPE_CHECKING:
    from bot.model.embedding import BotEmbeddings

SIMILARITY_PROMPT = "STS"  # EmbeddingGemma: "task: sentence similarity | query: "
_CITE = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
# Markers written after the full stop ("… optie. [2]") belong to the sentence before them.
_TRAILING_CITES = re.compile(r"([.!?…]+)((?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+)")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_STRONG_NAME = re.compile(r"\b(?:[A-Z]{2,}\w*|\w*\d\w*|[A-Z][a-z]+[A-Z]\w*)\b")


@dataclass
class Claim:
    text: str  # as generated, markers included
    plain: str  # without markers or markup
    cites: list[int]
    score: float = 0.0  # best similarity with a cited passage's sentence(s)
    evidence: str = ""  # that sentence (or pair)
    reason: str = ""  # why it was dropped; empty when supported


@dataclass
class Verdict:
    kept: list[Claim] = field(default_factory=list)
    dropped: list[Claim] = field(default_factory=list)
    refusal: bool = False  # the answer is (only) the refusal phrase

    @property
    def text(self) -> str:
        return " ".join(c.text for c in self.kept)


def split_claims(answer: str) -> list[Claim]:
    """The answer's sentences, each with the passage numbers it cites."""
    claims = []
    text = answer.replace("**", "").replace("__", "")
    for line in text.splitlines():
        line = _TRAILING_CITES.sub(lambda m: f"{m.group(2).strip()}{m.group(1)}", _BULLET.sub("", line))
        for sentence in split_sentences(line):
            cites = [int(n) for group in _CITE.findall(sentence) for n in re.split(r"[,;]", group)]
            plain = " ".join(_CITE.sub(" ", sentence).split())
            plain = re.sub(r"\s+([.,;:!?…])", r"\1", plain)
            if any(c.isalnum() for c in plain):
                claims.append(Claim(sentence.strip(), plain, list(dict.fromkeys(cites))))
    return claims


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def is_refusal(plain: str, refusals: list[str]) -> bool:
    said = _normal(plain)
    return any(_normal(r) in said for r in refusals)


def evidence_units(passage: str) -> list[str]:
    """Each sentence of the passage, each pair of adjacent sentences, and the whole passage (a generated
    sentence often joins two of its sentences; triples were tried and kept more invented sentences)."""
    sentences = split_sentences(passage)
    whole = [" ".join(sentences)] if len(sentences) > 2 else []
    return sentences + [f"{a} {b}" for a, b in itertools.pairwise(sentences)] + whole


def unsupported_specifics(claim: str, evidence: str) -> list[str]:
    """Numbers and acronym-like names in the claim that the evidence does not contain."""
    missing = [f"{n:g}" for n in sorted(numbers_in(claim) - numbers_in(evidence))]
    for name in dict.fromkeys(_STRONG_NAME.findall(claim)):
        if name.isdigit():
            continue
        flags = 0 if name.isupper() else re.IGNORECASE  # "UN" is not "un-"; "Christenunie" is ChristenUnie
        if not re.search(rf"(?<!\w){re.escape(name)}(?![^\W\d_])", evidence, flags):
            missing.append(name)
    return missing


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

    def score(self, claim: str, passages: list[str]) -> tuple[float, str]:
        """Best similarity of the claim with a sentence (or pair) of the passages, and that evidence."""
        units = [u for p in passages for u in evidence_units(p)]
        if not units:
            return 0.0, ""
        vectors = self.encode([claim, *units])
        similarities = vectors[1:] @ vectors[0]
        best = int(np.argmax(similarities))
        return float(similarities[best]), units[best]

    def check(self, answer: str, passages: list[str], refusals: list[str]) -> Verdict:
        """Split the answer into claims and keep those that the passages they cite support."""
        verdict = Verdict()
        claims = split_claims(answer)
        for claim in claims:
            if is_refusal(claim.plain, refusals):
                verdict.refusal = True
                continue
            cited = [passages[n - 1] for n in claim.cites if 1 <= n <= len(passages)]
            if not claim.cites:
                claim.reason = "cites no passage"
            elif not cited:
                claim.reason = f"cites a passage that does not exist ({', '.join(map(str, claim.cites))})"
            else:
                claim.score, claim.evidence = self.score(claim.plain, cited)
                missing = unsupported_specifics(claim.plain, " ".join(cited))
                if claim.score < self.threshold:
                    claim.reason = f"not supported by the cited passage (similarity {claim.score:.2f})"
                elif missing:
                    claim.reason = f"the cited passage does not mention {', '.join(missing)}"
            (verdict.dropped if claim.reason else verdict.kept).append(claim)
        verdict.refusal = verdict.refusal and not verdict.kept
        return verdict
