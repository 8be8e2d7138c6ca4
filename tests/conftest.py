"""Shared fixtures: the real model, a real (embedded) Chroma index in a temporary folder.

The session index holds the project's article (data/) and a second, unrelated article
(tests/data/) so that answers are shown to come from the right document.

Server mode: ``chroma_server`` is a real ``chroma run`` on a free loopback port (started once, stopped at
the end). Tests that take ``mode`` (``mode_settings``, ``mode_indexed``, ``mode_fresh_settings``) run
twice: against the embedded index and against the server (marked ``server``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from bot.settings import use_offline_environment

ROOT = Path(__file__).resolve().parent.parent
SESSION_DIR = Path(tempfile.mkdtemp(prefix="newsbot-tests-"))
use_offline_environment()

# Every setting that changes behaviour is pinned here, for this process and every subprocess it starts (they
# inherit os.environ). Environment variables take precedence over a `.env` file, so a developer's `.env` or a
# shell that exports BOT_CHROMA_URL, BOT_ENCODER, BOT_MODEL, BOT_ANSWERER… changes nothing the tests test.
# "" is "unset" for the optional ones. Only BOT_CACHE_DIR (where the model is, not how it behaves) is taken
# from the shell when set there; the BOT_REQUIRE_* switches below are not settings.
PINNED_SETTINGS = {
    "BOT_MODEL": "embeddinggemma-300m", "BOT_ENCODER": "sentence-transformers", "BOT_DATA_DIR": str(ROOT / "data"),
    "BOT_INDEX_DIR": str(SESSION_DIR / "index"), "BOT_COLLECTION": "articles", "BOT_CHROMA_URL": "",
    "BOT_CHROMA_TENANT": "default_tenant", "BOT_CHROMA_DATABASE": "default_database", "BOT_CHROMA_TOKEN": "",
    "BOT_TOP_K": "8", "BOT_MIN_SCORE": "0.41",
    "BOT_MAX_QUESTION_CHARS": "2000", "BOT_MAX_UPLOAD_BYTES": "2000000", "BOT_UPLOAD_DIR": str(SESSION_DIR / "uploads"),
    "BOT_ANSWERER": "extractive", "BOT_LLM_BASE_URL": "", "BOT_LLM_MODEL": "", "BOT_LLM_API_KEY": "",
    "BOT_LLM_TIMEOUT": "60", "BOT_LLM_RETRIES": "1", "BOT_LLM_MAX_TOKENS": "1000", "BOT_LLM_TEMPERATURE": "0",
    "BOT_LLM_JSON": "auto", "BOT_GROUNDING_THRESHOLD": "0.82",
    "BOT_HOST": "127.0.0.1", "BOT_PORT": "7860", "BOT_AUTH": "",
    "BOT_CONCURRENCY": "4", "BOT_FEEDBACK_FILE": str(SESSION_DIR / "feedback" / "votes.jsonl"),
}
os.environ.update(PINNED_SETTINGS)
for _name in [n for n in os.environ if n.startswith("OPENAI_")]:
    del os.environ[_name]  # the OpenAI client would read them (a key, a base URL)

# One switch turns every skip for a missing capability (root, mount, chromium, the LLM smoke) into a failure.
# .ci/run sets it; the older per-suite switches still work.
REQUIRE_ALL = "BOT_REQUIRE_ALL"


def required(*older: str) -> bool:
    """True when a missing capability must fail the test: BOT_REQUIRE_ALL=1, or one of ``older`` set to 1."""
    return any(os.environ.get(name) == "1" for name in (REQUIRE_ALL, *older))


def skip_or_fail(reason: str, *older: str) -> None:
    """Skip for a missing capability, or fail when CI requires everything to run (BOT_REQUIRE_ALL=1)."""
    if required(*older):
        switch = next(name for name in (REQUIRE_ALL, *older) if os.environ.get(name) == "1")
        pytest.fail(f"{reason} ({switch}=1: this must run here, not be skipped)", pytrace=False)
    pytest.skip(reason)

ARTICLE = ROOT / "data" / "article-nl-migratie.txt"
SECOND_ARTICLE = ROOT / "tests" / "data" / "article-nl-fietsenstalling.txt"


# ---------------------------------------------------------------- the two tiers (pyproject.toml: markers)
#
# `slow` marks every test that needs the real model, a Chroma server, a browser, ui.py or an LLM server; the fast
# tier (`pytest -m "not slow"`) is everything else, on tests/fake_encoder.py where it needs embeddings. `browser`,
# `server` and `llm_smoke` imply `slow` (added here). An unmarked test that asks for the real index, or loads the
# real model, fails (below), so that the fast tier stays fast and a missing mark is found at once.

IMPLY_SLOW = ("browser", "server", "llm_smoke")
REAL_FIXTURES = {"indexed", "mode_indexed", "server_indexed", "chroma_server", "server_settings", "ui_index", "server",
                 "browser", "llama_server"}


def pytest_collection_modifyitems(config, items):
    unmarked = []
    for item in items:
        if not item.get_closest_marker("slow") and any(item.get_closest_marker(m) for m in IMPLY_SLOW):
            item.add_marker(pytest.mark.slow)
        if not item.get_closest_marker("slow") and REAL_FIXTURES & set(getattr(item, "fixturenames", ())):
            unmarked.append(f"{item.nodeid} ({', '.join(sorted(REAL_FIXTURES & set(item.fixturenames)))})")
    if unmarked:
        raise pytest.UsageError("tests that use the real model or a server must be marked slow:\n  "
                                + "\n  ".join(unmarked))


@pytest.fixture(autouse=True)
def _fast_tests_load_no_model(request, monkeypatch):
    """In a test not marked slow, loading the real embedding model is an error (use tests/fake_encoder.py)."""
    if request.node.get_closest_marker("slow"):
        yield
        return
    import bot.model.embedding

    def refuse(settings):
        raise AssertionError(f"{request.node.nodeid} is not marked slow but loads the real embedding model: mark it "
                             "@pytest.mark.slow, or use the fake encoder (the fake_bot fixture)")

    monkeypatch.setattr(bot.model.embedding, "load_model", refuse)
    yield


@pytest.fixture()
def fake_bot(tmp_path, monkeypatch):
    """The service (bot.answer, Bot, the UI's functions), ingestion and the CLI on the fake encoder
    (tests/fake_encoder.py) and its simple decision, over a private empty index and upload folder: the
    process-wide settings."""
    import bot.answering.extractive
    import bot.answering.service
    import bot.model.embedding
    from bot.settings import get_settings
    from tests.fake_encoder import FakeEmbeddings, simple_decision

    monkeypatch.setattr(bot.model.embedding, "BotEmbeddings", FakeEmbeddings)  # what the CLI imports
    monkeypatch.setattr(bot.answering.service, "BotEmbeddings", FakeEmbeddings)  # what Bot builds
    monkeypatch.setattr(bot.answering.extractive, "committed_model", simple_decision)
    monkeypatch.setenv("BOT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("BOT_UPLOAD_DIR", str(tmp_path / "uploads"))
    get_settings.cache_clear()
    bot.answering.service.reset_bot()
    yield get_settings()
    bot.answering.service.reset_bot()
    monkeypatch.undo()
    get_settings.cache_clear()


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(SESSION_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def settings():
    from bot.settings import get_settings

    return get_settings()


def index_both_articles(settings):
    """Both articles ingested with the real model into the index (or server) the settings name; its store."""
    from bot.index import open_index
    from bot.ingest import ingest
    from bot.model.embedding import BotEmbeddings

    embeddings = BotEmbeddings(settings)
    store = open_index(settings, embeddings)
    ingest(store, embeddings, [ARTICLE, SECOND_ARTICLE], progress=False)
    return store


@pytest.fixture(scope="session")
def indexed(settings):
    """The session index, built once with the real model: both articles."""
    return index_both_articles(settings)


@pytest.fixture()
def fresh_settings(tmp_path, settings):
    """Settings for a private, empty index (for tests that write)."""
    return settings.model_copy(update={"index_dir": tmp_path / "index", "collection": "test"})


# ---------------------------------------------------------------- server mode


@pytest.fixture(scope="session")
def chroma_server():
    """A real `chroma run --path TMP --host 127.0.0.1 --port FREE` for the whole session."""
    from tests.servers import ChromaServer

    server = ChromaServer(SESSION_DIR / "chroma-server").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def server_settings(settings, chroma_server):
    """The session settings, pointed at the Chroma server (BOT_CHROMA_URL)."""
    return settings.model_copy(update={"chroma_url": chroma_server.url})


@pytest.fixture(scope="session")
def server_indexed(server_settings):
    """The session index on the server: both articles, ingested through the server."""
    return index_both_articles(server_settings)


MODES = ["embedded", pytest.param("server", marks=pytest.mark.server)]


@pytest.fixture(scope="module", params=MODES)
def mode(request) -> str:
    """Run the test in both modes: embedded (PersistentClient) and server (HttpClient to `chroma run`)."""
    return request.param


@pytest.fixture(scope="module")
def mode_settings(mode, request):
    return request.getfixturevalue("settings" if mode == "embedded" else "server_settings")


@pytest.fixture(scope="module")
def mode_indexed(mode, request):
    """The session index (both articles) of this mode."""
    return request.getfixturevalue("indexed" if mode == "embedded" else "server_indexed")


@pytest.fixture()
def mode_fresh_settings(mode, tmp_path, settings, request):
    """Settings for a private, empty index in this mode: a temporary folder, or a new server collection."""
    if mode == "embedded":
        return settings.model_copy(update={"index_dir": tmp_path / "index", "collection": "test"})
    url = request.getfixturevalue("chroma_server").url
    return settings.model_copy(update={"chroma_url": url, "collection": f"test-{uuid.uuid4().hex[:12]}"})


# Two small articles for the fast tier (the fake encoder): answering, scope and removal tests share them.
LOKET = """Nieuw loket in het stadhuis

De gemeente Zwolle opent een nieuw loket in het stadhuis. Het loket is elke dinsdag open van negen tot twaalf.

Aanmelden kan vanaf maandag bij de balie. Wethouder Jansen noemde het loket een goede stap.
"""
ZWEMBAD = """Zwembad heropend na verbouwing

Het zwembad aan de Kade is na twee jaar verbouwing heropend. De verbouwing kostte twaalf miljoen euro.
"""


@pytest.fixture()
def docs(tmp_path):
    """A folder with the two small articles: loket.txt and zwembad.txt."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "loket.txt").write_text(LOKET, encoding="utf-8")
    (folder / "zwembad.txt").write_text(ZWEMBAD, encoding="utf-8")
    return folder
