"""One writer per document, across processes and machines: a lease held as a Chroma collection.

Creating a collection whose name exists fails atomically, in embedded mode and on a server alike, so
``<collection>-lock-<hash of the document name>`` is a mutex that every process sharing the index sees.
The lock records its holder (host, pid, a random token) and an expiry that the holder renews after each
batch. A lock is taken over when its holder was a process on this machine that no longer runs (SIGKILL:
no waiting at all), or when its holder stopped renewing it (a process on another machine killed, or gone).

Two processes ingesting the same document therefore take turns: the second one finds it complete and
writes nothing. Two *versions* of one document ingested at once end as one of them, whole.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from bot.index.errors import StoreError, retry_when_busy, store_guard
from bot.settings import Settings

LEASE_SECONDS = 300.0
WAIT_SECONDS = 900.0
POLL_SECONDS = 0.25
_held: set[str] = set()  # tokens of the leases this process holds now


class LockLostError(StoreError):
    """Another process took over this writer's lock (it stalled for longer than the lease)."""


def lock_name(settings: Settings, file: str) -> str:
    return f"{settings.collection}-lock-{hashlib.sha256(file.encode('utf-8')).hexdigest()[:24]}"


def _is_not_found(exc: BaseException) -> bool:
    from chromadb.errors import NotFoundError

    return isinstance(exc, NotFoundError)


def _already_exists(exc: BaseException) -> bool:
    from chromadb.errors import ChromaError, UniqueConstraintError

    # A server says UniqueConstraintError; the embedded (Rust) client an InternalError with this text.
    return isinstance(exc, UniqueConstraintError) or (isinstance(exc, ChromaError) and "already exists" in str(exc))


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:  # a killed child that nobody has reaped yet is a zombie: it holds nothing
        return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _abandoned(holder: dict[str, Any]) -> bool:
    """Its holder stopped renewing it; or, on this machine, its process is gone, or it is this process,
    which no longer holds it (a full disk kept it from deleting its lock)."""
    if float(holder.get("expires", 0)) < time.time():
        return True
    if holder.get("host") == socket.gethostname():
        pid = int(holder.get("pid", 0))
        if pid == os.getpid():
            return holder.get("token") not in _held
        return _process_gone(pid)
    return False


class Lease:
    def __init__(self, settings: Settings, client: Any, name: str, file: str) -> None:
        self.settings = settings
        self.client = client  # chromadb ClientAPI
        self.name = name
        self.file = file
        self.token = uuid.uuid4().hex
        self.renewed = 0.0

    def _metadata(self) -> dict[str, Any]:
        return {"host": socket.gethostname(), "pid": os.getpid(), "token": self.token,
                "document": self.file[:200], "expires": time.time() + LEASE_SECONDS}

    def _holder(self) -> dict[str, Any] | None:
        try:
            return dict(retry_when_busy(lambda: self.client.get_collection(self.name)).metadata or {})
        except Exception as exc:
            if _is_not_found(exc):
                return None
            raise

    def try_acquire(self) -> dict[str, Any] | None:
        """None when acquired; else the holder's record."""
        try:
            retry_when_busy(lambda: self.client.create_collection(self.name, metadata=self._metadata()))
            self.renewed = time.monotonic()
            _held.add(self.token)
            return None
        except Exception as exc:
            if not _already_exists(exc):
                raise
        holder = self._holder()
        if holder is not None and _abandoned(holder):
            again = self._holder()  # delete only the abandoned lock we saw, not a fresh one
            if again is not None and again.get("token") == holder.get("token"):
                self._drop()
        return holder or {}

    def check(self) -> None:
        """Raise LockLostError unless this process still holds the lock; renew it now and then."""
        with store_guard(self.settings):
            holder = self._holder()
            if holder is None or holder.get("token") != self.token:
                raise LockLostError(f"Another process took over ingesting {self.file} (this one stalled for "
                                    f"more than {LEASE_SECONDS:.0f} s); nothing of this run is marked complete.")
            if time.monotonic() - self.renewed > LEASE_SECONDS / 4:
                retry_when_busy(lambda: self.client.get_collection(self.name).modify(metadata=self._metadata()))
                self.renewed = time.monotonic()

    def _drop(self) -> None:
        try:
            retry_when_busy(lambda: self.client.delete_collection(self.name))
        except Exception as exc:
            if not _is_not_found(exc):
                raise

    def release(self) -> None:
        _held.discard(self.token)
        holder = self._holder()
        if holder is not None and holder.get("token") == self.token:
            self._drop()


@contextmanager
def document_lock(settings: Settings, client: Any, file: str, wait: float = WAIT_SECONDS,
                  on_wait: Callable[[dict[str, Any]], None] | None = None) -> Iterator[Lease]:
    """Hold the document's lock for the block (waiting for another writer to finish, up to ``wait`` s).

    ``on_wait`` is called once, with the holder's record (host, pid), when the lock is held by another writer:
    to say why nothing happens yet."""
    lease = Lease(settings, client, lock_name(settings, file), file)
    deadline = time.monotonic() + wait
    refused = 0
    with store_guard(settings):
        while (holder := lease.try_acquire()) is not None:
            refused += 1
            if on_wait is not None and holder and refused == 2:  # not for a dead holder's lock, taken over at once
                on_wait(holder)
            if time.monotonic() > deadline:
                raise StoreError(f"{file} is being ingested by another process ({holder.get('host')}, pid "
                                 f"{holder.get('pid')}); gave up waiting after {wait:.0f} s. Try again later.")
            time.sleep(POLL_SECONDS)
    try:
        yield lease
    except BaseException:
        with suppress(Exception):  # the error that stopped us matters more; a dead holder's lock is taken over
            lease.release()
        raise
    with store_guard(settings):
        lease.release()
