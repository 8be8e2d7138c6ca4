"""Reading a quote-anchored answer as it streams: each sentence with the passage number and the quote it
rests on, as soon as its last character has arrived.

Forgiving of what small models write. Accepted, mixed freely:
- JSON objects ``{"sentence": ..., "passage": n, "quote": ...}``, one per line or inside any wrapper
  (``{"sentences": [...]}`` as structured output gives it); ``text``/``claim`` and ``evidence`` are
  accepted for ``sentence`` and ``quote``, and ``"[2]"`` or ``"2"`` for the passage number;
- a sentence followed by ``[n: «quote»]`` (or with "…", “…” or '…' around the quote).

Anything else (a sentence with no quote, broken JSON) becomes a claim without a passage or quote, which the
check drops; the refusal phrase, written any of these ways, is recognised by the check.
"""

from __future__ import annotations

import json
import re

from bot.language.text import split_sentences
from bot.llm.grounding import Claim

_BRACKET = re.compile(r"\[\s*(\d+)\s*[:,]\s*[«\"“„'‘]\s*(.+?)\s*[»\"”'’]\s*\]", re.S)
_CITE = re.compile(r"\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]")
_SENTENCE_KEYS = ("sentence", "text", "claim")
_QUOTE_KEYS = ("quote", "evidence", "citation")
_PASSAGE_KEYS = ("passage", "source", "n")
_JSON_DEBRIS = re.compile(r"```(?:json)?|[{}\[\]]|,(?=\s*[\"{\[\]}]|\s*$)|\"\w+\"\s*:")


def plain(sentence: str) -> str:
    """The sentence without citation markers or markup."""
    text = " ".join(_CITE.sub(" ", sentence.replace("**", "").replace("__", "")).split())
    return re.sub(r"\s+([.,;:!?…])", r"\1", text).strip(" -*•")


def _number(value: object) -> int | None:
    match = re.search(r"\d+", str(value)) if value is not None else None
    return int(match.group()) if match else None


def _from_json(obj: dict) -> Claim | None:
    sentence = next((obj[k] for k in _SENTENCE_KEYS if isinstance(obj.get(k), str)), None)
    if sentence is None:
        return None
    quote = next((obj[k] for k in _QUOTE_KEYS if isinstance(obj.get(k), str)), "")
    passage = next((_number(obj[k]) for k in _PASSAGE_KEYS if k in obj), None)
    return Claim(text=sentence.strip(), plain=plain(sentence), passage=passage, quote=quote.strip())


def _json_objects(text: str) -> tuple[list[tuple[int, int, dict]], int]:
    """Complete innermost ``{...}`` objects of the text (start, end, value), strings skipped over; and where
    the first object still open starts (the text's length when none is)."""
    found, stack, in_string, escaped = [], [], False, False
    for i, c in enumerate(text):
        if in_string:
            escaped = not escaped and c == "\\"
            if c == '"' and not escaped:
                in_string = False
            elif c != "\\":
                escaped = False
            continue
        if c == '"':
            in_string = True
        elif c == "{":
            stack.append([i, False])  # start, has a nested object
        elif c == "}" and stack:
            start, nested = stack.pop()
            if stack:
                stack[-1][1] = True
            if not nested:
                try:
                    value = json.loads(text[start:i + 1])
                except ValueError:
                    continue
                if isinstance(value, dict):
                    found.append((start, i + 1, value))
    return found, stack[0][0] if stack else len(text)


def _loose(text: str) -> list[Claim]:
    """Sentences written without a quote (or as broken JSON): claims without a passage or quote."""
    claims = []
    text = re.sub(r"(?<=[.!?…])\s+[.!?…]+", "", _JSON_DEBRIS.sub(" ", text))
    for line in text.splitlines():
        for sentence in split_sentences(line):
            cleaned = plain(sentence.strip(" \"'"))
            if any(c.isalnum() for c in cleaned) and not re.fullmatch(r"[\w\s]*:\s*\"?", cleaned):
                claims.append(Claim(text=sentence.strip(), plain=cleaned))
    return claims


class QuoteParser:
    """Feed it the streamed text; it returns each claim once, as soon as it is complete."""

    def __init__(self) -> None:
        self.buffer = ""
        self._emitted = 0

    def _complete(self) -> tuple[list[tuple[int, int, Claim]], str]:
        """Every complete claim of the buffer, in order, and the text that belongs to none."""
        items: list[tuple[int, int, Claim]] = []
        objects, open_at = _json_objects(self.buffer)
        for start, end, value in objects:
            claim = _from_json(value)
            if claim is not None:
                items.append((start, end, claim))
        rest = list(self.buffer)
        for start, end, _ in items:
            rest[start:end] = " " * (end - start)
        outside = "".join(rest)
        previous = 0
        # Not inside an object still being written: its sentence may hold what looks like a marker.
        for match in _BRACKET.finditer(outside[:open_at]):
            before = outside[previous:match.start()]
            sentences = split_sentences(" ".join(_JSON_DEBRIS.sub(" ", before).split()))
            if sentences:
                sentence = sentences[-1].lstrip(".!?;:, ")
                items.append((match.start(), match.end(), Claim(text=sentence, plain=plain(sentence),
                                                                passage=int(match.group(1)),
                                                                quote=match.group(2).strip())))
                at = outside.rfind(sentence, previous, match.start())
                if at >= 0:  # the earlier sentences of ``before`` stay loose
                    outside = outside[:at] + " " * (match.end() - at) + outside[match.end():]
                else:
                    outside = outside[:match.start()] + " " * (match.end() - match.start()) + outside[match.end():]
            previous = match.end()
        items.sort(key=lambda item: item[0])
        return items, outside

    def feed(self, piece: str) -> list[Claim]:
        """The claims completed by this piece."""
        self.buffer += piece
        items, _ = self._complete()
        fresh = [claim for _, _, claim in items[self._emitted:]]
        self._emitted = len(items)
        return fresh

    def finish(self) -> list[Claim]:
        """The claims not returned yet, then the sentences that came without a quote."""
        items, outside = self._complete()
        fresh = [claim for _, _, claim in items[self._emitted:]]
        self._emitted = len(items)
        return fresh + _loose(outside)


def parse(text: str) -> list[Claim]:
    """Every claim of a whole answer."""
    parser = QuoteParser()
    return parser.feed(text) + parser.finish()
