"""Answering, split by concern:

- :mod:`~bot.answering.types`: the public ``Answer`` and ``Source``, and ``clean_question``;
- :mod:`~bot.answering.history`: the conversation as ``answer()`` takes it;
- :mod:`~bot.answering.phrases`: every user-facing phrase, in English and Dutch;
- :mod:`~bot.answering.retrieval`: question -> scored sentences (``Hit``);
- :mod:`~bot.answering.extractive`: the extractive answerer (quote, cite, or abstain);
- :mod:`~bot.answering.service`: the shared ``Bot`` (open, reopen, answer, stream, add_document, documents);
- :mod:`~bot.answering.langchain`: the retrieval as a LangChain retriever.

(Not ``bot/answer/``: a subpackage of that name would replace the function ``bot.answer``.) Names are
imported lazily (and this package imports nothing), so that ``bot.llm`` can import the types without importing
the service: no import cycle.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "Answer": "types", "Source": "types", "clean_question": "types",
    "Bot": "service", "AddedDocument": "service", "DocumentInfo": "service", "DocumentRejected": "service",
    "UnknownDocumentError": "service", "Article": "service", "remove_document": "service",
    "add_document": "service", "answer": "service", "as_retriever": "service", "documents": "service",
    "get_bot": "service", "reset_bot": "service", "stream": "service",
}
__all__ = [
    "AddedDocument", "Answer", "Article", "Bot", "DocumentInfo", "DocumentRejected", "Source", "UnknownDocumentError",
    "add_document", "answer", "as_retriever", "clean_question", "documents", "get_bot", "remove_document",
    "reset_bot", "stream",
]

def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"bot.answering.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'bot.answering' has no attribute {name!r}")
