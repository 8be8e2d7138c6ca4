"""What the index stores: the metadata key names (only here) and typed records for chunks and markers.

Two collections:
- ``<collection>``: one record per sentence and view (``sentence``: the sentence alone; ``context``: the
  sentence after its preceding sentence or heading), described by a :class:`ChunkRecord`. The sentence view's
  record also carries the context embedded with the document's title (TITLED_VECTOR), for ranking.
- ``<collection>-documents``: one :class:`Marker` per *completely* ingested document version. A document's
  chunks are written first and its marker last, so readers only trust chunks whose ``doc_hash`` has a
  marker: a killed ingestion never serves half a document.

The chunk collection's own metadata records the schema version and the embedding model's identity.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

# Schema 2: the model identity includes its document prompt. Schema 3: a sentence view carries its titled vector
# (TITLED_VECTOR). Older indexes are refused (rebuild).
SCHEMA_VERSION = "3"

# Collection metadata.
SCHEMA_KEY = "schema"
MODEL_KEY = "embedding_model"

# Chunk and marker metadata. The file name is stored under "document", as since schema 1: renaming the stored
# key would gain nothing but a forced rebuild; in the code it is called ``file`` everywhere.
FILE = "document"
TITLE = "title"
PARAGRAPH = "paragraph"
SENTENCE = "sentence"
POSITION = "position"
VIEW = "view"
DOC_HASH = "doc_hash"
CONTENT_HASH = "content_hash"
PASSAGE = "passage"
SENTENCE_TEXT = "sentence_text"
# The sentence's context view embedded with its document's title in the document prompt (``title: {title} |
# text: ``), as float16 in base64: ranks a question's candidates, never searched (bot/answering/retrieval.py).
TITLED_VECTOR = "titled_vector"
TITLED_HASH = "titled_hash"  # of the title and the context embedded: equal hashes share a titled vector
CHUNKS = "chunks"
PARAGRAPHS = "paragraphs"
MODEL = "model"
# When the version was marked complete (seconds since the epoch). Added within schema 2: a marker written before
# has none, and reads as "not recorded" (no rebuild needed); the next change of that document records it.
INDEXED_AT = "indexed_at"

SENTENCE_VIEW = "sentence"
CONTEXT_VIEW = "context"
VIEWS = (SENTENCE_VIEW, CONTEXT_VIEW)

_CHUNK_KEYS = {
    "file": FILE, "title": TITLE, "paragraph": PARAGRAPH, "sentence": SENTENCE, "position": POSITION, "view": VIEW,
    "doc_hash": DOC_HASH, "content_hash": CONTENT_HASH, "passage": PASSAGE, "sentence_text": SENTENCE_TEXT,
}
_MARKER_KEYS = {"file": FILE, "title": TITLE, "doc_hash": DOC_HASH, "chunks": CHUNKS, "paragraphs": PARAGRAPHS,
                "model": MODEL}


@dataclass(frozen=True)
class ChunkRecord:
    """One stored view of one sentence."""

    file: str
    title: str
    paragraph: int
    sentence: int  # its number inside the paragraph
    position: int  # its number inside the document (headings not counted)
    view: str  # SENTENCE_VIEW or CONTEXT_VIEW
    doc_hash: str  # the document version
    content_hash: str  # of view and embedded text: equal hashes share a vector
    passage: str  # the paragraph
    sentence_text: str
    titled_vector: str = ""  # the sentence view's only (TITLED_VECTOR); "" for the context view
    titled_hash: str = ""

    def metadata(self) -> dict[str, Any]:
        meta = {key: getattr(self, field) for field, key in _CHUNK_KEYS.items()}
        if self.titled_vector:
            meta[TITLED_VECTOR], meta[TITLED_HASH] = self.titled_vector, self.titled_hash
        return meta

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> ChunkRecord:
        values = {field: meta[key] for field, key in _CHUNK_KEYS.items()}
        for number in ("paragraph", "sentence", "position"):
            values[number] = int(values[number])
        return cls(**values, titled_vector=str(meta.get(TITLED_VECTOR, "")), titled_hash=str(meta.get(TITLED_HASH, "")))

    def titled(self) -> np.ndarray | None:
        """The titled vector (see TITLED_VECTOR), or None when the record has none."""
        if not self.titled_vector:
            return None
        return np.frombuffer(base64.b64decode(self.titled_vector), dtype=np.float16).astype(float)


def pack_vector(vector: Sequence[float]) -> str:
    """A vector as TITLED_VECTOR stores it: float16, base64 (a cosine loses less than 1e-3)."""
    return base64.b64encode(np.asarray(vector, dtype=np.float16).tobytes()).decode("ascii")


@dataclass(frozen=True)
class Marker:
    """A completely ingested document version."""

    file: str
    title: str
    doc_hash: str
    chunks: int
    paragraphs: int
    model: str
    indexed_at: float | None = None  # None: an older marker, written before the time was recorded

    def metadata(self) -> dict[str, Any]:
        meta = {key: getattr(self, field) for field, key in _MARKER_KEYS.items()}
        if self.indexed_at is not None:  # Chroma stores no None
            meta[INDEXED_AT] = float(self.indexed_at)
        return meta

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> Marker:
        indexed_at = meta.get(INDEXED_AT)
        return cls(file=meta[FILE], title=meta.get(TITLE, meta[FILE]), doc_hash=meta[DOC_HASH],
                   chunks=int(meta.get(CHUNKS, 0)), paragraphs=int(meta.get(PARAGRAPHS, 0)),
                   model=str(meta.get(MODEL, "")), indexed_at=float(indexed_at) if indexed_at is not None else None)


@dataclass(frozen=True)
class Status:
    where: str
    schema: str | None
    model: str | None  # as recorded in the index
    chunks: int
    documents: list[Marker]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
