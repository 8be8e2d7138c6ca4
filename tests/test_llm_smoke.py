"""Smoke test with a real model: llama.cpp's OpenAI-compatible server (llama-cpp-python) running
SmolLM2-135M-Instruct, through the real pipeline (retrieval, prompt, SSE streaming, grounding check).

A 135M model invents freely, which is the point: whatever it writes, the user sees only sentences that
the grounding check verified, or the extractive answer. Run by ``.ci/llm-smoke``; skipped when
llama-cpp-python is not installed, unless BOT_REQUIRE_LLM_SMOKE=1.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.answering import Answer, Bot
from bot.answering.phrases import NOTES
from bot.llm.grounding import split_claims

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


def skip_or_fail(reason: str) -> None:
    if os.environ.get("BOT_REQUIRE_LLM_SMOKE") == "1":
        pytest.fail(f"{reason} (BOT_REQUIRE_LLM_SMOKE=1)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")  # session, like `indexed`, so that it comes first and skips at once
def llama_server(tmp_path_factory):
    python = llama_python()
    if python is None:
        skip_or_fail("llama-cpp-python[server] is not installed: run .ci/llm-smoke (builds it into .venv-llm/)")
    from tests.llm_smoke_model import fetch

    model = fetch()
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [python, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", "smollm2", "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "4096", "--n_threads", "2", "--verbose", "False"],
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
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def test_the_pipeline_streams_and_shows_only_verified_sentences(llama_server, indexed, settings):
    bot = Bot(settings.model_copy(update={
        "answerer": "openai", "llm_base_url": llama_server, "llm_model": "smollm2", "llm_timeout": 120.0,
        "llm_retries": 0, "llm_max_tokens": 120,
    }))
    outcomes = []
    for question in QUESTIONS:
        items = list(bot.stream(question))
        pieces, final = items[:-1], items[-1]
        assert isinstance(final, Answer) and all(isinstance(p, str) for p in pieces)
        generated = "".join(pieces)
        print(f"\nQ: {question}\nLLM: {generated!r}\nshown ({final.answerer}): {final.text!r}\n"
              f"dropped: {final.dropped}\nnote: {final.note!r}")
        assert len(pieces) > 1, "the model's answer did not arrive in pieces"
        assert not final.note.startswith(NOTES[final.language]["failed"].split("(")[0]), final.note  # no timeout
        for sentence in final.dropped:
            assert sentence in generated.replace("\n", " ") or sentence in generated
            assert sentence not in final.text
        if final.answerer == "openai":
            kept = split_claims(final.text)
            check = bot.llm.checker.check(final.text, [s.text for s in final.sources], [])
            assert kept and not check.dropped, check.dropped  # every sentence shown is cited and supported
        else:
            assert final.text.startswith(("According to the article:", "Volgens het artikel:")) and final.note
        outcomes.append(final)
    # SmolLM2-135M invents: the check must have removed something in at least one answer.
    assert any(o.dropped or o.answerer == "extractive" for o in outcomes)
