"""The index: Chroma, embedded (PersistentClient at index/) or a server (HttpClient), behind :class:`Index`.

The only module that talks to Chroma (with :mod:`bot.index.locks`). Every operation is guarded: Chroma's
failures come out as the typed :class:`~bot.index.errors.StoreError`s. What is stored is described in
:mod:`bot.index.schema`.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlparse

import bot.index.schema as schema
from bot.index.errors import (
    IndexMissingError,
    IndexOutdatedError,
    ModelMismatchError,
    StoreError,
    StoreUnavailableError,
    as_store_error,
    ensure_free_space,
    retry_when_busy,
    store_guard,
    where,
)
from bot.index.locks import Lease, document_lock
from bot.index.schema import ChunkRecord, Marker, Status
from bot.settings import Settings

TIE_SLACK = 8  # results read beyond k, so that chunks tied at the k-th place are chosen by the tie-break
# HNSW built in one thread and searched near-exhaustively: the same question finds the same sentences in every
# process. With Chroma's defaults (two build threads, ef_search 100) each process rebuilds its own graph from
# the log, and a query missed a true neighbour for 1-3 % of the questions, different ones in each process.
SEARCH_CONFIGURATION = {"ef_search": 512, "num_threads": 1}

if TYPE_CHECKING:
    import chromadb

CONNECT_TIMEOUT_SECONDS = 5.0
REQUEST_TIMEOUT_SECONDS = 60.0
T = TypeVar("T")


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
    # Chroma's private API, unavoidably: its HttpClient takes no timeout, and its httpx session is not public.
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
        # Chroma's private API, unavoidably: it offers no public way to drop that cache.
        SharedSystemClient._identifier_to_system.pop(path, None)
        raise as_store_error(settings, exc) from exc


def forget_embedded(settings: Settings) -> None:
    """Make the next open of an embedded index start a new Chroma system. Chroma keeps one per path and
    process, and after some failures (a full disk during compaction) that one serves stale data or hangs.
    Objects opened before keep the old one."""
    if not settings.chroma_url:
        from chromadb.api.shared_system_client import SharedSystemClient  # private API, as above

        SharedSystemClient._identifier_to_system.pop(str(settings.index_dir), None)


class HasIdentity(Protocol):
    identity: str  # the embedding model's identity (BotEmbeddings has it)


def _guarded(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def call(self: Index, *args: Any, **kwargs: Any) -> T:
        with store_guard(self.settings):
            return retry_when_busy(lambda: method(self, *args, **kwargs))

    return call


def _sha(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


class Index:
    """The opened collections and every operation the bot needs on them. Create with :func:`open_index`.

    ``chunks`` is the raw Chroma collection, for tests and benchmarks only; the bot itself uses the methods.
    """

    def __init__(self, settings: Settings, client: Any, chunks: Any, markers: Any,
                 files: Sequence[str] | None = None) -> None:
        self.settings = settings
        self.client = client  # chromadb ClientAPI
        self.chunks = chunks  # chromadb Collection
        self.marker_collection = markers  # chromadb Collection (raw, as chunks)
        self.scope_files = sorted(set(files)) if files is not None else None  # None: every document

    def scoped(self, files: Sequence[str]) -> Index:
        """The same index, read as if it held only these documents (by file name): what the reading operations
        (``has_documents``, ``markers``, ``titles``, ``query``, ``contains_text``) see. Writing is not scoped."""
        return Index(self.settings, self.client, self.chunks, self.marker_collection, files=files)

    def _in_scope(self) -> dict[str, Any] | None:
        """The ``where`` condition of the scope, or None when every document is read."""
        return None if self.scope_files is None else {schema.FILE: {"$in": list(self.scope_files)}}

    # ------------------------------------------------------------ reading

    @_guarded
    def has_documents(self) -> bool:
        if self.scope_files is not None:
            return bool(self.markers())
        return bool(self.marker_collection.count())

    @_guarded
    def markers(self) -> dict[str, Marker]:
        """Every completely ingested document version (in the scope), by file name."""
        got = self.marker_collection.get(where=self._in_scope(), include=["metadatas"])
        return {marker.file: marker for marker in map(Marker.from_metadata, got["metadatas"] or [])}

    def complete_documents(self) -> dict[str, dict]:
        """The markers' raw metadata, by file name (for tests and tools; the bot uses :meth:`markers`)."""
        return {file: marker.metadata() for file, marker in self.markers().items()}

    def titles(self) -> list[str]:
        """Titles of every completely ingested document."""
        return sorted({marker.title for marker in self.markers().values()})

    @_guarded
    def query(self, vector: Sequence[float], k: int) -> list[tuple[ChunkRecord, float]]:
        """The k chunks most similar to ``vector`` (cosine similarity), of completely ingested versions only.

        Usually the top k all belong to completely ingested versions, and the plain query, checked against the
        markers of the documents it found, is exactly the query filtered by every marker's doc_hash at a
        fraction of its cost (with 100k chunks the filter costs ~0.8 s, reading every marker ~50 ms;
        bench/scale.py). Otherwise the filtered query runs.
        """
        # A few results more than k, ordered with a tie-break (TIE_SLACK): a paragraph's first sentence has the
        # same vector in both views, and which of the two HNSW returns differs from process to process.
        query = {"query_embeddings": [[float(x) for x in vector]], "n_results": k + TIE_SLACK,
                 "include": ["metadatas", "distances"]}
        got = self.chunks.query(**query, where=self._in_scope())
        found = sorted({meta[schema.FILE] for meta in got["metadatas"][0]})
        marked: dict[str, str] = {}
        if found:
            marks = self.marker_collection.get(where={schema.FILE: {"$in": found}}, include=["metadatas"])
            marked = {meta[schema.FILE]: meta[schema.DOC_HASH] for meta in marks["metadatas"] or []}
        if any(marked.get(meta[schema.FILE]) != meta[schema.DOC_HASH] for meta in got["metadatas"][0]):
            hashes = sorted({marker.doc_hash for marker in self.markers().values()})
            got = self.chunks.query(**query, where={schema.DOC_HASH: {"$in": hashes}})
        ranked = sorted(zip(got["metadatas"][0], got["distances"][0]),
                        key=lambda found: (found[1], found[0][schema.FILE], found[0][schema.POSITION],
                                           found[0][schema.VIEW]))
        return [(ChunkRecord.from_metadata(meta), 1.0 - float(distance)) for meta, distance in ranked[:k]]

    @_guarded
    def sentences(self, file: str, doc_hash: str) -> dict[int, ChunkRecord]:
        """The sentence views of one document version, by position."""
        # One condition: Chroma's cost grows with every condition (five took ~0.3 s with 100k chunks).
        got = self.chunks.get(where={schema.DOC_HASH: doc_hash}, include=["metadatas"])
        records = (ChunkRecord.from_metadata(meta) for meta in got["metadatas"] or [])
        return {r.position: r for r in records if r.file == file and r.view == schema.SENTENCE_VIEW}

    @_guarded
    def version_chunks(self, file: str, doc_hash: str) -> list[tuple[str, ChunkRecord]]:
        """Every chunk of one document version, both views: its embedded text and its record."""
        got = self.chunks.get(where={schema.DOC_HASH: doc_hash}, include=["documents", "metadatas"])
        pairs = zip(got["documents"] or [], map(ChunkRecord.from_metadata, got["metadatas"] or []))
        return [(text, record) for text, record in pairs if record.file == file]

    @_guarded
    def contains_text(self, text: str) -> bool:
        """Whether any stored chunk contains ``text`` (case-sensitive), e.g. a name the question mentions."""
        return bool(self.chunks.get(where=self._in_scope(), where_document={"$contains": text}, limit=1,
                                    include=[])["ids"])

    @_guarded
    def status(self) -> Status:
        metadata = self.chunks.metadata or {}
        documents = sorted(self.markers().values(), key=lambda m: m.file)
        return Status(where=where(self.settings), schema=metadata.get(schema.SCHEMA_KEY),
                      model=metadata.get(schema.MODEL_KEY), chunks=self.chunks.count(), documents=documents)

    # ------------------------------------------------------------ writing (bot.ingest)

    def lock(self, file: str, on_wait: Callable[[dict[str, Any]], None] | None = None
             ) -> AbstractContextManager[Lease]:
        """One writer per document, across processes (:mod:`bot.index.locks`)."""
        return document_lock(self.settings, self.client, file, on_wait=on_wait)

    def ensure_free_space(self, chunks: int, file: str) -> None:
        ensure_free_space(self.settings, chunks, file)

    @_guarded
    def stored(self, file: str) -> list[tuple[str, ChunkRecord]]:
        """Every chunk of a document (any version, complete or not): id and record."""
        got = self.chunks.get(where={schema.FILE: file}, include=["metadatas"])
        return [(i, ChunkRecord.from_metadata(meta)) for i, meta in zip(got["ids"], got["metadatas"])]

    @_guarded
    def files(self) -> set[str]:
        """Every document with chunks or a marker, complete or not."""
        got = self.chunks.get(include=["metadatas"])
        return set(self.markers()) | {meta[schema.FILE] for meta in got["metadatas"] or []}

    @_guarded
    def vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """The stored vectors of these chunks, by content hash (to reuse them)."""
        vectors: dict[str, list[float]] = {}
        for batch in _batches(list(ids), 1000):
            got = self.chunks.get(ids=list(batch), include=["embeddings", "metadatas"])
            for meta, vector in zip(got["metadatas"], got["embeddings"]):
                vectors[meta[schema.CONTENT_HASH]] = list(vector)
        return vectors

    @_guarded
    def batch_size(self) -> int:
        return max(1, min(self.client.get_max_batch_size(), 64))

    @_guarded
    def write_chunks(self, ids: Sequence[str], texts: Sequence[str], records: Sequence[ChunkRecord],
                     vectors: Sequence[Sequence[float]]) -> None:
        self.chunks.upsert(ids=list(ids), embeddings=[list(v) for v in vectors], documents=list(texts),
                           metadatas=[r.metadata() for r in records])

    @_guarded
    def present(self, ids: Sequence[str]) -> set[str]:
        """Which of these chunk ids are stored."""
        found: set[str] = set()
        for batch in _batches(list(ids), 1000):
            found.update(self.chunks.get(ids=list(batch), include=[])["ids"])
        return found

    @_guarded
    def mark_complete(self, marker: Marker) -> None:
        """Readers see this version from now on (and no other of the same file)."""
        self.marker_collection.upsert(ids=[_sha(marker.file)[:40]], embeddings=[[1.0]], documents=[marker.title],
                             metadatas=[marker.metadata()])

    @_guarded
    def delete_chunks(self, ids: Sequence[str]) -> None:
        if ids:
            self.chunks.delete(ids=list(ids))

    def remove(self, file: str, on_wait: Callable[[dict[str, Any]], None] | None = None) -> int:
        """Remove a document: its marker first (readers stop seeing it at once), then its chunks, under the
        document's lock (waiting for a writer of it to finish; ``on_wait`` is told once, with the holder's
        record). Returns the number of chunks deleted."""
        with self.lock(file, on_wait=on_wait), store_guard(self.settings):
            self.marker_collection.delete(where={schema.FILE: file})
            ids = [i for i, _ in self.stored(file)]
            self.delete_chunks(ids)
        return len(ids)

    @_guarded
    def reset(self) -> None:
        """Drop both collections (a rebuild)."""
        for name in (self.chunks.name, self.marker_collection.name):
            self.client.delete_collection(name)


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def open_index(settings: Settings, embeddings: HasIdentity, *, create: bool = True,
               allow_model_change: bool = False) -> Index:
    """Open (or create) the collections and check that they were built by this schema and embedding model.

    ``allow_model_change``: open an index of another model or schema anyway (to show its status, or to reset it).
    """
    client = make_client(settings)
    metadata = {schema.MODEL_KEY: embeddings.identity, schema.SCHEMA_KEY: schema.SCHEMA_VERSION}

    def collections() -> tuple[Any, Any]:
        if create:
            chunks = client.get_or_create_collection(
                settings.collection, metadata=metadata,
                configuration={"hnsw": {"space": "cosine", **SEARCH_CONFIGURATION}},
            )
            _configure_search(chunks)
            return chunks, client.get_or_create_collection(f"{settings.collection}-documents", metadata=metadata)
        from chromadb.errors import NotFoundError

        try:
            return client.get_collection(settings.collection), client.get_collection(f"{settings.collection}-documents")
        except NotFoundError as exc:
            raise IndexMissingError(
                f"No index yet at {where(settings)}: run `python -m bot ingest` (or `make index`)."
            ) from exc

    try:
        chunks, markers = retry_when_busy(collections)
    except StoreError:
        raise
    except Exception as exc:
        raise as_store_error(settings, exc) from exc

    if not allow_model_change:
        _check(settings, chunks.metadata or {}, embeddings.identity)
    return Index(settings, client, chunks, markers)


def _configure_search(chunks: Any) -> None:
    """Give an index built before SEARCH_CONFIGURATION its settings (both may change after creation)."""
    hnsw = (chunks.configuration or {}).get("hnsw") or {}
    if any(hnsw.get(key) != value for key, value in SEARCH_CONFIGURATION.items()):
        chunks.modify(configuration={"hnsw": SEARCH_CONFIGURATION})


REBUILD = "rebuild with `python -m bot ingest --rebuild`"


def _check(settings: Settings, recorded: dict[str, Any], identity: str) -> None:
    version = recorded.get(schema.SCHEMA_KEY)
    if version != schema.SCHEMA_VERSION:
        raise IndexOutdatedError(
            f"The index at {where(settings)} was built by an older version of the bot (index schema {version}; "
            f"this version reads schema {schema.SCHEMA_VERSION}): {REBUILD}."
        )
    model = recorded.get(schema.MODEL_KEY)
    if model != identity:
        raise ModelMismatchError(
            f"The index at {where(settings)} was built with the embedding model '{model}', "
            f"but the bot is configured for '{identity}'. Vectors of two models cannot be mixed: "
            f"{REBUILD}, or set BOT_MODEL back."
        )
