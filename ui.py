"""The Gradio chat: ``python ui.py`` serves it on http://127.0.0.1:7860 (BOT_HOST / BOT_PORT).

One code path: the chat streams :func:`bot.answering.stream` (with the conversation's questions and
:class:`Answer` objects, kept per session on the server), the ``/chat`` API endpoint returns
:func:`bot.answer`, and uploads go through the service's ``add_document`` into the same shared index and model
(:func:`bot.answering.get_bot`). Everything a document or a person wrote is shown as text
(:mod:`bot.chat_view`), never as markup.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import queue
import re
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.settings import OFFLINE_ENVIRONMENT  # isort: split

# Before gradio (and huggingface_hub under it), which read these on import.
os.environ.update({key: os.environ.get(key, value) for key, value in OFFLINE_ENVIRONMENT.items()})

import gradio as gr

from bot.answering import (
    Answer,
    DocumentRejected,
    UnknownDocumentError,
    answer,
    clean_question,
    get_bot,
    stream,
)
from bot.chat_view import (
    IndexedDocument,
    answer_html,
    article_html,
    documents_html,
    input_error_html,
    partial_answer_html,
    problem_html,
    question_html,
    status_html,
)
from bot.feedback import record_vote, vote_record
from bot.index import IndexMissingError, ModelMismatchError, StoreError
from bot.language.text import SUPPORTED_SUFFIXES, DocumentError
from bot.model.embedding import ModelMissingError
from bot.settings import Settings, get_settings

log = logging.getLogger("newsbot.ui")

TITLE = "Ask the article"
DESCRIPTION = "Questions in English or Dutch about a Dutch news article, answered in its own words, with sources."
EXAMPLES = [
    "What is the ChristenUnie's red line?",
    "How long did the meeting last?",
    "What did Carola Schouten say after the meeting?",
    "Wat is de rode lijn van de ChristenUnie?",
    "Wanneer praat het kabinet verder?",
    "Wat had Rutte zijn partij beloofd?",
]
MAX_NAME_CHARS = 80
STATIC = Path(__file__).resolve().parent / "static"
CSS_PATH = STATIC / "chat.css"  # the page's styles
JS_PATH = STATIC / "chat.js"  # focus, the live region, the length counter, scrolling to the newest answer
SEARCHING = '<div class="nb-reply nb-streaming nb-pending"><div class="nb-text">Looking in the article…</div></div>'


# ---------------------------------------------------------------- the chat


@dataclasses.dataclass
class Conversation:
    """One browser session's chat, kept on the server (a gr.State).

    ``history`` is what the bot receives for follow-ups: the questions as typed ({"role": "user", ...}) and
    the :class:`Answer` of each answered turn, never anything parsed back from the page. ``messages`` is what
    the chat shows (escaped HTML from :mod:`bot.chat_view`).
    """

    history: list[dict | Answer] = dataclasses.field(default_factory=list)
    messages: list[dict] = dataclasses.field(default_factory=list)
    # What each answered turn was, by the index of its message in ``messages``: what a 👍/👎 vote records.
    answered: dict[int, Turn] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Turn:
    question: str
    answer: Answer
    history: list[dict | Answer]  # the turns before it
    files: list[str] | None  # the scope it was asked in (None: every article)


def describe_problem(exc: BaseException) -> tuple[str, str]:
    """A title and a message for an error a user may meet (the message says what to do)."""
    if isinstance(exc, ModelMissingError):
        return "The embedding model is missing", str(exc)
    if isinstance(exc, IndexMissingError):
        return "Nothing is indexed yet", f"{exc} You can also upload an article in the Documents panel."
    if isinstance(exc, ModelMismatchError):
        return "The index needs rebuilding", str(exc)
    if isinstance(exc, StoreError):
        return "The index is unavailable", str(exc)
    if isinstance(exc, DocumentError):
        return "The document cannot be used", str(exc)
    if isinstance(exc, UnknownDocumentError):
        return "An article is no longer indexed", f"{exc} Untick it in the Documents panel (it may have been removed)."
    if isinstance(exc, ValueError):
        return "Please rephrase the question", str(exc)
    log.exception("unexpected error", exc_info=exc)
    return "Something went wrong", f"{type(exc).__name__}: {exc}. The details are in the server log."


def replies(question: str, history: list[dict | Answer],
            files: Sequence[str] | None = None) -> Iterator[tuple[str, Answer | None]]:
    """The reply as it grows: what really arrives (an LLM's pieces as it writes them; an extractive answer's
    sentences at once), then the final answer with its sources, paired with the :class:`Answer`. ``files``:
    the articles to answer from (None: all)."""
    try:
        shown = ""
        for piece in stream(question, history, files):
            if isinstance(piece, Answer):
                yield answer_html(piece), piece
                return
            shown += piece
            yield partial_answer_html(shown), None
    except Exception as exc:
        yield problem_html(*describe_problem(exc)), None


def respond(question: str, history: list[dict | Answer] | None = None) -> Iterator[str]:
    """The reply's HTML as it grows (see :func:`replies`)."""
    for html, _ in replies(question, history or []):
        yield html


def ask(question: str, conversation: Conversation | None, scope: Sequence[str] | None = None) -> Iterator[tuple]:
    """The chat's event: (question box, input error, chat, conversation) as the answer comes in.

    An empty question does nothing; a refused one (too long, no words) stays in the box with the reason
    beside it; an accepted one leaves the box, and its reply grows in the chat. ``scope``: the ticked articles
    (file names); none ticked is every article.
    """
    conversation = conversation or Conversation()
    files = list(scope) if scope else None
    if not isinstance(question, str) or not question.strip():
        yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return
    try:
        clean_question(question, get_settings().max_question_chars)
    except ValueError as exc:
        yield gr.skip(), input_error_html(str(exc)), gr.skip(), gr.skip()
        return
    messages = [*conversation.messages, {"role": "user", "content": question_html(question)},
                {"role": "assistant", "content": SEARCHING}]
    yield "", "", list(messages), conversation
    for html, result in replies(question, conversation.history, files):
        messages[-1] = {"role": "assistant", "content": html}
        if result is not None:
            messages[-2] = {"role": "user", "content": question_html(question, result.language)}
            conversation.answered[len(messages) - 1] = Turn(question, result, list(conversation.history), files)
            conversation.history += [{"role": "user", "content": question}, result]
        conversation.messages = list(messages)
        yield gr.skip(), gr.skip(), list(messages), conversation


def chat(question: str, history: list[dict] | None = None, files: list[str] | None = None) -> dict:
    """Answer a question about the indexed article(s), in English or Dutch.

    Returns the answer as a dict: text (with [n] markers), abstained, language, question (as understood),
    and sources (best first), each with text (the paragraph), highlight (the evidence sentences),
    document (its title), file, paragraph and score. history: earlier turns, [{"role", "content"}].
    files: answer from these documents only (file names, as /documents lists them); empty or None: all.
    """
    try:
        result = answer(question, history or [], files or None)
    except (ValueError, StoreError, ModelMissingError) as exc:
        raise gr.Error(str(exc), title=describe_problem(exc)[0], print_exception=False) from exc
    return dataclasses.asdict(result)


def list_documents() -> list[dict]:
    """The indexed documents, by title: file (the name /chat's files takes), title, paragraphs, chunks, and
    indexed_at (when, ISO 8601 in UTC; null when the index did not record it)."""
    try:
        found = get_bot().documents()
    except (StoreError, ModelMissingError) as exc:
        raise gr.Error(str(exc), title=describe_problem(exc)[0], print_exception=False) from exc
    return [{"file": d.file, "title": d.title, "paragraphs": d.paragraphs, "chunks": d.chunks,
             "indexed_at": datetime.fromtimestamp(d.indexed_at, UTC).isoformat(timespec="seconds")
             if d.indexed_at is not None else None} for d in found]


def vote(conversation: Conversation | None, data: gr.LikeData) -> None:
    """A 👍/👎 on an answer: appended to BOT_FEEDBACK_FILE (a file that cannot be written is logged; the chat
    goes on). Votes on anything but an answer (a problem message) are not recorded."""
    index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
    turn = (conversation or Conversation()).answered.get(int(index))
    if turn is None or not isinstance(data.liked, bool):
        return
    record_vote(get_settings().feedback_file,
                vote_record(data.liked, turn.question, turn.answer, turn.history, turn.files))


# ---------------------------------------------------------------- documents and uploads


class UploadRejected(ValueError):
    """An uploaded file that is not taken (its name, type or size)."""


def safe_upload_name(original: str) -> str:
    """A file name that stays inside the upload folder: no folders, no ``..``, no odd characters."""
    name = unicodedata.normalize("NFKC", original or "")
    name = re.split(r"[\\/]", name)[-1].strip()
    stem, dot, suffix = name.rpartition(".")
    suffix = f".{suffix.lower()}" if dot else ""
    if suffix not in SUPPORTED_SUFFIXES:
        kinds = f"{', '.join(SUPPORTED_SUFFIXES[:-1])} and {SUPPORTED_SUFFIXES[-1]}"
        raise UploadRejected(f"Only {kinds} files can be added; «{name}» is not one.")
    stem = re.sub(r"[^\w.-]+", "-", stem, flags=re.UNICODE)
    stem = re.sub(r"\.{2,}", ".", stem).strip(".-_")[:MAX_NAME_CHARS] or "upload"
    return stem + suffix


def _size(num_bytes: int) -> str:
    if num_bytes >= 1_000_000:
        return f"{num_bytes / 1_000_000:.1f} MB"
    if num_bytes >= 1_000:
        return f"{num_bytes / 1_000:.0f} kB"
    return f"{num_bytes} bytes"


def indexed_documents(settings: Settings | None = None) -> list[IndexedDocument]:
    settings = settings or get_settings()
    return [IndexedDocument(d.file, d.title, d.paragraphs, uploaded=(settings.upload_dir / d.file).is_file(),
                            indexed_at=d.indexed_at) for d in get_bot().documents()]


def management(settings: Settings | None = None) -> tuple[bool, str]:
    """Whether the chat may add and remove articles, and why not. Both change what every user of the chat
    sees, so they are allowed only when it listens on loopback (this machine's users) or asks for a login."""
    settings = settings or get_settings()
    if settings.auth and settings.auth.get_secret_value():
        return True, ""
    try:
        loopback = settings.host == "localhost" or ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return True, ""
    return False, (f"Adding and removing articles is turned off: the chat listens on {settings.host}, beyond this "
                   "machine, without a login, and these change what every user sees. Set BOT_AUTH=user:password "
                   "(or listen on 127.0.0.1) to turn them on.")


def documents_view() -> str:
    """The Documents panel: what is indexed (or why that cannot be shown)."""
    try:
        return documents_html(indexed_documents(), removable=management()[0])
    except Exception as exc:
        return status_html(" ".join(describe_problem(exc)), ok=False)


def scope_choices(current: Sequence[str] | None = None) -> dict:
    """The scope's tick boxes, one per indexed article (title shown, file name as value); ticks of articles
    that are gone are dropped."""
    try:
        found = get_bot().documents()
    except Exception:  # the panel shows the problem
        found = []
    titles = [d.title for d in found]
    choices = [(d.title if titles.count(d.title) == 1 else f"{d.title} ({d.file})", d.file) for d in found]
    files = {d.file for d in found}
    return gr.update(choices=choices, value=[f for f in (current or []) if f in files])


def open_article(file: str, paragraph: int | None = None, highlight: Sequence[str] = ()) -> str:
    """The article panel's HTML for one indexed document, read from the index (or why it cannot be shown)."""
    try:
        article = get_bot().article(str(file))
    except Exception as exc:
        return status_html(" ".join(describe_problem(exc)), ok=False)
    paragraph = int(paragraph) if isinstance(paragraph, int | float | str) and str(paragraph).isdigit() else None
    sentences = [s for s in highlight if isinstance(s, str)][:10] if isinstance(highlight, list) else []
    return article_html(article, paragraph, sentences)


def on_action(pending: str | None, event: gr.EventData) -> tuple:
    """What static/chat.js asks for from the page (a citation, a source or a title clicked; a Remove button):
    (article panel HTML, article panel column, removal confirmation column, its text, the file pending removal)."""
    data: dict[str, Any] = getattr(event, "_data", None) or {}
    file = str(data.get("file") or "")
    if data.get("action") == "open" and file:
        html = open_article(file, data.get("paragraph"), data.get("highlight") or [])
        return html, gr.update(visible=True), gr.skip(), gr.skip(), gr.skip()
    if data.get("action") == "remove" and file:
        allowed, why = management()
        if not allowed:
            return gr.skip(), gr.skip(), gr.update(visible=True), status_html(why, ok=False), None
        title = next((d.title for d in indexed_documents() if d.name == file), file)
        question = (f"Remove «{title}» ({file}) from the index? It can no longer be answered from, and its "
                    "uploaded file is deleted.")
        return gr.skip(), gr.skip(), gr.update(visible=True), status_html(question, ok=True), file
    return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()


def close_article() -> dict:
    return gr.update(visible=False)


def cancel_removal() -> tuple:
    return gr.update(visible=False), "", None


def remove_upload(file: str | None) -> Iterator[tuple[str, str, Any, Any]]:
    """Remove the upload confirmed in the panel: its index entries and its file under the upload folder.
    Yields (status, documents, confirmation column, pending file) as it goes: a removal that waits for another
    writer of the document says so at once."""
    hide = gr.update(visible=False)
    if not file:
        yield gr.skip(), gr.skip(), hide, None
        return
    allowed, why = management()
    if not allowed:
        yield status_html(why, ok=False), gr.skip(), hide, None
        return
    said: queue.Queue[str] = queue.Queue()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["deleted"] = get_bot().remove_document(file, upload_dir=get_settings().upload_dir,
                                                           on_wait=said.put)
        except Exception as exc:
            outcome["error"] = exc

    yield status_html(f"Removing {file}…", ok=True), gr.skip(), hide, None
    worker = threading.Thread(target=work, name="remove-document", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.2)
        while not said.empty():
            yield status_html(said.get(), ok=True), gr.skip(), hide, None
    error = outcome.get("error")
    if error is None:
        message = status_html(f"Removed {file}: it is no longer answered from.", ok=True)
    elif isinstance(error, DocumentRejected | UnknownDocumentError):
        message = status_html(str(error), ok=False)
    else:
        message = status_html(" ".join(describe_problem(error)), ok=False)
    yield message, documents_view(), hide, None


def add_document(file_path: str | None, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, str]:  # noqa: B008
    """Save an uploaded .txt/.md/.html file under the upload folder and ingest it: answerable at once."""
    settings = get_settings()
    allowed, why = management(settings)
    if not allowed:
        return status_html(why, ok=False), documents_view()
    if not file_path:
        return status_html("Choose a .txt, .md or .html file to add.", ok=False), documents_view()
    name = Path(file_path).name
    try:
        name = safe_upload_name(name)
        size = os.path.getsize(file_path)
        if size > settings.max_upload_bytes:
            raise UploadRejected(
                f"«{name}» is {_size(size)}; the largest document accepted is {_size(settings.max_upload_bytes)} "
                "(setting BOT_MAX_UPLOAD_BYTES)."
            )
        progress(0.05, desc=f"Reading {name}")
        added = get_bot().add_document(file_path, name=name, upload_dir=settings.upload_dir,
                                       max_bytes=settings.max_upload_bytes)
        progress(1.0, desc="Indexed")
        if added.unchanged:
            message = f"«{added.title}» ({name}) was already indexed, unchanged."
        else:
            message = f"Added «{added.title}» ({name}). Ask about it in the chat."
        return status_html(message, ok=True), documents_view()
    except (UploadRejected, DocumentRejected) as exc:
        return status_html(str(exc), ok=False), documents_view()
    except Exception as exc:
        title, message = describe_problem(exc)
        return status_html(f"{title}: {message}", ok=False), documents_view()


# ---------------------------------------------------------------- the page


THEME = gr.themes.Soft(
    primary_hue="blue", neutral_hue="slate",
    # System fonts: nothing to download, and readable for Dutch text on every platform.
    font=["-apple-system", "BlinkMacSystemFont", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "Noto Sans",
          "Liberation Sans", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"],
).set(
    # White on blue-700 (6.7:1) rather than the theme's blue-500 (3.7:1): WCAG AA contrast for the Send button.
    button_primary_background_fill="*primary_700", button_primary_background_fill_hover="*primary_800",
    button_primary_background_fill_dark="*primary_700", button_primary_background_fill_hover_dark="*primary_800",
    button_primary_text_color="white", button_primary_text_color_dark="white",
)


def build(settings: Settings | None = None) -> gr.Blocks:
    settings = settings or get_settings()
    limit = settings.max_question_chars
    manage, why_not = management(settings)
    # delete_cache: uploaded files also sit in Gradio's cache folder; clear them out after an hour.
    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_width=False, delete_cache=(3600, 3600)) as demo:
        header = gr.HTML(
            f'<header class="nb-header"><h1>{TITLE}</h1><p>{DESCRIPTION}</p>'
            '<a class="nb-skip" href="#documents-panel">Documents</a></header>'
            # The page's one live region for answers and refusals: present (and empty) from the start, so
            # that what static/chat.js writes into it is announced, once, as plain text.
            '<div id="nb-live" class="nb-sr-only" role="status" aria-live="polite" aria-atomic="true"></div>',
            padding=False,
            # The page's way to ask the server for something (static/chat.js: a citation, a source or a title
            # clicked, a Remove button): Gradio 6's trigger() sends the object as the click's event data.
            js_on_load="window.newsbot = window.newsbot || {}; window.newsbot.act = (data) => trigger('click', data);",
        )
        conversation = gr.State(Conversation())
        pending_removal = gr.State(None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320, elem_classes="nb-chat-column"):
                # The chat shows only HTML that bot.chat_view built and escaped, questions included, so
                # nothing needs Gradio's Markdown (render_markdown=False) and nothing is parsed back.
                # autoscroll=False: static/chat.js brings the start of the newest answer into view instead
                # of the end of its sources. feedback_options: the 👍/👎 of each answer (the like event).
                chatbot = gr.Chatbot(
                    label="Conversation", show_label=False, elem_id="chat", autoscroll=False,
                    height="max(360px, calc(100vh - 330px))", latex_delimiters=[], render_markdown=False,
                    feedback_options=("Like", "Dislike"), buttons=[], group_consecutive_messages=False,
                    placeholder="**Ask about the article** in English or Dutch, or pick an example below.",
                )
                with gr.Row(equal_height=True, elem_classes="nb-ask"):
                    # The Send button stands beside the box, not inside it (submit_btn): inside, it sits in the
                    # box's <label> and the box would be named "Question Send".
                    question = gr.Textbox(
                        label="Question", placeholder="Ask a question about the article…", elem_id="question",
                        lines=1, max_lines=6, autofocus=False, scale=5,  # no autofocus: the page opens at its top
                    )
                    send = gr.Button("Send", variant="primary", elem_id="send", scale=0, min_width=80)
                gr.HTML(
                    f'<div class="nb-hint"><span id="question-count" data-max="{limit}" aria-live="off">'
                    f"0 / {limit:,} characters</span></div>",
                    padding=False, js_on_load=None,
                )
                error = gr.HTML(elem_id="question-error", padding=False, js_on_load=None)
                gr.HTML('<h2 class="nb-examples-title" id="examples-title">Examples</h2>', padding=False,
                        js_on_load=None)
                with gr.Row(elem_id="examples", elem_classes="nb-examples"):
                    examples = [gr.Button(text, size="sm", variant="secondary", elem_classes="nb-example",
                                          min_width=160) for text in EXAMPLES]
            # The article view: opened by a citation, a source or a title; below the chat on a narrow screen.
            with gr.Column(scale=2, min_width=300, visible=False, elem_id="article-panel",
                           elem_classes="nb-article-panel") as article_panel:
                close = gr.Button("Close the article", size="sm", variant="secondary", elem_id="article-close")
                article = gr.HTML(elem_id="article", padding=False, js_on_load=None)
            with gr.Column(scale=1, min_width=260, elem_classes="nb-panel", elem_id="documents-panel"):
                gr.HTML('<h2 class="nb-panel-title">Documents</h2>', padding=False, js_on_load=None)
                documents = gr.HTML(elem_id="documents", padding=False, js_on_load=None)
                scope = gr.CheckboxGroup(
                    [], value=[], label="Ask only these articles", elem_id="scope",
                    info="Nothing ticked: every article is asked.",
                )
                with gr.Column(visible=False, elem_id="remove-confirm") as confirm:
                    confirm_text = gr.HTML(padding=False, js_on_load=None)
                    with gr.Row():
                        confirm_yes = gr.Button("Remove", variant="stop", size="sm", elem_id="remove-yes")
                        confirm_no = gr.Button("Cancel", variant="secondary", size="sm", elem_id="remove-no")
                # No file_types: Gradio would refuse another type in the browser with a passing toast, leaving
                # the last status on screen; add_document refuses it with a message in the status region.
                upload = gr.UploadButton("Add an article (.txt, .md, .html)", type="filepath", size="md",
                                         elem_id="upload", interactive=manage)
                manage_note = (why_not if not manage else
                               f"UTF-8 text (the first block is the title; blank lines separate paragraphs) or a "
                               f"saved news page, up to {_size(settings.max_upload_bytes)}. Uploads can be removed "
                               "here; the articles of data/ cannot: delete the file and run "
                               "<code>python -m bot ingest --prune</code>.")
                gr.HTML(f'<div class="nb-hint" id="manage-note">{manage_note}</div>', padding=False, js_on_load=None)
                # The upload's status: one region for the page's lifetime, made a polite live region by
                # static/chat.js (gr.HTML has no option for the attributes of its own element); every
                # status replaces the one before.
                status = gr.HTML(elem_id="upload-status", padding=False, min_height=24, js_on_load=None)

        outputs = [question, error, chatbot, conversation]
        settle = "() => window.newsbot && window.newsbot.settled()"  # announce, scroll, collapse on phones
        for event in (question.submit, send.click):
            event(ask, [question, conversation, scope], outputs, show_progress="hidden",
                  api_visibility="private").then(None, js=settle)
        chatbot.clear(Conversation, None, conversation, api_visibility="private")  # the chat's own Clear button
        chatbot.like(vote, conversation, None, api_visibility="private", queue=False)
        for example in examples:
            # The example's own text is the question; focus goes back to the question box at once.
            example.click(ask, [example, conversation, scope], outputs, show_progress="hidden",
                          api_visibility="private",
                          js="(text, state, scope) => { window.newsbot && window.newsbot.focusQuestion(); "
                             "return [text, state, scope]; }").then(None, js=settle)
        header.click(on_action, pending_removal, [article, article_panel, confirm, confirm_text, pending_removal],
                     api_visibility="private", show_progress="hidden").then(
            None, js="() => window.newsbot && window.newsbot.articleShown()")
        close.click(close_article, None, article_panel, api_visibility="private", queue=False).then(
            None, js="() => window.newsbot && window.newsbot.articleClosed()")
        settled = "() => window.newsbot && window.newsbot.removalSettled()"
        confirm_no.click(cancel_removal, None, [confirm, confirm_text, pending_removal], api_visibility="private",
                         queue=False).then(None, js=settled)
        confirm_yes.click(remove_upload, pending_removal, [status, documents, confirm, pending_removal],
                          concurrency_limit=1, api_visibility="private").then(
            scope_choices, scope, scope, api_visibility="private").then(None, js=settled)
        upload.upload(add_document, upload, [status, documents], concurrency_limit=1, show_progress="full",
                      api_visibility="undocumented").then(scope_choices, scope, scope, api_visibility="private")
        demo.load(documents_view, None, documents, api_visibility="undocumented", queue=False)
        demo.load(scope_choices, None, scope, api_visibility="private", queue=False)
        gr.api(chat, api_name="chat")
        gr.api(list_documents, api_name="documents")
    return demo


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """BOT_AUTH "user:password" → ("user", "password"); unset → no login."""
    if not value:
        return None
    user, colon, password = value.partition(":")
    if not colon or not user.strip() or not password:
        raise SystemExit("BOT_AUTH must look like user:password (both parts non-empty).")
    return user.strip(), password


def warm_up() -> None:
    """Open the index and load the model once, in the background, so the first question is quick."""
    try:
        get_bot().embeddings.embed_query("warm-up")
    except Exception as exc:  # the chat shows the same problem when asked
        log.warning("warm-up: %s", exc)


def main() -> None:
    serve(get_settings())


def serve(settings: Settings, bind: str | None = None) -> None:
    """Build the chat and serve it on ``bind`` (default: BOT_HOST) and BOT_PORT. Only the tests pass ``bind``:
    to serve, on loopback, a chat configured for another address."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    auth = parse_auth(settings.auth.get_secret_value() if settings.auth else None)
    demo = build(settings)
    demo.queue(default_concurrency_limit=settings.concurrency)
    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    demo.launch(
        server_name=bind or settings.host, server_port=settings.port, auth=auth,
        auth_message=f"{TITLE}: please log in." if auth else None,
        max_file_size=max(settings.max_upload_bytes * 4, 1_000_000),
        theme=THEME, css_paths=[CSS_PATH], js=JS_PATH.read_text(encoding="utf-8"),
        footer_links=["api", "gradio"], run_history=False,
        show_error=False, ssr_mode=False,
    )


if __name__ == "__main__":
    main()
