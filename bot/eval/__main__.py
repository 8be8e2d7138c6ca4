"""``python -m bot.eval``: the answer-quality evaluation, leave-one-article-out.

All articles (the seed article, the development corpus and the blind set) are indexed together in a private
index (``artifacts/eval-index``, never the product's). Every question of a development article is answered
by a bot whose learned decisions were fitted on the *other* development articles only; the blind set is
answered with the weights fitted on all development articles (the committed ones). The product is read
only through its own calls: ``Bot.answer`` with a given decision model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.answering.decision import DECISION_FILE
from bot.eval import scoring
from bot.eval.sets import blind, development, load_seed
from bot.settings import PROJECT_DIR

EVAL_INDEX = PROJECT_DIR / "artifacts" / "eval-index"
REPORT = PROJECT_DIR / "artifacts" / "eval" / "report.json"
FLOORS = PROJECT_DIR / "bot" / "eval_sets" / "floors.json"  # what --check (CI) holds the figures to


def _fmt(value: float | int | None, digits: int = 2) -> str:
    if value is None:
        return "  -  "
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def print_figures(title: str, rows: list[scoring.Row]) -> dict:
    f = scoring.figures(rows)
    print(f"{title}: {f['questions']} questions")
    print(f"  key facts {_fmt(f['key_facts'])}  false abstentions {_fmt(f['false_abstentions'])}  "
          f"unanswerable abstained {_fmt(f['unanswerable_abstained'])}  off-topic abstained "
          f"{_fmt(f['offtopic_abstained'])}  follow-ups {_fmt(f['follow_ups'])}")
    print(f"  R@1 {_fmt(f['recall_at_1'])}  R@3 {_fmt(f['recall_at_3'])}  answer chars mean "
          f"{_fmt(f['answer_chars_mean'], 0)} max {f['answer_chars_max']}  p50 {_fmt(f['latency_p50_ms'], 0)} ms")
    return f


def print_table(title: str, groups: dict[str, list[scoring.Row]]) -> None:
    print(f"\n{title:24s} {'n':>4s} {'right':>6s}")
    for name, rows in groups.items():
        print(f"{name:24s} {len(rows):4d} {sum(r.right for r in rows) / len(rows):6.2f}")


def print_rows(rows: list[scoring.Row]) -> None:
    for row in rows:
        mark = "ok " if row.right else "BAD"
        print(f"{mark} {scoring.category_of(row):12s} {row.question.id:28s} {row.question.q[:60]:60s} "
              f"-> {row.text[:110]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.eval", description=__doc__)
    parser.add_argument("--seed", action="store_true",
                        help="only the seed article's set, with the committed weights (quick; fitted-on figures)")
    parser.add_argument("--fit", action="store_true",
                        help=f"refit the committed decision weights on every development article ({DECISION_FILE})")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a figure falls below its floor in bot/eval_sets/floors.json (CI)")
    parser.add_argument("--verbose", "-v", action="store_true", help="one line per question")
    parser.add_argument("--index", type=Path, default=EVAL_INDEX, help="the private evaluation index")
    parser.add_argument("--feedback", type=Path, metavar="FILE",
                        help="only list the chat's 👎 votes in FILE (BOT_FEEDBACK_FILE) for review; no evaluation")
    parser.add_argument("--study", action="store_true",
                        help="what the decisions could do: ablations, the threshold's weight, quoting the runner-up "
                             "(left out, without re-answering; bot/eval/study.py)")
    args = parser.parse_args(argv)
    if args.feedback:
        from bot.eval.feedback import main as review

        return review(args.feedback)

    from bot.eval.harness import EvaluationBot

    if args.seed:
        seed = load_seed()
        rows = EvaluationBot(args.index, seed.articles).with_model(seed)
        if args.verbose:
            print_rows(rows)
        print_figures("seed article, committed weights", rows)
        return 0

    development_set, blind_set = development(), blind()
    evaluation = EvaluationBot(args.index, development_set.articles + blind_set.articles)
    if args.study:
        from bot.eval.study import run

        run(evaluation.labelled(development_set), evaluation.labelled(blind_set))
        return 0
    committed = None
    if args.fit:
        committed = evaluation.fit_all(development_set)
        committed.save()
        print(f"fitted on {len(development_set.files())} articles, written to {DECISION_FILE}")
    left_out = evaluation.leave_one_article_out(development_set)
    blind_rows = evaluation.with_model(blind_set, committed)

    if args.verbose:
        print_rows(left_out + blind_rows)
        print()
    report = {"left_out": print_figures("development set, each article left out", left_out)}
    seed_rows = [r for r in left_out if r.question.file == load_seed().files()[0]]
    shared = [r for r in seed_rows if r.question.id.startswith("dev-")]
    report["seed"] = print_figures("  of which the seed article", seed_rows)
    report["shared_dev"] = print_figures("  of which the shared dev set", shared)
    if blind_rows:
        report["blind"] = print_figures("blind set (committed weights, never tuned on)", blind_rows)
    print("  (p50: the evaluation embeds each question once per run, so the left-out timings are mostly cached ones;\n"
          "   `python -m bench latency` times the product's answer() on a question's first ask and when asked again)")
    print_table("category (left out)", scoring.by(left_out, scoring.category_of))
    print_table("article (left out)", scoring.by(left_out, lambda r: r.question.file))
    if blind_rows:
        print_table("category (blind)", scoring.by(blind_rows, scoring.category_of))
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2), encoding="utf-8")

    missed = scoring.missed_targets(report["left_out"], scoring.TARGETS)
    if missed:
        print("\nissue 12's targets not reached (left out): " + "; ".join(missed))
    floors = json.loads(FLOORS.read_text(encoding="utf-8"))
    regressions = scoring.missed_targets(report["left_out"], {k: tuple(v) for k, v in floors["left_out"].items()})
    regressions += scoring.missed_targets(report.get("blind", {}), {k: tuple(v) for k, v in floors["blind"].items()})
    if regressions:
        print("REGRESSION below the recorded floors (bot/eval_sets/floors.json): " + "; ".join(regressions))
    return 1 if args.check and regressions else 0


if __name__ == "__main__":
    sys.exit(main())
