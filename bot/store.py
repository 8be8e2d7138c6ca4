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
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from bot.settings import Settings
from bot.store_errors import (
    DiskFullError,
    IndexMissingError,
    IndexReadOnlyError,
    ModelMismatchError,
    StoreError,
    StoreUnavailableError,
    as_store_error,
    describe_store_error,
    store_guard,
    where,
)

if TYPE_CHECKING:
    import chromadb
    from langchain_chroma import Chroma

    from bot.embedding import BotEmbeddings

MODEL_KEY = "embedding_model"
SCHEMA_KEY = "schema"
SCHEMA_VERSION = "1"
CONNECT_TIMEOUT_SECONDS = 5.0
REQUEST_TIMEOUT_SECONDS = 60.0

__all__ = [
    "DiskFullError", "IndexMissingError", "IndexReadOnlyError", "ModelMismatchError", "Store", "StoreError",
    "StoreUnavailableError", "as_store_error", "describe_store_error", "forget_embedded", "make_client", "open_store",
    "store_guard", "where",
]


def make_client(settings: Settings) -> chromadb.ClientAPI:
    """An HttpClient when BOT_CHROMA_URL is set, else a PersistentClient at BOT_INDEX_DIR."""
    if settings.chroma_url:
        return _http_client(settings)
    return _persistent_client(settings)


def _http_client(settings: Settings) -> chromadb.ClientAPI:
    import chromadb
    import httpx
    from chromadb.config import Settings as ChromaSettings

    url = urlparse(settings.chroma_url or "")
    if url.scheme not in ("http", "https") or not url.hostname:
        raise StoreUnavailableError(f"BOT_CHROMA_URL={settings.chroma_url!r} is not an http(s) URL, "
                                    "e.g. http://127.0.0.1:8000.")
    token = settings.chroma_token
    token = token.get_secret_value() if hasattr(token, "get_secret_value") else token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    base = f"{url.scheme}://{url.hostname}:{url.port or 8000}"
    try:
        # Our own heartbeat first: Chroma's client waits forever for a server that accepts but never answers.
        httpx.get(f"{base}/api/v2/heartbeat", headers=headers, timeout=CONNECT_TIMEOUT_SECONDS).raise_for_status()
        client = chromadb.HttpClient(
            host=url.hostname, port=url.port or 8000, ssl=url.scheme == "https", headers=headers or None,
            tenant=settings.chroma_tenant, database=settings.chroma_database,
            settings=ChromaSettings(anonymized_telemetry=False),
        )
    except Exception as exc:
        if isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code in (401, 403):
            raise StoreUnavailableError(f"The Chroma server at {settings.chroma_url} refused the credentials "
                                        "(check BOT_CHROMA_TOKEN).") from exc
        raise as_store_error(settings, exc) from exc
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):  # Chroma sets no timeout: a hung server would hang every request
        session.timeout = httpx.Timeout(REQUEST_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
    return client


def _persistent_client(settings: Settings) -> chromadb.ClientAPI:
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient
    from chromadb.config import Settings as ChromaSettings

    path = str(settings.index_dir)
    try:
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=path, settings=ChromaSettings(anonymized_telemetry=False))
    except Exception as exc:
        # Chroma caches one system per path, even a half-started one: forget it, so a retry starts afresh.
        SharedSystemClient._identifier_to_system.pop(path, None)
        raise as_store_error(settings, exc) from exc


def forget_embedded(settings: Settings) -> None:
    """Make the next open of an embedded index start a new Chroma system. Chroma keeps one per path and
    process, and after some failures (a full disk during compaction) that one serves stale data or hangs.
    Objects opened before keep the old one."""
    if not settings.chroma_url:
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(str(settings.index_dir), None)


@dataclass
class Store:
    """The opened collections. Create with :func:`open_store`."""

    settings: Settings
    client: Any
    chunks: Any  # chromadb Collection
    markers: Any  # chromadb Collection
    embeddings: BotEmbeddings | None = None

    @cached_property
    def vectorstore(self) -> Chroma:
        """The chunks as a LangChain vector store, made on first use: answering queries the collection itself
        and does not pay for importing ``langchain_chroma`` (~1 s of a cold start, see bench/cold.py)."""
        from langchain_chroma import Chroma

        return Chroma(client=self.client, collection_name=self.chunks.name, embedding_function=self.embeddings,
                      create_collection_if_not_exists=False)

    def model_recorded(self) -> str | None:
        return (self.chunks.metadata or {}).get(MODEL_KEY)

    def complete_documents(self) -> dict[str, dict]:
        """Marker metadata of every completely ingested document, by document name."""
        with store_guard(self.settings):
            got = self.markers.get(include=["metadatas"])
        return {meta["document"]: meta for meta in got["metadatas"] or []}

    def reset(self) -> None:
        """Drop both collections (used for a rebuild with another model)."""
        with store_guard(self.settings):
            for name in (self.chunks.name, self.markers.name):
                self.client.delete_collection(name)


def open_store(settings: Settings, embeddings: BotEmbeddings, *, create: bool = True,
               allow_model_change: bool = False) -> Store:
    """Open (or create) the collections and check that they were built with this embedding model."""
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
        raise as_store_error(settings, exc) from exc

    recorded = (chunks.metadata or {}).get(MODEL_KEY)
    if recorded != embeddings.identity and not allow_model_change:
        raise ModelMismatchError(
            f"The index at {where(settings)} was built with the embedding model '{recorded}', "
            f"but the bot is configured for '{embeddings.identity}'. Vectors of two models cannot be mixed: "
            "rebuild with `python -m bot ingest --rebuild`, or set BOT_MODEL back."
        )
    return Store(settings, client, chunks, markers, embeddings)

