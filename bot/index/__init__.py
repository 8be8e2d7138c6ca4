"""The index behind one interface: the only package that imports ``chromadb``.

- :mod:`bot.index.schema`: what is stored (key names, :class:`ChunkRecord`, :class:`Marker`, schema version);
- :mod:`bot.index.store`: :func:`open_index` and the :class:`Index` operations, every one guarded;
- :mod:`bot.index.errors`: Chroma's failures translated into :class:`StoreError`s that say what to do;
- :mod:`bot.index.locks`: one writer per document, across processes.
"""

from __future__ import annotations

from bot.index.errors import (
    DiskFullError,
    IndexMissingError,
    IndexOutdatedError,
    IndexReadOnlyError,
    ModelMismatchError,
    StoreError,
    StoreUnavailableError,
    store_guard,
    where,
)
from bot.index.schema import ChunkRecord, Marker, Status
from bot.index.store import Index, forget_embedded, open_index

__all__ = [
    "ChunkRecord", "DiskFullError", "Index", "IndexMissingError", "IndexOutdatedError", "IndexReadOnlyError",
    "Marker", "ModelMismatchError", "Status", "StoreError", "StoreUnavailableError", "forget_embedded", "open_index",
    "store_guard", "where",
]
