"""Server mode under faults: the Chroma server down at start and mid-session, several ingesting processes.

Everything is real: `chroma run` servers in subprocesses, `python -m bot` in subprocesses, the real model.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from bot.index import StoreUnavailableError, open_index
from bot.ingest import _sha, chunk_document
from bot.language.text import read_document
from bot.model.embedding import BotEmbeddings
from tests.conftest import ARTICLE, ROOT, SECOND_ARTICLE
from tests.servers import ChromaServer, bot_env, free_port, run_bot, summary

pytestmark = [pytest.mark.server, pytest.mark.slow]
QUESTION = "Hoeveel fietsen passen in de nieuwe stalling?"


@pytest.fixture()
def public_api_on(monkeypatch):
    """Point the process-wide settings (and so bot.answer, the UI functions) at a Chroma URL for one test."""
    from bot.answering import reset_bot
    from bot.settings import get_settings

    def switch(url: str):
        monkeypatch.setenv("BOT_CHROMA_URL", url)
        monkeypatch.setenv("BOT_COLLECTION", "faults")
        get_settings.cache_clear()
        reset_bot()
        return get_settings()

    yield switch
    monkeypatch.undo()
    get_settings.cache_clear()
    reset_bot()


def ui_reply(question: str) -> str:
    import ui

    return "".join(ui.respond(question, []))


def test_server_down_at_start_and_mid_session_clear_errors_then_recovery(public_api_on, tmp_path):
    from bot import answer
    from bot.ingest import ingest

    port = free_port()
    settings = public_api_on(f"http://127.0.0.1:{port}")
    down = rf"Cannot reach the Chroma server at http://127\.0\.0\.1:{port} .*chroma run"

    # Down at start: the API raises the typed error, the CLI says so in one line, the UI shows it.
    with pytest.raises(StoreUnavailableError, match=down):
        answer(QUESTION)
    cli = run_bot(settings, "status")
    assert cli.returncode == 1 and "Traceback" not in cli.stderr
    assert re.search(down, cli.stderr) and cli.stderr.startswith("error: ")
    shown = ui_reply(QUESTION)
    assert "The index is unavailable" in shown and "Cannot reach the Chroma server" in shown

    # The server comes up (on the same port): the same process answers, nothing restarted.
    server = ChromaServer(tmp_path / "chroma", port).start()
    try:
        embeddings = BotEmbeddings(settings)
        ingest(open_index(settings, embeddings), embeddings, [SECOND_ARTICLE], progress=False)
        first = answer(QUESTION)
        assert "6500" in first.text and first.sources[0].file == SECOND_ARTICLE.name
        assert "6500" in ui_reply(QUESTION)

        # Down mid-session: a clear typed error, not a hang and not a traceback in the UI.
        server.stop()
        with pytest.raises(StoreUnavailableError, match=down):
            answer(QUESTION)
        assert "Cannot reach the Chroma server" in ui_reply(QUESTION)

        # Back: the next question reconnects by itself, with the same answer.
        server.start()
        assert answer(QUESTION).text == first.text
        assert "6500" in ui_reply(QUESTION)
    finally:
        server.stop()


def test_terminal_chat_survives_a_server_outage(tmp_path, settings):
    """`python -m bot chat`: an error line while the server is down, answers again when it is back."""
    port = free_port()
    server_settings = settings.model_copy(update={"chroma_url": f"http://127.0.0.1:{port}",
                                                  "collection": "chat"})
    chat = subprocess.Popen([sys.executable, "-m", "bot", "chat"], cwd=ROOT, env=bot_env(server_settings),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = ChromaServer(tmp_path / "chroma", port)
    try:
        chat.stdin.write(QUESTION + "\n")
        chat.stdin.flush()
        seen = ""
        while "error:" not in seen:  # the first question was answered (with an error) before the server is up
            line = chat.stdout.readline()
            assert line, f"chat ended: {seen} {chat.stderr.read()}"
            seen += line
        assert "Cannot reach the Chroma server" in seen
        server.start()
        assert run_bot(server_settings, "ingest", "--quiet", str(SECOND_ARTICLE)).returncode == 0
        out, err = chat.communicate(QUESTION + "\n\n", timeout=600)
    finally:
        if chat.poll() is None:
            chat.kill()
            chat.wait()
        server.stop()
    assert chat.returncode == 0, err
    assert "6500" in out and "Traceback" not in err


def test_several_processes_ingesting_at_once_leave_exact_counts(tmp_path, server_settings):
    """Three processes, the same documents in different orders, and two versions of one document."""
    settings = server_settings.model_copy(update={"collection": "concurrent"})
    small = tmp_path / "korte-notitie.txt"
    small.write_text("Korte notitie\n\nDe gemeente opent een loket. Het is elke dinsdag open.\n\n"
                     "Aanmelden kan vanaf maandag.", encoding="utf-8")
    versions = []
    for number, text in enumerate(["De raad vergadert op woensdag. Er is één agendapunt.",
                                   "De raad vergadert op donderdag. Er zijn twee agendapunten."]):
        folder = tmp_path / f"v{number}"
        folder.mkdir()
        versions.append(folder / "raad.txt")
        versions[-1].write_text(f"De raad\n\n{text}\n\nDe vergadering is openbaar.", encoding="utf-8")
    orders = [[ARTICLE, SECOND_ARTICLE, small, versions[0]], [SECOND_ARTICLE, small, ARTICLE, versions[1]],
              [small, ARTICLE, SECOND_ARTICLE]]
    processes = [subprocess.Popen([sys.executable, "-m", "bot", "ingest", "--quiet", *map(str, paths)], cwd=ROOT,
                                  env=bot_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for paths in orders]
    results = [p.communicate(timeout=600) for p in processes]  # inside pytest's --timeout=900
    for process, (_, err) in zip(processes, results):
        print(f"process {process.pid} exited {process.returncode}; stderr:\n{err}")  # shown in full on failure
    assert [p.returncode for p in processes] == [0, 0, 0]

    written, unchanged = map(sum, zip(*(summary(out) for out, _ in results)))
    assert written == 5 and unchanged == 6  # each document embedded once; raad.txt once per version

    store = open_index(settings, BotEmbeddings(settings))
    markers = store.complete_documents()
    assert sorted(markers) == sorted([ARTICLE.name, SECOND_ARTICLE.name, small.name, "raad.txt"])
    got = store.chunks.get(include=["metadatas"])
    metas = got["metadatas"]
    # No duplicates: one record per document, view and sentence position.
    keys = [(m["document"], m["view"], m["position"]) for m in metas]
    assert len(keys) == len(set(keys)) == len(got["ids"]) == store.chunks.count()
    # Nothing lost, nothing left over: exactly the chunks of each marked version.
    for name, marker in markers.items():
        mine = [m for m in metas if m["document"] == name]
        assert len(mine) == marker["chunks"] and {m["doc_hash"] for m in mine} == {marker["doc_hash"]}
    assert store.chunks.count() == sum(m["chunks"] for m in markers.values())
    assert markers["raad.txt"]["doc_hash"] in {_sha(v.read_text(encoding="utf-8")) for v in versions}
    expected = {p.name: len(chunk_document(read_document(p))) for p in [ARTICLE, SECOND_ARTICLE, small]}
    assert {n: markers[n]["chunks"] for n in expected} == expected
    assert not [c.name for c in store.client.list_collections() if c.name.startswith("concurrent-lock-")]



def test_a_hung_server_is_an_error_not_a_hang(tmp_path, settings):
    """A server that accepts connections but never answers (SIGSTOP): an error within seconds."""
    server = ChromaServer(tmp_path / "chroma").start()
    hung = settings.model_copy(update={"chroma_url": server.url, "collection": "hung"})
    try:
        os.killpg(server.process.pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match=r"Cannot reach the Chroma server .*(?i:timed out|timeout)"):
            open_index(hung, BotEmbeddings(hung))
        assert time.monotonic() - started < 30
    finally:
        os.killpg(server.process.pid, signal.SIGCONT)
        server.stop()


def test_a_server_that_hangs_mid_session_hits_the_request_timeout(tmp_path, settings, monkeypatch):
    """Up at start, then it accepts connections and never answers (SIGSTOP): the request timeout (60 s in the
    README; 3 s here, the same code path) ends the question with a clear error instead of a hang."""
    import bot.index.store
    from bot.answering import Bot
    from bot.ingest import ingest

    assert bot.index.store.REQUEST_TIMEOUT_SECONDS == 60.0  # what the README promises
    monkeypatch.setattr(bot.index.store, "REQUEST_TIMEOUT_SECONDS", 3.0)
    server = ChromaServer(tmp_path / "chroma").start()
    hung = settings.model_copy(update={"chroma_url": server.url, "collection": "hung-mid-session"})
    try:
        embeddings = BotEmbeddings(hung)
        ingest(open_index(hung, embeddings), embeddings, [SECOND_ARTICLE], progress=False)
        chat = Bot(hung)
        assert "6500" in chat.answer(QUESTION).text
        os.killpg(server.process.pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match=rf"Cannot reach the Chroma server at {server.url} "
                                                        r".*(?i:timed out|timeout)"):
            chat.answer(QUESTION)
        waited = time.monotonic() - started
        assert 2.5 < waited < 30, f"{waited:.1f} s: not the request timeout"
    finally:
        os.killpg(server.process.pid, signal.SIGCONT)
        server.stop()
