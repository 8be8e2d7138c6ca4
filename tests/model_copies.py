"""A copy of the real model folder for tests that damage or rename it: symlinks to the real files, so that it
costs nothing, except for the files the test then writes itself."""

from __future__ import annotations

from collections.abc import Container
from pathlib import Path


def linked_model_copy(source: Path, target: Path, leave_out: Container[str] = ()) -> Path:
    """``target`` mirroring ``source`` with symlinked files; the files whose relative paths are in
    ``leave_out`` are not linked (the caller writes its own)."""
    for path in source.rglob("*"):
        relative = path.relative_to(source)
        copy = target / relative
        if path.is_dir():
            copy.mkdir(parents=True, exist_ok=True)
        elif str(relative) not in leave_out:
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.symlink_to(path)
    return target
