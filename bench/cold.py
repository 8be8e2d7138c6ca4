"""Cold start: a new process from start to printed answer, and ``ui.py`` from start to its first served answer.

- ``python -m bot ask "…"``: wall time from spawning the process to its exit (the answer is printed),
  median of repeats, next to ``python -c pass`` (the interpreter alone) and to the same command with
  ``BOT_ENCODER=lean`` (the model on the lean runtime, ``bot.model.lean``), interleaved in the same run.
- The breakdown: a probe process times each stage: importing the product, importing the model's runtime,
  loading the model, opening the index (Chroma), the first answer, and a second (warm) one.
- ``python -X importtime``: which packages the import time goes to (self time, summed per top-level package).
- ``ui.py``: from spawning it to the page being served, and to the first answer through its ``/chat`` API.

``python -m bench cold [--repeats N] [--ui-repeats N]``. Target: <= 6 s from start to answer.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time

from bench.common import (
    ARTICLE,
    PY,
    ROOT,
    UiProcess,
    encoder_labels,
    env_for,
    header,
    json_from,
    median,
    run,
    save,
    table,
    temp_dir,
    until_output,
)

QUESTION = "Wat is de rode lijn van de ChristenUnie?"
EXPECTED = "gezinshereniging"
ENCODERS = encoder_labels()


def probe() -> None:
    """Runs in a fresh process: the time of each stage of a cold answer, as one JSON line."""
    stages: dict[str, float] = {}
    mark = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        stages[name] = now - mark
        mark = now

    from bot.answering import Bot
    from bot.settings import get_settings

    stage("import the product")
    settings = get_settings()
    if getattr(settings, "encoder", "sentence-transformers") in ("auto", "lean"):
        import tokenizers  # noqa: F401
        import torch  # noqa: F401
    else:
        from bot.model.embedding import _deferred  # as the product imports it

        with _deferred("sklearn.metrics", "pairwise_distances"):
            import sentence_transformers  # noqa: F401
    stage("import the model runtime")
    from bot.model.embedding import load_model

    load_model(settings)
    stage("load the model")
    import chromadb  # noqa: F401

    stage("import chromadb")
    bot = Bot(settings)
    stage("open the index")
    first = bot.answer(QUESTION)
    stage("first answer")
    bot.answer("Wie krijgt een A-status?")
    stage("second answer (warm)")
    heavy = [m for m in ("sentence_transformers", "transformers", "sklearn", "scipy", "langchain_chroma", "pandas")
             if m in sys.modules]
    print(json.dumps({"stages": stages, "answered": EXPECTED in first.text, "heavy_modules": heavy}))


def importtime(env: dict[str, str]) -> tuple[float, list[tuple[str, float]]]:
    """Total import time and the top packages by summed self time, for ``python -m bot ask``."""
    done = subprocess.run([PY, "-X", "importtime", "-m", "bot", "ask", QUESTION], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    per_package: collections.Counter[str] = collections.Counter()
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        fields = line.split("|")
        per_package[fields[2].strip().split(".")[0]] += int(fields[0].split(":")[1])
    total = sum(per_package.values()) / 1e6
    return total, [(name, us / 1e6) for name, us in per_package.most_common(8)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench cold", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ui-repeats", type=int, default=2)
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        probe()
        return 0
    header("Cold start: new processes, wall time from spawn")
    figures: dict = {}
    with temp_dir("cold") as tmp:
        env = env_for(tmp / "index", "bench-cold")
        seconds, _ = run([PY, "-m", "bot", "ingest", "--quiet", str(ARTICLE)], env)
        figures["first_ingest_s"] = seconds

        runs: dict[str, list[float]] = {"python -c pass": []}
        exits: dict[str, list[float]] = {}
        for encoder in ENCODERS:
            runs[encoder], exits[encoder] = [], []
        for _ in range(args.repeats):
            runs["python -c pass"].append(run([PY, "-c", "pass"], env)[0])
            for encoder in ENCODERS:
                answered, ended, _ = until_output([PY, "-m", "bot", "ask", QUESTION], {**env, "BOT_ENCODER": encoder},
                                                  EXPECTED)
                runs[encoder].append(answered)
                exits[encoder].append(ended)
        ask = {name: median(values) for name, values in runs.items()}
        figures["ask_s"] = ask
        figures["ask_runs_s"] = runs
        figures["ask_exit_s"] = {name: median(values) for name, values in exits.items()}
        print(f'\n`python -m bot ask "{QUESTION}"`, median of {args.repeats}:')
        print(table(["", "start to printed answer", "start to exit"], [
            ["python -c pass (interpreter alone)", "", f"{ask['python -c pass']:.2f} s"],
            *[[f"bot ask, model on {label}", f"{ask[name]:.2f} s", f"{figures['ask_exit_s'][name]:.2f} s"]
              for name, label in ENCODERS.items()],
            ["ratio lean / sentence-transformers", f"{ask['lean'] / ask['sentence-transformers']:.2f}x", ""],
        ]))

        breakdown: dict[str, dict[str, float]] = {}
        for encoder in ENCODERS:
            _, done = run([PY, "-m", "bench.cold", "--probe"], {**env, "BOT_ENCODER": encoder})
            result = json_from(done.stdout)
            breakdown[encoder] = result["stages"]
            figures.setdefault("heavy_modules", {})[encoder] = result["heavy_modules"]
        figures["stages_s"] = breakdown
        names = list(breakdown["sentence-transformers"])
        print("\nBreakdown (one probe process each, seconds):")
        print(table(["stage", *ENCODERS.values()], [
            *[[n, *[f"{breakdown[e].get(n, 0):.2f}" for e in ENCODERS]] for n in names],
            ["total", *[f"{sum(breakdown[e].values()):.2f}" for e in ENCODERS]],
        ]))
        print("heavy modules imported: " + "; ".join(
            f"{ENCODERS[e]}: {', '.join(figures['heavy_modules'][e]) or 'none'}" for e in ENCODERS))

        print("\nImport time by package (python -X importtime, self time summed per top-level package):")
        for encoder in ENCODERS:
            total, top = importtime({**env, "BOT_ENCODER": encoder})
            figures.setdefault("importtime_s", {})[encoder] = {"total": total, "top": top}
            print(f"  {ENCODERS[encoder]}: {total:.1f} s in imports; "
                  + ", ".join(f"{name} {sec:.1f}" for name, sec in top))

        ui: dict[str, list[float]] = collections.defaultdict(list)
        encoders = ["sentence-transformers"] * args.ui_repeats + (["lean"] if args.ui_repeats else [])
        for encoder in encoders:
            ui_process = UiProcess(tmp / "index", "bench-cold")
            ui_process.env["BOT_ENCODER"] = encoder
            with ui_process as process:
                served = process.wait_served()
                text = process.ask(QUESTION)
                answered = time.perf_counter() - process.started
                if EXPECTED not in text:
                    raise RuntimeError(f"unexpected UI answer: {text[:300]}")
                ui[f"{encoder} served"].append(served)
                ui[f"{encoder} answered"].append(answered)
        if ui:
            figures["ui_s"] = {k: median(v) for k, v in ui.items()}
            print("\nui.py, from spawn (median):")
            used = list(dict.fromkeys(encoders))
            print(table(["", *[ENCODERS[e] for e in used]], [
                ["page served", *[f"{median(ui[e + ' served']):.2f} s" for e in used]],
                ["first answer (/chat API)", *[f"{median(ui[e + ' answered']):.2f} s" for e in used]],
            ]))
    print("\ntarget: <= 6 s from start to answer")
    save("cold", figures)
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    raise SystemExit(main())
