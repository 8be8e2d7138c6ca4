"""Ingestion, the write path: file -> sentences -> chunks (two views each) -> vectors -> the index.

Idempotent and crash-safe:
- A document whose text is unchanged (its marker holds the same hash) costs no embedding and no write.
- A changed document is written as a new version next to the old one, its marker is swapped, and only
  then are the old chunks deleted. Vectors of sentences that did not change are reused, not recomputed.
- A run killed half-way leaves chunks without a marker; readers ignore them and the next run reuses
  them (their ids are content hashes) and completes the document.
- Several processes may ingest into one Chroma server at once: a document is written under its lock
  (:mod:`bot.index.locks`), and its marker is written only after every one of its chunks is read back.
- An embedded index refuses, before writing, a document that cannot fit on its disk.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from langchain_core.documents import Document

from bot.index import ChunkRecord, Index, Marker, StoreError
from bot.index.locks import Lease
from bot.index.schema import CONTEXT_VIEW, SENTENCE_VIEW, pack_vector
from bot.language.text import SUPPORTED_SUFFIXES, DocumentError, ParsedDocument, read_document
from bot.model.embedding import BotEmbeddings


def _sha(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def is_heading(paragraph_text: str, sentences: Sequence[str]) -> bool:
    """A title or section heading: one short line without closing punctuation."""
    return len(sentences) == 1 and len(paragraph_text.split()) <= 15 and not paragraph_text.rstrip().endswith(
        (".", "!", "?", '"', "”", "»", ":")
    )


def chunk_document(doc: ParsedDocument) -> list[Document]:
    """Two views per sentence, as LangChain Documents (metadata: :meth:`ChunkRecord.metadata`). Headings are
    not chunks; they give context to the sentence below them."""
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
            for view, text in ((SENTENCE_VIEW, sentence), (CONTEXT_VIEW, context)):
                record = ChunkRecord(
                    file=doc.file, title=doc.title, paragraph=paragraph.number, sentence=number, position=position,
                    view=view, doc_hash=doc_hash, content_hash=_sha(view, text), passage=paragraph.text,
                    sentence_text=sentence,
                )
                chunk_id = _sha(doc_hash, view, str(paragraph.number), str(number), text)[:40]
                chunks.append(Document(page_content=text, metadata=record.metadata(), id=chunk_id))
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
    embedded: int = 0  # chunks that went through the model
    reused: int = 0  # chunk vectors reused from an earlier version
    titled: int = 0  # sentences' contexts embedded with the title (schema.TITLED_VECTOR), not reused

    def summary(self) -> str:
        return (
            f"{len(self.added)} document(s) written, {len(self.unchanged)} unchanged, {len(self.removed)} removed; "
            f"{self.chunks_written} chunks written ({self.embedded} embedded, {self.reused} reused), "
            f"{self.chunks_deleted} deleted; {self.titled} sentences embedded with their title"
        )


def collect_paths(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into their .txt/.md/.html files (sorted); keep files as given."""
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
            doc = read_document(path, max_bytes=max_bytes)
        except DocumentError as exc:
            errors.append(str(exc))
            continue
        if not any(paragraph.sentences and not is_heading(paragraph.text, paragraph.sentences)
                   for paragraph in doc.paragraphs):
            errors.append(f"{doc.file}: no sentences to answer from (only a title or headings: an article needs "
                          "paragraphs of full sentences after its title, separated by blank lines)")
            continue
        docs.append(doc)
    names = [d.file for d in docs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        errors.append(f"two files share the document name(s) {', '.join(duplicates)}")
    if errors:
        raise DocumentError("Nothing was ingested:\n  " + "\n  ".join(errors))
    return docs


def _record(chunk: Document) -> ChunkRecord:
    return ChunkRecord.from_metadata(chunk.metadata)


def _is_current(index: Index, doc: ParsedDocument) -> bool:
    """Marked complete with this very text, and nothing else of it left: no lock, no model, no write."""
    marker = index.markers().get(doc.file)
    doc_hash = _sha(doc.text)
    return bool(marker and marker.doc_hash == doc_hash
                and all(record.doc_hash == doc_hash for _, record in index.stored(doc.file)))


def write_document(index: Index, embeddings: BotEmbeddings, doc: ParsedDocument, report: IngestReport,
                   progress: bool = True, on_wait: Callable[[dict], None] | None = None) -> None:
    if _is_current(index, doc):
        report.unchanged.append(doc.file)
        return
    with index.lock(doc.file, on_wait=on_wait) as lease:
        _write_locked(index, embeddings, doc, report, progress, lease)


def _write_locked(index: Index, embeddings: BotEmbeddings, doc: ParsedDocument, report: IngestReport,
                  progress: bool, lease: Lease) -> None:
    chunks = chunk_document(doc)
    doc_hash = _sha(doc.text)
    marker = index.markers().get(doc.file)
    existing = index.stored(doc.file)
    stale = [i for i, record in existing if record.doc_hash != doc_hash]
    if marker and marker.doc_hash == doc_hash:
        if stale:  # left over by a run killed after its marker swap
            index.delete_chunks(stale)
            report.chunks_deleted += len(stale)
        report.unchanged.append(doc.file)
        return

    have = {i for i, _ in existing}
    # Longest first, as the model batches them anyway: each write batch then holds the model's own batches of
    # similar length, with the padding of one encode() over the whole document (bench/ingest.py).
    todo = sorted((c for c in chunks if c.id not in have), key=lambda c: -len(c.page_content))
    if todo:
        index.ensure_free_space(len(todo), doc.file)
    vectors = index.vectors([i for i, _ in existing])
    titled = {r.titled_hash: r.titled_vector for _, r in existing if r.titled_vector}
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=f"Embedding {doc.file}", unit="chunk", file=sys.stderr)
    contexts = {c.metadata["position"]: c.page_content for c in chunks if c.metadata["view"] == CONTEXT_VIEW}
    for batch in _batches(todo, index.batch_size()):
        records = [_record(c) for c in batch]
        missing = [(c, r) for c, r in zip(batch, records) if r.content_hash not in vectors]
        if missing:
            for (_, record), vector in zip(missing, embeddings.embed_documents([c.page_content for c, _ in missing])):
                vectors[record.content_hash] = vector
            report.embedded += len(missing)
        report.reused += len(batch) - len(missing)
        records = _with_titled_vectors(records, contexts, titled, embeddings, doc.title, report)
        lease.check()
        index.write_chunks(ids=[c.id for c in batch], texts=[c.page_content for c in batch], records=records,
                           vectors=[vectors[r.content_hash] for r in records])
        report.chunks_written += len(batch)
        if bar:
            bar.update(len(batch))
    if bar:
        bar.close()
    present = index.present([c.id for c in chunks])
    if len(present) != len(chunks):
        raise StoreError(f"{doc.file}: {len(chunks) - len(present)} of its {len(chunks)} chunks vanished while "
                         "it was written; it is not marked complete. Run the ingestion again.")
    lease.check()
    # The marker goes last: from here on, readers see the new version and never the old one.
    index.mark_complete(Marker(file=doc.file, title=doc.title, doc_hash=doc_hash, chunks=len(chunks),
                               paragraphs=len(doc.paragraphs), model=embeddings.identity,
                               indexed_at=time.time()))
    if stale:
        index.delete_chunks(stale)
        report.chunks_deleted += len(stale)
    report.added.append(doc.file)


def _with_titled_vectors(records: list[ChunkRecord], contexts: dict[int, str], titled: dict[str, str],
                         embeddings: BotEmbeddings, title: str, report: IngestReport) -> list[ChunkRecord]:
    """Sentence views get their context (``contexts``, by position) embedded with the document's title
    (schema.TITLED_VECTOR); ``titled`` holds the titled vectors known by hash, and gets the new ones."""
    keys = {i: _sha("titled", title, contexts[r.position]) for i, r in enumerate(records) if r.view == SENTENCE_VIEW}
    missing = {key: contexts[records[i].position] for i, key in keys.items() if key not in titled}
    for key, vector in zip(missing, embeddings.embed_titled(list(missing.values()), title)):
        titled[key] = pack_vector(vector)
    report.titled += len(missing)
    return [replace(r, titled_vector=titled[keys[i]], titled_hash=keys[i]) if i in keys else r
            for i, r in enumerate(records)]


def remove_document(index: Index, file: str, report: IngestReport,
                    on_wait: Callable[[dict], None] | None = None) -> None:
    """Marker first (readers stop seeing it at once), then its chunks."""
    report.chunks_deleted += index.remove(file, on_wait=on_wait)
    report.removed.append(file)


def ingest(index: Index, embeddings: BotEmbeddings, paths: Sequence[Path], *, prune: bool = False,
           max_bytes: int | None = None, progress: bool = True,
           on_wait: Callable[[dict], None] | None = None) -> IngestReport:
    """Ingest these files (and folders' .txt/.md/.html files); ``on_wait`` is told (with the holder's record)
    when a document's lock is held by another writer, which is then waited for."""
    files = collect_paths(paths)
    if not files:
        raise DocumentError(f"No .txt, .md or .html files found in {', '.join(str(p) for p in paths)}")
    docs = read_all(files, max_bytes)
    report = IngestReport()
    for doc in docs:
        write_document(index, embeddings, doc, report, progress=progress, on_wait=on_wait)
    if prune:
        keep = {d.file for d in docs}
        for file in sorted(index.files() - keep):
            remove_document(index, file, report, on_wait=on_wait)
    return report


def _batches(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
