"""Command line: ``python -m bot ingest|status|ask|remove|chat``, over the same functions as the Python API."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.settings import get_settings


def _print_answer(result) -> None:
    print(result.text)
    if result.note:
        print(f"({result.note})")
    for number, source in enumerate(result.sources, 1):
        print(f"\n[{number}] {source.document}, paragraph {source.paragraph} (score {source.score:.2f})")
        print(f"    {source.text}")
        for sentence in source.highlight:
            print(f"    > {sentence}")


def cmd_ingest(args: argparse.Namespace) -> int:
    from bot.index import ModelMismatchError, open_index
    from bot.ingest import ingest
    from bot.model.embedding import BotEmbeddings

    settings = get_settings()
    embeddings = BotEmbeddings(settings)
    paths = args.paths or [settings.data_dir]
    if args.rebuild:
        open_index(settings, embeddings, allow_model_change=True).reset()
    try:
        index = open_index(settings, embeddings)
    except ModelMismatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    report = ingest(index, embeddings, paths, prune=args.prune, max_bytes=settings.max_upload_bytes,
                    progress=not args.quiet, on_wait=waiting_message)
    print(report.summary())
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from bot.index import open_index
    from bot.index.schema import SCHEMA_VERSION
    from bot.model.embedding import BotEmbeddings

    settings = get_settings()
    embeddings = BotEmbeddings(settings)
    status = open_index(settings, embeddings, create=False, allow_model_change=True).status()
    print(f"index:      {status.where}")
    print(f"schema:     {status.schema} (this version reads {SCHEMA_VERSION})")
    print(f"model:      {status.model} (configured: {embeddings.identity})")
    print(f"chunks:     {status.chunks}")
    print(f"documents:  {len(status.documents)}")
    for marker in status.documents:
        print(f"  - {marker.file}: «{marker.title}», {marker.paragraphs} paragraphs, {marker.chunks} chunks, "
              f"indexed {indexed_when(marker.indexed_at)}")
    return 0


def indexed_when(timestamp: float | None) -> str:
    """When a document was indexed, in UTC ("not recorded" for a marker written before times were recorded)."""
    if timestamp is None:
        return "(time not recorded)"
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def cmd_ask(args: argparse.Namespace) -> int:
    from bot import answer

    _print_answer(answer(" ".join(args.question), files=args.file or None))
    return 0


def waiting_message(holder: dict) -> None:
    """What ingest and remove print while another process writes the document they need."""
    print(f"Waiting for another process (pid {holder.get('pid')} on {holder.get('host')}) to finish writing "
          f"{holder.get('document', 'the document')}…", file=sys.stderr, flush=True)


def cmd_remove(args: argparse.Namespace) -> int:
    from bot.index import open_index
    from bot.model.embedding import BotEmbeddings

    settings = get_settings()
    index = open_index(settings, BotEmbeddings(settings), create=False)
    if args.file not in index.files():
        known = ", ".join(sorted(index.markers())) or "none"
        print(f"error: {args.file} is not in the index (indexed: {known}); nothing was removed.", file=sys.stderr)
        return 1

    deleted = index.remove(args.file, on_wait=waiting_message)
    print(f"Removed {args.file} from the index ({deleted} chunks). Its file, if any, is untouched: a later "
          "`python -m bot ingest` of it adds it again.")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from bot import Answer, answer
    from bot.index import StoreError

    history: list[dict | Answer] = []
    print("Ask about the article (empty line or Ctrl-D to quit).")
    while True:
        try:
            question = input("> ")
        except EOFError:
            print()
            return 0
        if not question.strip():
            return 0
        try:
            result = answer(question, history)
        except (ValueError, StoreError) as exc:  # the index may come back: the next question retries
            print(f"error: {exc}")
            continue
        _print_answer(result)
        history += [{"role": "user", "content": question}, result]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Question answering over news articles.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ingest", help="index .txt/.md/.html files (default: everything in data/)")
    p.add_argument("paths", nargs="*", type=Path)
    p.add_argument("--prune", action="store_true", help="remove indexed documents not among PATHS")
    p.add_argument("--rebuild", action="store_true", help="drop the index first (e.g. after changing BOT_MODEL)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)
    p = sub.add_parser("status", help="what is indexed")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("ask", help="answer one question")
    p.add_argument("question", nargs="+")
    p.add_argument("--file", action="append", metavar="NAME",
                   help="answer from this indexed document only (repeat for several; default: all)")
    p.set_defaults(func=cmd_ask)
    p = sub.add_parser("remove", help="remove one document from the index (its file is left alone)")
    p.add_argument("file", metavar="FILE", help="the document's file name, as `status` lists it")
    p.set_defaults(func=cmd_remove)
    p = sub.add_parser("chat", help="chat in the terminal")
    p.set_defaults(func=cmd_chat)
    return parser


def main(argv: list[str] | None = None) -> int:
    from bot.index import StoreError
    from bot.language.text import DocumentError
    from bot.model.embedding import ModelMissingError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, DocumentError, StoreError, ModelMissingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
