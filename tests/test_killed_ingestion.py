"""An ingestion killed (SIGKILL) half-way through a large document, in both modes: a real subprocess.

The half-written document is never served, the next run completes it (embedding only what is missing),
and the index ends with no duplicates and exact counts.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.answering import Bot
from bot.index import open_index
from bot.ingest import chunk_document
from bot.language.text import read_document
from bot.model.embedding import BotEmbeddings
from tests.conftest import ROOT
from tests.servers import bot_env, forget_open_index, summary

pytestmark = pytest.mark.slow


def big_document(path: Path, paragraphs: int = 34) -> Path:
    """A long article: every sentence different, three per paragraph (about 200 chunks, 4 batches)."""
    lines = ["Een lang verslag van de gemeenteraad"]
    for n in range(1, paragraphs + 1):
        lines.append(f"In vergadering {n} besprak de raad voorstel {n * 7}. Wethouder Jansen noemde punt {n} "
                     f"urgent. De stemming over onderwerp {n} volgde na {n + 2} uur.")
    path.write_text("\n\n".join(lines), encoding="utf-8")
    return path


class Progress(threading.Thread):
    """Reads the ingestion's progress bar (stderr) and records how many chunks it reported written."""

    def __init__(self, stream) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.text = ""
        self.written = 0

    def run(self) -> None:
        while chunk := self.stream.read(1):
            self.text += chunk
            numbers = re.findall(r"(\d+)/(\d+) \[", self.text[-200:])
            if numbers:
                self.written = max(self.written, int(numbers[-1][0]))


def test_killed_ingestion_is_never_served_and_is_completed_next_run(tmp_path, mode_fresh_settings):
    settings = mode_fresh_settings
    doc_path = big_document(tmp_path / "verslag.txt")
    total = len(chunk_document(read_document(doc_path)))
    assert total > 150

    process = subprocess.Popen([sys.executable, "-m", "bot", "ingest", str(doc_path)], cwd=ROOT,
                               env=bot_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    progress = Progress(process.stderr)
    progress.start()
    deadline = time.monotonic() + 900
    while progress.written == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)  # right after its first batch was written
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert 0 < progress.written < total, progress.text[-500:]

    # Half written: chunks are there, no marker; the bot does not serve them.
    embeddings = BotEmbeddings(settings)
    store = open_index(settings, embeddings)
    partial = store.chunks.count()
    assert progress.written <= partial < total
    assert store.complete_documents() == {}
    reply = Bot(settings).answer("Wat besprak de raad in vergadering 1?")
    assert reply.abstained and reply.sources == []

    # The next run takes over the dead process's lock at once and completes the document.
    started = time.monotonic()
    rerun = subprocess.run([sys.executable, "-m", "bot", "ingest", "--quiet", str(doc_path)], cwd=ROOT,
                           env=bot_env(settings), capture_output=True, text=True, timeout=1800)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert summary(rerun.stdout) == (1, 0)
    assert f"{total - partial} chunks written ({total - partial} embedded, 0 reused)" in rerun.stdout
    assert time.monotonic() - started < 900

    forget_open_index(settings)
    store = open_index(settings, embeddings)
    marker = store.complete_documents()[doc_path.name]
    got = store.chunks.get(include=["metadatas"])
    keys = {(m["view"], m["position"]) for m in got["metadatas"]}
    assert len(got["ids"]) == len(keys) == marker["chunks"] == total == store.chunks.count()
    assert not [c.name for c in store.client.list_collections() if "-lock-" in c.name]
    reply = Bot(settings).answer("Wat besprak de raad in vergadering 1?")
    assert not reply.abstained and reply.sources[0].file == doc_path.name
