"""Ingestion: documents -> sentence chunks (LangChain ``Document``s) -> embeddings -> Chroma.

Idempotent and crash-safe:
- A document whose text is unchanged (its marker holds the same hash) costs no embedding and no write.
- A changed document is written as a new version next to the old one, its marker is swapped, and only
  then are the old chunks deleted. Vectors of sentences that did not change are reused, not recomputed.
- A run killed half-way leaves chunks without a marker; readers ignore them and the next run reuses
  them (their ids are content hashes) and completes the document.
- Several processes may ingest into one Chroma server at once: a document is written under its lock
  (:mod:`bot.locks`), and its marker is written only after every one of its chunks is read back.
- An embedded index refuses, before writing, a document that cannot fit on its disk.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document

from bot.embedding import BotEmbeddings
from bot.locks import Lease, document_lock
from bot.store import Store
from bot.store_errors import StoreError, ensure_free_space, store_guard
from bot.text import SUPPORTED_SUFFIXES, DocumentError, ParsedDocument, read_document

VIEWS = ("sentence", "context")


def _sha(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def is_heading(paragraph_text: str, sentences: Sequence[str]) -> bool:
    """A title or section heading: one short line without closing punctuation."""
    return len(sentences) == 1 and len(paragraph_text.split()) <= 15 and not paragraph_text.rstrip().endswith(
        (".", "!", "?", '"', "”", "»", ":")
    )


def chunk_document(doc: ParsedDocument) -> list[Document]:
    """Two views per sentence. Headings are not chunks; they give context to the sentence below them."""
    doc_hash = _sha(doc.text)
    chunks: list[Document] = []
    position = 0
    heading_above: str | None = None
    for paragraph in doc.paragraphs:
        if is_heading(paragraph.text, paragraph.sentences):
            heading_above = paragraph.text
            continue
        for number, sentence in enumerate(paragraph.sentences):
            if number > 0:
                context = f"{paragraph.sentences[number - 1]} {sentence}"
            elif heading_above:
                context = f"{heading_above}. {sentence}"
            else:
                context = sentence
            for view, text in (("sentence", sentence), ("context", context)):
                content_hash = _sha(view, text)
                metadata = {
                    "document": doc.name, "title": doc.title, "paragraph": paragraph.number,
                    "sentence": number, "position": position, "view": view, "doc_hash": doc_hash,
                    "content_hash": content_hash, "passage": paragraph.text, "sentence_text": sentence,
                }
                chunk_id = _sha(doc_hash, view, str(paragraph.number), str(number), text)[:40]
                chunks.append(Document(page_content=text, metadata=metadata, id=chunk_id))
            position += 1
        heading_above = None
    return chunks


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)  # documents written (new or changed)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chunks_written: int = 0
    chunks_deleted: int = 0
    embedded: int = 0  # texts that went through the model
    reused: int = 0  # vectors reused from an earlier version

    def summary(self) -> str:
        return (
            f"{len(self.added)} document(s) written, {len(self.unchanged)} unchanged, {len(self.removed)} removed; "
            f"{self.chunks_written} chunks written ({self.embedded} embedded, {self.reused} reused), "
            f"{self.chunks_deleted} deleted"
        )


def collect_paths(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into their .txt/.md files (sorted); keep files as given."""
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES))
        else:
            files.append(path)
    return files


def read_all(paths: Sequence[Path], max_bytes: int | None) -> list[ParsedDocument]:
    """Read every file before anything is written: one bad file means no change at all."""
    docs, errors = [], []
    for path in paths:
        try:
            docs.append(read_document(path, max_bytes=max_bytes))
        except DocumentError as exc:
            errors.append(str(exc))
    names = [d.name for d in docs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        errors.append(f"two files share the document name(s) {', '.join(duplicates)}")
    if errors:
        raise DocumentError("Nothing was ingested:\n  " + "\n  ".join(errors))
    return docs


def _batches(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _existing(store: Store, document: str) -> dict:
    return store.chunks.get(where={"document": document}, include=["metadatas"])


def _reusable_vectors(store: Store, ids: list[str]) -> dict[str, list[float]]:
    vectors: dict[str, list[float]] = {}
    for batch in _batches(ids, 1000):
        got = store.chunks.get(ids=list(batch), include=["embeddings", "metadatas"])
        for meta, vector in zip(got["metadatas"], got["embeddings"]):
            vectors[meta["content_hash"]] = list(vector)
    return vectors


def _is_current(store: Store, doc: ParsedDocument) -> bool:
    """Marked complete with this very text, and nothing else of it left: no lock, no model, no write."""
    marker = store.complete_documents().get(doc.name)
    doc_hash = _sha(doc.text)
    return bool(marker and marker.get("doc_hash") == doc_hash
                and all(m["doc_hash"] == doc_hash for m in _existing(store, doc.name)["metadatas"]))


def write_document(store: Store, embeddings: BotEmbeddings, doc: ParsedDocument, report: IngestReport,
                   progress: bool = True) -> None:
    if _is_current(store, doc):
        report.unchanged.append(doc.name)
        return
    with document_lock(store, doc.name) as lease:
        _write_locked(store, embeddings, doc, report, progress, lease)


def _write_locked(store: Store, embeddings: BotEmbeddings, doc: ParsedDocument, report: IngestReport,
                  progress: bool, lease: Lease) -> None:
    chunks = chunk_document(doc)
    doc_hash = _sha(doc.text)
    marker = store.complete_documents().get(doc.name)
    existing = _existing(store, doc.name)
    if marker and marker.get("doc_hash") == doc_hash:
        stale = [i for i, m in zip(existing["ids"], existing["metadatas"]) if m["doc_hash"] != doc_hash]
        if stale:  # left over by a run killed after its marker swap
            store.chunks.delete(ids=stale)
            report.chunks_deleted += len(stale)
        report.unchanged.append(doc.name)
        return

    have = set(existing["ids"])
    # Longest first, as the model batches them anyway: each write batch then holds the model's own batches of
    # similar length, with the padding of one encode() over the whole document (bench/ingest.py).
    todo = sorted((c for c in chunks if c.id not in have), key=lambda c: -len(c.page_content))
    if todo:
        ensure_free_space(store.settings, len(todo), doc.name)
    vectors = _reusable_vectors(store, [i for i in existing["ids"]])
    batch_size = max(1, min(store.client.get_max_batch_size(), 64))
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=f"Embedding {doc.name}", unit="chunk", file=sys.stderr)
    for batch in _batches(todo, batch_size):
        missing = [c for c in batch if c.metadata["content_hash"] not in vectors]
        if missing:
            for c, vector in zip(missing, embeddings.embed_documents([c.page_content for c in missing])):
                vectors[c.metadata["content_hash"]] = vector
            report.embedded += len(missing)
        report.reused += len(batch) - len(missing)
        lease.check()
        store.chunks.upsert(
            ids=[c.id for c in batch],
            embeddings=[vectors[c.metadata["content_hash"]] for c in batch],
            documents=[c.page_content for c in batch],
            metadatas=[c.metadata for c in batch],
        )
        report.chunks_written += len(batch)
        if bar:
            bar.update(len(batch))
    if bar:
        bar.close()
    present = set()
    for batch in _batches([c.id for c in chunks], 1000):
        present.update(store.chunks.get(ids=list(batch), include=[])["ids"])
    if len(present) != len(chunks):
        raise StoreError(f"{doc.name}: {len(chunks) - len(present)} of its {len(chunks)} chunks vanished while "
                         "it was written; it is not marked complete. Run the ingestion again.")
    lease.check()
    # The marker goes last: from here on, readers see the new version and never the old one.
    store.markers.upsert(
        ids=[_sha(doc.name)[:40]], embeddings=[[1.0]], documents=[doc.title],
        metadatas=[{"document": doc.name, "title": doc.title, "doc_hash": doc_hash, "chunks": len(chunks),
                    "paragraphs": len(doc.paragraphs), "model": embeddings.identity}],
    )
    stale = [i for i, m in zip(existing["ids"], existing["metadatas"]) if m["doc_hash"] != doc_hash]
    if stale:
        store.chunks.delete(ids=stale)
        report.chunks_deleted += len(stale)
    report.added.append(doc.name)


def remove_document(store: Store, name: str, report: IngestReport) -> None:
    """Marker first (readers stop seeing it at once), then its chunks."""
    with document_lock(store, name):
        store.markers.delete(where={"document": name})
        ids = _existing(store, name)["ids"]
        if ids:
            store.chunks.delete(ids=ids)
    report.chunks_deleted += len(ids)
    report.removed.append(name)


def ingest(store: Store, embeddings: BotEmbeddings, paths: Sequence[Path], *, prune: bool = False,
           max_bytes: int | None = None, progress: bool = True) -> IngestReport:
    files = collect_paths(paths)
    if not files:
        raise DocumentError(f"No .txt or .md files found in {', '.join(str(p) for p in paths)}")
    docs = read_all(files, max_bytes)
    with store_guard(store.settings):
        return _ingest_all(store, embeddings, docs, prune=prune, progress=progress)


def _ingest_all(store: Store, embeddings: BotEmbeddings, docs: list[ParsedDocument], *, prune: bool,
                progress: bool) -> IngestReport:
    report = IngestReport()
    for doc in docs:
        write_document(store, embeddings, doc, report, progress=progress)
    if prune:
        keep = {d.name for d in docs}
        indexed = set(store.complete_documents()) | {
            m["document"] for m in store.chunks.get(include=["metadatas"])["metadatas"]
        }
        for name in sorted(indexed - keep):
            remove_document(store, name, report)
    return report
