"""The fast tier: settings (environment, `.env`, validation) and the command line (``python -m bot``'s
``ingest``, ``status``, ``ask``, ``--rebuild``, another BOT_MODEL, errors), in-process on the fake encoder
(tests/fake_encoder.py). The same commands with the real model, in subprocesses, are in test_cli.py (slow)."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from bot.cli import main
from bot.index.schema import SCHEMA_VERSION
from bot.settings import PROJECT_DIR, Settings, get_settings

NOTE = "Korte notitie\n\nDe gemeente opent een loket. Het is elke dinsdag open.\n\nAanmelden kan vanaf maandag."


# ---------------------------------------------------------------- settings


@pytest.fixture()
def bare_environment(monkeypatch, tmp_path):
    """No BOT_* variable (the suite pins them all) and a working folder without a `.env`."""
    import os

    for name in [n for n in os.environ if n.startswith("BOT_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_defaults(bare_environment):
    settings = Settings()
    assert settings.model == "embeddinggemma-300m" and settings.encoder == "sentence-transformers"
    assert settings.index_dir == PROJECT_DIR / "index" and settings.collection == "articles"
    assert settings.chroma_url is None and settings.answerer == "extractive" and settings.auth is None
    assert settings.host == "127.0.0.1"  # loopback unless asked otherwise
    assert settings.model_dir == settings.cache_dir / "models" / "embeddinggemma-300m"


def test_a_dot_env_file_is_read_and_the_environment_outranks_it(bare_environment, monkeypatch):
    (bare_environment / ".env").write_text("BOT_TOP_K=5\nBOT_COLLECTION=from-dotenv\nBOT_AUTH=redactie:geheim\n",
                                           encoding="utf-8")
    settings = Settings()
    assert (settings.top_k, settings.collection) == (5, "from-dotenv")
    assert settings.auth.get_secret_value() == "redactie:geheim" and "geheim" not in repr(settings)
    monkeypatch.setenv("BOT_COLLECTION", "from-the-shell")
    assert Settings().collection == "from-the-shell" and Settings().top_k == 5


@pytest.mark.parametrize(("name", "value"), [
    ("BOT_TOP_K", "0"), ("BOT_TOP_K", "many"), ("BOT_ENCODER", "auto"), ("BOT_ANSWERER", "gpt"),
    ("BOT_LLM_TIMEOUT", "0"), ("BOT_MAX_QUESTION_CHARS", "5"), ("BOT_CONCURRENCY", "0"),
])
def test_bad_values_are_refused_with_the_setting_named(bare_environment, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("BOT_").lower()):
        Settings()


# ---------------------------------------------------------------- the command line


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def note(tmp_path):
    path = tmp_path / "docs" / "notitie.txt"
    path.parent.mkdir()
    path.write_text(NOTE, encoding="utf-8")
    return path


def test_ingest_status_and_ask(fake_bot, note, capsys):
    code, out, err = run(capsys, "ingest", "--quiet", str(note))
    assert code == 0, err
    assert re.match(r"1 document\(s\) written, 0 unchanged, 0 removed; 6 chunks written \(6 embedded, 0 reused\)",
                    out), out
    code, out, _ = run(capsys, "ingest", "--quiet", str(note))
    assert code == 0 and out.startswith("0 document(s) written, 1 unchanged")

    code, out, _ = run(capsys, "status")
    identity = f"fake-ngram-hash-384 for {fake_bot.model}"
    assert code == 0 and out.splitlines() == [
        f"index:      {fake_bot.index_dir} (collection '{fake_bot.collection}')",
        f"schema:     {SCHEMA_VERSION} (this version reads {SCHEMA_VERSION})",
        f"model:      {identity} (configured: {identity})",
        "chunks:     6",
        "documents:  1",
        "  - notitie.txt: «Korte notitie», 3 paragraphs, 6 chunks, indexed " + out.splitlines()[-1][-20:],
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", out.splitlines()[-1][-20:])

    code, out, _ = run(capsys, "ask", "Wanneer", "is", "het", "loket", "open?")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Volgens het artikel: «") and "dinsdag" in lines[0]
    assert re.fullmatch(r"\[1\] Korte notitie, paragraph 1 \(score \d\.\d\d\)", lines[2])
    assert lines[3] == "    De gemeente opent een loket. Het is elke dinsdag open."
    assert any(line.startswith("    > ") and line[6:] in lines[0] for line in lines[4:])


def test_errors_are_one_line_with_exit_status_1(fake_bot, note, tmp_path, capsys):
    code, out, err = run(capsys, "status")
    assert code == 1 and out == "" and err.startswith("error: No index yet at ") and "python -m bot ingest" in err
    code, _, err = run(capsys, "ask", "   ")
    assert code == 1 and err == "error: Please type a question: this one is empty.\n"
    binary = tmp_path / "docs" / "plaatje.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    code, _, err = run(capsys, "ingest", "--quiet", str(note), str(binary))
    assert code == 1 and err.startswith("error: ") and "Nothing was ingested" in err and "plaatje.txt" in err
    assert len(err.strip().splitlines()) <= 3 and "Traceback" not in err


def test_another_model_is_refused_until_rebuild(fake_bot, note, tmp_path, monkeypatch, capsys):
    assert run(capsys, "ingest", "--quiet", str(note))[0] == 0
    other = tmp_path / "docs" / "tweede.txt"
    other.write_text("Tweede notitie\n\nHet zwembad gaat in juni weer open.", encoding="utf-8")

    monkeypatch.setenv("BOT_MODEL", "another-model")
    get_settings.cache_clear()
    code, _, err = run(capsys, "ingest", "--quiet", str(other))
    assert code == 1 and err.startswith("error: The index at ") and "--rebuild" in err
    assert "fake-ngram-hash-384 for embeddinggemma-300m" in err and "another-model" in err
    code, out, _ = run(capsys, "status")  # the status still shows what is there
    assert code == 0 and "model:      fake-ngram-hash-384 for embeddinggemma-300m (configured: " in out

    code, out, err = run(capsys, "ingest", "--quiet", "--rebuild", str(other))
    assert code == 0, err
    code, out, _ = run(capsys, "status")
    assert "documents:  1" in out and "tweede.txt" in out and "notitie.txt" not in out  # the old index was dropped
    other_model = "fake-ngram-hash-384 for another-model"
    assert f"model:      {other_model} (configured: {other_model})" in out
