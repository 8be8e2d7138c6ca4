"""The project's retrieval as a LangChain retriever, for use in one's own chains: ``bot.as_retriever()``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

if TYPE_CHECKING:
    from bot.answering.service import Bot


class BotRetriever(BaseRetriever):
    """The best paragraphs for a query, best first, as Documents: ``page_content`` is the paragraph, the
    metadata is what a :class:`~bot.answering.types.Source` holds (``document`` the title, ``file``, ``paragraph``,
    ``score``, ``highlight``: the matching sentences)."""

    bot: Any  # bot.answering.service.Bot (typed loosely: pydantic would want to validate it)
    k: int = 4

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        bot: Bot = self.bot
        hits = bot._guarded(lambda: bot.retriever.retrieve(query))
        paragraphs: dict[tuple[str, int], Document] = {}
        for hit in hits:
            key = (hit.file, hit.paragraph)
            if key in paragraphs:
                paragraphs[key].metadata["highlight"].append(hit.text)
            elif len(paragraphs) < self.k:
                paragraphs[key] = Document(page_content=hit.passage, metadata={
                    "document": hit.title, "file": hit.file, "paragraph": hit.paragraph,
                    "score": round(hit.context_score, 4), "highlight": [hit.text],
                })
        return list(paragraphs.values())
