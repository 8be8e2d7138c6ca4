"""Concurrency through Gradio's queue over HTTP: ``ui.py`` in a subprocess on a free loopback port (no browser),
with BOT_CONCURRENCY=2, and more simultaneous ``/chat`` calls from gradio_client than it answers at once. Each
caller gets the answer to its own question, the same as asked in-process, none lost or crossed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import ROOT
from tests.servers import free_port

pytestmark = pytest.mark.slow
QUESTIONS = [
    "What is the ChristenUnie's red line?",
    "Hoeveel fietsen passen in de nieuwe stalling?",
    "How long did the meeting last?",
    "Who opened the bicycle parking?",
    "What does the PVV think of the plan?",
    "Wat had Rutte zijn partij beloofd?",
]


@pytest.fixture()
def ui_url(indexed, settings, tmp_path):
    port = free_port()
    env = {**os.environ, "BOT_PORT": str(port), "BOT_INDEX_DIR": str(settings.index_dir), "BOT_CONCURRENCY": "2",
           "GRADIO_TEMP_DIR": str(tmp_path / "gradio"), "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "ui.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "ui.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_simultaneous_calls_through_the_queue_each_get_their_own_answer(ui_url):
    from gradio_client import Client

    from bot import answer

    expected = {q: answer(q).text for q in QUESTIONS}

    def ask(question: str) -> tuple[str, str]:
        client = Client(ui_url, verbose=False)  # one client per caller, as separate users
        return question, client.predict(question, api_name="/chat")["text"]

    with ThreadPoolExecutor(max_workers=len(QUESTIONS) * 2) as pool:
        results = list(pool.map(ask, QUESTIONS * 2))  # 12 calls at once, 2 answered at a time
    assert len(results) == 12
    for question, text in results:
        assert text == expected[question], question
