"""The service: the model, the index and the answerers, opened once and shared by the API, the CLI and the UI.

:class:`Bot` answers (whole or streamed), adds documents and lists them; after a failure of the index it
opens the index afresh on the next call (a Chroma server that comes back is used again). The module-level
functions use one shared Bot (:func:`get_bot`).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.answering.extractive import Answering, ExtractiveAnswerer
from bot.answering.history import History
from bot.answering.retrieval import Hit, Retriever
from bot.answering.types import Answer, clean_question
from bot.index import Index, IndexMissingError, StoreError, forget_embedded, open_index, store_guard
from bot.index.schema import CONTEXT_VIEW
from bot.language.text import DocumentError
from bot.model.embedding import BotEmbeddings
from bot.settings import Settings, get_settings

if TYPE_CHECKING:
    from langchain_core.retrievers import BaseRetriever

T = TypeVar("T")


class DocumentRejected(ValueError):
    """A document that is not taken (e.g. its name belongs to a document indexed from elsewhere)."""


class UnknownDocumentError(ValueError):
    """A file name that names no indexed document (a scope, a removal)."""


@dataclass(frozen=True)
class DocumentInfo:
    """An indexed document, as :meth:`Bot.documents` lists it."""

    file: str  # the file name, unique in the index
    title: str
    paragraphs: int
    chunks: int
    indexed_at: float | None = None  # when this version was indexed (seconds since the epoch); None: not recorded


@dataclass(frozen=True)
class ArticleParagraph:
    number: int
    text: str
    heading: bool = False


@dataclass(frozen=True)
class Article:
    """A whole indexed document, as :meth:`Bot.article` reads it back from the index."""

    file: str
    title: str
    paragraphs: list[ArticleParagraph]  # in reading order; headings and the title (paragraph 0) included


@dataclass(frozen=True)
class AddedDocument:
    """What :meth:`Bot.add_document` did."""

    file: str
    title: str
    unchanged: bool  # it was indexed already, with this very text


class Bot:
    """The model, the index and the answerer, opened once and shared (thread-safe)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.embeddings = BotEmbeddings(self.settings)
        self.embeddings.load_in_background()  # while Chroma opens: the first answer needs both
        self._reopen_lock = threading.Lock()
        self._write_lock = threading.Lock()  # one upload at a time in this process (others: the index's locks)
        self._stale = False
        try:
            self._open()
        except IndexMissingError:
            self._stale = True  # nothing indexed yet: answering says so; add_document creates the index
        self.llm = None  # the LLM answerer (bot/llm/), imported only when settings name one
        if self.settings.answerer != "extractive":
            from bot.llm.answerer import LLMAnswerer

            self.llm = LLMAnswerer(self.answering, self.settings)

    def _open(self, create: bool = False) -> None:
        self.index: Index = open_index(self.settings, self.embeddings, create=create)
        self.retriever = Retriever(self.index, self.embeddings, self.settings.top_k)
        self.extractive = ExtractiveAnswerer(self.retriever, self.settings)

    def answering(self) -> Answering:
        """The current extractive answerer, retriever and embeddings (new ones after a reopen)."""
        return Answering(extractive=self.extractive, retriever=self.retriever, embeddings=self.embeddings)

    def _reopen_if_stale(self) -> None:
        """After a store failure, the next call opens the index (reconnects to the server) afresh."""
        if self._stale:
            with self._reopen_lock:
                if self._stale:
                    forget_embedded(self.settings)
                    self._open()  # raises StoreUnavailableError again while the server is still down
                    self._stale = False

    def _guarded(self, work: Callable[[], T]) -> T:
        self._reopen_if_stale()
        try:
            with store_guard(self.settings):
                return work()
        except StoreError:
            self._stale = True
            raise

    # ------------------------------------------------------------ answering

    def scope(self, files: Sequence[str] | None) -> list[str] | None:
        """The file names of a scope, checked: None (or every name of the index) is the whole index; a name
        that is not indexed raises :class:`UnknownDocumentError` naming the indexed ones."""
        if files is None:
            return None
        if isinstance(files, str):
            files = [files]
        wanted = list(dict.fromkeys(str(f) for f in files))
        if not wanted:
            raise UnknownDocumentError("No document chosen: name at least one file, or pass files=None for all.")
        indexed = {d.file for d in self.documents()}
        unknown = [f for f in wanted if f not in indexed]
        if unknown:
            known = ", ".join(sorted(indexed)) or "none"
            raise UnknownDocumentError(f"Not an indexed document: {', '.join(unknown)}. Indexed: {known}.")
        return None if set(wanted) == indexed else wanted

    def _answerer(self, files: list[str] | None):
        """The answerer (LLM or extractive) reading only ``files`` (None: everything). The scoped one shares
        the caches (word vectors, sentences, the LLM client and checker) of the whole one."""
        if files is None:
            return self.llm or self.extractive
        retriever = copy.copy(self.retriever)
        retriever.index = self.index.scoped(files)
        extractive = copy.copy(self.extractive)
        extractive.retriever = retriever
        if self.llm is None:
            return extractive
        llm = copy.copy(self.llm)
        parts = Answering(extractive=extractive, retriever=retriever, embeddings=self.embeddings)
        llm.current = lambda: parts
        return llm

    def answer(self, question: str, history: History | None = None, files: Sequence[str] | None = None) -> Answer:
        """The answer to a question; ``history``: earlier turns, dicts ``{"role", "content"}`` or Answers;
        ``files``: answer from these documents only (file names; None: all)."""
        def work() -> Answer:
            return self._answerer(self.scope(files)).answer(question, history)

        return self._guarded(work)

    def stream(self, question: str, history: History | None = None,
               files: Sequence[str] | None = None) -> Iterator[str | Answer]:
        """Text pieces as they become available, then the final Answer (what the UI shows)."""
        if self.llm is not None:  # the LLM's pieces as it writes them, then the verified Answer
            self._reopen_if_stale()
            try:
                with store_guard(self.settings):
                    yield from self._answerer(self.scope(files)).stream(question, history)
                return
            except StoreError:
                self._stale = True
                raise
        result = self.answer(question, history, files)
        yield from re.findall(r"\S.*?(?:[.!?»\]]\s|$)", result.text)
        yield result

    def retrieve(self, question: str) -> list[Hit]:
        """The sentences that match a question, best first (what the answerers start from)."""
        return self._guarded(lambda: self.retriever.retrieve(question))

    def as_retriever(self, k: int = 4) -> BaseRetriever:
        """The index as a LangChain retriever (see :mod:`bot.answering.langchain`)."""
        from bot.answering.langchain import BotRetriever

        return BotRetriever(retrieve=self.retrieve, k=k)

    # ------------------------------------------------------------ documents

    def documents(self) -> list[DocumentInfo]:
        """Every completely ingested document, by title; none when nothing is indexed yet."""
        try:
            markers = self._guarded(lambda: self.index.markers())
        except IndexMissingError:
            return []
        infos = [DocumentInfo(file=m.file, title=m.title, paragraphs=m.paragraphs, chunks=m.chunks,
                              indexed_at=m.indexed_at) for m in markers.values()]
        return sorted(infos, key=lambda d: (d.title.lower(), d.file))

    def article(self, file: str) -> Article:
        """A whole indexed document, its paragraphs in order, read back from the index (not from its file)."""
        def read() -> Article:
            marker = self.index.markers().get(file)
            if marker is None:
                raise UnknownDocumentError(f"Not an indexed document: {file}.")
            paragraphs: dict[int, str] = {}
            headings: set[int] = set()
            for text, record in self.index.version_chunks(file, marker.doc_hash):
                paragraphs[record.paragraph] = record.passage
                # Headings are not chunks: a paragraph's first sentence is embedded after the heading above it
                # ("Heading. Sentence", bot/ingest.py), which is where the heading is read back from.
                if (record.view == CONTEXT_VIEW and record.sentence == 0 and record.paragraph > 1
                        and text.endswith(". " + record.sentence_text) and text != record.sentence_text):
                    paragraphs.setdefault(record.paragraph - 1, text[:-len(record.sentence_text) - 2])
                    headings.add(record.paragraph - 1)
            return Article(file=file, title=marker.title,
                           paragraphs=[ArticleParagraph(n, paragraphs[n], n in headings) for n in sorted(paragraphs)])

        return self._guarded(read)

    def remove_document(self, file: str, *, upload_dir: Path | None = None,
                        on_wait: Callable[[str], None] | None = None) -> int:
        """Remove one document from the index (marker first, then its chunks, under its lock: a writer of it
        is waited for, and ``on_wait`` told why in a sentence). With ``upload_dir`` (the chat): only an
        uploaded document may go, and its file there goes too. Returns the number of chunks deleted."""
        def waiting(holder: dict) -> None:
            if on_wait is not None:
                on_wait(f"Waiting for another process (pid {holder.get('pid')} on {holder.get('host')}) to finish "
                        f"writing {file}…")

        with self._write_lock:
            self._reopen_if_stale()
            indexed = file in self._guarded(lambda: self.index.files())
            if not indexed:
                raise UnknownDocumentError(f"Not an indexed document: {file}.")
            if upload_dir is not None and not (upload_dir / file).is_file():
                raise DocumentRejected(f"«{file}» is part of the deployment's own articles, not an upload: the chat "
                                       "does not remove it. Delete its file from data/ and run "
                                       "`python -m bot ingest --prune`.")
            deleted = self._guarded(lambda: self.index.remove(file, on_wait=waiting))
            if upload_dir is not None:
                with suppress(FileNotFoundError):
                    (upload_dir / file).unlink()
        return deleted

    def add_document(self, path: str | Path, *, name: str | None = None, upload_dir: Path | None = None,
                     max_bytes: int | None = None, progress: bool = True) -> AddedDocument:
        """Ingest one .txt/.md/.html file as ``name`` (default: its own name) into the index (created if there is
        none); it is answerable when this returns.

        With ``upload_dir`` (the chat's uploads): a name indexed from elsewhere is refused
        (:class:`DocumentRejected`) rather than replaced, and once ingested the file is kept there as ``name``.
        Raises DocumentError for a file that cannot be read, StoreError when the index fails.
        """
        from bot.ingest import ingest

        name = name or Path(path).name
        staging = (upload_dir or Path(tempfile.gettempdir()) / "newsbot") / ".staging" / uuid.uuid4().hex
        with self._write_lock:
            try:
                self._reopen_if_stale()
            except IndexMissingError:
                with store_guard(self.settings):
                    self._open(create=True)
                self._stale = False
            try:
                with store_guard(self.settings):
                    markers = self.index.markers()
                    if upload_dir is not None and name in markers and not (upload_dir / name).is_file():
                        raise DocumentRejected(f"A document named «{name}» is already indexed (not from an upload); "
                                               "rename your file to add it.")
                    staging.mkdir(parents=True)
                    staged = staging / name
                    shutil.copyfile(path, staged)
                    try:
                        report = ingest(self.index, self.embeddings, [staged], max_bytes=max_bytes, progress=progress)
                    except DocumentError as exc:
                        raise DocumentError(str(exc).replace(str(staged), name)) from exc
                    if upload_dir is not None:
                        os.replace(staged, upload_dir / name)
                    marker = self.index.markers().get(name)
            except StoreError:
                self._stale = True
                raise
            finally:
                shutil.rmtree(staging, ignore_errors=True)
                with suppress(OSError):
                    staging.parent.rmdir()  # only when no other upload is staged
        return AddedDocument(file=name, title=marker.title if marker else name, unchanged=bool(report.unchanged))


_bot: Bot | None = None
_bot_lock = threading.Lock()


def get_bot() -> Bot:
    global _bot
    if _bot is None:
        with _bot_lock:
            if _bot is None:
                _bot = Bot()
    return _bot


def reset_bot() -> None:
    """Forget the shared bot (after settings change)."""
    global _bot
    with _bot_lock:
        _bot = None


def stream(question: str, history: History | None = None,
           files: Sequence[str] | None = None) -> Iterator[str | Answer]:
    """Like :func:`answer`, streamed: yields text pieces (str), then the final :class:`Answer`."""
    if not isinstance(question, str) or not question.strip():
        clean_question(question, get_settings().max_question_chars)
    return get_bot().stream(question, history, files)


def answer(question: str, history: History | None = None, files: Sequence[str] | None = None) -> Answer:
    """Answer a question about the indexed article(s). Raises ValueError for an empty or huge question.

    ``history``: the earlier turns, each a dict ``{"role": "user"|"assistant", "content": str}`` or, for an
    assistant turn, the :class:`Answer` it got (a follow-up is then resolved against its evidence).
    ``files``: answer from these documents only, by file name (see :func:`documents`); None: all of them.
    An unknown name raises :class:`UnknownDocumentError` (a ValueError).
    """
    if not isinstance(question, str) or not question.strip():
        clean_question(question, get_settings().max_question_chars)
    return get_bot().answer(question, history, files)


def documents() -> list[DocumentInfo]:
    """The indexed documents (file, title, paragraphs, chunks, indexed_at), by title."""
    return get_bot().documents()


def remove_document(file: str, **options: object) -> int:
    """Remove one document from the shared index; see :meth:`Bot.remove_document`."""
    return get_bot().remove_document(file, **options)  # type: ignore[arg-type]


def add_document(path: str | Path, **options: object) -> AddedDocument:
    """Ingest one file into the shared index; see :meth:`Bot.add_document`."""
    return get_bot().add_document(path, **options)  # type: ignore[arg-type]


def as_retriever(k: int = 4) -> BaseRetriever:
    """The shared bot's index as a LangChain ``BaseRetriever``: Documents with the source metadata."""
    return get_bot().as_retriever(k=k)
