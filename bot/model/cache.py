"""Vectors of texts, embedded once and kept: a bounded, thread-safe LRU in front of an embedding function."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np


class VectorCache:
    def __init__(self, embed: Callable[[list[str]], np.ndarray], size: int) -> None:
        self._embed = embed
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def missing(self, texts: Sequence[str]) -> list[str]:
        """The texts not kept yet, each once, in order."""
        with self._lock:
            return [t for t in dict.fromkeys(texts) if t not in self._vectors]

    def keep(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Keep vectors embedded elsewhere (with this cache's embedding function's prompt and model)."""
        with self._lock:
            self._vectors.update(zip(texts, vectors))
            self._trim()

    def forget(self, texts: Sequence[str]) -> None:
        """Drop these texts' vectors (a benchmark's first ask)."""
        with self._lock:
            for text in texts:
                self._vectors.pop(text, None)

    def of(self, texts: Sequence[str]) -> np.ndarray:
        """One vector per text, in order; only texts not kept yet are embedded (in one call)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, 0))
        missing = self.missing(texts)
        fresh = dict(zip(missing, self._embed(missing))) if missing else {}
        with self._lock:
            self._vectors.update(fresh)
            found = {t: self._vectors.get(t, fresh.get(t)) for t in dict.fromkeys(texts)}
            for text in found:
                if text in self._vectors:
                    self._vectors.move_to_end(text)
            self._trim()
        late = [t for t, vector in found.items() if vector is None]  # evicted by another thread meanwhile
        if late:
            found.update(zip(late, self._embed(late)))
        return np.stack([found[t] for t in texts])

    def _trim(self) -> None:  # under the lock: the least recently used beyond the size go
        while len(self._vectors) > self._size:
            self._vectors.popitem(last=False)
