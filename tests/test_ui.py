"""ui.py in-process: the chat and API functions over the real model and index, upload checks, login setting."""

import time
from pathlib import Path

import gradio as gr
import pytest

import ui
from bot.answering import Answer
from bot.index import IndexMissingError, ModelMismatchError, StoreUnavailableError
from bot.language.text import DocumentError
from bot.model.embedding import ModelMissingError

ATTACK = '<img src=x onerror="alert(1)"> <script>alert(2)</script> **not bold**'


def run(question: str, conversation: ui.Conversation | None = None) -> list[tuple]:
    return list(ui.ask(question, conversation or ui.Conversation()))


@pytest.mark.slow
@pytest.mark.usefixtures("indexed")
def test_extractive_answer_appears_at_once_with_its_sources_and_no_added_pause():
    started = time.monotonic()
    updates = list(ui.respond("What is the ChristenUnie's red line?", []))
    elapsed = time.monotonic() - started
    assert "nb-sources" in updates[-1] and "<mark>Voor de ChristenUnie is dit een rode lijn.</mark>" in updates[-1]
    assert all("nb-streaming" in u and "nb-sources" not in u for u in updates[:-1])
    assert not hasattr(ui, "STREAM_PAUSE_SECONDS") and "time.sleep" not in Path(ui.__file__).read_text()
    assert elapsed < 60


@pytest.mark.slow
@pytest.mark.usefixtures("indexed")
def test_the_conversation_keeps_questions_and_answer_objects_and_follow_ups_use_them():
    conversation = ui.Conversation()
    first = run("Who is Carola Schouten?", conversation)
    box, error, messages, state = first[0]
    assert box == "" and error == "" and messages[-1]["content"] == ui.SEARCHING
    assert state is conversation
    assert conversation.history[0] == {"role": "user", "content": "Who is Carola Schouten?"}
    assert isinstance(conversation.history[1], Answer)  # the Answer itself, not text parsed from the page
    run("And what did she say after the meeting?", conversation)
    follow = conversation.history[3]
    assert isinstance(follow, Answer) and "makkelijk" in follow.text
    assert len(conversation.messages) == 4 and "makkelijk" in conversation.messages[-1]["content"]


@pytest.mark.slow
@pytest.mark.usefixtures("indexed")
def test_an_empty_question_does_nothing_and_a_refused_one_stays_in_the_box():
    conversation = ui.Conversation()
    (nothing,) = run("   ", conversation)
    assert all(isinstance(value, type(gr.skip())) for value in nothing)
    (refused,) = run("Why? " * 1000, conversation)
    box, error, messages, _ = refused
    assert isinstance(box, type(gr.skip())) and isinstance(messages, type(gr.skip()))  # the text stays in the box
    assert "nb-input-error" in error and "the limit is 2,000" in error
    (no_words,) = run("???", conversation)
    assert "Please type a question in words" in no_words[1]
    assert conversation.history == [] and conversation.messages == []


@pytest.mark.slow
@pytest.mark.usefixtures("indexed")
def test_what_people_type_is_shown_as_text():
    conversation = ui.Conversation()
    run(ATTACK, conversation)
    question = conversation.messages[0]["content"]
    assert "<img" not in question and "<script" not in question and "&lt;img src=x" in question
    assert conversation.history[0] == {"role": "user", "content": ATTACK}


@pytest.mark.slow
@pytest.mark.usefixtures("indexed")
def test_chat_abstains_visibly():
    final = list(ui.respond("What does the PVV want?", []))[-1]
    assert "nb-abstention" in final and "Not in the article" in final and "nb-sources" not in final


@pytest.mark.slow
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
    with pytest.raises(ui.UploadRejected, match=r"Only \.txt, \.md, \.html and \.htm files"):
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


@pytest.mark.slow
@pytest.mark.usefixtures("indexed")
def test_upload_cannot_replace_a_document_indexed_from_elsewhere(upload_settings, tmp_path):
    status, documents = ui.add_document(_file(tmp_path / "in", "article-nl-migratie.txt", "Kaping\n\nWeg ermee."))
    assert "nb-error" in status and "already indexed" in status
    assert "Nog geen akkoord" in documents  # still the real article
    assert not (upload_settings.upload_dir / "article-nl-migratie.txt").exists()


def test_upload_of_a_wrong_type_or_nothing_says_so(upload_settings, tmp_path):
    status, _ = ui.add_document(_file(tmp_path / "in", "notes.pdf", "%PDF"))
    assert "Only .txt, .md, .html and .htm files" in status
    status, _ = ui.add_document(None)
    assert "Choose a .txt, .md or .html file" in status


def test_login_setting():
    assert ui.parse_auth(None) is None
    assert ui.parse_auth("redactie:geheim:met:dubbelepunt") == ("redactie", "geheim:met:dubbelepunt")
    for bad in ("no-colon", ":password", "user:"):
        with pytest.raises(SystemExit, match="user:password"):
            ui.parse_auth(bad)


def test_importing_the_ui_writes_no_stub_next_to_it():
    # Gradio writes a .pyi beside the module of any gr.Component subclass; ui.py must not define one.
    assert not Path(ui.__file__).with_suffix(".pyi").exists()
