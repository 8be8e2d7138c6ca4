"""Faults of the machine: a read-only index folder, a full disk, missing or corrupted model files.

Each gives a clear, typed error and writes nothing half. The read-only folder is a real read-only bind
mount and the full disk a real 4 MB tmpfs (both need root, as on the team's machines and CI; without
it a chmod is used for read-only, and the disk test is skipped, except under BOT_REQUIRE_ALL=1 (CI), where
a missing root or a failing mount fails the test).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import bot.index.errors
from bot.answering import Bot
from bot.answering.retrieval import Retriever
from bot.index import DiskFullError, IndexReadOnlyError, open_index
from bot.ingest import ingest
from bot.model.embedding import BotEmbeddings, ModelMissingError
from tests.conftest import ROOT, SECOND_ARTICLE, required, skip_or_fail
from tests.model_copies import linked_model_copy
from tests.servers import bot_env, forget_open_index

pytestmark = pytest.mark.slow  # the real model, real mounts

NOTE = "Korte notitie\n\nDe gemeente opent een loket. Het is elke dinsdag open.\n\nAanmelden kan vanaf maandag."


def mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        skip_or_fail(f"cannot mount here ({done.stderr.strip()})")


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    if os.geteuid() != 0 and required():
        skip_or_fail("a real read-only bind mount needs root (here only the chmod stand-in could run)")
    if os.geteuid() == 0:  # root ignores permission bits: a read-only bind mount is the real thing
        mount("--bind", "-o", "ro", str(folder), str(folder))
        try:
            yield
        finally:
            subprocess.run(["umount", str(folder)], check=True)
    else:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
        for path in modes:
            path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def note(tmp_path) -> Path:
    path = tmp_path / "docs" / "korte-notitie.txt"
    path.parent.mkdir()
    path.write_text(NOTE, encoding="utf-8")
    return path


def test_read_only_index_folder(fresh_settings, note, tmp_path):
    embeddings = BotEmbeddings(fresh_settings)
    ingest(open_index(fresh_settings, embeddings), embeddings, [note], progress=False)
    index = fresh_settings.index_dir
    forget_open_index(fresh_settings)
    before = tree(index)
    with read_only(index):
        with pytest.raises(IndexReadOnlyError, match=rf"index folder {index} is read-only.*writable"):
            open_index(fresh_settings, embeddings)
        with pytest.raises(IndexReadOnlyError, match="read-only"):
            Bot(fresh_settings)
        cli = subprocess.run([sys.executable, "-m", "bot", "ingest", str(SECOND_ARTICLE)], cwd=ROOT,
                             env=bot_env(fresh_settings), capture_output=True, text=True, timeout=600)
        assert cli.returncode == 1 and "read-only" in cli.stderr and "Traceback" not in cli.stderr
    assert tree(index) == before
    # Writable again: the same process opens it (Chroma's half-started state was not kept).
    assert "loket" in Bot(fresh_settings).answer("Wat opent de gemeente?").text


@pytest.fixture()
def small_disk(tmp_path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0:
        skip_or_fail("simulating a full disk needs a tmpfs mount (root)")
    mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk))
    yield disk
    if subprocess.run(["umount", str(disk)]).returncode != 0:
        subprocess.run(["umount", "--lazy", str(disk)], check=True)  # never leave a mount behind


def fill(disk: Path, leave: int) -> Path:
    """Another file that takes all but ``leave`` bytes of the free space."""
    filler = disk / f"filler-{len(list(disk.glob('filler-*')))}"
    stat = os.statvfs(disk)
    with filler.open("wb") as fh:
        fh.write(b"\0" * max(0, stat.f_bavail * stat.f_frsize - leave))
    return filler


def test_full_disk_refuses_before_writing_and_recovers(fresh_settings, note, small_disk, monkeypatch):
    settings = fresh_settings.model_copy(update={"index_dir": small_disk / "index"})
    embeddings = BotEmbeddings(settings)
    store = open_index(settings, embeddings)
    ingest(store, embeddings, [note], progress=False)
    count = store.chunks.count()
    fill(small_disk, leave=300_000)

    # Checked before writing: a clear error, nothing written, the index still answers.
    with pytest.raises(DiskFullError, match=r"Not enough disk space to ingest .*Nothing was written"):
        ingest(store, embeddings, [SECOND_ARTICLE], progress=False)
    assert store.chunks.count() == count and list(store.complete_documents()) == [note.name]
    assert "loket" in Bot(settings).answer("Wat opent de gemeente?").text

    # The disk fills up during the write (the check switched off): still a clear error, and the cut-short
    # document is not served. The error may come from the write or, once Chroma has failed, from a read.
    monkeypatch.setattr(bot.index.errors, "BYTES_PER_CHUNK", 0)
    monkeypatch.setattr(bot.index.errors, "SPACE_MARGIN_BYTES", 0)
    fill(small_disk, leave=150_000)
    with pytest.raises(DiskFullError, match=r"disk holding the index .* is full"):
        ingest(store, embeddings, [SECOND_ARTICLE], progress=False)

    for filler in small_disk.glob("filler-*"):
        filler.unlink()
    monkeypatch.undo()
    # Run again, as the message says (Chroma's in-process state after a failed compaction is not trusted).
    forget_open_index(settings)
    store = open_index(settings, embeddings)
    assert SECOND_ARTICLE.name not in store.complete_documents()
    assert all(h.file == note.name for h in Retriever(store, embeddings, 8).retrieve("fietsen"))
    report = ingest(store, embeddings, [note, SECOND_ARTICLE], progress=False)
    assert report.added == [SECOND_ARTICLE.name] and report.unchanged == [note.name]
    markers = store.complete_documents()
    assert store.chunks.count() == sum(m["chunks"] for m in markers.values())
    forget_open_index(settings)  # close the index, so that the disk can be unmounted


def broken_model_cache(tmp_path: Path, settings, damage: str) -> Path:
    """A copy of the model folder (symlinks, except the damaged file), marked as verified."""
    cache = tmp_path / "cache"
    model = linked_model_copy(settings.model_dir, cache / "models" / settings.model_dir.name)
    weights = model / "model.safetensors"
    weights.unlink()
    if damage == "truncated weights":
        with (settings.model_dir / "model.safetensors").open("rb") as fh:
            weights.write_bytes(fh.read(1_000_000))
    elif damage == "garbage config":
        weights.symlink_to(settings.model_dir / "model.safetensors")
        (model / "config.json").unlink()
        (model / "config.json").write_bytes(b"\x00\xff not json")
    return cache


@pytest.mark.parametrize("damage", ["missing weights", "truncated weights", "garbage config"])
def test_broken_model_files_give_a_clear_error_and_write_nothing(tmp_path, fresh_settings, note, damage):
    settings = fresh_settings.model_copy(update={"cache_dir": broken_model_cache(tmp_path, fresh_settings, damage)})
    embeddings = BotEmbeddings(settings)
    store = open_index(settings, embeddings)
    with pytest.raises(ModelMissingError) as error:
        ingest(store, embeddings, [note], progress=False)
    assert "embedding model" in str(error.value) and str(settings.model_dir) in str(error.value)
    # Caught by the check at load (the marker's sizes): it names the file and how to repair the folder.
    named = "config.json" if damage == "garbage config" else "model.safetensors"
    expected = "is missing" if damage == "missing weights" else r"is \d+ bytes, it was \d+ bytes when verified"
    assert re.search(rf"damaged: {re.escape(named)} {expected}", str(error.value)), str(error.value)
    assert "python -m bot.model_fetch --repair" in str(error.value)
    assert store.chunks.count() == 0 and store.complete_documents() == {}
    if damage == "missing weights":
        cli = subprocess.run([sys.executable, "-m", "bot", "ingest", "--quiet", str(note)], cwd=ROOT,
                             env=bot_env(settings, BOT_CACHE_DIR=str(settings.cache_dir)), capture_output=True,
                             text=True, timeout=600)
        assert cli.returncode == 1 and "Traceback" not in cli.stderr
        assert cli.stderr.startswith("error: ") and "embedding model" in cli.stderr


def test_model_not_assembled_says_how_to_build_it(tmp_path, fresh_settings, note):
    settings = fresh_settings.model_copy(update={"cache_dir": tmp_path / "empty-cache"})
    embeddings = BotEmbeddings(settings)
    with pytest.raises(ModelMissingError, match=r"not assembled .*make model"):
        ingest(open_index(settings, embeddings), embeddings, [note], progress=False)
