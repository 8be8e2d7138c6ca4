"""The chat as people and programs meet it: ``ui.py`` served on a free loopback port, driven by Debian's
chromium through Playwright, and called over HTTP with gradio_client. Real model, real index.

Browser tests skip when chromium is absent, unless BOT_REQUIRE_BROWSER=1 (set by .ci/run): then they fail.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "data" / "article-nl-migratie.txt"
SECOND_ARTICLE = ROOT / "tests" / "data" / "article-nl-fietsenstalling.txt"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ANSWER_TIMEOUT_MS = 240_000  # the first answer may wait for the model to load on a busy machine
SERVER_START_SECONDS = 180
MAX_UPLOAD_BYTES = 20_000
FINAL_REPLY = "#chat .nb-reply:not(.nb-streaming)"
INJECTED = "#chat img, #chat script, #chat strong, #documents img, #documents script, #upload-status img"

# Markup in a document (title and body) and in a question; if any of it ran, window.__xss would be set.
EVIL_DOCUMENT = (
    "Zwolle <script>window.__xss = 'title script'</script> opent <img src=x onerror=\"window.__xss='title img'\"> "
    "zwembad\n\n"
    "De gemeente Zwolle heeft een nieuw zwembad geopend. Het bad kostte 12 miljoen euro "
    "<img src=x onerror=\"window.__xss='body img'; alert('body img')\">. **Er** is plek voor 400 zwemmers.\n\n"
    "De wethouder zei: \"Dit is een <b>mooie</b> dag <script>alert('body script')</script> voor Zwolle.\"\n"
)
EVIL_QUESTION = "Hoeveel kostte het zwembad? <img src=x onerror=\"alert('question img')\"> <script>alert(1)</script>"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path
    upload_dir: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def start_ui(folder: Path, index_dir: Path, **env: str) -> Server:
    """``python ui.py`` on a free loopback port; returns once it serves pages."""
    port = free_port()
    upload_dir = folder / "uploads"
    environment = {
        **os.environ, "BOT_HOST": "127.0.0.1", "BOT_PORT": str(port), "BOT_INDEX_DIR": str(index_dir),
        "BOT_UPLOAD_DIR": str(upload_dir), "BOT_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
        "GRADIO_TEMP_DIR": str(folder / "gradio"), "PYTHONUNBUFFERED": "1", **env,
    }
    log = folder / "ui.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "ui.py"], cwd=ROOT, env=environment, stdout=out,
                                   stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}/", process, log, upload_dir)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ui.py exited with {process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.url, timeout=5) as response:
                if response.status == 200:
                    return server
        except urllib.error.HTTPError as exc:
            if exc.code == 401:  # serving, behind a login
                return server
        except OSError:
            pass
        time.sleep(0.5)
    stop(server)
    raise RuntimeError(f"ui.py did not serve {server.url} within {SERVER_START_SECONDS}s:\n{server.log_tail()}")


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="module")
def ui_index(settings, tmp_path_factory) -> Path:
    """A private index holding the article, built here with the real model (as in conftest.py)."""
    from bot.index import open_index
    from bot.ingest import ingest
    from bot.model.embedding import BotEmbeddings

    index_dir = tmp_path_factory.mktemp("ui-index") / "index"
    private = settings.model_copy(update={"index_dir": index_dir})
    embeddings = BotEmbeddings(private)
    ingest(open_index(private, embeddings), embeddings, [ARTICLE], progress=False)
    return index_dir


@pytest.fixture(scope="module")
def server(ui_index, tmp_path_factory) -> Iterator[Server]:
    running = start_ui(tmp_path_factory.mktemp("ui-server"), ui_index)
    yield running
    stop(running)


@pytest.fixture(scope="module")
def browser():
    reason = None
    if not CHROMIUM.exists():
        reason = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            reason = "the Playwright Python client is not installed (pip install -r requirements-dev.txt)"
    if reason:
        if os.environ.get("BOT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}; BOT_REQUIRE_BROWSER=1 requires the browser tests to run", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:  # never downloads a browser: it drives the system chromium
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Chat:
    """One browser tab on the chat, recording any dialog a page script opens."""

    page: object
    server: Server
    dialogs: list[str] = field(default_factory=list)

    def ask(self, question: str):
        before = self.page.locator(FINAL_REPLY).count()
        box = self.page.locator("#question textarea")
        box.fill(question)
        box.press("Enter")
        return self.wait_for_reply(before)

    def wait_for_reply(self, before: int):
        self.page.wait_for_function("([selector, n]) => document.querySelectorAll(selector).length > n",
                                    arg=[FINAL_REPLY, before], timeout=ANSWER_TIMEOUT_MS)
        return self.page.locator(FINAL_REPLY).last

    def upload(self, path: Path):
        self.page.set_input_files(".nb-panel input[type=file]", str(path))
        self.page.wait_for_selector("#upload-status .nb-status", timeout=ANSWER_TIMEOUT_MS)
        return self.page.locator("#upload-status .nb-status")

    def injected(self) -> tuple[int, object, list[str]]:
        """Elements that markup in a document or question would have created, window.__xss, dialogs."""
        return self.page.locator(INJECTED).count(), self.page.evaluate("window.__xss ?? null"), self.dialogs


@pytest.fixture()
def chat(browser, server) -> Iterator[Chat]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    opened = Chat(page, server)
    page.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(server.url)
    page.wait_for_selector("#documents li", timeout=60_000)
    yield opened
    context.close()


def source_numbers(reply) -> list[int]:
    return [int(n) for n in re.findall(r"\[(\d+)\]", " ".join(reply.locator(".nb-source-head .nb-marker")
                                                                  .all_inner_texts()))]


@pytest.mark.browser
def test_title_description_and_examples_in_both_languages(chat):
    page = chat.page
    assert page.title() == "Ask the article"
    assert "English or Dutch" in page.locator(".nb-header").inner_text()
    for example in ("What is the ChristenUnie's red line?", "Wat is de rode lijn van de ChristenUnie?"):
        assert page.get_by_text(example, exact=True).is_visible()
    assert "Nog geen akkoord bereikt over migratie" in page.locator("#documents").inner_text()


@pytest.mark.browser
def test_red_line_example_streams_an_answer_with_highlighted_evidence(chat):
    page = chat.page
    page.evaluate("""() => {
        window.__streamed = false;
        new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(n => {
            if (n.nodeType === 1 && (n.matches('.nb-streaming') || n.querySelector('.nb-streaming'))) {
                window.__streamed = true;
            }
        }))).observe(document.body, {childList: true, subtree: true});
    }""")
    page.get_by_text("What is the ChristenUnie's red line?", exact=True).click()
    reply = chat.wait_for_reply(0)
    text = reply.locator(".nb-text").inner_text()
    assert "gezinshereniging" in text and text.startswith("According to the article:")
    assert page.evaluate("window.__streamed"), "the answer did not appear progressively"

    sources = reply.locator("details.nb-sources")
    assert sources.get_attribute("open") is not None and sources.locator("summary").inner_text().startswith("Sources")
    highlighted = reply.locator(".nb-source mark").all_inner_texts()
    assert "Voor de ChristenUnie is dit een rode lijn." in highlighted
    assert reply.locator(".nb-source mark").first.is_visible()
    assert "Nog geen akkoord bereikt over migratie" in reply.locator(".nb-source .nb-doc").first.inner_text()
    numbers = source_numbers(reply)
    assert numbers == list(range(1, len(numbers) + 1))  # numbered like the markers in the text
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
    assert markers and markers <= set(numbers)

    sources.locator("summary").click()  # collapsible
    assert sources.get_attribute("open") is None and not reply.locator(".nb-source mark").first.is_visible()
    sources.locator("summary").click()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
    assert (ARTIFACTS / "chat.png").stat().st_size > 10_000


@pytest.mark.browser
def test_dutch_question_and_a_follow_up(chat):
    reply = chat.ask("Wat is de rode lijn van de ChristenUnie?")
    assert reply.locator(".nb-text").inner_text().startswith("Volgens het artikel:")
    assert "gezinshereniging" in reply.locator(".nb-text").inner_text()
    assert reply.locator("details.nb-sources summary").inner_text().startswith("Bronnen")
    assert "alinea 9" in reply.locator(".nb-source").first.inner_text()

    chat.ask("Who is Carola Schouten?")
    follow = chat.ask("And what did she say after the meeting?")  # "she" resolved from the chat's history
    assert "makkelijk" in follow.locator(".nb-text").inner_text()


@pytest.mark.browser
def test_question_the_article_does_not_answer_is_shown_as_an_abstention(chat):
    reply = chat.ask("What does the PVV want?")
    assert "nb-abstention" in reply.get_attribute("class")
    assert reply.locator(".nb-label").inner_text().lower() == "not in the article"
    assert "does not mention PVV" in reply.locator(".nb-text").inner_text()
    assert reply.locator("details.nb-sources").count() == 0


@pytest.mark.browser
def test_bad_question_gets_a_clear_message_in_the_chat(chat):
    from playwright.sync_api import expect

    reply = chat.ask("???")
    assert "nb-problem" in reply.get_attribute("class")
    assert "Please type a question in words" in reply.inner_text()
    expect(chat.page.locator("#question textarea")).to_be_enabled(timeout=30_000)  # the chat goes on
    assert chat.page.get_by_text("Error", exact=True).count() == 0  # no generic error toast


@pytest.mark.browser
def test_uploaded_article_is_answerable_at_once(chat):
    page = chat.page
    page.evaluate("""() => {
        window.__progress = [];
        new MutationObserver(() => {
            const text = document.querySelector('.nb-panel')?.innerText || '';
            if (/Reading|Embedding/.test(text)) window.__progress.push(text.match(/(Reading|Embedding)[^\\n]*/)[0]);
        }).observe(document.body, {childList: true, subtree: true, characterData: true});
    }""")
    status = chat.upload(SECOND_ARTICLE)
    assert "nb-ok" in status.get_attribute("class"), status.inner_text()
    assert "Utrecht opent grootste fietsenstalling" in status.inner_text()
    assert page.evaluate("window.__progress.length") > 0, "no progress was shown while ingesting"
    documents = page.locator("#documents").inner_text()
    assert "Utrecht opent grootste fietsenstalling" in documents and "uploaded" in documents
    assert (chat.server.upload_dir / SECOND_ARTICLE.name).read_bytes() == SECOND_ARTICLE.read_bytes()
    assert not (chat.server.upload_dir / ".staging").exists()

    reply = chat.ask("Hoeveel fietsen passen in de nieuwe stalling?")
    assert "6500" in reply.locator(".nb-text").inner_text()
    assert "article-nl-fietsenstalling.txt" in reply.locator(".nb-source").first.inner_text()


@pytest.mark.browser
def test_oversized_upload_is_refused_with_a_clear_message(chat, tmp_path):
    big = tmp_path / "groot.txt"
    big.write_text("Titel\n\n" + "Een zin over niets. " * 1500, encoding="utf-8")
    status = chat.upload(big)
    assert "nb-error" in status.get_attribute("class")
    assert "the largest document accepted is 20 kB" in status.inner_text()
    assert not (chat.server.upload_dir / "groot.txt").exists()


@pytest.mark.browser
def test_markup_in_a_document_or_question_is_shown_as_text_and_never_runs(chat, tmp_path):
    evil = tmp_path / "zwembad <img src=x onerror=alert(1)>.txt"
    evil.write_text(EVIL_DOCUMENT, encoding="utf-8")
    status = chat.upload(evil)
    assert "nb-ok" in status.get_attribute("class"), status.inner_text()
    assert "<script>window.__xss = 'title script'</script>" in chat.page.locator("#documents").inner_text()

    reply = chat.ask(EVIL_QUESTION)
    assert EVIL_QUESTION in chat.page.locator("#chat").inner_text()  # the question, shown as typed
    assert "Het bad kostte 12 miljoen euro <img src=x" in reply.locator(".nb-text").inner_text()
    assert "<img src=x onerror=" in reply.locator(".nb-source").first.inner_text()
    chat.page.wait_for_timeout(500)  # give any injected handler the chance to run
    assert chat.injected() == (0, None, [])


@pytest.mark.browser
def test_narrow_window_keeps_chat_and_documents_usable(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(server.url)
        page.wait_for_selector("#documents li", timeout=60_000)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        chat_box, documents = page.locator("#chat").bounding_box(), page.locator("#documents").bounding_box()
        assert documents["y"] > chat_box["y"] + chat_box["height"] - 1  # the panel moves below the chat
        assert page.locator("#question textarea").is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat-narrow.png"), full_page=True)
    finally:
        context.close()


def test_gradio_client_chat_endpoint_returns_answer_and_sources(server):
    from gradio_client import Client

    client = Client(server.url, verbose=False)
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/chat"]
    result = client.predict("What is the ChristenUnie's red line?", api_name="/chat")
    assert "gezinshereniging" in result["text"] and result["abstained"] is False
    assert result["sources"][0]["paragraph"] == 9 and result["sources"][0]["file"] == "article-nl-migratie.txt"
    assert "Voor de ChristenUnie is dit een rode lijn." in result["sources"][0]["highlight"]
    with pytest.raises(Exception, match="Please type a question"):
        client.predict("", api_name="/chat")


def test_login_setting_protects_the_chat_and_errors_reach_api_clients(tmp_path):
    from gradio_client import Client

    empty_index = tmp_path / "no-index"  # nothing ingested: the bot must say so, clearly
    protected = start_ui(tmp_path, empty_index, BOT_AUTH="redactie:geheim")
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(protected.url + "config", timeout=10)
        assert refused.value.code == 401
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises its own kinds
            Client(protected.url, auth=("redactie", "fout"), verbose=False)
        client = Client(protected.url, auth=("redactie", "geheim"), verbose=False)
        with pytest.raises(Exception, match="No index yet"):
            client.predict("What is the ChristenUnie's red line?", api_name="/chat")
        assert f"Running on local URL:  {protected.url.rstrip('/')}" in protected.log_tail()  # loopback only
    finally:
        stop(protected)
