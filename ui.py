"""The Gradio chat: ``python ui.py`` serves it on http://127.0.0.1:7860 (BOT_HOST / BOT_PORT).

One code path: the chat streams :func:`bot.answering.stream`, the ``/chat`` API endpoint returns
:func:`bot.answer`, and uploads go through the service's ``add_document`` into the same shared index and model
(:func:`bot.answering.get_bot`). Everything a document or a person wrote is shown as text
(:mod:`bot.chat_view`), never as markup.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import threading
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home: the machine may be offline
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import gradio as gr
from gradio.components.chatbot import ChatbotDataMessages, TextMessage

from bot.answering import Answer, DocumentRejected, answer, get_bot, stream
from bot.answering.history import message_text
from bot.chat_view import (
    IndexedDocument,
    answer_html,
    documents_html,
    from_literal_markdown,
    literal_markdown,
    partial_answer_html,
    problem_html,
    reply_text,
    status_html,
)
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
STREAM_PAUSE_SECONDS = 0.04  # between streamed sentences, so that the answer visibly builds up
MAX_NAME_CHARS = 80

CSS = """
.nb-header { text-align: center; max-width: 60rem; margin: 0.25rem auto 0; }
.nb-header h1 { font-size: 1.85rem; margin: 0; }
.nb-header p { margin: 0.35rem 0 0; color: var(--body-text-color-subdued); }
#chat button.example { border: 1px solid var(--border-color-primary); border-radius: var(--radius-lg);
  background: var(--background-fill-secondary); }
#chat button.example:hover { border-color: var(--color-accent); }
.nb-reply { line-height: 1.55; }
.nb-marker { font-weight: 700; font-size: 0.85em; color: var(--color-accent); white-space: nowrap; }
details.nb-sources { margin-top: 0.7rem; padding-top: 0.45rem; border-top: 1px solid var(--border-color-primary); }
details.nb-sources > summary { cursor: pointer; font-weight: 600; font-size: 0.9em;
  color: var(--body-text-color-subdued); }
.nb-count { display: inline-block; min-width: 1.4em; margin-left: 0.25em; padding: 0 0.35em; border-radius: 999px;
  font-size: 0.85em; text-align: center; background: var(--color-accent-soft); color: var(--color-accent); }
.nb-source { margin: 0.55rem 0 0; padding: 0.45rem 0.7rem; border-left: 3px solid var(--color-accent);
  border-radius: 0 6px 6px 0; background: var(--background-fill-secondary); }
.nb-source-head { font-size: 0.85em; margin-bottom: 0.2rem; }
.nb-doc { font-weight: 600; }
.nb-where { color: var(--body-text-color-subdued); }
p.nb-passage { margin: 0 !important; font-size: 0.92em; overflow-wrap: anywhere; }
.nb-passage mark { background: #fde68a; color: inherit; padding: 0.05em 0.15em; border-radius: 3px; }
.dark .nb-passage mark { background: rgba(250, 204, 21, 0.32); }
.nb-label { font-size: 0.72em; font-weight: 700; letter-spacing: 0.05em; text-transform: uppercase; }
.nb-abstention { border-left: 3px solid #d97706; padding-left: 0.7rem; }
.nb-abstention .nb-label { color: #b45309; }
.nb-abstention .nb-text { color: var(--body-text-color-subdued); }
.nb-problem { border-left: 3px solid var(--error-border-color, #ef4444); padding-left: 0.7rem; }
.nb-problem .nb-label { color: var(--error-text-color, #b91c1c); }
.nb-note { font-size: 0.85em; color: var(--body-text-color-subdued); margin-top: 0.3rem; }
.nb-panel h3 { margin: 0 0 0.3rem; }
.nb-docs { list-style: none; padding: 0; margin: 0; }
.nb-docs li { padding: 0.45rem 0; border-bottom: 1px solid var(--border-color-primary); }
.nb-doc-title { font-weight: 600; font-size: 0.92em; line-height: 1.3; overflow-wrap: anywhere; }
.nb-doc-meta { font-size: 0.8em; color: var(--body-text-color-subdued); overflow-wrap: anywhere; }
.nb-uploaded { color: var(--color-accent); }
.nb-empty { font-size: 0.9em; color: var(--body-text-color-subdued); }
.nb-status { font-size: 0.88em; overflow-wrap: anywhere; white-space: pre-line; }
.nb-status { border-left: 3px solid #16a34a; padding-left: 0.6rem; }
.nb-status.nb-error { border-left-color: var(--error-border-color, #ef4444); color: var(--error-text-color, #b91c1c); }
.nb-hint { font-size: 0.8em; color: var(--body-text-color-subdued); }
"""


# ---------------------------------------------------------------- what people type is text, not markup


def show_user_text_literally(chatbot: gr.Chatbot) -> gr.Chatbot:
    """Make ``chatbot`` show the user's messages exactly as typed: ``<img onerror=…>`` stays text.

    The browser renders every message as sanitised Markdown/HTML, so user messages are escaped on the way
    out (:func:`literal_markdown`) and unescaped on the way back: the history the chat function sees holds
    the text as typed. Assistant messages are built by :mod:`bot.chat_view`, which escapes them itself.
    This wraps the instance's methods rather than subclassing gr.Chatbot, because Gradio writes a ``.pyi``
    stub next to the module of every Component subclass.
    """
    postprocess, preprocess = chatbot.postprocess, chatbot.preprocess

    def postprocess_literally(value: Any) -> ChatbotDataMessages:
        messages = []
        for message in postprocess(value).root:
            if message.role == "user":
                content = [TextMessage(text=literal_markdown(part.text)) if isinstance(part, TextMessage) else part
                           for part in message.content]
                message = message.model_copy(update={"content": content})
            messages.append(message)
        return ChatbotDataMessages(root=messages)

    def preprocess_literally(payload: ChatbotDataMessages | None) -> list:
        messages = preprocess(payload)
        for message in messages:
            if message["role"] == "user":
                for part in message["content"]:
                    if part.get("type") == "text":
                        part["text"] = from_literal_markdown(part["text"])  # type: ignore[typeddict-item]
        return messages

    chatbot.postprocess = postprocess_literally  # type: ignore[method-assign]
    chatbot.preprocess = preprocess_literally  # type: ignore[method-assign]
    return chatbot


# ---------------------------------------------------------------- the chat


def plain_history(history: list[dict] | None) -> list[dict]:
    """The chat's history as the Python API takes it: questions as typed, answers as answer() wrote them."""
    turns = []
    for message in history or []:
        role = message.get("role")
        if role == "user":
            text = message_text(message.get("content"))
        elif role == "assistant" and not message.get("metadata"):
            text = reply_text(message_text(message.get("content")))
        else:
            continue
        if text:
            turns.append({"role": role, "content": text})
    return turns


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
    if isinstance(exc, ValueError):
        return "Please rephrase the question", str(exc)
    log.exception("unexpected error", exc_info=exc)
    return "Something went wrong", f"{type(exc).__name__}: {exc}. The details are in the server log."


def respond(message: str, history: list[dict]) -> Iterator[str]:
    """The chat function: the answer sentence by sentence, then the answer with its sources."""
    try:
        shown = ""
        for piece in stream(message, plain_history(history)):
            if isinstance(piece, Answer):
                yield answer_html(piece)
                return
            shown += piece
            yield partial_answer_html(shown)
            time.sleep(STREAM_PAUSE_SECONDS)
    except Exception as exc:
        yield problem_html(*describe_problem(exc))


def chat(question: str, history: list[dict] | None = None) -> dict:
    """Answer a question about the indexed article(s), in English or Dutch.

    Returns the answer as a dict: text (with [n] markers), abstained, language, question (as understood),
    and sources (best first), each with text (the paragraph), highlight (the evidence sentences),
    document (its title), file, paragraph and score. history: earlier turns, [{"role", "content"}].
    """
    try:
        result = answer(question, history or [])
    except (ValueError, StoreError, ModelMissingError) as exc:
        raise gr.Error(str(exc), title=describe_problem(exc)[0], print_exception=False) from exc
    return dataclasses.asdict(result)


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
        raise UploadRejected(f"Only {' and '.join(SUPPORTED_SUFFIXES)} files can be added; «{name}» is not one.")
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
    return [IndexedDocument(d.file, d.title, d.paragraphs, uploaded=(settings.upload_dir / d.file).is_file())
            for d in get_bot().documents()]


def documents_view() -> str:
    """The Documents panel: what is indexed (or why that cannot be shown)."""
    try:
        return documents_html(indexed_documents())
    except Exception as exc:
        return status_html(" ".join(describe_problem(exc)), ok=False)


def add_document(file_path: str | None, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, str]:  # noqa: B008
    """Save an uploaded .txt/.md file under the upload folder and ingest it: answerable at once."""
    settings = get_settings()
    if not file_path:
        return status_html("Choose a .txt or .md file to add.", ok=False), documents_view()
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
)


def build(settings: Settings | None = None) -> gr.Blocks:
    settings = settings or get_settings()
    # delete_cache: uploaded files also sit in Gradio's cache folder; clear them out after an hour.
    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_width=False, delete_cache=(3600, 3600)) as demo:
        gr.HTML(f'<div class="nb-header"><h1>{TITLE}</h1><p>{DESCRIPTION}</p></div>', padding=False)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = show_user_text_literally(gr.Chatbot(
                    height="max(360px, calc(100vh - 250px))", show_label=False, latex_delimiters=[],
                    feedback_options=None, buttons=[], elem_id="chat",  # copy would copy markup
                    placeholder="**Ask about the article** in English or Dutch, or pick a question:",
                ))
                gr.ChatInterface(
                    respond, chatbot=chatbot, examples=EXAMPLES,
                    textbox=gr.Textbox(placeholder="Ask a question about the article…", show_label=False,
                                       elem_id="question", autofocus=True, submit_btn=True, stop_btn=True),
                    api_visibility="private", fill_height=False,
                )
            with gr.Column(scale=1, min_width=260, elem_classes="nb-panel"):
                gr.Markdown("### Documents")
                documents = gr.HTML(elem_id="documents", padding=False)
                upload = gr.UploadButton(
                    "Add an article (.txt, .md)", file_types=list(SUPPORTED_SUFFIXES), type="filepath",
                    size="md", elem_id="upload",
                )
                gr.HTML(f'<div class="nb-hint">UTF-8 text, up to {_size(settings.max_upload_bytes)}. '
                        "The first block is the title; blank lines separate paragraphs.</div>", padding=False)
                status = gr.HTML(elem_id="upload-status", padding=False, min_height=24)
        upload.upload(add_document, upload, [status, documents], concurrency_limit=1, show_progress="full",
                      api_visibility="undocumented")
        demo.load(documents_view, None, documents, api_visibility="undocumented", queue=False)
        gr.api(chat, api_name="chat")
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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = get_settings()
    auth = parse_auth(settings.auth.get_secret_value() if settings.auth else None)
    demo = build(settings)
    demo.queue(default_concurrency_limit=settings.concurrency)
    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    demo.launch(
        server_name=settings.host, server_port=settings.port, auth=auth,
        auth_message=f"{TITLE}: please log in." if auth else None,
        max_file_size=max(settings.max_upload_bytes * 4, 1_000_000),
        theme=THEME, css=CSS, footer_links=["api", "gradio"], run_history=False,
        show_error=False, ssr_mode=False,
    )


if __name__ == "__main__":
    main()
