"""How the chat shows answers, sources and documents: HTML in which every piece of text is escaped.

Article text, uploaded documents and questions are data, never markup: everything that comes from a
document or a person goes through :func:`html.escape`, so ``<script>`` or ``<img onerror=…>`` is shown
as text. Each rendered block is a single line of HTML, which Markdown passes through unchanged (an HTML
block ends at a blank line only), so Markdown syntax inside article text has no effect either.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.answering import Answer, Source

MARKER = re.compile(r"\[(\d+)\]")
# Characters with a meaning in Markdown; escaped with a backslash in text shown through Markdown.
MARKDOWN_SPECIALS = "\\`*_{}[]()#+-.!|~$"
_MARKDOWN_SPECIAL = re.compile("([" + re.escape(MARKDOWN_SPECIALS) + "])")
_MARKDOWN_ESCAPED = re.compile(r"\\([" + re.escape(MARKDOWN_SPECIALS) + "])")
_REPLY_TEXT = re.compile(r'<div class="nb-text"[^>]*>(.*?)</div>', re.DOTALL)
_TAG = re.compile(r"<[^>]*>")

WORDS = {
    "en": {
        "sources": "Sources",
        "related": "related, not quoted",
        "paragraph": "paragraph",
        "not_answered": "Not in the article",
        "uploaded": "uploaded",
        "paragraphs": "paragraphs",
    },
    "nl": {
        "sources": "Bronnen",
        "related": "verwant, niet geciteerd",
        "paragraph": "alinea",
        "not_answered": "Niet in het artikel",
        "uploaded": "geüpload",
        "paragraphs": "alinea's",
    },
}


def escape(text: object) -> str:
    """Text as HTML text: ``<``, ``>``, ``&`` and quotes become entities."""
    return html.escape(str(text), quote=True)


def literal_markdown(text: str) -> str:
    """Text that a Markdown renderer shows exactly as typed: no tags, no emphasis, no links, no images.

    :func:`from_literal_markdown` reverses it exactly.
    """
    return html.escape(_MARKDOWN_SPECIAL.sub(r"\\\1", text), quote=False)


def from_literal_markdown(text: str) -> str:
    return _MARKDOWN_ESCAPED.sub(r"\1", html.unescape(text))


def _words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["en"])


def text_with_markers(text: str) -> str:
    """Escaped answer text whose ``[n]`` citation markers are styled like the numbers of the sources."""
    pieces = []
    last = 0
    for match in MARKER.finditer(text):
        pieces.append(escape(text[last:match.start()]))
        pieces.append(f'<span class="nb-marker">[{match.group(1)}]</span>')
        last = match.end()
    pieces.append(escape(text[last:]))
    return "".join(pieces)


def _spans(passage: str, sentences: Iterable[str]) -> list[tuple[int, int]]:
    spans = []
    for sentence in sentences:
        sentence = sentence.strip()
        start = passage.find(sentence) if sentence else -1
        if start >= 0:
            spans.append((start, start + len(sentence)))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlighted_passage(passage: str, highlight: Sequence[str]) -> str:
    """The escaped paragraph with its evidence sentences inside ``<mark>``."""
    pieces = []
    last = 0
    for start, end in _spans(passage, highlight):
        pieces.append(escape(passage[last:start]))
        pieces.append(f"<mark>{escape(passage[start:end])}</mark>")
        last = end
    pieces.append(escape(passage[last:]))
    return "".join(pieces)


def source_html(number: int, source: Source, language: str) -> str:
    words = _words(language)
    where = f"{words['paragraph']} {source.paragraph}"
    if source.file:
        where += f" · {escape(source.file)}"
    if not source.cited:
        where += f" · {words['related']}"
    return (
        f'<div class="nb-source"><div class="nb-source-head"><span class="nb-marker">[{number}]</span> '
        f'<span class="nb-doc">{escape(source.document)}</span> <span class="nb-where">{where}</span></div>'
        f'<p class="nb-passage">{highlighted_passage(source.text, source.highlight)}</p></div>'
    )


def sources_html(sources: Sequence[Source], language: str, *, open_: bool = True) -> str:
    """A collapsible block of the cited passages, numbered like the markers in the answer."""
    if not sources:
        return ""
    summary = f'{_words(language)["sources"]} <span class="nb-count">{len(sources)}</span>'
    body = "".join(source_html(number, source, language) for number, source in enumerate(sources, 1))
    return f'<details class="nb-sources"{" open" if open_ else ""}><summary>{summary}</summary>{body}</details>'


def answer_html(answer: Answer) -> str:
    """The final chat message for an :class:`Answer`: its text, then its sources; an abstention as such."""
    language = html.escape(answer.language if answer.language in WORDS else "en")
    text = f'<div class="nb-text">{text_with_markers(answer.text)}</div>'
    if answer.abstained:
        label = f'<div class="nb-label">{_words(language)["not_answered"]}</div>'
        return f'<div class="nb-reply nb-abstention" lang="{language}">{label}{text}</div>'
    note = f'<div class="nb-note">{escape(answer.note)}</div>' if answer.note else ""
    return (f'<div class="nb-reply nb-answer" lang="{language}">{text}{note}'
            f"{sources_html(answer.sources, language)}</div>")


def partial_answer_html(text: str) -> str:
    """What is shown while an answer streams in."""
    return f'<div class="nb-reply nb-answer nb-streaming"><div class="nb-text">{text_with_markers(text)}</div></div>'


def problem_html(title: str, message: str) -> str:
    """A problem (bad question, index or model unavailable) shown in the chat as a message, not a crash."""
    return (f'<div class="nb-reply nb-problem" role="alert"><div class="nb-label">{escape(title)}</div>'
            f'<div class="nb-text">{escape(message)}</div></div>')


def reply_text(reply: str) -> str:
    """The plain answer text of a rendered reply (what :func:`answer` returned), for the chat history."""
    match = _REPLY_TEXT.search(reply)
    if not match or "nb-problem" in reply[:match.start()]:
        return ""
    return html.unescape(_TAG.sub("", match.group(1)))


@dataclass(frozen=True)
class IndexedDocument:
    name: str  # file name
    title: str
    paragraphs: int
    uploaded: bool = False


def documents_html(documents: Sequence[IndexedDocument], language: str = "en") -> str:
    """The list of indexed articles."""
    if not documents:
        return '<div class="nb-docs nb-empty">Nothing is indexed yet: upload a .txt or .md article below.</div>'
    words = _words(language)
    items = []
    for doc in documents:
        meta = f"{escape(doc.name)} · {doc.paragraphs} {words['paragraphs']}"
        if doc.uploaded:
            meta += f' · <span class="nb-uploaded">{words["uploaded"]}</span>'
        items.append(f'<li><div class="nb-doc-title">{escape(doc.title)}</div>'
                     f'<div class="nb-doc-meta">{meta}</div></li>')
    return f'<ul class="nb-docs">{"".join(items)}</ul>'


def status_html(message: str, *, ok: bool) -> str:
    """The result of an upload."""
    kind = "nb-ok" if ok else "nb-error"
    return f'<div class="nb-status {kind}" role="status">{escape(message)}</div>'
