"""The Gradio chat over bot.answer (minimal; see issue 4 for the full UI)."""

from __future__ import annotations

import gradio as gr

from bot.answering import answer
from bot.settings import get_settings


def respond(message: str, history: list[dict]) -> str:
    try:
        return answer(message, history).text
    except ValueError as exc:
        return f"⚠️ {exc}"


def build() -> gr.ChatInterface:
    return gr.ChatInterface(respond, title="Ask the article", examples=["What is the ChristenUnie's red line?"])


if __name__ == "__main__":
    settings = get_settings()
    build().queue(default_concurrency_limit=settings.concurrency).launch(
        server_name=settings.host, server_port=settings.port
    )
