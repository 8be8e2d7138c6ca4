"""A saved news page (.html) as the article it holds: its title and paragraphs, without the page around it.

Extraction is trafilatura's (menus, "popular news" lists, cookie notices and footers are left out); this module
only decodes the file by the charset it declares and turns trafilatura's text into the plain-text layout that
:func:`bot.language.text.parse_text` reads (title, blank line, paragraphs separated by blank lines).
"""

from __future__ import annotations

import codecs
import re

HTML_SUFFIXES = (".html", ".htm")

# <meta charset="…">, or <meta http-equiv="Content-Type" content="text/html; charset=…">, in the first 4 kB
# (HTML requires the declaration within the first 1024 bytes; saved pages sometimes put it a little later).
_DECLARED = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


class HtmlError(ValueError):
    """A page that cannot be read as an article (undecodable, or no article text in it)."""


def declared_charset(raw: bytes) -> str | None:
    """The charset the page declares (a byte-order mark first, then its <meta>), or None."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            return name
    match = _DECLARED.search(raw[:4096])
    return match.group(1).decode("ascii").lower() if match else None


def decode_html(raw: bytes) -> str:
    """The page's text, decoded by its declared charset (UTF-8 when it declares none)."""
    charset = declared_charset(raw) or "utf-8"
    try:
        codec = codecs.lookup(charset)
    except LookupError as exc:
        raise HtmlError(f"declares the charset «{charset}», which is unknown; save the page as UTF-8") from exc
    try:
        return raw.decode(codec.name)
    except UnicodeDecodeError as exc:
        raise HtmlError(f"is not valid {charset} text as it declares (byte {exc.start} cannot be decoded); "
                        "save the page again, as UTF-8") from exc


def article_text(html: str) -> str:
    """The article as plain text: its title, a blank line, then its paragraphs separated by blank lines."""
    import trafilatura  # imported when a page is read: ingesting .txt files does not pay for it

    extracted = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, include_tables=False,
                                            include_images=False, favor_precision=True)
    body = (getattr(extracted, "text", None) or "").strip() if extracted is not None else ""
    if not body:
        raise HtmlError("has no article text that could be found (only menus, links or notices?)")
    lines = [" ".join(line.split()) for line in body.splitlines()]
    lines = [line for line in lines if line]
    title = " ".join((getattr(extracted, "title", None) or "").split())
    if lines and title and lines[0] == title:
        lines = lines[1:]
    if not any(line.rstrip().endswith((".", "!", "?", "»", "”", '"', "…")) for line in lines):  # menus, link lists
        raise HtmlError("has no article text that could be found (only a title, menus, links or notices?)")
    return "\n\n".join([title or lines.pop(0), *lines])


def read_html(raw: bytes) -> str:
    """A saved page's bytes → the article as plain text (see :func:`article_text`); HtmlError says why not."""
    return article_text(decode_html(raw))
