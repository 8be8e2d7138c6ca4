"""``python -m llama_cpp.server`` with one request field renamed, for the LLM smoke test (run in .venv-llm/).

langchain-openai sends the answer's length limit as ``max_completion_tokens`` (OpenAI's current name). The
prebuilt llama-cpp-python server that .ci/llm-smoke installs (0.2.60) predates that name and ignores it, so a
135M model would write until its context is full. This wrapper renames the field to ``max_tokens`` (when that
is not given) before the server sees the request; everything else is llama.cpp's own server, unchanged.
Arguments are the server's own: ``python tests/llama_server_compat.py --model M --port P ...``.
"""

from __future__ import annotations

import json
import runpy

import llama_cpp.server.app as app_module

_create_app = app_module.create_app


def _renaming(app):
    async def wrapped(scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST":
            return await app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            data = json.loads(body)
            if isinstance(data, dict) and "max_completion_tokens" in data and data.get("max_tokens") is None:
                data["max_tokens"] = data.pop("max_completion_tokens")
                body = json.dumps(data).encode()
        except ValueError:
            pass
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await app(scope, replay, send)

    return wrapped


def create_app(*args, **kwargs):
    return _renaming(_create_app(*args, **kwargs))


app_module.create_app = create_app  # llama_cpp.server.__main__ imports it from there

if __name__ == "__main__":
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
