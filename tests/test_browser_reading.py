"""Issue 14 in the browser: the chat as a reading tool. ``ui.py`` on a free loopback port over a private index
of two articles, driven by Debian's chromium through Playwright, real model (see tests/test_browser.py).

The article view (a citation opens the article at the cited paragraph, highlighted and in view; a title in the
Documents panel opens it too), the scope (ticked articles only, an abstention naming them), removing an upload,
a saved .html page without its boilerplate, a 👎 vote in the JSONL file, and upload and removal turned off for a
chat configured for another address without a login; the accessibility checks with the article panel open.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_browser import (
    ARTICLE,
    ARTIFACTS,
    SECOND_ARTICLE,
    Chat,
    assert_accessible,
    browser,  # noqa: F401  (the fixture)
    open_chat,
    start_ui,
    stop,
)
from tests.test_fast_reading import BOILERPLATE, SAVED_PAGE

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
MIGRATION_TITLE = "Nog geen akkoord bereikt over migratie"
BIKES_TITLE = "Utrecht opent grootste fietsenstalling"
LOKET = ("Nieuw loket voor paspoorten in Kampen\n\n"
         "De gemeente Kampen opent op 3 maart een nieuw loket voor paspoorten in het stadhuis. Het loket is elke "
         "woensdag open van negen tot twaalf uur.\n\n"
         "Wethouder Bakker zei dat de wachttijd voor een paspoort daarmee halveert.\n")


@pytest.fixture(scope="module")
def reading_index(settings, tmp_path_factory) -> Path:
    """A private index with both articles (the migration talks and the bicycle parking), real model."""
    from bot.index import open_index
    from bot.ingest import ingest
    from bot.model.embedding import BotEmbeddings

    index_dir = tmp_path_factory.mktemp("reading-index") / "index"
    private = settings.model_copy(update={"index_dir": index_dir})
    embeddings = BotEmbeddings(private)
    ingest(open_index(private, embeddings), embeddings, [ARTICLE, SECOND_ARTICLE], progress=False)
    return index_dir


@pytest.fixture(scope="module")
def reading_server(reading_index, tmp_path_factory):
    folder = tmp_path_factory.mktemp("reading-ui")
    index = folder / "index"
    shutil.copytree(reading_index, index)  # this server removes and adds articles: its own copy
    running = start_ui(folder, index, BOT_FEEDBACK_FILE=str(folder / "feedback" / "votes.jsonl"))
    running.feedback = folder / "feedback" / "votes.jsonl"
    yield running
    stop(running)


@pytest.fixture()
def chat(browser, reading_server) -> Iterator[Chat]:  # noqa: F811
    with open_chat(browser, reading_server) as opened:
        yield opened


def panel_text(page) -> str:
    return page.locator("#article").inner_text()


def wait_for_article(page, title: str) -> None:
    page.wait_for_function("(t) => { const a = document.querySelector('#article .nb-article-title');"
                           " return a && a.textContent.startsWith(t) && document.querySelector('#article-panel')"
                           "?.getAttribute('data-shown'); }", arg=title, timeout=60_000)


def in_view(page, selector: str) -> bool:
    """The element's box lies inside the window and inside the article panel's scroll box."""
    return page.evaluate("""(selector) => {
        const box = document.querySelector(selector).getBoundingClientRect();
        const panel = document.querySelector('#article-panel').getBoundingClientRect();
        return box.top >= Math.max(0, panel.top) - 1 && box.top < Math.min(window.innerHeight, panel.bottom)
            && box.left >= panel.left - 1 && box.right <= panel.right + 1 && box.height > 0;
    }""", selector)


@pytest.mark.browser
def test_citation_opens_the_article_at_the_cited_paragraph_highlighted_and_in_view(chat):
    page = chat.page
    assert page.locator("#article-panel").count() == 0 or not page.locator("#article-panel").is_visible()
    reply = chat.ask("What is the ChristenUnie's red line?")
    first = reply.locator(".nb-source").first
    cited_paragraph = int(first.locator(".nb-where").inner_text().split()[1])
    evidence = first.locator("mark").all_inner_texts()
    marker = reply.locator(".nb-text .nb-marker").first
    assert marker.inner_text() == "[1]" and marker.get_attribute("role") == "button"
    marker.click()
    wait_for_article(page, MIGRATION_TITLE)
    cited = page.locator("#article .nb-cited")
    assert cited.count() == 1 and cited.get_attribute("id") == f"nb-p-{cited_paragraph}"
    assert cited.locator("mark").all_inner_texts() == evidence and evidence  # the evidence, highlighted
    assert "gezinshereniging dan ook geen optie" in " ".join(evidence)  # [1] is the first quote
    assert in_view(page, "#article .nb-cited mark")
    # the whole article: every paragraph of it, the title first
    assert page.locator("#article p.nb-article-p, #article h3.nb-article-h").count() == 10  # 11 less the title
    assert page.locator("#article h3.nb-article-h", has_text="Rutte op ramkoers").count() == 1
    panel, chat_box = page.locator("#article-panel").bounding_box(), page.locator("#chat").bounding_box()
    assert panel["x"] >= chat_box["x"] + chat_box["width"] - 1  # beside the chat
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-article.png"))
    assert_accessible(page, "with the article panel open")
    # Scrolled, the Close button stays at the panel's very top: no line of the article shows above it.
    gap = page.evaluate("""() => { const panel = document.querySelector('#article-panel');
        panel.scrollTop = 200;
        return document.querySelector('#article-close').getBoundingClientRect().top
            - panel.getBoundingClientRect().top - panel.clientTop; }""")
    assert abs(gap) <= 1, gap

    page.get_by_role("button", name="Close the article").click()
    page.wait_for_function("() => !document.querySelector('#article-panel') || "
                           "!document.querySelector('#article-panel').offsetParent")


@pytest.mark.browser
def test_keyboard_a_source_title_and_a_documents_title_open_the_article(chat):
    page = chat.page
    reply = chat.ask("Hoeveel fietsen passen in de nieuwe stalling?")
    marker = reply.locator(".nb-text .nb-marker").first
    marker.focus()
    page.keyboard.press("Enter")  # the citation is a button for the keyboard too
    wait_for_article(page, BIKES_TITLE)
    assert "6500" in page.locator("#article .nb-cited").inner_text()
    assert page.evaluate("() => document.activeElement.id") == "nb-article-title"

    page.locator("#documents .nb-open-doc", has_text=MIGRATION_TITLE).click()
    wait_for_article(page, MIGRATION_TITLE)
    assert page.locator("#article .nb-cited").count() == 0  # opened at its top, nothing cited
    assert page.locator("#article .nb-article-title").inner_text().startswith(MIGRATION_TITLE)


@pytest.mark.browser
def test_narrow_window_stacks_the_article_below_the_chat(browser, reading_server):  # noqa: F811
    with open_chat(browser, reading_server, viewport={"width": 390, "height": 844}) as opened:
        page = opened.page
        reply = opened.ask("What is the ChristenUnie's red line?")
        reply.locator(".nb-text .nb-marker").first.click()
        wait_for_article(page, MIGRATION_TITLE)
        panel, chat_box = page.locator("#article-panel").bounding_box(), page.locator("#chat").bounding_box()
        assert panel["y"] >= chat_box["y"] + chat_box["height"] - 1  # below the chat
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        box = page.locator("#article .nb-cited").bounding_box()
        assert 0 <= box["y"] < 844  # the cited paragraph is on screen
        assert_accessible(page, "article panel open at 390×844")


@pytest.mark.browser
def test_scope_to_one_article_and_the_other_is_not_answered_from(chat):
    page = chat.page
    question = "Hoeveel fietsen passen in de nieuwe stalling in Utrecht?"
    page.locator("#scope").get_by_label(MIGRATION_TITLE).check()
    reply = chat.ask(question)
    assert "nb-abstention" in reply.get_attribute("class")
    text = reply.locator(".nb-text").inner_text()
    assert MIGRATION_TITLE in text and BIKES_TITLE not in text and "6500" not in text  # names the scope only
    page.locator("#scope").get_by_label(MIGRATION_TITLE).uncheck()  # nothing ticked: every article again
    reply = chat.ask(question)
    assert "6500" in reply.locator(".nb-text").inner_text()


@pytest.mark.browser
def test_removing_an_upload_asks_first_and_then_it_is_no_longer_answered_from(chat, tmp_path):
    from playwright.sync_api import expect

    page = chat.page
    path = tmp_path / "loket-kampen.txt"
    path.write_text(LOKET, encoding="utf-8")
    status = chat.upload(path)
    assert "nb-ok" in status.get_attribute("class"), status.inner_text()
    question = "Op welke dag is het paspoortloket in Kampen open?"
    assert "woensdag" in chat.ask(question).locator(".nb-text").inner_text()
    # the deployment's own article has no Remove button, and the panel says how it goes
    item = page.locator("#documents li", has_text=MIGRATION_TITLE)
    assert item.locator(".nb-remove-doc").count() == 0
    assert "python -m bot ingest --prune" in page.locator("#manage-note").inner_text()
    assert "indexed 20" in item.inner_text() and " UTC" in item.inner_text()  # when it was indexed

    upload_item = page.locator("#documents li", has_text="Nieuw loket voor paspoorten")
    upload_item.get_by_role("button", name="Remove").click()
    confirm = page.locator("#remove-confirm")
    confirm.wait_for(state="visible", timeout=30_000)
    assert "Remove «Nieuw loket voor paspoorten in Kampen» (loket-kampen.txt)" in confirm.inner_text()
    expect(page.locator("#remove-no")).to_be_focused(timeout=10_000)  # the confirmation has the focus: on Cancel
    page.keyboard.press("Enter")  # cancelled: nothing changes, and the focus is back on the Remove button
    confirm.wait_for(state="hidden", timeout=30_000)
    assert (chat.server.upload_dir / "loket-kampen.txt").is_file()
    expect(upload_item.get_by_role("button", name="Remove")).to_be_focused(timeout=10_000)

    upload_item.locator(".nb-open-doc").click()  # the article is open while it is removed
    wait_for_article(page, "Nieuw loket voor paspoorten")
    upload_item.get_by_role("button", name="Remove").click()
    confirm.wait_for(state="visible", timeout=30_000)
    page.locator("#remove-yes").click()
    page.wait_for_function("() => /Removed loket-kampen.txt/.test(document.querySelector('#upload-status')"
                           ".innerText)", timeout=60_000)
    assert "Nieuw loket voor paspoorten" not in page.locator("#documents").inner_text()
    expect(page.locator("#article-panel")).to_be_hidden(timeout=30_000)  # it no longer shows what is gone
    expect(page.locator("#documents .nb-open-doc").first).to_be_focused(timeout=10_000)
    assert not (chat.server.upload_dir / "loket-kampen.txt").exists()
    expect(page.locator("#scope")).not_to_contain_text("Nieuw loket voor paspoorten", timeout=30_000)
    reply = chat.ask(question)
    assert "nb-abstention" in reply.get_attribute("class") and "woensdag" not in reply.inner_text()


@pytest.mark.browser
def test_a_saved_html_page_is_indexed_without_its_boilerplate(chat, tmp_path):
    from playwright.sync_api import expect

    page = chat.page
    path = tmp_path / "zwembad-deventer.html"
    path.write_bytes(SAVED_PAGE.encode("windows-1252"))
    status = chat.upload(path)
    assert "nb-ok" in status.get_attribute("class"), status.inner_text()
    assert "Gemeente opent nieuw zwembad in Deventer" in status.inner_text()
    page.locator("#documents .nb-open-doc", has_text="Gemeente opent nieuw zwembad").click()
    wait_for_article(page, "Gemeente opent nieuw zwembad in Deventer")
    article = panel_text(page)  # read back from the index: every indexed paragraph
    assert "zonnepanelen" in article and "Café-eigenaar René en Noël" in article
    assert not [phrase for phrase in BOILERPLATE if phrase in article]
    reply = chat.ask("Hoeveel zwemmers passen in het nieuwe zwembad in Deventer?")
    assert "600 zwemmers" in reply.locator(".nb-text").inner_text()

    empty = tmp_path / "menu.html"
    empty.write_text("<html><head><meta charset='utf-8'></head><body><nav><a href='/'>Home</a> "
                     "<a href='/sport'>Sport</a></nav><div>Wij gebruiken cookies</div></body></html>", encoding="utf-8")
    status = chat.upload(empty)
    expect(page.locator("#upload-status .nb-status")).to_contain_text("menu.html", timeout=60_000)
    assert "no article text" in page.locator("#upload-status .nb-status").inner_text()
    assert "menu.html" not in page.locator("#documents").inner_text()


@pytest.mark.browser
def test_a_thumbs_down_lands_in_the_feedback_file(chat):
    page = chat.page
    feedback = chat.server.feedback
    before = feedback.read_text(encoding="utf-8").count("\n") if feedback.exists() else 0
    reply = chat.ask("How long did the meeting last?")
    page.locator("#chat button[aria-label='Dislike']").last.click()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not feedback.exists() or
                                           feedback.read_text(encoding="utf-8").count("\n") <= before):
        time.sleep(0.2)
    record = json.loads(feedback.read_text(encoding="utf-8").splitlines()[-1])
    assert record["vote"] == "down" and record["question"] == "How long did the meeting last?"
    assert record["answer"] == reply.locator(".nb-text").inner_text().replace("\n", " ") or record["answer"]
    assert record["sources"] and record["sources"][0]["file"] == "article-nl-migratie.txt"
    assert record["time"] and record["history"] == []


@pytest.mark.browser
def test_upload_and_removal_are_off_for_another_address_without_a_login(browser, reading_index, tmp_path):  # noqa: F811
    index = tmp_path / "index"
    shutil.copytree(reading_index, index)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    shutil.copy(SECOND_ARTICLE, uploads / SECOND_ARTICLE.name)  # an upload, which could otherwise be removed
    # Configured for 192.0.2.10 (an address of no machine), bound to 127.0.0.1 only (tests/ui_on_loopback.py).
    running = start_ui(tmp_path, index, script=ROOT / "tests" / "ui_on_loopback.py", BOT_HOST="192.0.2.10")
    try:
        with open_chat(browser, running) as opened:
            page = opened.page
            assert page.locator("#upload button, #upload").first.is_disabled()
            note = page.locator("#manage-note").inner_text()
            assert "turned off" in note and "192.0.2.10" in note and "BOT_AUTH" in note
            assert page.locator("#documents .nb-remove-doc").count() == 0
            page.evaluate("() => window.newsbot.act({action: 'remove', file: 'article-nl-fietsenstalling.txt'})")
            page.locator("#remove-confirm").wait_for(state="visible", timeout=30_000)
            assert "turned off" in page.locator("#remove-confirm").inner_text()  # the server refuses, too
            assert page.locator("#remove-yes").count() == 1
            page.locator("#remove-yes").click()
            page.wait_for_timeout(1000)
            assert BIKES_TITLE in page.locator("#documents").inner_text()
            assert_accessible(page, "upload and removal turned off")
    finally:
        stop(running)
    assert (uploads / SECOND_ARTICLE.name).is_file()


def test_the_api_takes_files_and_lists_documents(reading_server):
    from gradio_client import Client

    client = Client(reading_server.url, verbose=False)
    listed = client.predict(api_name="/documents")
    by_file = {d["file"]: d for d in listed}
    assert by_file[ARTICLE.name]["title"].startswith(MIGRATION_TITLE) and by_file[ARTICLE.name]["paragraphs"] > 5
    assert by_file[ARTICLE.name]["indexed_at"].endswith("+00:00")
    question = "Hoeveel fietsen passen in de nieuwe stalling in Utrecht?"
    scoped = client.predict(question, [], [ARTICLE.name], api_name="/chat")
    assert scoped["abstained"] and MIGRATION_TITLE in scoped["text"]
    assert "6500" in client.predict(question, [], [SECOND_ARTICLE.name], api_name="/chat")["text"]
    with pytest.raises(Exception, match=r"Not an indexed document: nope\.txt"):
        client.predict(question, [], ["nope.txt"], api_name="/chat")
