"""ui.py in-process: the chat and API functions over the real model and index, upload checks, login setting."""

from itertools import pairwise
from pathlib import Path

import gradio as gr
import pytest

import ui
from bot.chat_view import reply_text
from bot.index import IndexMissingError, ModelMismatchError, StoreUnavailableError
from bot.language.text import DocumentError
from bot.model.embedding import ModelMissingError

ATTACK = '<img src=x onerror="alert(1)"> <script>alert(2)</script> **not bold**'


def as_chatbot_history(*turns: tuple[str, str]) -> list[dict]:
    """History as gr.ChatInterface hands it to the chat function (Gradio 6: normalised messages)."""
    return [{"role": role, "content": [{"type": "text", "text": text}], "metadata": None, "options": None}
            for role, text in turns]


@pytest.mark.usefixtures("indexed")
def test_chat_streams_the_answer_sentence_by_sentence_then_adds_the_sources():
    updates = list(ui.respond("What is the ChristenUnie's red line?", []))
    partial, final = updates[:-1], updates[-1]
    assert len(partial) >= 2
    assert all("nb-streaming" in u and "nb-sources" not in u for u in partial)
    texts = [reply_text(u).rstrip() for u in updates]
    assert all(len(a) < len(b) and b.startswith(a) for a, b in pairwise(texts[:-1]))  # growing
    assert texts[-2] == texts[-1] and "gezinshereniging" in texts[-1]  # all of it streamed
    assert "nb-sources" in final and "<mark>Voor de ChristenUnie is dit een rode lijn.</mark>" in final


@pytest.mark.usefixtures("indexed")
def test_chat_follow_up_reads_the_history_as_shown_in_the_chat():
    first = list(ui.respond("Who is Carola Schouten?", []))[-1]
    history = as_chatbot_history(("user", "Who is Carola Schouten?"), ("assistant", first))
    follow = list(ui.respond("And what did she say after the meeting?", history))[-1]
    assert "makkelijk" in reply_text(follow)
    assert ui.plain_history(history) == [
        {"role": "user", "content": "Who is Carola Schouten?"},
        {"role": "assistant", "content": reply_text(first)},
    ]


@pytest.mark.usefixtures("indexed")
def test_chat_shows_bad_questions_as_messages_not_crashes():
    (empty,) = ui.respond("   ", [])
    assert "nb-problem" in empty and "Please type a question" in empty
    (huge,) = ui.respond("Why? " * 1000, [])
    assert "nb-problem" in huge and "the limit is 2,000" in huge


@pytest.mark.usefixtures("indexed")
def test_chat_abstains_visibly():
    final = list(ui.respond("What does the PVV want?", []))[-1]
    assert "nb-abstention" in final and "Not in the article" in final and "nb-sources" not in final


@pytest.mark.usefixtures("indexed")
def test_api_function_returns_text_and_sources():
    result = ui.chat("Wat is de rode lijn van de ChristenUnie?")
    assert "gezinshereniging" in result["text"] and not result["abstained"]
    assert result["sources"][0]["paragraph"] == 9
    assert any("rode lijn" in h for h in result["sources"][0]["highlight"])
    with pytest.raises(gr.Error, match="Please type a question"):
        ui.chat("")


def test_problems_get_a_title_that_says_what_went_wrong():
    cases = {
        ModelMissingError("m"): "model is missing", IndexMissingError("i"): "Nothing is indexed",
        ModelMismatchError("x"): "needs rebuilding", StoreUnavailableError("s"): "index is unavailable",
        DocumentError("d"): "document cannot be used", ValueError("v"): "rephrase",
    }
    for exc, words in cases.items():
        title, message = ui.describe_problem(exc)
        assert words in title and str(exc) in message
    title, message = ui.describe_problem(KeyError("boom"))
    assert title == "Something went wrong" and "KeyError" in message


def test_chatbot_shows_what_people_type_as_text_and_gives_it_back_unchanged():
    chatbot = ui.show_user_text_literally(gr.Chatbot(render=False))
    reply = '<div class="nb-reply nb-answer"><div class="nb-text">x</div></div>'
    shown = chatbot.postprocess([{"role": "user", "content": ATTACK}, {"role": "assistant", "content": reply}])
    user_text, assistant_text = (m.content[0].text for m in shown.root)
    assert "<" not in user_text and "\\*\\*not bold\\*\\*" in user_text
    assert assistant_text == reply
    back = chatbot.preprocess(shown)
    assert [m["content"][0]["text"] for m in back] == [ATTACK, reply]


@pytest.mark.parametrize(("uploaded", "saved"), [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\Windows\\win.ini.md", "win.ini.md"),
    ("/abs/path/Artikel (1).TXT", "Artikel-1.txt"),
    (".hidden.md", "hidden.md"),
    ("....txt", "upload.txt"),
    ("<script>alert(1)</script>.txt", "script.txt"),
    ("café ‘nieuws’.txt", "café-nieuws.txt"),
])
def test_upload_names_stay_inside_the_upload_folder(uploaded, saved, tmp_path):
    name = ui.safe_upload_name(uploaded)
    assert name == saved
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()


@pytest.mark.parametrize("uploaded", ["../../etc/passwd", "report.pdf", "archive.txt.gz", ""])
def test_upload_names_of_other_file_types_are_refused(uploaded):
    with pytest.raises(ui.UploadRejected, match=r"Only \.txt and \.md files"):
        ui.safe_upload_name(uploaded)


@pytest.fixture()
def upload_settings(settings, tmp_path, monkeypatch):
    limited = settings.model_copy(update={"upload_dir": tmp_path / "uploads", "max_upload_bytes": 300})
    monkeypatch.setattr(ui, "get_settings", lambda: limited)
    return limited


def _file(folder: Path, name: str, text: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_upload_too_large_is_refused_with_the_limit(upload_settings, tmp_path):
    text = "Titel\n\n" + "Zin. " * 100
    status, _ = ui.add_document(_file(tmp_path / "in", "groot.txt", text))
    assert "nb-error" in status and f"groot.txt» is {len(text)} bytes" in status and "300 bytes" in status
    assert "BOT_MAX_UPLOAD_BYTES" in status
    assert not upload_settings.upload_dir.exists() or not any(upload_settings.upload_dir.iterdir())


@pytest.mark.usefixtures("indexed")
def test_upload_cannot_replace_a_document_indexed_from_elsewhere(upload_settings, tmp_path):
    status, documents = ui.add_document(_file(tmp_path / "in", "article-nl-migratie.txt", "Kaping\n\nWeg ermee."))
    assert "nb-error" in status and "already indexed" in status
    assert "Nog geen akkoord" in documents  # still the real article
    assert not (upload_settings.upload_dir / "article-nl-migratie.txt").exists()


def test_upload_of_a_wrong_type_or_nothing_says_so(upload_settings, tmp_path):
    status, _ = ui.add_document(_file(tmp_path / "in", "notes.pdf", "%PDF"))
    assert "Only .txt and .md files" in status
    status, _ = ui.add_document(None)
    assert "Choose a .txt or .md file" in status


def test_login_setting():
    assert ui.parse_auth(None) is None
    assert ui.parse_auth("redactie:geheim:met:dubbelepunt") == ("redactie", "geheim:met:dubbelepunt")
    for bad in ("no-colon", ":password", "user:"):
        with pytest.raises(SystemExit, match="user:password"):
            ui.parse_auth(bad)


def test_importing_the_ui_writes_no_stub_next_to_it():
    # Gradio writes a .pyi beside the module of any gr.Component subclass; ui.py must not define one.
    assert not Path(ui.__file__).with_suffix(".pyi").exists()
