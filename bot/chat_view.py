"""How the chat shows answers, sources and documents: HTML in which every piece of text is escaped.

Article text, uploaded documents and questions are data, never markup: everything that comes from a
document or a person goes through :func:`html.escape`, so ``<script>`` or ``<img onerror=…>`` is shown
as text. Each rendered block is a single line of HTML, which Markdown passes through unchanged (an HTML
block ends at a blank line only), so Markdown syntax inside article text has no effect either.

The view also decides how an answer reads: sources are numbered in the order the answer first cites them
(:func:`in_citation_order`; the :class:`Answer` itself is left as the API returns it), quotes and passages
carry their own language (``lang="nl"``), and :func:`announcement` is the plain text a screen reader hears.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.answering import Answer, Article, Source
from bot.language.linguistics import language_of

MARKER = re.compile(r"\[(\d+)\]")
QUOTE = re.compile(r"«[^«»]*»")

WORDS = {
    "en": {
        "sources": "Sources",
        "related": "related, not quoted",
        "paragraph": "paragraph",
        "source": "source",
        "not_answered": "Not in the article",
        "uploaded": "uploaded",
        "paragraphs": "paragraphs",
    },
    "nl": {
        "sources": "Bronnen",
        "related": "verwant, niet geciteerd",
        "paragraph": "alinea",
        "source": "bron",
        "not_answered": "Niet in het artikel",
        "uploaded": "geüpload",
        "paragraphs": "alinea's",
    },
}


def escape(text: object) -> str:
    """Text as HTML text: ``<``, ``>``, ``&`` and quotes become entities."""
    return html.escape(str(text), quote=True)


def _words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["en"])


def _language(text: str) -> str:
    """The language of a quote or passage, for its ``lang`` attribute."""
    return language_of(text)


def _with_markers(text: str) -> str:
    pieces = []
    last = 0
    for match in MARKER.finditer(text):
        pieces.append(escape(text[last:match.start()]))
        pieces.append(f'<span class="nb-marker">[{match.group(1)}]</span>')
        last = match.end()
    pieces.append(escape(text[last:]))
    return "".join(pieces)


def text_with_markers(text: str, language: str = "en") -> str:
    """Escaped answer text whose ``[n]`` citation markers are styled like the numbers of the sources, and
    whose «quotes» carry their own language when it differs from the answer's."""
    pieces = []
    last = 0
    for match in QUOTE.finditer(text):
        pieces.append(_with_markers(text[last:match.start()]))
        quoted = _with_markers(match.group())
        lang = _language(match.group())
        pieces.append(f'<span lang="{lang}">{quoted}</span>' if lang != language else quoted)
        last = match.end()
    pieces.append(_with_markers(text[last:]))
    return "".join(pieces)


def citation_order(text: str) -> dict[int, int]:
    """Old number → new number, in the order the text first cites them ("[2] … [1]" → {2: 1, 1: 2})."""
    order: dict[int, int] = {}
    for match in MARKER.finditer(text):
        order.setdefault(int(match.group(1)), len(order) + 1)
    return order


def renumber(text: str, order: dict[int, int]) -> str:
    return MARKER.sub(lambda m: f"[{order.get(int(m.group(1)), int(m.group(1)))}]", text)


def in_citation_order(answer: Answer) -> tuple[str, list[Source]]:
    """The answer's text and sources with the sources numbered by first citation: the first source the text
    cites is [1]. Sources it does not cite keep their order after the cited ones."""
    cited = [n for n in citation_order(answer.text) if 1 <= n <= len(answer.sources)]
    rest = [n for n in range(1, len(answer.sources) + 1) if n not in cited]
    order = {old: new for new, old in enumerate([*cited, *rest], 1)}
    return renumber(answer.text, order), [answer.sources[old - 1] for old in [*cited, *rest]]


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


def reference_html(file: str, paragraph: int | None = None) -> str:
    """Which document (and paragraph) an element stands for, as hidden escaped JSON that static/chat.js reads
    to open the article (the chat's sanitiser keeps no ``data-`` attributes)."""
    return f'<span class="nb-ref" hidden>{escape(json.dumps({"file": file, "paragraph": paragraph}))}</span>'


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
        f'<p class="nb-passage" lang="{_language(source.text)}">'
        f'{highlighted_passage(source.text, source.highlight)}</p>{reference_html(source.file, source.paragraph)}</div>'
    )


def sources_html(sources: Sequence[Source], language: str, *, open_: bool = True) -> str:
    """A collapsible block of the cited passages, numbered like the markers in the answer."""
    if not sources:
        return ""
    summary = f'{_words(language)["sources"]} <span class="nb-count">{len(sources)}</span>'
    body = "".join(source_html(number, source, language) for number, source in enumerate(sources, 1))
    return f'<details class="nb-sources"{" open" if open_ else ""}><summary>{summary}</summary>{body}</details>'


def plain(text: str) -> str:
    """Answer text as a screen reader should hear it: no ``[n]`` markers."""
    return " ".join(re.sub(r"\s*\[\d+\]", "", text).split())


def announcement(answer: Answer) -> str:
    """What is announced once an answer is complete: its text, then how many sources it has."""
    text, sources = in_citation_order(answer)
    if answer.abstained or not sources:
        return plain(text)
    words = _words(answer.language)
    count = f"{len(sources)} {words['source'] if len(sources) == 1 else words['sources'].lower()}"
    return f"{plain(text)} {count}."


def announce_html(text: str) -> str:
    """What the page's live region says once a message is complete: hidden text inside the message, which
    static/chat.js copies into the region (the chat's sanitiser keeps no ``data-`` attributes)."""
    return f'<div class="nb-announce" hidden>{escape(text)}</div>'


def answer_html(answer: Answer) -> str:
    """The final chat message for an :class:`Answer`: its text, then its sources; an abstention as such."""
    language = answer.language if answer.language in WORDS else "en"
    text, sources = in_citation_order(answer)
    body = f'<div class="nb-text">{text_with_markers(text, language)}</div>'
    said = announce_html(announcement(answer))
    if answer.abstained:
        label = f'<div class="nb-label">{_words(language)["not_answered"]}</div>'
        return f'<div class="nb-reply nb-abstention" lang="{language}">{label}{body}{said}</div>'
    note = f'<div class="nb-note">{escape(answer.note)}</div>' if answer.note else ""
    return (f'<div class="nb-reply nb-answer" lang="{language}">{body}{note}'
            f'{sources_html(sources, language)}{said}</div>')


def partial_answer_html(text: str) -> str:
    """What is shown while an answer streams in (markers numbered by first citation, like the final one)."""
    text = renumber(text, citation_order(text))
    return f'<div class="nb-reply nb-answer nb-streaming"><div class="nb-text">{text_with_markers(text)}</div></div>'


def question_html(question: str, language: str | None = None) -> str:
    """A question as typed, shown as text (line breaks kept, no Markdown, no markup)."""
    lang = f' lang="{language}"' if language in WORDS else ""
    return f'<div class="nb-question"{lang}>{"<br>".join(escape(line) for line in question.splitlines())}</div>'


def problem_html(title: str, message: str) -> str:
    """A problem (bad question, index or model unavailable) shown in the chat as a message, not a crash."""
    return (f'<div class="nb-reply nb-problem"><div class="nb-label">{escape(title)}</div>'
            f'<div class="nb-text">{escape(message)}</div>{announce_html(f"{title}. {message}")}</div>')


@dataclass(frozen=True)
class IndexedDocument:
    name: str  # file name
    title: str
    paragraphs: int
    uploaded: bool = False
    indexed_at: float | None = None  # seconds since the epoch; None: not recorded (an older index)


def indexed_when(timestamp: float | None) -> str:
    if timestamp is None:
        return "indexed: time not recorded"
    return f"indexed {datetime.fromtimestamp(timestamp, UTC).strftime('%Y-%m-%d %H:%M')} UTC"


def documents_html(documents: Sequence[IndexedDocument], language: str = "en", *, removable: bool = False) -> str:
    """The list of indexed articles: each title opens the article; with ``removable``, uploads have a Remove
    button (which asks for a confirmation first)."""
    if not documents:
        return '<div class="nb-docs nb-empty">Nothing is indexed yet: upload a .txt, .md or .html article below.</div>'
    words = _words(language)
    items = []
    for doc in documents:
        meta = f"{escape(doc.name)} · {doc.paragraphs} {words['paragraphs']} · {indexed_when(doc.indexed_at)}"
        if doc.uploaded:
            meta += f' · <span class="nb-uploaded">{words["uploaded"]}</span>'
        remove = ""
        if removable and doc.uploaded:
            remove = (f'<button type="button" class="nb-remove-doc" aria-label="Remove {escape(doc.title)} '
                      f'({escape(doc.name)})">Remove</button>')
        items.append(f'<li><button type="button" class="nb-open-doc nb-doc-title">{escape(doc.title)}</button>'
                     f'<div class="nb-doc-meta">{meta}</div>{remove}{reference_html(doc.name)}</li>')
    return f'<ul class="nb-docs">{"".join(items)}</ul>'


def article_html(article: Article, paragraph: int | None = None, highlight: Sequence[str] = ()) -> str:
    """A whole article for the side panel: its title and paragraphs (escaped), the paragraph ``paragraph`` marked
    as cited (scrolled into view by static/chat.js) with its ``highlight`` sentences inside ``<mark>``."""
    language = _language(" ".join(p.text for p in article.paragraphs[:3]) or article.title)
    body = []
    for item in article.paragraphs:
        if item.heading:
            body.append(f'<h3 class="nb-article-h" id="nb-p-{item.number}">{escape(item.text)}</h3>')
            continue
        cited = item.number == paragraph
        text = highlighted_passage(item.text, highlight) if cited else escape(item.text)
        label = ' aria-label="cited paragraph"' if cited else ""
        body.append(f'<p class="nb-article-p{" nb-cited" if cited else ""}" id="nb-p-{item.number}"{label}>'
                    f'<span class="nb-p-number" aria-hidden="true">{item.number}</span>{text}</p>')
    where = f"{escape(article.file)} · {len(article.paragraphs)} paragraphs"
    if paragraph is not None:
        where += f" · paragraph {paragraph} cited"
    return (f'<article class="nb-article" lang="{language}" data-file="{escape(article.file)}" '
            'aria-labelledby="nb-article-title">'
            f'<h2 class="nb-article-title" id="nb-article-title" tabindex="-1">{escape(article.title)}</h2>'
            f'<div class="nb-article-meta" lang="en">{where}</div>{"".join(body)}</article>')


def status_html(message: str, *, ok: bool) -> str:
    """The result of an upload (shown inside the page's one status region, which announces it)."""
    kind = "nb-ok" if ok else "nb-error"
    return f'<div class="nb-status {kind}">{escape(message)}</div>'


def input_error_html(message: str) -> str:
    """Why a question was not sent (it stays in the box), shown beside the box."""
    return f'<div class="nb-input-error">{escape(message)}{announce_html(message)}</div>'
