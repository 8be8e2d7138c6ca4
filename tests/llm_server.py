"""A scripted LLM server on loopback, over real HTTP, for the LLM answerer's tests.

It speaks the OpenAI chat-completions API (``POST /v1/chat/completions``, JSON or SSE streaming, as
vLLM and llama.cpp's server do) and Ollama's (``POST /api/chat``, NDJSON streaming), so the real
``langchain-openai`` and ``langchain-ollama`` clients talk to it. Each request is recorded and answered
by ``server.script(request) -> Reply``: text, an HTTP error status, or a delay (a server that hangs).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    text: str = ""
    status: int = 200
    delay: float = 0.0  # seconds before the response starts
    chunk_delay: float = 0.0  # seconds between streamed chunks
    error: str = ""  # the error message of a failure status (default: "scripted failure <status>")


@dataclass
class Request:
    path: str
    body: dict
    headers: dict = field(default_factory=dict)

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream", self.path == "/api/chat"))

    @property
    def system(self) -> str:
        return "\n".join(m["content"] for m in self.body.get("messages", []) if m["role"] == "system")

    @property
    def user(self) -> str:
        return "\n".join(m["content"] for m in self.body.get("messages", []) if m["role"] == "user")

    @property
    def is_rewrite(self) -> bool:
        return "Rewrite the user's last question" in self.system

    def passages(self) -> dict[int, str]:
        """The numbered passages of the answer prompt."""
        return {int(n): text for n, text in re.findall(r"^\[(\d+)\] (.*)$", self.system, re.MULTILINE)}

    def number_of(self, needle: str) -> int:
        """The number of the passage that contains ``needle``."""
        return next(n for n, text in self.passages().items() if needle in text)

    def number_without(self, needle: str) -> int:
        return next(n for n, text in self.passages().items() if needle not in text)


def pieces(text: str) -> list[str]:
    """Chunks of two or three words, as a model streams them; joined they give the text back."""
    words = re.findall(r"\S+\s*", text)
    return ["".join(words[i:i + 3]) for i in range(0, len(words), 3)] or [""]


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedLLMServer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._json(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        request = Request(self.path, body, {k.lower(): v for k, v in self.headers.items()})
        with self.server.lock:
            self.server.requests.append(request)
        reply = self.server.script(request)
        if reply.delay and self.server.stopping.wait(reply.delay):
            return
        if reply.status != 200:
            message = reply.error or f"scripted failure {reply.status}"
            error = {"error": {"message": message, "type": "server_error"}}
            return self._json(reply.status, error if self.path.startswith("/v1") else {"error": "scripted failure"})
        if self.path == "/v1/chat/completions":
            return self._openai(request, reply)
        if self.path == "/api/chat":
            return self._ollama(request, reply)
        self._json(404, {"error": f"no route {self.path}"})

    def _json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _openai(self, request: Request, reply: Reply) -> None:
        model = request.body.get("model", "scripted")
        if not request.stream:
            return self._json(200, {
                "id": "chatcmpl-scripted", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            })
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        chunks = [{"role": "assistant", "content": piece} for piece in pieces(reply.text)] + [{}]
        for i, delta in enumerate(chunks):
            if i and reply.chunk_delay and self.server.stopping.wait(reply.chunk_delay):
                return
            event = {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 0, "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": None if delta else "stop"}]}
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        with self.server.lock:
            self.server.finished.append(time.monotonic())

    def _ollama(self, request: Request, reply: Reply) -> None:
        model = request.body.get("model", "scripted")
        lines = [{"model": model, "created_at": "2024-01-01T00:00:00Z",
                  "message": {"role": "assistant", "content": piece}, "done": False} for piece in pieces(reply.text)]
        lines.append({"model": model, "created_at": "2024-01-01T00:00:00Z",
                      "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop",
                      "total_duration": 1, "prompt_eval_count": 1, "eval_count": 1})
        if not request.stream:
            return self._json(200, {**lines[-1], "message": {"role": "assistant", "content": reply.text}})
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for i, line in enumerate(lines):
            if i and reply.chunk_delay and self.server.stopping.wait(reply.chunk_delay):
                return
            self.wfile.write((json.dumps(line) + "\n").encode())
            self.wfile.flush()


class ScriptedLLMServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[Request] = []
        self.finished: list[float] = []  # when each streamed OpenAI response was sent whole (time.monotonic())
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.script: Callable[[Request], Reply] = lambda request: Reply("")

    @property
    def url(self) -> str:
        """The OpenAI-compatible base URL."""
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    @property
    def root(self) -> str:
        """The Ollama URL."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> ScriptedLLMServer:
        threading.Thread(target=self.serve_forever, name="scripted-llm", daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (timed out) closes the connection mid-stream: expected here, not an error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def reset(self, script: Callable[[Request], Reply]) -> None:
        with self.lock:
            self.requests.clear()
            self.finished.clear()
        self.script = script

    def answers(self) -> list[Request]:
        """The answer requests received (not the follow-up rewrites)."""
        with self.lock:
            return [r for r in self.requests if not r.is_rewrite]
