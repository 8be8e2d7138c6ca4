"""Load test of the running chat UI over loopback with gradio_client: many concurrent conversations.

    .venv/bin/python bench/load.py                    # start `python ui.py` on a free port, load it, stop it
    .venv/bin/python bench/load.py --url http://127.0.0.1:7860 --server-pid PID   # an already running UI

Each conversation asks a question and then a follow-up that needs the history. The run is bounded in
count (``--conversations``) and time (``--deadline``). It prints errors (target 0), latency percentiles,
whether every answer equals the one given to the same conversation asked alone (sequentially, first),
and the UI process's peak memory (VmHWM from /proc). Not a test: figures for the README.

To drive another endpoint, change ``API_NAME`` / :func:`ask` (e.g. a ChatInterface's own endpoint takes
``(message, history)`` and returns the reply text).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API_NAME = "/chat"  # ui.py: gr.api(chat, api_name="chat") -> dict with "text", "sources", ...
CONVERSATIONS = [
    ("What is the ChristenUnie's red line?", "Why is that?"),
    ("Who is Carola Schouten?", "And what did she say after the meeting?"),
    ("Wat is de rode lijn van de ChristenUnie?", "Waarom?"),
    ("How long did the meeting last?", "When do they talk again?"),
    ("Wat had Rutte zijn partij beloofd?", "Wat vindt de VVD?"),
    ("What does the PVV think of the plan?", "What is the article about?"),
]


def ask(client, question: str, history: list[dict]) -> str:
    """One turn through the UI's API: the answer text."""
    result = client.predict(question, history, api_name=API_NAME)
    return result["text"] if isinstance(result, dict) else str(result)


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    answers: dict[int, list[str]] = field(default_factory=dict)


def conversation(url: str, number: int, run: Run, deadline: float) -> None:
    from gradio_client import Client

    try:
        client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
        history: list[dict] = []
        texts = []
        for question in CONVERSATIONS[number % len(CONVERSATIONS)]:
            if time.monotonic() > deadline:
                raise TimeoutError("deadline reached")
            started = time.perf_counter()
            text = ask(client, question, history)
            run.latencies.append(time.perf_counter() - started)
            texts.append(text)
            history += [{"role": "user", "content": question}, {"role": "assistant", "content": text}]
        run.answers[number] = texts
    except Exception as exc:
        run.errors.append(f"conversation {number}: {type(exc).__name__}: {exc}")


def peak_memory_mb(pid: int) -> tuple[float, float]:
    """(peak RSS, current RSS) of a process, in MB, from /proc/PID/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmHWM"].split()[0]) / 1024, int(fields["VmRSS"].split()[0]) / 1024


def start_ui(port: int) -> subprocess.Popen:
    import httpx

    env = {**os.environ, "BOT_PORT": str(port), "BOT_HOST": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False"}
    log = open(ROOT / "artifacts" / "load-ui.log", "wb")  # noqa: SIM115 - kept open for the child's lifetime
    process = subprocess.Popen([sys.executable, "ui.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"ui.py exited ({process.returncode}); see artifacts/load-ui.log")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/config", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit("ui.py did not come up in 300 s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running UI (default: start ui.py on a free port)")
    parser.add_argument("--server-pid", type=int, help="its process id, for the memory figure")
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--deadline", type=float, default=900.0, help="seconds for the whole concurrent run")
    args = parser.parse_args(argv)

    (ROOT / "artifacts").mkdir(exist_ok=True)
    process = None
    url, pid = args.url, args.server_pid
    if not url:
        from tests.servers import free_port

        port = free_port()
        process = start_ui(port)
        url, pid = f"http://127.0.0.1:{port}", process.pid
    try:
        alone = Run()  # each distinct conversation once, one at a time: the reference answers (and warm-up)
        for number in range(len(CONVERSATIONS)):
            conversation(url, number, alone, time.monotonic() + args.deadline)
        if alone.errors:
            print("\n".join(alone.errors))
            return 1
        before = peak_memory_mb(pid) if pid else None

        run = Run()
        deadline = time.monotonic() + args.deadline
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.conversations) as pool:
            futures = [pool.submit(conversation, url, n, run, deadline) for n in range(args.conversations)]
            _, late = wait(futures, timeout=args.deadline + 60)
        elapsed = time.perf_counter() - started
        run.errors += [f"{len(late)} conversation(s) unfinished at the deadline"] if late else []
        differ = [n for n, texts in run.answers.items() if texts != alone.answers[n % len(CONVERSATIONS)]]

        calls = len(run.latencies)
        print(f"UI: {url}   conversations: {args.conversations} concurrent, 2 turns each ({calls} calls)")
        print(f"errors: {len(run.errors)}   answers differing from the sequential ones: {len(differ)}")
        for line in run.errors[:10]:
            print(f"  {line}")
        if calls:
            print(f"latency: p50 {statistics.median(run.latencies):.2f} s   p95 {percentile(run.latencies, 0.95):.2f} s"
                  f"   max {max(run.latencies):.2f} s   wall {elapsed:.1f} s   {calls / elapsed:.2f} calls/s")
        if pid:
            peak, current = peak_memory_mb(pid)
            print(f"UI process memory: peak {peak:.0f} MB (before the concurrent run: peak {before[0]:.0f} MB, "
                  f"now {current:.0f} MB)")
        return 0 if not run.errors and not differ else 1
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
