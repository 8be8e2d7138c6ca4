"""An ingestion killed (SIGKILL) half-way through a large document, in both modes: a real subprocess.

The half-written document is never served, the next run takes over the dead process's lock at once (not
after the 300 s lease) and completes it (embedding only what is missing), and the index ends with no
duplicates and exact counts. Killed while an indexed document is being updated, the old version stays
served, whole, never mixed with the new one.
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
from bot.index.locks import LEASE_SECONDS, lock_name
from bot.ingest import chunk_document, ingest
from bot.language.text import read_document
from bot.model.embedding import BotEmbeddings
from tests.conftest import ROOT
from tests.servers import bot_env, forget_open_index, summary

pytestmark = pytest.mark.slow


TAKEOVER_SECONDS = 60  # to the rerun's first write, model load included; a broken takeover waits out the 300 s lease
WAIT_SECONDS = 600  # every wait here ends well inside pytest's --timeout=900


def big_document(path: Path, paragraphs: int = 34, version: int = 1) -> Path:
    """A long article: every sentence different, three per paragraph (about 200 chunks, 4 batches)."""
    lines = ["Een lang verslag van de gemeenteraad"]
    for n in range(1, paragraphs + 1):
        if version == 1:
            lines.append(f"In vergadering {n} besprak de raad voorstel {n * 7}. Wethouder Jansen noemde punt {n} "
                         f"urgent. De stemming over onderwerp {n} volgde na {n + 2} uur.")
        else:
            lines.append(f"In vergadering {n} besprak de raad de begroting van jaar {2000 + n}. Wethouder De Vries "
                         f"vond post {n * 3} te duur. Het besluit over kwestie {n} werd {n + 1} weken uitgesteld.")
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


def kill_after_first_batch(settings, doc_path: Path, total: int) -> tuple[int, Progress]:
    """``python -m bot ingest DOC`` SIGKILLed right after its first batch was written; its pid."""
    process = subprocess.Popen([sys.executable, "-m", "bot", "ingest", str(doc_path)], cwd=ROOT,
                               env=bot_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    progress = Progress(process.stderr)
    progress.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while progress.written == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert 0 < progress.written < total, progress.text[-500:]
    return process.pid, progress


def lock_holder(store, file: str) -> dict | None:
    name = lock_name(store.settings, file)
    found = [c for c in store.client.list_collections() if c.name == name]
    return dict(store.client.get_collection(name).metadata or {}) if found else None


def test_killed_ingestion_is_never_served_and_is_completed_next_run(tmp_path, mode_fresh_settings):
    settings = mode_fresh_settings
    doc_path = big_document(tmp_path / "verslag.txt")
    total = len(chunk_document(read_document(doc_path)))
    assert total > 150

    dead_pid, progress = kill_after_first_batch(settings, doc_path, total)

    # Half written: chunks are there, no marker; the bot does not serve them.
    embeddings = BotEmbeddings(settings)
    store = open_index(settings, embeddings)
    partial = store.chunks.count()
    assert progress.written <= partial < total
    assert store.complete_documents() == {}
    reply = Bot(settings).answer("Wat besprak de raad in vergadering 1?")
    assert reply.abstained and reply.sources == []
    # The dead process still holds the document's lock, with a lease that has minutes left to run.
    holder = lock_holder(store, doc_path.name)
    assert holder is not None and int(holder["pid"]) == dead_pid
    assert float(holder["expires"]) - time.time() > LEASE_SECONDS - 120

    # The next run takes over the dead process's lock at once and completes the document: its first batch is
    # written within a minute (model load included), not after the dead holder's lease runs out.
    started = time.monotonic()
    rerun = subprocess.Popen([sys.executable, "-m", "bot", "ingest", str(doc_path)], cwd=ROOT,
                             env=bot_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rerun_progress = Progress(rerun.stderr)
    rerun_progress.start()
    while rerun_progress.written == 0 and rerun.poll() is None and time.monotonic() - started < WAIT_SECONDS:
        time.sleep(0.05)
    first_write = time.monotonic() - started
    rerun.wait(timeout=WAIT_SECONDS)
    rerun_progress.join(timeout=10)
    stdout = rerun.stdout.read()
    assert rerun.returncode == 0, rerun_progress.text[-2000:]
    assert summary(stdout) == (1, 0)
    assert f"{total - partial} chunks written ({total - partial} embedded, 0 reused)" in stdout
    assert first_write < TAKEOVER_SECONDS, (
        f"the rerun wrote nothing for {first_write:.0f} s: was the dead process's lock waited out?")

    forget_open_index(settings)
    store = open_index(settings, embeddings)
    marker = store.complete_documents()[doc_path.name]
    got = store.chunks.get(include=["metadatas"])
    keys = {(m["view"], m["position"]) for m in got["metadatas"]}
    assert len(got["ids"]) == len(keys) == marker["chunks"] == total == store.chunks.count()
    assert not [c.name for c in store.client.list_collections() if "-lock-" in c.name]
    reply = Bot(settings).answer("Wat besprak de raad in vergadering 1?")
    assert not reply.abstained and reply.sources[0].file == doc_path.name


def test_killed_while_updating_an_indexed_document_the_old_version_stays_served_whole(tmp_path, mode_fresh_settings):
    settings = mode_fresh_settings
    doc_path = big_document(tmp_path / "verslag.txt", version=1)
    embeddings = BotEmbeddings(settings)
    store = open_index(settings, embeddings)
    ingest(store, embeddings, [doc_path], progress=False)
    old_marker = store.complete_documents()[doc_path.name]
    old_paragraphs = set(doc_path.read_text(encoding="utf-8").split("\n\n"))
    question = "Wat besprak de raad in vergadering 3?"
    before = Bot(settings).answer(question)
    assert "voorstel 21" in before.text

    big_document(doc_path, version=2)  # the same name, every sentence changed
    new_total = len(chunk_document(read_document(doc_path)))
    kill_after_first_batch(settings, doc_path, new_total)

    # The old version is served, whole: its marker, its chunks only, the same answer.
    forget_open_index(settings)
    store = open_index(settings, embeddings)
    marker = store.complete_documents()[doc_path.name]
    assert marker == old_marker
    old_chunks = store.chunks.get(where={"doc_hash": marker["doc_hash"]}, include=[])["ids"]
    assert len(old_chunks) == marker["chunks"]  # the old version is still complete
    assert store.chunks.count() > marker["chunks"]  # and the killed run did write some of the new one
    after = Bot(settings).answer(question)
    assert after.text == before.text and "begroting" not in after.text
    assert after.sources and all(s.text in old_paragraphs for s in after.sources)
    for q in ["Welke post vond wethouder De Vries te duur?", "Hoeveel weken werd het besluit uitgesteld?"]:
        reply = Bot(settings).answer(q)
        assert all(s.text in old_paragraphs for s in reply.sources), reply.sources  # nothing of the new version

    # The next run completes the new version and swaps it in; the old one is gone.
    rerun = subprocess.run([sys.executable, "-m", "bot", "ingest", "--quiet", str(doc_path)], cwd=ROOT,
                           env=bot_env(settings), capture_output=True, text=True, timeout=WAIT_SECONDS)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    forget_open_index(settings)
    store = open_index(settings, embeddings)
    new_marker = store.complete_documents()[doc_path.name]
    assert new_marker["doc_hash"] != marker["doc_hash"]
    got = store.chunks.get(include=["metadatas"])
    assert {m["doc_hash"] for m in got["metadatas"]} == {new_marker["doc_hash"]}
    assert len(got["ids"]) == new_marker["chunks"] == new_total
    assert "begroting van jaar 2003" in Bot(settings).answer(question).text
