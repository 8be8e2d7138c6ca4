"""Smoke test with a real model: llama.cpp's OpenAI-compatible server (llama-cpp-python) running
SmolLM2-135M-Instruct, through the real pipeline (retrieval, the quote-anchored prompt, structured output
asked for and, if the server rejects it, plain text, SSE streaming, the quote check).

A 135M model invents freely, which is the point: whatever it writes, the user sees only sentences whose
quote the check verified, or the extractive answer with its note. Run by ``.ci/llm-smoke``; skipped when
llama-cpp-python is not installed, unless BOT_REQUIRE_ALL=1 (or BOT_REQUIRE_LLM_SMOKE=1).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import unicodedata
import urllib.request
from pathlib import Path

import pytest

from bot.answering import Answer, Bot
from bot.answering.phrases import NOTES
from tests.conftest import skip_or_fail
from tests.servers import free_port

pytestmark = pytest.mark.llm_smoke

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "What status would war refugees get?",
    "Wat is de rode lijn van de ChristenUnie?",
    "How long did the meeting last?",
    "Who is Sigrid Kaag?",
]


def llama_python() -> str | None:
    """A Python that has llama-cpp-python's server: BOT_LLAMA_PYTHON, .venv-llm/, or this one."""
    candidates = [os.environ.get("BOT_LLAMA_PYTHON"), str(ROOT / ".venv-llm" / "bin" / "python"), sys.executable]
    for python in filter(None, candidates):
        if Path(python).exists() and subprocess.run(
                [python, "-c", "import llama_cpp.server"], capture_output=True, timeout=120).returncode == 0:
            return python
    return None



@pytest.fixture(scope="session")  # session, like `indexed`, so that it comes first and skips at once
def llama_server(tmp_path_factory):
    python = llama_python()
    if python is None:
        skip_or_fail("llama-cpp-python[server] is not installed: run .ci/llm-smoke (installs it into .venv-llm/)",
                     "BOT_REQUIRE_LLM_SMOKE")
    from tests.llm_smoke_model import fetch

    model = fetch()
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    # One thread: llama.cpp's threads spin while they wait for each other, so on 2 cores shared with other jobs
    # two threads took 37 s for ten tokens where one took under a second (measured at load average 9).
    with log.open("wb") as out:
        process = subprocess.Popen(
            [python, str(ROOT / "tests" / "llama_server_compat.py"), "--model", str(model), "--model_alias", "smollm2",
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "1",
             "--n_threads_batch", "1", "--verbose", "False"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama.cpp server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama.cpp server did not start within 180 s:\n{log.read_text()[-3000:]}")
            time.sleep(1)
        yield url, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def folded(text: str) -> str:
    """Lower case, no accents, letters and digits between single spaces: computed here, not by the product."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def quote_in(quote: str, passage: str) -> bool:
    """The quote occurs in the passage, checked here: folded, allowing about one edit in ten characters."""
    from rapidfuzz import fuzz

    needle, haystack = folded(quote), folded(passage)
    return bool(needle) and (needle in haystack or fuzz.partial_ratio(needle, haystack) >= 90)


def test_the_pipeline_streams_and_shows_only_verified_sentences(llama_server, indexed, settings):
    """Whatever the tiny model writes, every sentence shown rests on a quote that is in the passage it cites
    (checked here, independently), and was shown only once verified; or the extractive answer is shown with
    its note."""
    server_url, server_log = llama_server
    bot = Bot(settings.model_copy(update={
        "answerer": "openai", "llm_base_url": server_url, "llm_model": "smollm2", "llm_timeout": 120.0,
        "llm_retries": 0, "llm_max_tokens": 200,
    }))
    calls = []  # every claim the checker was given, with the passages, after its verdict (never changed)
    verify = bot.llm.checker.verify

    def recording_verify(claim, passages, refusals):
        verdict = verify(claim, passages, refusals)
        calls.append((verdict, list(passages)))
        return verdict

    bot.llm.checker.verify = recording_verify
    refused_note = {NOTES[lang]["refused"] for lang in NOTES}
    dropped_unsupported = []
    for question in QUESTIONS:
        calls.clear()
        items = list(bot.stream(question))
        pieces, final = items[:-1], items[-1]
        assert isinstance(final, Answer) and all(isinstance(p, str) for p in pieces)
        print(f"\nQ: {question}\nclaims: {[(c.text, c.passage, c.quote, c.reason) for c, _ in calls]}\n"
              f"shown ({final.answerer}): {final.text!r}\nnote: {final.note!r}\nabstained: {final.abstained}")
        if final.abstained:  # the article does not answer: the LLM is not asked, nothing to check
            assert not calls and final.answerer == "extractive" and final.sources == []
            continue
        assert not final.note.startswith(NOTES[final.language]["failed"].split("(")[0]), final.note  # no timeout
        kept = [c for c, _ in calls if not c.reason and not c.refusal]
        # streamed: exactly the kept sentences, in order, each as soon as it was verified; nothing else
        assert "".join(pieces) == " ".join(c.shown for c in kept) and len(pieces) == len(kept)
        for claim, passages in calls:
            if not claim.reason and not claim.refusal:
                assert quote_in(claim.quote, passages[claim.passage - 1]), claim
        if final.answerer == "openai":
            assert final.text == "".join(pieces) and kept
            for claim in kept:
                assert claim.evidence in final.sources[claim.passage - 1].highlight
        else:  # the extractive fallback: the article's own sentences, with the note saying why
            assert final.text.startswith(("According to the article:", "Volgens het artikel:")) and final.note
            for quote in re.findall(r"«(.*?)» \[\d+\]", final.text):
                assert any(quote in s.text for s in final.sources)
        assert sorted(final.dropped) == sorted(c.text for c, _ in calls if c.reason)
        if final.note not in refused_note:
            dropped_unsupported += [c for c, _ in calls if c.reason]
    # SmolLM2-135M writes what it likes: at least one of its sentences was dropped by the check.
    assert dropped_unsupported, "the check dropped nothing the tiny model wrote"
    # The real server was called over HTTP: one streamed completion per question at least.
    assert server_log.read_text(errors="replace").count("POST /v1/chat/completions") >= len(QUESTIONS)
