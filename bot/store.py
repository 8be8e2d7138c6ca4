"""The Chroma vector store: embedded (PersistentClient at index/) or a Chroma server (HttpClient).

Two collections:
- ``<collection>``: one record per sentence and view (``sentence``: the sentence alone; ``context``:
  the sentence after its preceding sentence or heading), with LangChain ``Document`` metadata.
- ``<collection>-documents``: one marker per *completely* ingested document version. A document's
  chunks are written first and its marker last, so readers only trust chunks whose ``doc_hash`` has a
  marker: a killed ingestion never serves half a document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from bot.settings import Settings

if TYPE_CHECKING:
    import chromadb
    from langchain_chroma import Chroma

    from bot.embedding import BotEmbeddings

MODEL_KEY = "embedding_model"
SCHEMA_KEY = "schema"
SCHEMA_VERSION = "1"


class StoreError(RuntimeError):
    """Base for index problems shown to users."""


class StoreUnavailableError(StoreError):
    """The Chroma server cannot be reached (or the index folder cannot be opened)."""


class ModelMismatchError(StoreError):
    """The index was built with another embedding model."""


class IndexMissingError(StoreError):
    """Nothing has been ingested yet."""


def make_client(settings: Settings) -> chromadb.ClientAPI:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            headers = {"Authorization": f"Bearer {settings.chroma_token}"} if settings.chroma_token else None
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1", port=url.port or 8000, ssl=url.scheme == "https",
                headers=headers, tenant=settings.chroma_tenant, database=settings.chroma_database,
                settings=chroma_settings,
            )
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)
    except Exception as exc:
        raise StoreUnavailableError(describe_store_error(settings, exc)) from exc


def describe_store_error(settings: Settings, exc: BaseException) -> str:
    target = f"the Chroma server at {settings.chroma_url}" if settings.chroma_url else f"the index {settings.index_dir}"
    return f"Cannot use {target}: {type(exc).__name__}: {exc}"


@dataclass
class Store:
    """The opened collections. Create with :func:`open_store`."""

    settings: Settings
    client: Any
    chunks: Any  # chromadb Collection
    markers: Any  # chromadb Collection
    vectorstore: Chroma

    def model_recorded(self) -> str | None:
        return (self.chunks.metadata or {}).get(MODEL_KEY)

    def complete_documents(self) -> dict[str, dict]:
        """Marker metadata of every completely ingested document, by document name."""
        got = self.markers.get(include=["metadatas"])
        return {meta["document"]: meta for meta in got["metadatas"] or []}

    def reset(self) -> None:
        """Drop both collections (used for a rebuild with another model)."""
        for name in (self.chunks.name, self.markers.name):
            self.client.delete_collection(name)


def open_store(settings: Settings, embeddings: BotEmbeddings, *, create: bool = True,
               allow_model_change: bool = False) -> Store:
    """Open (or create) the collections and check that they were built with this embedding model."""
    from langchain_chroma import Chroma

    client = make_client(settings)
    metadata = {MODEL_KEY: embeddings.identity, SCHEMA_KEY: SCHEMA_VERSION}
    try:
        if create:
            chunks = client.get_or_create_collection(
                settings.collection, metadata=metadata, configuration={"hnsw": {"space": "cosine"}}
            )
            markers = client.get_or_create_collection(f"{settings.collection}-documents", metadata=metadata)
        else:
            try:
                chunks = client.get_collection(settings.collection)
                markers = client.get_collection(f"{settings.collection}-documents")
            except Exception as exc:
                if "does not exist" in str(exc) or "NotFound" in type(exc).__name__:
                    raise IndexMissingError(
                        f"No index yet at {where(settings)}: run `python -m bot ingest` (or `make index`)."
                    ) from exc
                raise
    except StoreError:
        raise
    except Exception as exc:
        raise StoreUnavailableError(describe_store_error(settings, exc)) from exc

    recorded = (chunks.metadata or {}).get(MODEL_KEY)
    if recorded != embeddings.identity and not allow_model_change:
        raise ModelMismatchError(
            f"The index at {where(settings)} was built with the embedding model '{recorded}', "
            f"but the bot is configured for '{embeddings.identity}'. Vectors of two models cannot be mixed: "
            "rebuild with `python -m bot ingest --rebuild`, or set BOT_MODEL back."
        )
    vectorstore = Chroma(client=client, collection_name=chunks.name, embedding_function=embeddings,
                         create_collection_if_not_exists=False)
    return Store(settings, client, chunks, markers, vectorstore)


def where(settings: Settings) -> str:
    if settings.chroma_url:
        return f"{settings.chroma_url} (collection '{settings.collection}')"
    return f"{settings.index_dir} (collection '{settings.collection}')"
