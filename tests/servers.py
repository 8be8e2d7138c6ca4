"""Helpers for tests with other processes: a real ``chroma run`` server on a free loopback port,
``python -m bot`` in a subprocess, and dropping an embedded index that another process changed."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bot.settings import OFFLINE_ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent

CHROMA = Path(sys.executable).with_name("chroma")
STARTUP_SECONDS = 180.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ChromaServer:
    """``chroma run --path PATH --host 127.0.0.1 --port PORT``; start() waits until its heartbeat answers."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        self.path = path
        self.port = port or free_port()
        self.log = path.with_name(path.name + ".log")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        try:
            return httpx.get(f"{self.url}/api/v2/heartbeat", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self) -> ChromaServer:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        command = [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                            env={**os.environ, **OFFLINE_ENVIRONMENT})
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self.alive():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"`{' '.join(command)}` did not come up:\n{tail}")
            time.sleep(0.2)
        return self

    def __enter__(self) -> ChromaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)
        self.process = None
        deadline = time.monotonic() + 20
        while self.alive() and time.monotonic() < deadline:  # the port is free again before we return
            time.sleep(0.2)


def bot_env(settings, **extra: str) -> dict[str, str]:
    env = {**os.environ, "BOT_INDEX_DIR": str(settings.index_dir), "BOT_COLLECTION": settings.collection,
           **OFFLINE_ENVIRONMENT, **extra}
    if settings.chroma_url:
        env["BOT_CHROMA_URL"] = settings.chroma_url
    return env


def run_bot(settings, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=bot_env(settings),
                          capture_output=True, text=True, timeout=timeout)


def summary(stdout: str) -> tuple[int, int]:
    match = re.search(r"(\d+) document\(s\) written, (\d+) unchanged", stdout)
    assert match, stdout
    return int(match.group(1)), int(match.group(2))


def forget_open_index(settings) -> None:
    """An embedded index's vectors are cached per process: drop the cache after another process wrote."""
    if not settings.chroma_url:
        from chromadb.api.shared_system_client import SharedSystemClient

        system = SharedSystemClient._identifier_to_system.pop(str(settings.index_dir), None)
        if system is not None:
            system.stop()
