"""The chat as people and programs meet it: ``ui.py`` served on a free loopback port, driven by Debian's
chromium through Playwright, and called over HTTP with gradio_client. Real model, real index.

Browser tests skip when chromium is absent, unless BOT_REQUIRE_ALL=1 or BOT_REQUIRE_BROWSER=1 (both set by .ci/run):
then they fail.
Accessibility: axe-core (pinned in tests/axe/package-lock.json, installed by ``make venv-dev``) is injected into
the page and must find no violation of impact critical, serious or moderate, on the WCAG 2.0-2.2 A/AA rules and
axe's best practices; keyboard use, announcements and small screens are checked by hand below.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tests.servers import free_port

pytestmark = pytest.mark.slow  # ui.py, chromium and the real model

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
SETTLED_REPLY = "#chat .nb-reply[data-settled]"  # announced, scrolled to (and collapsed on a phone) by chat.js
AXE_JS = ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING_IMPACTS = {"critical", "serious", "moderate"}
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



@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path
    upload_dir: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def start_ui(folder: Path, index_dir: Path, *, default_host: bool = False, script: Path = ROOT / "ui.py",
             **env: str) -> Server:
    """``python ui.py`` (or ``script``) on a free loopback port; returns once it serves pages.

    ``default_host``: BOT_HOST is left unset (removed from the environment the suite pins, and run from ``folder``
    so that no `.env` supplies it), so ui.py binds wherever its default says.
    """
    port = free_port()
    upload_dir = folder / "uploads"
    environment = {
        **os.environ, "BOT_HOST": "127.0.0.1", "BOT_PORT": str(port), "BOT_INDEX_DIR": str(index_dir),
        "BOT_UPLOAD_DIR": str(upload_dir), "BOT_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
        "GRADIO_TEMP_DIR": str(folder / "gradio"), "PYTHONUNBUFFERED": "1", **env,
    }
    if default_host:
        del environment["BOT_HOST"]
        environment.pop("GRADIO_SERVER_NAME", None)
    log = folder / "ui.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, str(script)], cwd=folder if default_host else ROOT,
                                   env=environment, stdout=out, stderr=subprocess.STDOUT)
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
        skip_or_fail(reason, "BOT_REQUIRE_BROWSER")  # fails instead under BOT_REQUIRE_ALL=1 (CI)
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
        before = self.page.locator(SETTLED_REPLY).count()
        box = self.page.locator("#question textarea")
        box.fill(question)
        box.press("Enter")
        return self.wait_for_reply(before)

    def wait_for_reply(self, before: int):
        """The newest reply, once complete and settled (announced and brought into view)."""
        self.page.wait_for_function("([selector, n]) => document.querySelectorAll(selector).length > n",
                                    arg=[SETTLED_REPLY, before], timeout=ANSWER_TIMEOUT_MS)
        return self.page.locator(SETTLED_REPLY).last

    def upload(self, path: Path):
        self.page.set_input_files(".nb-panel input[type=file]", str(path))
        self.page.wait_for_selector("#upload-status .nb-status", timeout=ANSWER_TIMEOUT_MS)
        return self.page.locator("#upload-status .nb-status")

    def injected(self) -> tuple[int, object, list[str]]:
        """Elements that markup in a document or question would have created, window.__xss, dialogs."""
        return self.page.locator(INJECTED).count(), self.page.evaluate("window.__xss ?? null"), self.dialogs


@contextmanager
def open_chat(browser, server: Server, **context_options) -> Iterator[Chat]:
    """A chat tab in a browser context of its own (a 1280×900 window unless told), closed after use."""
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **context_options})
    try:
        page = context.new_page()
        opened = Chat(page, server)
        page.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(server.url)
        page.wait_for_selector("#documents li", timeout=60_000)
        page.wait_for_function("() => !!(window.newsbot && window.newsbot.settled)")
        yield opened
    finally:
        context.close()


@pytest.fixture()
def chat(browser, server) -> Iterator[Chat]:
    with open_chat(browser, server) as opened:
        yield opened


@pytest.fixture()
def phone(browser, server) -> Iterator[Chat]:
    with open_chat(browser, server, viewport={"width": 390, "height": 844}) as opened:
        yield opened


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now (WCAG 2.0-2.2 A and AA, and best practices)."""
    if not AXE_JS.is_file():
        pytest.fail(f"axe-core is not installed at {AXE_JS}: run `make venv-dev` (npm ci in tests/axe)",
                    pytrace=False)
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate("""async (tags) => {
        const results = await window.axe.run(document, {runOnly: {type: 'tag', values: tags},
                                                        resultTypes: ['violations']});
        return results.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ') + ': ' + (n.failureSummary || '').slice(0, 300))}));
    }""", AXE_TAGS)


def assert_accessible(page, where: str) -> None:
    found = [v for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]
    assert not found, f"axe-core, {where}:\n" + "\n".join(
        f"{v['impact']} {v['id']} ({v['help']}): {v['nodes'][:3]}" for v in found)


def assert_first_line_in_view(page, reply) -> None:
    """The newest answer's first line is on screen: its text's top lies inside the viewport."""
    first_line = reply.locator(".nb-text, .nb-label").first
    box = first_line.bounding_box()
    height = page.evaluate("window.innerHeight")
    line = float(page.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 20", first_line.element_handle()))
    assert box is not None and box["y"] >= 0 and box["y"] + min(line, box["height"]) <= height, (box, height)


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
def test_red_line_example_answers_with_highlighted_evidence_numbered_by_first_citation(chat):
    page = chat.page
    page.get_by_role("button", name="What is the ChristenUnie's red line?", exact=True).click()
    reply = chat.wait_for_reply(0)  # an extractive answer appears at once: no pause is added between sentences
    text = reply.locator(".nb-text").inner_text()
    assert "gezinshereniging" in text and text.startswith("According to the article:")
    cited = [int(n) for n in re.findall(r"\[(\d+)\]", text)]
    assert list(dict.fromkeys(cited)) == list(range(1, len(set(cited)) + 1))  # [1] is cited first, then [2]

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
    assert "alinea 9" in reply.locator(".nb-sources").inner_text()

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
def test_bad_question_is_refused_beside_the_box_and_stays_in_it(chat):
    from playwright.sync_api import expect

    page = chat.page
    box = page.locator("#question textarea")
    box.fill("???")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#question-error")).to_contain_text("Please type a question in words", timeout=30_000)
    assert box.input_value() == "???"  # the refused question stays in the box
    assert page.locator("#chat .message-row").count() == 0  # and is not sent
    expect(page.locator("#nb-live")).to_contain_text("Please type a question in words")
    assert page.get_by_text("Error", exact=True).count() == 0  # no generic error toast


@pytest.mark.browser
def test_empty_submit_does_nothing(chat):
    page = chat.page
    box = page.locator("#question textarea")
    box.fill("   ")
    box.press("Enter")
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_timeout(1500)
    assert page.locator("#chat .message-row").count() == 0
    assert page.locator("#question-error .nb-input-error").count() == 0 and box.input_value().strip() == ""


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
        assert documents["y"] > chat_box["y"] + chat_box["height"] - 1  # the panel moves below the chat...
        assert page.locator("#question textarea").is_visible()
        link = page.get_by_role("link", name="Documents")  # ...and a link at the top leads to it
        assert link.is_visible() and link.bounding_box()["y"] + link.bounding_box()["height"] <= 844
        link.click()
        page.wait_for_function("() => document.querySelector('#documents').getBoundingClientRect().top < 844")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat-narrow.png"), full_page=True)
    finally:
        context.close()


def test_gradio_client_chat_endpoint_returns_answer_and_sources(server):
    from gradio_client import Client

    client = Client(server.url, verbose=False)
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/chat", "/documents"]
    result = client.predict("What is the ChristenUnie's red line?", api_name="/chat")
    assert "gezinshereniging" in result["text"] and result["abstained"] is False
    assert result["sources"][0]["paragraph"] == 9 and result["sources"][0]["file"] == "article-nl-migratie.txt"
    assert "Voor de ChristenUnie is dit een rode lijn." in result["sources"][0]["highlight"]
    with pytest.raises(Exception, match="Please type a question"):
        client.predict("", api_name="/chat")


def listening_addresses(port: int) -> set[str]:
    """The local addresses of every socket listening on ``port`` (IPv4 and IPv6), from /proc/net/tcp{,6}."""
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, port_hex = local.partition(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # /proc prints each 32-bit word in host (little-endian) order
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found.add(socket.inet_ntop(family, raw))
    return found


def test_login_setting_protects_the_chat_and_errors_reach_api_clients(tmp_path):
    from gradio_client import Client

    empty_index = tmp_path / "no-index"  # nothing ingested: the bot must say so, clearly
    # BOT_HOST unset: the default must be loopback (the suite's pinned BOT_HOST=127.0.0.1 is removed for this)
    protected = start_ui(tmp_path, empty_index, default_host=True, BOT_AUTH="redactie:geheim")
    try:
        port = int(protected.url.rstrip("/").rsplit(":", 1)[1])
        assert listening_addresses(port) == {"127.0.0.1"}, listening_addresses(port)  # loopback only, by default
        assert f"Running on local URL:  {protected.url.rstrip('/')}" in protected.log_tail()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(protected.url + "config", timeout=10)
        assert refused.value.code == 401
        # A wrong password is refused as such: Gradio's login answers 400 "Incorrect credentials." (the same form
        # with the right password succeeds), and gradio_client reports that it could not log in.
        def login(password: str) -> tuple[int, dict]:
            form = urllib.parse.urlencode({"username": "redactie", "password": password}).encode()
            try:
                with urllib.request.urlopen(protected.url + "login", data=form, timeout=10) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read())

        assert login("fout") == (400, {"detail": "Incorrect credentials."})
        assert login("geheim") == (200, {"success": True})
        with pytest.raises(ValueError, match=rf"^Could not login to {re.escape(protected.url)}\.$"):
            Client(protected.url, auth=("redactie", "fout"), verbose=False)
        client = Client(protected.url, auth=("redactie", "geheim"), verbose=False)
        with pytest.raises(Exception, match="No index yet"):
            client.predict("What is the ChristenUnie's red line?", api_name="/chat")
    finally:
        stop(protected)


# ---------------------------------------------------------------- accessibility (issue 16)


@pytest.mark.browser
def test_accessible_start_page_opens_at_its_top_with_named_controls(chat):
    page = chat.page
    assert page.evaluate("window.scrollY") == 0
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.get_by_role("textbox", name="Question", exact=True).count() == 1
    assert page.get_by_role("button", name="Send", exact=True).count() == 1
    assert page.locator("#nb-live[aria-live=polite]").inner_text() == ""  # present, and empty, from the start
    assert page.locator("#upload-status[role=status][aria-live=polite]").count() == 1
    assert_accessible(page, "start page")


@pytest.mark.browser
def test_answer_with_sources_open_is_accessible_and_announced_once_as_plain_text(chat):
    page = chat.page
    page.evaluate("""() => {
        window.__announced = [];
        new MutationObserver(() => {
            const text = document.querySelector('#nb-live').textContent;
            if (text) window.__announced.push(text);
        }).observe(document.querySelector('#nb-live'), {childList: true, subtree: true, characterData: true});
    }""")
    reply = chat.ask("What is the ChristenUnie's red line?")
    assert reply.locator("details.nb-sources").get_attribute("open") is not None
    page.wait_for_function("() => window.__announced.length > 0")
    page.wait_for_timeout(500)
    announced = page.evaluate("window.__announced")
    assert len(announced) == 1, announced
    assert announced[0].startswith("According to the article: «Voor deze groep is gezinshereniging")
    assert announced[0].endswith("2 sources.") and "<" not in announced[0] and "[1]" not in announced[0]
    # Dutch quotes and passages are marked as Dutch inside the English answer
    assert reply.get_attribute("lang") == "en"
    assert reply.locator('.nb-text [lang="nl"]').first.inner_text().startswith("«Voor deze groep")
    assert reply.locator('p.nb-passage[lang="nl"]').count() == reply.locator("p.nb-passage").count() == 2
    # the chat log is not a live region of its own, and messages are not named by their HTML
    assert page.locator('#chat [role="log"]').get_attribute("aria-live") == "off"
    assert page.locator('#chat [aria-label*="message:"]').count() == 0
    assert_first_line_in_view(page, reply)
    assert_accessible(page, "after an answer with its sources open")


@pytest.mark.browser
def test_abstention_is_accessible(chat):
    reply = chat.ask("What does the PVV want?")
    assert "nb-abstention" in reply.get_attribute("class")
    assert_accessible(chat.page, "after an abstention")


@pytest.mark.browser
def test_upload_status_lives_in_one_polite_region_and_messages_replace_each_other(chat, tmp_path):
    page = chat.page
    region = page.locator("#upload-status")
    handle = region.element_handle()
    status = chat.upload(SECOND_ARTICLE)
    assert "nb-ok" in status.get_attribute("class"), status.inner_text()
    assert_accessible(page, "after an upload")
    wrong = tmp_path / "notities.pdf"
    wrong.write_text("%PDF-1.4", encoding="utf-8")
    page.set_input_files(".nb-panel input[type=file]", str(wrong))
    page.wait_for_function("() => !document.querySelector('#upload-status .nb-ok')", timeout=ANSWER_TIMEOUT_MS)
    assert page.locator("#upload-status .nb-status").count() <= 1  # one status at a time: "Added …" is gone
    assert page.evaluate("([a, b]) => a === b", [handle, region.element_handle()])  # the same live region
    assert region.get_attribute("role") == "status" and region.get_attribute("aria-live") == "polite"


@pytest.mark.browser
def test_phone_sources_collapsed_newest_answer_in_view_and_accessible(phone):
    page = phone.page
    assert page.evaluate("window.scrollY") == 0
    assert_accessible(page, "at 390×844")
    phone.ask("What is the ChristenUnie's red line?")
    reply = phone.ask("Wat is de rode lijn van de ChristenUnie?")
    assert reply.locator("details.nb-sources").get_attribute("open") is None  # collapsed on a narrow screen
    assert_first_line_in_view(page, reply)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-390x844.png"))
    assert_accessible(page, "at 390×844 after two answers")


@pytest.mark.browser
def test_zoom_200_percent_opens_at_the_top_and_shows_the_newest_answer(browser, server):
    # 200% zoom of a 1280×900 window: a 640×450 CSS-pixel viewport at twice the pixel density.
    with open_chat(browser, server, viewport={"width": 640, "height": 450}, device_scale_factor=2) as zoomed:
        page = zoomed.page
        assert page.evaluate("window.scrollY") == 0
        assert page.locator("h1").bounding_box()["y"] >= 0
        zoomed.ask("How long did the meeting last?")
        reply = zoomed.ask("What is the ChristenUnie's red line?")
        assert_first_line_in_view(page, reply)
        assert page.evaluate("document.documentElement.scrollWidth") <= 640
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat-zoom-200.png"))
        assert_accessible(page, "at 200% zoom")


@pytest.mark.browser
def test_keyboard_only_example_follow_up_and_a_source(phone):
    """Tab to an example, Enter, type a follow-up, send, open a source: no mouse, focus checked each step."""
    page = phone.page
    focused = "() => document.activeElement && (document.activeElement.innerText || document.activeElement.tagName)"
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate(focused) == "What did Carola Schouten say after the meeting?":
            break
    else:
        pytest.fail("Tab never reached the example")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # visible focus
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement && document.activeElement.closest('#question')")
    phone.wait_for_reply(0)
    assert page.evaluate("() => !!document.activeElement.closest('#question')")  # focus stays in the box
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.type("And what did she say after the meeting?")
    page.keyboard.press("Enter")
    reply = phone.wait_for_reply(1)
    assert "makkelijk" in reply.locator(".nb-text").inner_text()
    assert reply.locator("details.nb-sources").get_attribute("open") is None
    page.keyboard.press("Tab")  # from the box: Send, then on to the examples... so go back into the chat
    summary = reply.locator("details.nb-sources summary")
    for _ in range(60):
        if page.evaluate("(e) => document.activeElement === e", summary.element_handle()):
            break
        page.keyboard.press("Shift+Tab")
    else:
        pytest.fail("Shift+Tab never reached the newest answer's sources")
    page.keyboard.press("Enter")
    assert reply.locator("details.nb-sources").get_attribute("open") is not None
    assert reply.locator(".nb-source mark").first.is_visible()


@pytest.mark.browser
def test_a_3000_character_paste_keeps_the_text_and_shows_the_limit(chat):
    from playwright.sync_api import expect

    page = chat.page
    box = page.locator("#question textarea")
    pasted = ("Waarom " * 430)[:3000]
    box.focus()
    page.keyboard.insert_text(pasted)  # as a paste: one input event with all the text
    counter = page.locator("#question-count")
    expect(counter).to_contain_text("3,000 / 2,000 characters: 1,000 too many")
    assert "nb-over" in counter.get_attribute("class") and box.get_attribute("aria-invalid") == "true"
    box.press("Enter")
    expect(page.locator("#question-error")).to_contain_text("the limit is 2,000", timeout=30_000)
    assert box.input_value() == pasted  # refused, and still in the box to be shortened
    assert page.locator("#chat .message-row").count() == 0
    box.fill(pasted[:1990])
    expect(counter).to_have_text("1,990 / 2,000 characters")
    assert box.get_attribute("aria-invalid") == "false"


@pytest.mark.browser
def test_llm_mode_streams_and_is_accessible(browser, ui_index, tmp_path):
    import json

    from llm_server import Reply, ScriptedLLMServer

    invented = "De ChristenUnie stapt daarom op 1 maart 2024 uit het kabinet."
    quotes = {"geen optie": "Voor deze groep is gezinshereniging dan ook geen optie",
              "rode lijn": "Voor de ChristenUnie is dit een rode lijn"}

    def script(request):
        if request.is_rewrite:
            return Reply("What is the ChristenUnie's red line?")
        lines = [("Voor oorlogsvluchtelingen met een B-status is gezinshereniging geen optie.", "geen optie"),
                 (invented, "rode lijn"), ("Dat is voor de ChristenUnie een rode lijn.", "rode lijn")]
        return Reply("\n".join(json.dumps({"sentence": sentence, "passage": request.number_of(needle),
                                           "quote": quotes[needle]}) for sentence, needle in lines), chunk_delay=0.05)

    llm = ScriptedLLMServer().start()
    llm.reset(script)
    running = start_ui(tmp_path, ui_index, BOT_ANSWERER="openai", BOT_LLM_BASE_URL=llm.url,
                       BOT_LLM_MODEL="scripted", BOT_LLM_TIMEOUT="30")
    try:
        with open_chat(browser, running) as opened:
            page = opened.page
            page.evaluate("""() => {
                window.__streamed = 0; window.__announced = []; window.__texts = [];
                new MutationObserver(() => {
                    const streaming = document.querySelector('#chat .nb-streaming .nb-text');
                    if (streaming) { window.__streamed += 1; window.__texts.push(streaming.textContent); }
                    for (const text of document.querySelectorAll('#chat .nb-text'))
                        window.__texts.push(text.textContent);
                }).observe(document.querySelector('#chat'), {childList: true, subtree: true, characterData: true});
                new MutationObserver(() => { const t = document.querySelector('#nb-live').textContent;
                                             if (t) window.__announced.push(t); })
                    .observe(document.querySelector('#nb-live'), {childList: true, subtree: true, characterData: true});
            }""")
            reply = opened.ask("Wat is de rode lijn van de ChristenUnie?")
            assert "rode lijn" in reply.locator(".nb-text").inner_text()
            assert page.evaluate("window.__streamed") >= 1, "the verified sentences were not shown as they came"
            assert not any("1 maart" in t for t in page.evaluate("window.__texts")), "an unverified sentence was shown"
            # the evidence: exactly the quoted spans, highlighted inside their paragraphs ([1] and [2]); the other
            # passages the model was given are marked as related
            cited = [reply.locator(".nb-source").nth(i).locator("mark").all_inner_texts() for i in (0, 1)]
            assert cited == [[quotes["geen optie"]], [quotes["rode lijn"]]], cited
            assert all("verwant, niet geciteerd" in reply.locator(".nb-source").nth(i).inner_text()
                       for i in range(2, reply.locator(".nb-source").count()))
            page.wait_for_timeout(500)
            announced = page.evaluate("window.__announced")
            sources = reply.locator(".nb-source").count()
            assert len(announced) == 1 and announced[0].endswith(f"rode lijn. {sources} bronnen."), announced
            assert_accessible(page, "in LLM mode")
            ARTIFACTS.mkdir(exist_ok=True)
            page.set_viewport_size({"width": 1100, "height": 1500})  # room for the answer and its sources
            reply.scroll_into_view_if_needed()
            reply.screenshot(path=str(ARTIFACTS / "chat-llm-quotes.png"))
    finally:
        stop(running)
        llm.stop()
