"""What can go wrong with the index, as typed exceptions with messages that say what to do.

Chroma reports a stopped server, a read-only folder or a full disk as assorted ``httpx``, ``ValueError``
and ``InternalError``s; :func:`as_store_error` turns them into the errors below (all :class:`StoreError`),
and :func:`store_guard` does so for a block of code. :func:`ensure_free_space` refuses, before anything
is written, an ingestion that cannot fit on the disk of an embedded index.
"""

from __future__ import annotations

import errno
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from bot.settings import Settings

SERVER_HINT = ("Is it running? Start it with `chroma run --path index-server --host 127.0.0.1 --port 8000`; "
               "the bot reconnects by itself once it answers.")
# Measured: the article's 66 chunks take ~9 kB each in chroma.sqlite3 and the vector segment; keep 2x that.
BYTES_PER_CHUNK = 20_000
SPACE_MARGIN_BYTES = 2_000_000
# Chroma reports a full disk as e.g. "Error in compaction: Failed to apply logs to the metadata segment":
# a Chroma error while less than this is free on the index's disk is reported as a full disk.
LOW_SPACE_BYTES = 1_000_000


# SQLite (under Chroma, embedded or served) refuses a write while another process's write holds the database:
# "database is locked". It passes: the call is tried again, waiting 0.05 s, then twice as long each time up to
# 2 s a wait (about 80 s in all). 25 s was not always enough while three processes ingested into one server
# on a loaded machine (a CI run of session 12).
BUSY_ATTEMPTS = 45
BUSY_FIRST_WAIT_SECONDS = 0.05
BUSY_LONGEST_WAIT_SECONDS = 2.0
_BUSY = re.compile(r"database (table |schema )?is locked|database is busy")
T = TypeVar("T")


class StoreError(RuntimeError):
    """Base for index problems shown to users."""


class StoreUnavailableError(StoreError):
    """The Chroma server cannot be reached (or the index folder cannot be opened)."""


class ModelMismatchError(StoreError):
    """The index was built with another embedding model."""


class IndexOutdatedError(ModelMismatchError):
    """The index was built by an older version of the bot (another schema): it must be rebuilt."""


class IndexMissingError(StoreError):
    """Nothing has been ingested yet."""


class IndexReadOnlyError(StoreUnavailableError):
    """The index folder cannot be written (Chroma needs to write even to answer)."""


class DiskFullError(StoreError):
    """No space left on the disk holding the index."""


def where(settings: Settings) -> str:
    if settings.chroma_url:
        return f"{settings.chroma_url} (collection '{settings.collection}')"
    return f"{settings.index_dir} (collection '{settings.collection}')"


def describe_store_error(settings: Settings, exc: BaseException) -> str:
    target = f"the Chroma server at {settings.chroma_url}" if settings.chroma_url else f"the index {settings.index_dir}"
    return f"Cannot use {target}: {type(exc).__name__}: {exc}"


def _free_bytes(path: Path) -> int | None:
    for folder in (path, *path.parents):
        if folder.exists():
            return shutil.disk_usage(folder).free
    return None


def _is_connection_problem(exc: BaseException) -> bool:
    import httpx

    if isinstance(exc, (httpx.TransportError, ConnectionError, TimeoutError)):
        return True
    return isinstance(exc, ValueError) and "could not connect" in str(exc).lower()


def is_store_failure(exc: BaseException) -> bool:
    """An exception that comes from the store (not a bug, not a bad question)."""
    import httpx
    from chromadb.errors import ChromaError

    if isinstance(exc, (StoreError, ChromaError, httpx.HTTPError, OSError)):
        return True
    return _is_connection_problem(exc) or type(exc).__module__.startswith(("chromadb", "sqlite3"))


def as_store_error(settings: Settings, exc: BaseException) -> StoreError:
    """The typed StoreError for a failure of the index or server, with a message that says what to do."""
    if isinstance(exc, StoreError):
        return exc
    text = str(exc)
    lowered = text.lower()
    code = getattr(exc, "errno", None)
    if settings.chroma_url and _is_connection_problem(exc):
        return StoreUnavailableError(f"Cannot reach the Chroma server at {settings.chroma_url} "
                                     f"({type(exc).__name__}: {text or 'no answer'}). {SERVER_HINT}")
    if code == errno.EROFS or code == errno.EACCES or "readonly database" in lowered or "read-only" in lowered:
        return IndexReadOnlyError(
            f"The index folder {settings.index_dir} is read-only ({text}). Chroma must write there even to "
            "answer: make it writable, or set BOT_INDEX_DIR to a writable copy (or serve it with `chroma run`)."
        )
    free = None if settings.chroma_url else _free_bytes(settings.index_dir)
    full_disk = code in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in lowered or "no space left" in lowered
    if full_disk or (free is not None and free < LOW_SPACE_BYTES and "chroma" in type(exc).__module__):
        shown = f"{free:,} bytes free" if free is not None else "no space left"
        return DiskFullError(
            f"The disk holding the index {settings.index_dir} is full ({shown}; {type(exc).__name__}: {text}). "
            "Free some space and run the ingestion again: it completes what was cut short, and documents "
            "that were not finished are not served meanwhile."
        )
    from chromadb.errors import NotFoundError

    if isinstance(exc, NotFoundError):
        return StoreUnavailableError(
            f"The index at {where(settings)} has gone away ({text}): was it rebuilt or deleted? "
            "The bot opens it again on the next question."
        )
    return StoreUnavailableError(describe_store_error(settings, exc))


def is_busy(exc: BaseException) -> bool:
    return bool(_BUSY.search(str(exc).lower()))


_retrying = threading.local()


def retry_when_busy(call: Callable[[], T]) -> T:
    """The call's result, tried again while the database is locked by another writer (BUSY_ATTEMPTS times). Only
    for calls that may be repeated: reads, upserts, deletes, and writes that a locked database rolled back. A
    call made inside another one's retries runs once: the outer call tries the whole again (no retries of
    retries, which would wait BUSY_ATTEMPTS times as long)."""
    if getattr(_retrying, "active", False):
        return call()
    _retrying.active = True
    try:
        wait = BUSY_FIRST_WAIT_SECONDS
        for attempt in range(1, BUSY_ATTEMPTS + 1):
            try:
                return call()
            except Exception as exc:
                if attempt == BUSY_ATTEMPTS or not is_busy(exc):
                    raise
            time.sleep(wait)
            wait = min(2 * wait, BUSY_LONGEST_WAIT_SECONDS)
        raise AssertionError("unreachable")
    finally:
        _retrying.active = False


@contextmanager
def store_guard(settings: Settings) -> Iterator[None]:
    """Raise the typed StoreError for store failures inside the block; let anything else through."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        if not is_store_failure(exc):
            raise
        raise as_store_error(settings, exc) from exc


def ensure_free_space(settings: Settings, chunks: int, file: str) -> None:
    """Refuse, before anything is written, to ingest what cannot fit on an embedded index's disk."""
    if settings.chroma_url:
        return  # the server's disk is the server's business; its errors are translated when they happen
    free = _free_bytes(settings.index_dir)
    needed = chunks * BYTES_PER_CHUNK + SPACE_MARGIN_BYTES
    if free is not None and free < needed:
        raise DiskFullError(
            f"Not enough disk space to ingest {file}: it needs about {needed:,} bytes and the disk "
            f"holding {settings.index_dir} has {free:,} free. Nothing was written; free some space and try again."
        )
