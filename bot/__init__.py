"""A question-answering bot over news articles: ``from bot import answer``.

Imports are lazy so that ``import bot`` (and CLI commands that need no model) stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Answer", "Source", "add_document", "answer", "as_retriever", "documents", "remove_document", "stream"]

if TYPE_CHECKING:
    from bot.answering import Answer, Source, add_document, answer, as_retriever, documents, remove_document, stream


def __getattr__(name: str) -> Any:
    if name in __all__:
        import bot.answering

        return getattr(bot.answering, name)
    raise AttributeError(f"module 'bot' has no attribute {name!r}")
