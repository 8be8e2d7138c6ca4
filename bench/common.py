"""Helpers shared by the benchmarks: temporary indexes, statistics, subprocesses, a Chroma server, the UI."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "data" / "article-nl-migratie.txt"
QUESTION_SET = ROOT / "bot" / "eval_sets" / "questions.json"
ARTIFACTS = ROOT / "artifacts" / "bench"
PY = sys.executable
CHROMA = str(Path(sys.executable).with_name("chroma"))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.settings import OFFLINE_ENVIRONMENT  # noqa: E402 - ROOT first: bench runs as a script too
from tests.servers import ChromaServer, free_port  # noqa: E402, F401 - the tests' helpers, defined once

OFFLINE = {**OFFLINE_ENVIRONMENT, "TOKENIZERS_PARALLELISM": "false"}
for _key, _value in OFFLINE.items():
    os.environ.setdefault(_key, _value)


# ---------------------------------------------------------------- statistics and printing


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float) -> str:
    return f"{1000 * seconds:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def save(name: str, figures: dict[str, Any]) -> Path:
    """Keep a benchmark's figures as JSON (artifacts/ is not committed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.json"
    figures = {"benchmark": name, "when": time.strftime("%Y-%m-%d %H:%M:%S"), "load_average": load_average(),
               **figures}
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return path


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def encoder_labels() -> dict[str, str]:
    """BOT_ENCODER values and how the benchmarks name them (the configured default says so)."""
    from bot.settings import Settings

    default = Settings.model_fields["encoder"].default
    labels = {"sentence-transformers": "sentence-transformers", "lean": "bot.model.lean (BOT_ENCODER=lean)"}
    return {name: label + (" (default)" if name == default else "") for name, label in labels.items()}


def header(title: str, note: str = "") -> None:
    print(f"{title}  (cores: {os.cpu_count()}, load average: {load_average()})")
    if note:
        print(note)


# ---------------------------------------------------------------- the product, in temporary indexes


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"newsbot-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def env_for(index_dir: Path, collection: str = "bench", **extra: str) -> dict[str, str]:
    """The environment of a product process that uses a temporary index."""
    env = os.environ.copy()
    env.update(OFFLINE)
    env.update({"BOT_INDEX_DIR": str(index_dir), "BOT_COLLECTION": collection,
                "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)})
    env.pop("BOT_CHROMA_URL", None)
    env.update(extra)
    return env


def use_index(index_dir: Path | None = None, collection: str = "bench", chroma_url: str | None = None) -> None:
    """Point this process's product at a temporary index (or a Chroma server), forgetting any opened one."""
    if index_dir is not None:
        os.environ["BOT_INDEX_DIR"] = str(index_dir)
    os.environ["BOT_COLLECTION"] = collection
    if chroma_url:
        os.environ["BOT_CHROMA_URL"] = chroma_url
    else:
        os.environ.pop("BOT_CHROMA_URL", None)
    from bot.settings import get_settings

    get_settings.cache_clear()
    if "bot.answering" in sys.modules:
        sys.modules["bot.answering"].reset_bot()


def ingest_paths(paths: Sequence[Path], embeddings: Any = None) -> Any:
    """Ingest with the product (into the index use_index chose); returns its IngestReport."""
    from bot.index import open_index
    from bot.ingest import ingest
    from bot.model.embedding import BotEmbeddings
    from bot.settings import get_settings

    settings = get_settings()
    embeddings = embeddings or BotEmbeddings(settings)
    return ingest(open_index(settings, embeddings), embeddings, list(paths), progress=False)


def question_set() -> dict[str, Any]:
    return json.loads(QUESTION_SET.read_text(encoding="utf-8"))


def dev_items() -> list[dict[str, Any]]:
    """The shared development questions (ids ``dev-*``), without the conversations."""
    return [item for item in question_set()["items"] if item["id"].startswith("dev-")]


def article_sentences(path: Path = ARTICLE) -> list[str]:
    """The article's sentences (headings left out), split by the product's splitter."""
    from bot.ingest import is_heading
    from bot.language.text import read_document

    doc = read_document(path)
    return [s for p in doc.paragraphs if not is_heading(p.text, p.sentences) for s in p.sentences]


def recombined_documents(count: int, sentences_per_document: int, seed: int = 7) -> list[tuple[str, str]]:
    """Dutch text for larger corpora: the article's sentences recombined into new documents and paragraphs.

    Every sentence is real Dutch news prose, every paragraph and sentence pair is new, so the context views
    differ from the article's. Returns (file name, text) pairs; the first block of each text is its title.
    """
    rng = random.Random(seed)
    sentences = article_sentences()
    documents = []
    for number in range(count):
        chosen = [rng.choice(sentences) for _ in range(sentences_per_document)]
        title = " ".join(rng.choice(sentences).rstrip(".!?\"”").split()[:8]) + f" ({number + 1})"
        paragraphs, start = [], 0
        while start < len(chosen):
            size = rng.randint(2, 5)
            paragraphs.append(" ".join(chosen[start:start + size]))
            start += size
        documents.append((f"recombined-{number + 1:05d}.txt", "\n\n".join([title, *paragraphs]) + "\n"))
    return documents


def write_documents(folder: Path, documents: Sequence[tuple[str, str]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in documents:
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


# ---------------------------------------------------------------- processes



def run(cmd: Sequence[str], env: dict[str, str], timeout: float = 600) -> tuple[float, subprocess.CompletedProcess]:
    """Run a command to its end; (wall seconds from start to exit, the completed process)."""
    start = time.perf_counter()
    done = subprocess.run(list(cmd), env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, done


def until_output(cmd: Sequence[str], env: dict[str, str], expected: str,
                 timeout: float = 600) -> tuple[float, float, str]:
    """Run a command; (seconds from spawn until a line containing ``expected`` is printed, seconds to exit,
    its output). The first is what a person waits for; the rest is the interpreter tearing down."""
    start = time.perf_counter()
    process = subprocess.Popen(list(cmd), env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, bufsize=1)
    assert process.stdout is not None
    seen, lines = None, []
    try:
        for line in process.stdout:
            lines.append(line)
            if seen is None and expected in line:
                seen = time.perf_counter() - start
        process.wait(timeout=timeout)
    finally:
        stop(process)
    if seen is None or process.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: no line with {expected!r} (exit {process.returncode}):\n"
                           + "".join(lines)[-2000:])
    return seen, time.perf_counter() - start, "".join(lines)


def json_from(output: str) -> dict[str, Any]:
    """The last line of a probe's output that is a JSON object."""
    for line in reversed(output.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError(f"no JSON in output:\n{output[-2000:]}")


def stop(process: subprocess.Popen) -> None:
    """End a process this benchmark started (by its own handle), and wait for it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(peak RSS, current RSS) of a running process in MB, from /proc/PID/status (VmHWM, VmRSS)."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmHWM:", "VmRSS:")):
            key, amount = line.split(":")
            values[key] = int(amount.split()[0]) / 1024
    return values.get("VmHWM", float("nan")), values.get("VmRSS", float("nan"))


def wait_for(check: Callable[[], bool], timeout: float, interval: float = 0.05,
             process: subprocess.Popen | None = None) -> float:
    """Poll until check() is true; the seconds it took. Fails early if ``process`` exits."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} while waiting")
        with contextlib.suppress(Exception):
            if check():
                return time.perf_counter() - start
        time.sleep(interval)
    raise TimeoutError(f"not ready after {timeout:.0f} s")


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200


class UiProcess:
    """``python ui.py`` on a free port over a temporary index; times start → serving → first answer."""

    def __init__(self, index_dir: Path, collection: str = "bench") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env_for(index_dir, collection, BOT_PORT=str(self.port), BOT_HOST="127.0.0.1")
        self.process: subprocess.Popen | None = None
        self.client: Any = None
        self.started = 0.0
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__

    def __enter__(self) -> UiProcess:
        import gradio_client  # noqa: F401 - the client's own import is not the server's start

        self.started = time.perf_counter()
        self.process = subprocess.Popen([PY, "ui.py"], cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log)
        return self

    def wait_served(self, timeout: float = 300) -> float:
        """Seconds from start until the page is served."""
        assert self.process is not None
        wait_for(lambda: http_ok(self.url + "/"), timeout=timeout, interval=0.05, process=self.process)
        return time.perf_counter() - self.started

    def ask(self, question: str) -> str:
        """One answer through the chat's API (``/chat``), as any API client would ask it."""
        from gradio_client import Client

        if self.client is None:
            self.client = Client(self.url, verbose=False)
        result = self.client.predict(question, [], api_name="/chat")
        return result["text"] if isinstance(result, dict) else str(result)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            stop(self.process)
        self.log.close()
