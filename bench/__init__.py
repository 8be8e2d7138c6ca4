"""Benchmarks: ``python -m bench`` runs them all, ``python -m bench NAME`` one of them.

Each is a module ``bench/<name>.py`` with a ``main(argv)`` that prints its figures (and keeps them as JSON
in ``artifacts/bench/<name>.json``). Benchmarks read the product (``bot``), never the other way round,
and work in temporary index folders (``BOT_INDEX_DIR`` / ``BOT_COLLECTION``): the user's ``index/`` is
never touched. Timings are medians of repeats, always next to a reference measured in the same run,
because the machines are shared and absolute figures drift.
"""

NAMES = ("latency", "cold", "ingest", "scale", "memory", "textbook")
