"""Shared fixtures: the real model, a real (embedded) Chroma index in a temporary folder.

The session index holds the project's article (data/) and a second, unrelated article
(tests/data/) so that answers are shown to come from the right document.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SESSION_DIR = Path(tempfile.mkdtemp(prefix="newsbot-tests-"))
os.environ["BOT_INDEX_DIR"] = str(SESSION_DIR / "index")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ARTICLE = ROOT / "data" / "article-nl-migratie.txt"
SECOND_ARTICLE = ROOT / "tests" / "data" / "article-nl-fietsenstalling.txt"


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(SESSION_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def settings():
    from bot.settings import get_settings

    return get_settings()


@pytest.fixture(scope="session")
def indexed(settings):
    """The session index, built once with the real model: both articles."""
    from bot.embedding import BotEmbeddings
    from bot.ingest import ingest
    from bot.store import open_store

    embeddings = BotEmbeddings(settings)
    store = open_store(settings, embeddings)
    ingest(store, embeddings, [ARTICLE, SECOND_ARTICLE], progress=False)
    return store


@pytest.fixture()
def fresh_settings(tmp_path, settings):
    """Settings for a private, empty index (for tests that write)."""
    return settings.model_copy(update={"index_dir": tmp_path / "index", "collection": "test"})
