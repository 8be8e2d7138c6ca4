"""``python -m bot``: the status report, ``ingest --rebuild``, another BOT_MODEL, and settings read from `.env`.

Real subprocesses, the real model. The "other model" is a copy of the EmbeddingGemma folder under another name
(no second sentence-transformers model is available offline here): it is another BOT_MODEL to the bot (its
identity is the folder's path), which is what the model check in the index and --rebuild are about.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.index.schema import SCHEMA_VERSION
from bot.model.embedding import model_identity
from tests.conftest import ARTICLE, ROOT, SECOND_ARTICLE
from tests.model_copies import linked_model_copy
from tests.servers import bot_env

pytestmark = pytest.mark.slow
TIMEOUT = 600  # inside pytest's --timeout=900


def bot(env: dict[str, str], *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT)


def test_status_reports_the_index_the_model_and_every_document(indexed, settings):
    done = bot(bot_env(settings), "status")
    assert done.returncode == 0, done.stderr
    markers = indexed.complete_documents()
    lines = done.stdout.splitlines()
    identity = model_identity(settings)  # the model's name and its document prompt
    assert identity.startswith("embeddinggemma-300m (document prompt ")
    assert lines[0] == f"index:      {settings.index_dir} (collection '{settings.collection}')"
    assert lines[1] == f"schema:     {SCHEMA_VERSION} (this version reads {SCHEMA_VERSION})"
    assert lines[2] == f"model:      {identity} (configured: {identity})"
    assert lines[3] == f"chunks:     {indexed.chunks.count()}"
    assert lines[4] == f"documents:  {len(markers)}" and len(markers) == 2
    from bot.cli import indexed_when

    expected = [f"  - {name}: «{m['title']}», {m['paragraphs']} paragraphs, {m['chunks']} chunks, "
                f"indexed {indexed_when(m.get('indexed_at'))}" for name, m in sorted(markers.items())]
    assert lines[5:] == expected
    assert "article-nl-migratie.txt: «" in done.stdout and "Traceback" not in done.stderr


def other_model(tmp_path: Path, settings) -> Path:
    """The EmbeddingGemma folder again, under another name (symlinked files)."""
    return linked_model_copy(settings.model_dir, tmp_path / "another-model")


def test_another_model_is_refused_until_rebuild_which_drops_the_old_index(tmp_path, fresh_settings):
    env = bot_env(fresh_settings)
    first = bot(env, "ingest", "--quiet", str(ARTICLE))
    assert first.returncode == 0, first.stderr

    model = other_model(tmp_path, fresh_settings)
    other = {**env, "BOT_MODEL": str(model)}
    default_identity = model_identity(fresh_settings)
    other_identity = model_identity(fresh_settings.model_copy(update={"model": str(model)}))
    assert other_identity.startswith(f"{model} (document prompt ")
    refused = bot(other, "ingest", "--quiet", str(SECOND_ARTICLE))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("error: ") and "--rebuild" in refused.stderr
    status = bot(other, "status")
    assert f"model:      {default_identity} (configured: {other_identity})" in status.stdout

    rebuilt = bot(other, "ingest", "--quiet", "--rebuild", str(SECOND_ARTICLE))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert re.search(r"1 document\(s\) written, 0 unchanged", rebuilt.stdout)
    status = bot(other, "status")
    assert f"model:      {other_identity} (configured: {other_identity})" in status.stdout
    assert "documents:  1" in status.stdout and SECOND_ARTICLE.name in status.stdout
    assert ARTICLE.name not in status.stdout  # the old model's index was dropped
    asked = bot(other, "ask", "Hoeveel fietsen passen in de nieuwe stalling?")
    assert asked.returncode == 0 and "6500" in asked.stdout  # answered with the other model's vectors
    # Back to the default model: refused again until rebuilt.
    back = bot(env, "ingest", "--quiet", str(ARTICLE))
    assert back.returncode == 1 and "--rebuild" in back.stderr


def test_settings_are_read_from_a_dot_env_file(tmp_path, fresh_settings):
    env = bot_env(fresh_settings)
    assert bot(env, "ingest", "--quiet", str(SECOND_ARTICLE)).returncode == 0
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    dotenv = f"BOT_INDEX_DIR={fresh_settings.index_dir}\nBOT_COLLECTION={fresh_settings.collection}\n"
    (workdir / ".env").write_text(dotenv, encoding="utf-8")
    from_dotenv = {k: v for k, v in env.items() if k not in {"BOT_INDEX_DIR", "BOT_COLLECTION"}}
    from_dotenv["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = bot(from_dotenv, "status", cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert f"index:      {fresh_settings.index_dir} (collection '{fresh_settings.collection}')" in done.stdout
    assert "documents:  1" in done.stdout and SECOND_ARTICLE.name in done.stdout
    # The environment outranks the file.
    shell = {**from_dotenv, "BOT_COLLECTION": "from-the-shell"}
    done = bot(shell, "status", cwd=workdir)
    assert "from-the-shell" in (done.stdout + done.stderr)
