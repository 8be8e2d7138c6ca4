"""The project's retrieval as a LangChain retriever, for use in one's own chains: ``bot.as_retriever()``."""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from bot.answering.retrieval import Hit


class BotRetriever(BaseRetriever):
    """The best paragraphs for a query, best first, as Documents: ``page_content`` is the paragraph, the
    metadata is what a :class:`~bot.answering.types.Source` holds (``document`` the title, ``file``, ``paragraph``,
    ``score``, ``highlight``: the matching sentences)."""

    retrieve: Callable[[str], list[Hit]]  # Bot.retrieve: the service's current retriever, guarded
    k: int = 4

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        hits = self.retrieve(query)
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
