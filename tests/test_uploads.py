"""The README's "re-uploading the same name updates that upload": ui.add_document, called directly, on a
private index (the shared bot pointed at it for the test), real model."""

from __future__ import annotations

import pytest

import ui
from bot.answering import answer, get_bot, reset_bot
from bot.settings import get_settings

pytestmark = pytest.mark.slow  # the real model


@pytest.fixture()
def private_chat(tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("BOT_UPLOAD_DIR", str(tmp_path / "uploads"))
    get_settings.cache_clear()
    reset_bot()
    yield get_settings()
    monkeypatch.undo()
    get_settings.cache_clear()
    reset_bot()


def upload(folder, name: str, text: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    status, _ = ui.add_document(str(folder / name))
    return status


def test_re_uploading_the_same_name_updates_that_upload(private_chat, tmp_path):
    first = "Loket\n\nHet nieuwe loket van de gemeente is elke dinsdag open. Aanmelden kan bij de balie."
    status = upload(tmp_path / "a", "loket.txt", first)
    assert "Added «Loket» (loket.txt)" in status
    assert "dinsdag" in answer("Wanneer is het loket open?").text
    old = get_bot().index.complete_documents()["loket.txt"]

    second = "Loket\n\nHet nieuwe loket van de gemeente is voortaan elke donderdag open. Aanmelden kan online."
    status = upload(tmp_path / "b", "loket.txt", second)  # the same name, from another folder
    assert "Added «Loket» (loket.txt)" in status, status
    assert (private_chat.upload_dir / "loket.txt").read_text(encoding="utf-8") == second
    store = get_bot().index
    markers = store.complete_documents()
    assert list(markers) == ["loket.txt"] and markers["loket.txt"]["doc_hash"] != old["doc_hash"]
    metas = store.chunks.get(include=["metadatas"])["metadatas"]
    assert {m["doc_hash"] for m in metas} == {markers["loket.txt"]["doc_hash"]}  # the old version is gone
    reply = answer("Wanneer is het loket open?").text
    assert "donderdag" in reply and "dinsdag" not in reply

    status = upload(tmp_path / "c", "loket.txt", second)
    assert "already indexed, unchanged" in status
    assert sorted(p.name for p in private_chat.upload_dir.iterdir() if p.is_file()) == ["loket.txt"]
