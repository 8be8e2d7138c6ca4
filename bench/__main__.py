"""``python -m bench [NAME ...] [OPTIONS]``: run every benchmark (or the named ones), each in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench import NAMES


def main(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        print(f"benchmarks: {', '.join(NAMES)}")
        return 0
    count = 0
    while count < len(argv) and not argv[count].startswith("-"):
        count += 1
    names, extra = argv[:count] or list(NAMES), argv[count:]  # NAME ... then options for the benchmark(s)
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(NAMES)}", file=sys.stderr)
        return 2
    if len(names) == 1:
        from importlib import import_module

        return import_module(f"bench.{names[0]}").main(extra)
    failed = []
    start = time.perf_counter()
    for name in names:
        print(f"\n=== bench {name} ===", flush=True)
        # One process per benchmark: a cold start is cold, and no benchmark inherits another's memory.
        code = subprocess.call([sys.executable, "-m", "bench", name, *extra], env=os.environ.copy())
        if code:
            failed.append(name)
    outcome = f"; FAILED: {', '.join(failed)}" if failed else ""
    print(f"\nall benchmarks: {time.perf_counter() - start:.0f} s{outcome}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
