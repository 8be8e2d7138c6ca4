"""Memory: peak RSS of ``ui.py`` serving, of a ``python -m bot ask`` process, and of ingesting 10k chunks.

Peak RSS is the kernel's high-water mark (VmHWM in /proc/PID/status, or ru_maxrss of the process itself).
RSS counts pages of memory-mapped files too: ``bot.encoder`` maps the model's weights from the page cache
(shared by every process that maps them) instead of copying them, so the anonymous (private) part, RssAnon,
is shown as well. The sentence-transformers path (``BOT_ENCODER=sentence-transformers``) is measured in the
same run as the reference.

Ingesting 10k chunks: the product's ``ingest()`` of recombined Dutch documents with the model loaded and one
real batch encoded (so its activations count), the other vectors reused as in ``bench/scale.py`` (computing
10k embeddings would take most of an hour here); and, for comparison, the real ingestion of the article.

``python -m bench memory [--questions N] [--chunks N]``
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from bench.common import (
    ARTICLE,
    PY,
    UiProcess,
    dev_items,
    encoder_labels,
    env_for,
    header,
    ingest_paths,
    json_from,
    peak_rss_mb,
    recombined_documents,
    run,
    save,
    table,
    temp_dir,
    use_index,
    write_documents,
)

ENCODERS = encoder_labels()


def status_mb(pid: int | str = "self") -> dict[str, float]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def probe_ask() -> None:
    from bot import answer

    answer("Wat is de rode lijn van de ChristenUnie?")
    print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **status_mb()}))


def probe_ingest(chunks: int, folder: Path) -> None:
    """Ingest ~``chunks`` chunks of recombined documents with the model loaded (see the module doc)."""
    from bench.scale import ReusedVectors
    from bot.ingest import chunk_document
    from bot.language.text import read_document
    from bot.model.embedding import BotEmbeddings
    from bot.settings import get_settings

    embeddings = BotEmbeddings(get_settings())
    paths = write_documents(folder, recombined_documents(max(1, chunks // 200), 100, seed=3))
    texts = {c.page_content: c.metadata["sentence_text"] for p in paths for c in chunk_document(read_document(p))}
    embeddings.embed_documents(list(texts)[:16])  # one real batch: the model's activations count
    reused = ReusedVectors(embeddings.model)
    embeddings.embed_documents = lambda batch, show_progress=False: [reused.vector(t, texts[t]) for t in batch]
    embeddings.embed_titled = lambda batch, title: [reused.vector(t, texts[t]) for t in batch]
    start = time.perf_counter()
    report = ingest_paths(paths, embeddings)
    print(json.dumps({"chunks": report.chunks_written, "seconds": time.perf_counter() - start,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **status_mb()}))


def probe_real_ingest() -> None:
    report = ingest_paths([ARTICLE])
    print(json.dumps({"chunks": report.chunks_written,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **status_mb()}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench memory", description=__doc__)
    parser.add_argument("--questions", type=int, default=5, help="questions asked of the UI before measuring")
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--probe", choices=["ask", "ingest", "real-ingest"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe == "ask":
        probe_ask()
        return 0
    if args.probe == "ingest":
        probe_ingest(args.chunks, args.folder)
        return 0
    if args.probe == "real-ingest":
        probe_real_ingest()
        return 0
    header("Memory: peak RSS (VmHWM), and the private part (RssAnon) at the end, in MB")
    figures: dict = {}
    rows = []
    with temp_dir("memory") as tmp:
        use_index(tmp / "index", "bench-memory")
        ingest_paths([ARTICLE])
        questions = [item["q"] for item in dev_items()][: args.questions]
        for encoder, label in ENCODERS.items():
            ui = UiProcess(tmp / "index", "bench-memory")
            ui.env["BOT_ENCODER"] = encoder
            with ui as process:
                process.wait_served()
                for question in questions:
                    process.ask(question)
                assert process.process is not None
                peak, _ = peak_rss_mb(process.process.pid)
                now = status_mb(process.process.pid)
            rows.append([f"ui.py serving, {len(questions)} answers ({label})", f"{peak:.0f}",
                         f"{now.get('RssAnon', 0):.0f}", f"{now.get('RssFile', 0):.0f}"])
            figures[f"ui_{encoder}"] = {"peak_mb": peak, **now}
            env = env_for(tmp / "index", "bench-memory", BOT_ENCODER=encoder)
            ask = json_from(run([PY, "-m", "bench.memory", "--probe", "ask"], env)[1].stdout)
            rows.append([f"python -m bot ask ({label})", f"{ask['peak_mb']:.0f}", f"{ask.get('RssAnon', 0):.0f}",
                         f"{ask.get('RssFile', 0):.0f}"])
            figures[f"ask_{encoder}"] = ask
        env = env_for(tmp / "real", "bench-memory")
        real = json_from(run([PY, "-m", "bench.memory", "--probe", "real-ingest"], env)[1].stdout)
        rows.append([f"ingest the article ({real['chunks']} chunks, all embedded)", f"{real['peak_mb']:.0f}",
                     f"{real.get('RssAnon', 0):.0f}", f"{real.get('RssFile', 0):.0f}"])
        figures["ingest_article"] = real
        env = env_for(tmp / "large", "bench-memory")
        large = json_from(run([PY, "-m", "bench.memory", "--probe", "ingest", "--chunks", str(args.chunks),
                               "--folder", str(tmp / "large-corpus")], env, timeout=1800)[1].stdout)
        rows.append([f"ingest {large['chunks']} chunks (model loaded, vectors reused)", f"{large['peak_mb']:.0f}",
                     f"{large.get('RssAnon', 0):.0f}", f"{large.get('RssFile', 0):.0f}"])
        figures["ingest_large"] = large
    print(table(["process", "peak RSS", "RssAnon at end", "RssFile at end"], rows))
    save("memory", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
