"""Issue 14 on the fast tier (the fake encoder, a real embedded Chroma in a temporary folder): the scope
(``answer(files=…)``), ``documents()`` with the time each was indexed, reading an article back, removing a
document (API and ``python -m bot remove``), markers without a time, and saved .html pages."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest

from bot.cli import main
from bot.index.locks import document_lock
from bot.index.schema import INDEXED_AT, Marker
from bot.language.text import DocumentError, read_document


@contextmanager
def another_writer_holds(file: str, seconds: float = 1.0):
    """Another writer holds ``file``'s lock until about ``seconds`` after the block starts."""
    from bot.answering import get_bot

    service = get_bot()
    held, release = threading.Event(), threading.Event()

    def writer():
        with document_lock(service.settings, service.index.client, file):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    held.wait(10)
    threading.Timer(seconds, release.set).start()
    try:
        yield
    finally:
        thread.join(10)


# A saved news page written for this test: the article among a menu, a cookie notice, a "popular news" list and
# a footer, in windows-1252 as its <meta> declares (é, ë and the curly quotes are single bytes there).
BOILERPLATE = [
    "Binnenland", "Cultuur en media", "Wij gebruiken cookies", "Accepteer alle cookies", "Populair nieuws",
    "Treinverkeer rond Utrecht urenlang plat", "Koning opent nieuwe brug", "Alle rechten voorbehouden",
    "Privacyverklaring",
]
SAVED_PAGE = """<!DOCTYPE html>
<html lang="nl"><head><meta charset="windows-1252"><title>Deventer opent zwembad | Nieuwsblad</title></head>
<body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/binnenland">Binnenland</a></li>
<li><a href="/sport">Sport</a></li><li><a href="/cultuur">Cultuur en media</a></li></ul></nav></header>
<div class="cookie-banner">Wij gebruiken cookies om uw ervaring te verbeteren. Door verder te klikken gaat u akkoord
met ons cookiebeleid. <button>Accepteer alle cookies</button></div>
<main><article>
<h1>Gemeente opent nieuw zwembad in Deventer</h1>
<p>De gemeente Deventer heeft zaterdag een nieuw zwembad geopend aan de rand van de stad. Het bad kostte veertien
miljoen euro en biedt plaats aan 600 zwemmers.</p>
<p>Wethouder Pieters sprak van een “historische dag voor de stad”. Volgens haar was het oude bad al jaren te klein
voor de scholen en verenigingen in de regio.</p>
<h2>Duurzaam gebouwd</h2>
<p>Het dak van het nieuwe zwembad ligt vol zonnepanelen. Daarmee wekt het gebouw ongeveer de helft van de stroom
op die het gebruikt, zegt de architect. Café-eigenaar René en Noël verwachten meer klanten.</p>
</article></main>
<aside><h3>Populair nieuws</h3><ul><li><a href="/a">Treinverkeer rond Utrecht urenlang plat door storing</a></li>
<li><a href="/b">Koning opent nieuwe brug over de IJssel</a></li><li><a href="/c">Ajax verliest opnieuw</a></li></ul>
</aside>
<footer><p>© 2026 Nieuwsblad. Alle rechten voorbehouden. Privacyverklaring. Contact.</p></footer>
</body></html>
"""


def saved_page(folder, name: str = "zwembad-deventer.html", text: str = SAVED_PAGE, charset: str = "windows-1252"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.encode(charset))
    return path


@pytest.fixture()
def both(fake_bot, docs):
    import bot

    before = time.time()
    bot.add_document(docs / "loket.txt")
    bot.add_document(docs / "zwembad.txt")
    return before


# ---------------------------------------------------------------- scope


def test_documents_lists_file_title_paragraphs_and_when_indexed(both):
    import bot

    listed = bot.documents()
    assert [(d.file, d.title, d.paragraphs) for d in listed] == [
        ("loket.txt", "Nieuw loket in het stadhuis", 3), ("zwembad.txt", "Zwembad heropend na verbouwing", 2)]
    assert all(both <= d.indexed_at <= time.time() for d in listed)


def test_files_limits_retrieval_and_abstains_naming_the_chosen_article(both):
    import bot

    whole = bot.answer("Hoeveel kostte de verbouwing van het zwembad?")
    assert not whole.abstained and "twaalf miljoen" in whole.text
    scoped = bot.answer("Hoeveel kostte de verbouwing van het zwembad?", files=["loket.txt"])
    assert scoped.abstained and "twaalf miljoen" not in scoped.text
    assert "«Nieuw loket in het stadhuis»" in scoped.text and "Zwembad" not in scoped.text  # names the scope only
    inside = bot.answer("Hoeveel kostte de verbouwing van het zwembad?", files=["zwembad.txt"])
    assert not inside.abstained and {s.file for s in inside.sources} == {"zwembad.txt"}
    # a follow-up stays in the scope as well
    follow = bot.answer("En wanneer is het open?", history=[{"role": "user", "content": "Wat opent Zwolle?"}],
                        files=["loket.txt"])
    assert {s.file for s in follow.sources} <= {"loket.txt"}


def test_names_check_reads_only_the_scope(both):
    import bot

    # "Kade" is in zwembad.txt only: scoped to the other article, no text mentions it, so the reason is given
    scoped = bot.answer("Wat gebeurt er aan de Kade?", files=["loket.txt"])
    assert scoped.abstained and "Het noemt Kade niet" in scoped.text
    assert "Kade" not in bot.answer("Wat gebeurt er aan de Kade?").text.split("noemt")[-1]  # unscoped: it is mentioned


def test_an_unknown_or_empty_scope_is_a_clear_error_and_the_stream_takes_files(both):
    import bot
    from bot.answering import UnknownDocumentError

    with pytest.raises(UnknownDocumentError, match=r"Not an indexed document: nope\.txt\. Indexed: loket\.txt, "
                                                   r"zwembad\.txt\."):
        bot.answer("Wanneer is het loket open?", files=["nope.txt"])
    with pytest.raises(ValueError, match="No document chosen"):
        bot.answer("Wanneer is het loket open?", files=[])
    *_, final = bot.stream("Hoeveel kostte de verbouwing?", files=["loket.txt"])
    assert final.abstained


def test_the_scope_reaches_the_llm_answerer(both, monkeypatch):
    """The LLM mode asks the same scoped extractive answerer first: an out-of-scope question never reaches it."""
    from bot.answering import get_bot
    from bot.llm.answerer import LLMAnswerer

    service = get_bot()

    class NoBackend:
        def complete(self, messages):
            raise AssertionError("the LLM was asked although the scope does not answer")

        stream = complete

    monkeypatch.setattr(service, "llm", LLMAnswerer(service.answering, service.settings, backend=NoBackend()))
    result = service.answer("Hoeveel kostte de verbouwing van het zwembad?", files=["loket.txt"])
    assert result.abstained and "«Nieuw loket in het stadhuis»" in result.text


# ---------------------------------------------------------------- reading and removing


def test_article_is_read_back_from_the_index_paragraph_by_paragraph(both):
    from bot.answering import UnknownDocumentError, get_bot

    article = get_bot().article("loket.txt")
    assert article.title == "Nieuw loket in het stadhuis"
    assert [p.number for p in article.paragraphs] == [1, 2]  # the title (paragraph 0) is no chunk
    assert article.paragraphs[0].text.startswith("De gemeente Zwolle opent")
    with pytest.raises(UnknownDocumentError):
        get_bot().article("nope.txt")


def test_remove_document_takes_it_out_of_answers_and_listing(both):
    import bot
    from bot.answering import UnknownDocumentError, get_bot

    assert bot.remove_document("zwembad.txt") > 0
    assert [d.file for d in bot.documents()] == ["loket.txt"]
    assert bot.answer("Hoeveel kostte de verbouwing van het zwembad?").abstained
    assert get_bot().index.stored("zwembad.txt") == []  # no chunk left behind
    with pytest.raises(UnknownDocumentError):
        bot.remove_document("zwembad.txt")


def test_the_chat_removes_uploads_only_with_their_file(fake_bot, docs):
    from bot.answering import DocumentRejected, get_bot

    service = get_bot()
    service.add_document(docs / "loket.txt")  # as from data/: not in the upload folder
    service.add_document(docs / "zwembad.txt", upload_dir=fake_fixture_dir(fake_bot))
    with pytest.raises(DocumentRejected, match=r"python -m bot ingest --prune"):
        service.remove_document("loket.txt", upload_dir=fake_bot.upload_dir)
    assert "loket.txt" in {d.file for d in service.documents()}  # nothing changed
    service.remove_document("zwembad.txt", upload_dir=fake_bot.upload_dir)
    assert not (fake_bot.upload_dir / "zwembad.txt").exists()
    assert [d.file for d in service.documents()] == ["loket.txt"]


def fake_fixture_dir(settings):
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    return settings.upload_dir


def test_removal_waits_for_a_writer_of_the_document_and_says_so(both):
    from bot.answering import get_bot

    service = get_bot()
    said: list[str] = []
    with another_writer_holds("loket.txt"):
        started = time.monotonic()
        service.remove_document("loket.txt", on_wait=said.append)
    assert time.monotonic() - started >= 0.9  # it waited for the writer
    assert len(said) == 1 and said[0].startswith("Waiting for another process") and "loket.txt" in said[0]
    assert [d.file for d in service.documents()] == ["zwembad.txt"]


def test_cli_remove_and_ask_with_file(fake_bot, docs, capsys):
    assert main(["ingest", "--quiet", str(docs)]) == 0
    capsys.readouterr()
    assert main(["status"]) == 0
    assert " UTC" in capsys.readouterr().out  # when each was indexed
    assert main(["ask", "--file", "loket.txt", "Hoeveel", "kostte", "de", "verbouwing", "van", "het", "zwembad?"]) == 0
    assert "«Nieuw loket in het stadhuis»" in capsys.readouterr().out
    assert main(["ask", "--file", "nope.txt", "Wanneer?"]) == 1
    assert "error: Not an indexed document: nope.txt" in capsys.readouterr().err
    assert main(["remove", "nope.txt"]) == 1
    assert "nope.txt is not in the index" in capsys.readouterr().err
    assert main(["remove", "zwembad.txt"]) == 0
    assert "Removed zwembad.txt from the index" in capsys.readouterr().out
    assert (docs / "zwembad.txt").exists()  # its file is left alone
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "loket.txt" in out and "zwembad.txt" not in out


def test_a_marker_without_a_time_reads_as_not_recorded(fake_bot, docs):
    """Markers written before the time was recorded (same schema 2) are read, with indexed_at None."""
    import bot
    from bot.answering import get_bot

    bot.add_document(docs / "loket.txt")
    store = get_bot().index
    meta = store.marker_collection.get(include=["metadatas"])
    old = {k: v for k, v in meta["metadatas"][0].items() if k != INDEXED_AT}
    store.marker_collection.update(ids=meta["ids"], metadatas=[old])  # update merges: write it without the key
    store.marker_collection.delete(ids=meta["ids"])
    store.marker_collection.add(ids=meta["ids"], embeddings=[[1.0]], documents=["x"], metadatas=[old])
    assert [d.indexed_at for d in bot.documents()] == [None]
    assert Marker.from_metadata(old).metadata() == old
    assert not bot.answer("Wanneer is het loket open?").abstained


# ---------------------------------------------------------------- saved .html pages


def test_a_saved_page_gives_its_article_without_the_boilerplate(tmp_path):
    doc = read_document(saved_page(tmp_path))
    assert doc.title == "Gemeente opent nieuw zwembad in Deventer"
    texts = [p.text for p in doc.paragraphs]
    assert texts[1].startswith("De gemeente Deventer heeft zaterdag") and "Duurzaam gebouwd" in texts
    assert "Café-eigenaar René en Noël" in doc.text and "“historische dag voor de stad”" in doc.text  # windows-1252
    found = [phrase for phrase in BOILERPLATE if phrase in doc.text]
    assert not found, found


def test_a_saved_page_is_indexed_without_its_boilerplate(fake_bot, tmp_path):
    import bot
    from bot.answering import get_bot

    bot.add_document(saved_page(tmp_path))
    stored = get_bot().index.chunks.get(include=["documents", "metadatas"])
    text = "\n".join(stored["documents"] + [m["passage"] for m in stored["metadatas"]])
    assert "zonnepanelen" in text
    assert not [phrase for phrase in BOILERPLATE if phrase in text]
    reply = bot.answer("Hoeveel zwemmers passen in het zwembad in Deventer?")
    assert not reply.abstained and reply.sources[0].file == "zwembad-deventer.html"


@pytest.mark.parametrize(("content", "message"), [
    (b'<html><head><meta charset="utf-8"></head><body><p>Caf\xe9</p></body></html>',
     "is not valid utf-8 text as it declares"),
    (b'<html><head><meta charset="klingon-8"></head><body><p>x</p></body></html>', "charset «klingon-8», which is"),
    (b"<html><body><nav><a href='/'>Home</a> <a href='/s'>Sport</a></nav><footer>Contact</footer></body></html>",
     "has no article text"),
])
def test_bad_pages_are_refused_with_a_clear_message_and_nothing_indexed(fake_bot, tmp_path, content, message):
    import bot

    path = tmp_path / "pagina.html"
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=message):
        bot.add_document(path)
    assert bot.documents() == []


# ---------------------------------------------------------------- feedback


def test_votes_are_appended_and_the_downvotes_become_a_review_list(tmp_path, capsys):
    import json

    from bot.answering.types import Answer, Source
    from bot.eval.__main__ import main as eval_main
    from bot.feedback import record_vote, vote_record

    answered = Answer(text="Volgens het artikel: «Het loket is elke dinsdag open.» [1]", abstained=False,
                      question="Wanneer is het loket open?", language="nl",
                      sources=[Source(text="De gemeente opent een loket. Het loket is elke dinsdag open.",
                                      highlight=["Het loket is elke dinsdag open."], document="Loket", paragraph=1,
                                      score=0.8, file="loket.txt")])
    path = tmp_path / "feedback" / "votes.jsonl"  # the folder is made when missing
    history = [{"role": "user", "content": "Wat opent Zwolle?"}, answered]
    assert record_vote(path, vote_record(True, "Wat opent Zwolle?", answered))
    assert record_vote(path, vote_record(False, "En wanneer?", answered, history, files=["loket.txt"]))
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["vote"] for line in lines] == ["up", "down"]
    down = lines[1]
    assert down["question"] == "En wanneer?" and down["answer"] == answered.text and down["files"] == ["loket.txt"]
    assert down["history"][0] == {"role": "user", "content": "Wat opent Zwolle?"} and len(down["history"]) == 2
    assert down["sources"][0]["file"] == "loket.txt" and down["sources"][0]["paragraph"] == 1 and down["time"]

    assert eval_main(["--feedback", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 answer(s) voted 👎") and "1. En wanneer?" in out and "Wat opent Zwolle?" not in out.split(
        "earlier")[0]
    assert "answered: Volgens het artikel" in out and "loket.txt, paragraph 1" in out
    assert "> Het loket is elke dinsdag open." in out

    assert eval_main(["--feedback", str(tmp_path / "missing.jsonl")]) == 1
    assert "cannot read the feedback file" in capsys.readouterr().out


def test_a_feedback_file_that_cannot_be_written_logs_a_warning_and_raises_nothing(tmp_path, caplog):
    from bot.answering.types import Answer
    from bot.feedback import record_vote, vote_record

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    record = vote_record(False, "Wanneer?", Answer(text="x", sources=[], abstained=True))
    with caplog.at_level("WARNING", logger="newsbot.feedback"):
        assert record_vote(blocked / "votes.jsonl", record) is False
    assert "feedback not saved: cannot write" in caplog.text


# ---------------------------------------------------------------- the chat's functions (ui.py), fast


@pytest.mark.parametrize(("host", "auth", "allowed"), [
    ("127.0.0.1", "", True), ("localhost", "", True), ("::1", "", True), ("127.0.0.2", "", True),
    ("0.0.0.0", "", False), ("192.0.2.10", "", False), ("chat.example", "", False),
    ("0.0.0.0", "redactie:geheim", True),
])
def test_upload_and_removal_need_loopback_or_a_login(settings, host, auth, allowed):
    from pydantic import SecretStr

    import ui

    ok, why = ui.management(settings.model_copy(update={"host": host, "auth": SecretStr(auth) if auth else None}))
    assert ok is allowed and (why == "" if allowed else f"listens on {host}" in why and "BOT_AUTH" in why)


def test_off_the_chat_refuses_uploads_and_removals_itself(fake_bot, docs, monkeypatch):
    """Not only hidden in the page: the server's handlers refuse, and nothing changes."""
    import ui
    from bot.answering import get_bot

    get_bot().add_document(docs / "zwembad.txt", upload_dir=fake_fixture_dir(fake_bot))
    monkeypatch.setenv("BOT_HOST", "192.0.2.10")
    from bot.settings import get_settings

    get_settings.cache_clear()
    status, _ = ui.add_document(str(docs / "loket.txt"))
    assert "turned off" in status and [d.file for d in get_bot().documents()] == ["zwembad.txt"]
    *_, (status, _, _, _) = list(ui.remove_upload("zwembad.txt"))
    assert "turned off" in status and (fake_bot.upload_dir / "zwembad.txt").is_file()
    assert [d.file for d in get_bot().documents()] == ["zwembad.txt"]
    assert 'class="nb-remove-doc"' not in ui.documents_view()


def test_the_chat_removes_an_upload_and_says_so(fake_bot, docs):
    import ui
    from bot.answering import get_bot

    get_bot().add_document(docs / "zwembad.txt", upload_dir=fake_fixture_dir(fake_bot))
    assert 'class="nb-remove-doc"' in ui.documents_view()
    updates = list(ui.remove_upload("zwembad.txt"))
    assert "Removing zwembad.txt" in updates[0][0] and "Removed zwembad.txt" in updates[-1][0]
    assert get_bot().documents() == [] and not (fake_bot.upload_dir / "zwembad.txt").exists()


def test_a_vote_in_the_chat_records_the_turn_it_was_given_to(fake_bot, docs, monkeypatch, tmp_path):
    import json

    import gradio as gr

    import ui
    from bot.answering import get_bot
    from bot.settings import get_settings

    get_bot().add_document(docs / "loket.txt")
    monkeypatch.setenv("BOT_FEEDBACK_FILE", str(tmp_path / "fb" / "votes.jsonl"))
    get_settings.cache_clear()
    conversation = ui.Conversation()
    list(ui.ask("Wat opent Zwolle?", conversation))
    list(ui.ask("Wanneer is het loket open?", conversation, ["loket.txt"]))
    assert sorted(conversation.answered) == [1, 3]
    ui.vote(conversation, gr.LikeData(None, {"index": 3, "value": "…", "liked": False}))
    ui.vote(conversation, gr.LikeData(None, {"index": 2, "value": "a question", "liked": True}))  # not an answer
    lines = (tmp_path / "fb" / "votes.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert (record["vote"], record["question"], record["files"]) == ("down", "Wanneer is het loket open?",
                                                                       ["loket.txt"])
    assert [turn["role"] for turn in record["history"]] == ["user", "assistant"]
    # a file that cannot be written: the chat goes on
    monkeypatch.setenv("BOT_FEEDBACK_FILE", str(docs / "loket.txt" / "votes.jsonl"))
    get_settings.cache_clear()
    ui.vote(conversation, gr.LikeData(None, {"index": 1, "value": "…", "liked": True}))


def test_cli_remove_waits_for_a_writer_and_says_so(fake_bot, docs, capsys):

    assert main(["ingest", "--quiet", str(docs)]) == 0
    with another_writer_holds("loket.txt"):
        capsys.readouterr()
        assert main(["remove", "loket.txt"]) == 0
    out, err = capsys.readouterr()
    assert "Waiting for another process" in err and "loket.txt" in err and "Removed loket.txt" in out


def test_the_llm_mode_is_given_passages_of_the_scope_only(both, monkeypatch):
    """What the LLM is shown comes from the scope (its reply is cut off here, so the check, which needs the real
    model, is not reached: the extractive answer of the scope is the fallback)."""
    from bot.answering import get_bot
    from bot.llm.answerer import LLMAnswerer
    from bot.llm.client import LLMError

    service = get_bot()
    seen: list[str] = []

    class Scripted:
        structured = False  # plain text: no structured-output request

        def complete(self, messages, structured=False):
            seen.append(" ".join(str(getattr(m, "content", m)) for m in messages))
            raise LLMError("scripted: no reply")

        def stream(self, messages, structured=False):
            yield from ()
            self.complete(messages)

    monkeypatch.setattr(service, "llm", LLMAnswerer(service.answering, service.settings, backend=Scripted()))
    service.answer("Wanneer is het loket open?", files=["loket.txt"])
    assert seen and "dinsdag" in seen[-1] and "Kade" not in seen[-1] and "zwembad" not in seen[-1].lower()
    *_, final = service.stream("Wanneer is het loket open?", files=["loket.txt"])
    assert final.sources and all(s.file == "loket.txt" for s in final.sources) and len(seen) == 2


def test_cli_ingest_waits_for_a_writer_of_the_same_document_and_says_so(fake_bot, docs, capsys):

    assert main(["ingest", "--quiet", str(docs / "zwembad.txt")]) == 0  # the index exists
    with another_writer_holds("loket.txt"):
        capsys.readouterr()
        assert main(["ingest", "--quiet", str(docs / "loket.txt"), str(docs / "zwembad.txt")]) == 0
    out, err = capsys.readouterr()
    assert err.count("Waiting for another process") == 1 and "to finish writing loket.txt…" in err
    assert out.startswith("1 document(s) written, 1 unchanged")
