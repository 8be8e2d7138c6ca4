"""Calibrate the quote check: ``python bench/quote_calibration.py [--threshold T] [-v]``.

Cases (``bench/quote_cases.json``) over the development corpus (``bot/eval_sets/corpus/``; the blind set is
never read): a paragraph and the verbatim quote a model would give, with faithful sentences resting on it
in English and Dutch, and one unfaithful sentence of each kind (number, name, cause, negation, a claim from
another paragraph, a claim from general knowledge), all given with that quote. Each sentence goes through
the product's check (:class:`bot.llm.grounding.GroundingChecker`: the quote found in the passage, the rules,
then the similarity to the quote). "Positive" = kept.

The similarity threshold is fitted leave one article out: for each article, the threshold with the highest
recall at precision >= 0.98 on the other articles' sentences, then the article's own sentences are checked
with it. The figures reported are those of the left-out articles; the threshold for ``BOT_GROUNDING_THRESHOLD``
is then fitted the same way on all articles.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.eval.sets import CORPUS_DIR  # noqa: E402
from bot.language.text import read_document  # noqa: E402
from bot.llm.grounding import Claim, GroundingChecker  # noqa: E402

CASES = ROOT / "bench" / "quote_cases.json"
MIN_PRECISION = 0.98
KINDS = ("number", "name", "cause", "negation", "other-passage", "general")
GRID = [round(0.30 + 0.01 * i, 2) for i in range(61)]


@dataclass
class Sample:
    article: str
    kind: str  # faithful | one of KINDS
    language: str
    sentence: str
    reason: str = ""  # why the check drops it before the similarity threshold ("" when the rules pass)
    score: float = 0.0  # similarity to the quote (when the rules pass)

    @property
    def faithful(self) -> bool:
        return self.kind == "faithful"

    def kept(self, threshold: float) -> bool:
        return not self.reason and self.score >= threshold


def samples_from(cases: list[dict]) -> list[tuple[Sample, str, str]]:
    """(sample, passage, quote) for every sentence of every case."""
    out = []
    for case in cases:
        passage = read_document(CORPUS_DIR / case["article"]).paragraphs[case["paragraph"]].text
        for language, sentence in case["faithful"].items():
            out.append((Sample(case["article"], "faithful", language, sentence), passage, case["quote"]))
        for kind in KINDS:
            out.append((Sample(case["article"], kind, "en", case["unfaithful"][kind]), passage, case["quote"]))
    return out


def check_all(items: list[tuple[Sample, str, str]], checker: GroundingChecker) -> list[Sample]:
    checker.threshold = -1.0  # every rule, and the similarity recorded; the threshold is applied here
    for sample, passage, quote in items:
        claim = Claim(text=sample.sentence, plain=sample.sentence, passage=1, quote=quote)
        anchored = checker.anchor(claim, [passage])
        if anchored:
            raise SystemExit(f"case error: {anchored}: {quote!r} ({sample.article})")
        sample.reason = checker.says_no_more(claim)
        sample.score = claim.score
    return [sample for sample, _, _ in items]


def precision_recall(samples: list[Sample], threshold: float) -> tuple[float, float]:
    kept = [s for s in samples if s.kept(threshold)]
    faithful = [s for s in samples if s.faithful]
    precision = sum(s.faithful for s in kept) / len(kept) if kept else 1.0
    recall = sum(s.kept(threshold) for s in faithful) / len(faithful) if faithful else 1.0
    return precision, recall


def fit(samples: list[Sample]) -> float:
    """The threshold with the highest recall at precision >= MIN_PRECISION (ties: the higher threshold)."""
    scored = [(t, *precision_recall(samples, t)) for t in GRID]
    ok = [(r, t) for t, p, r in scored if p >= MIN_PRECISION]
    if not ok:
        return max(scored, key=lambda x: (x[1], x[0]))[0]
    best = max(r for r, _ in ok)
    return max(t for r, t in ok if r == best)


def line(name: str, samples: list[Sample], kept: dict[int, bool]) -> str:
    faithful = [s for s in samples if s.faithful]
    shown = [s for s in samples if kept[id(s)]]
    recall = sum(kept[id(s)] for s in faithful) / len(faithful) if faithful else float("nan")
    precision = sum(s.faithful for s in shown) / len(shown) if shown else 1.0
    unfaithful = [s for s in samples if not s.faithful]
    dropped = sum(not kept[id(s)] for s in unfaithful)
    return (f"  {name:28s} recall {recall:.2f} ({sum(kept[id(s)] for s in faithful)}/{len(faithful)})   "
            f"precision {precision:.2f}   unfaithful dropped {dropped}/{len(unfaithful)}")


def report(samples: list[Sample], verbose: bool) -> float:
    articles = sorted({s.article for s in samples})
    kept: dict[int, bool] = {}
    thresholds = {}
    for article in articles:
        thresholds[article] = fit([s for s in samples if s.article != article])
        for s in samples:
            if s.article == article:
                kept[id(s)] = s.kept(thresholds[article])
    print(f"{len(samples)} sentences from {len(articles)} articles: "
          f"{sum(s.faithful for s in samples)} faithful, {sum(not s.faithful for s in samples)} unfaithful")
    print("\nLeft out (each article checked with the threshold fitted on the others):")
    print(line("all", samples, kept))
    for language in ("en", "nl"):
        part = [s for s in samples if s.faithful and s.language == language]
        print(f"  faithful {language:19s} recall {sum(kept[id(s)] for s in part) / len(part):.2f}"
              f" ({sum(kept[id(s)] for s in part)}/{len(part)})")
    print("\nBy unfaithful kind, dropped (left out):")
    for kind in KINDS:
        part = [s for s in samples if s.kind == kind]
        by_rule = sum(bool(s.reason) for s in part)
        print(f"  {kind:14s} {sum(not kept[id(s)] for s in part)}/{len(part)}   (by a rule: {by_rule}, "
              f"by the similarity: {sum(not kept[id(s)] for s in part) - by_rule})")
    print("\nBy article (left out):")
    for article in articles:
        part = [s for s in samples if s.article == article]
        print(line(f"{article.removeprefix('article-nl-').removesuffix('.txt')} (t={thresholds[article]:.2f})",
                   part, kept))
    threshold = fit(samples)
    p, r = precision_recall(samples, threshold)
    print(f"\nFitted on all articles: threshold {threshold:.2f} (precision {p:.2f}, recall {r:.2f} on them)")
    print("Rules alone (no similarity threshold): precision {:.2f}, recall {:.2f}".format(
        *precision_recall(samples, -1.0)))
    wrong = [s for s in samples if kept[id(s)] != s.faithful]
    if wrong or verbose:
        print("\nLeft out, kept although unfaithful / dropped although faithful:")
        for s in samples if verbose else wrong:
            mark = "ok  " if kept[id(s)] == s.faithful else ("KEPT" if kept[id(s)] else "DROP")
            print(f"  {mark} {s.kind:13s} {s.score:.2f} {s.reason or '-':40.40s} {s.sentence}")
    return threshold


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="print every sentence")
    args = parser.parse_args(argv)
    from bot.model.embedding import BotEmbeddings
    from bot.settings import get_settings

    items = samples_from(json.loads(CASES.read_text(encoding="utf-8"))["cases"])
    samples = check_all(items, GroundingChecker(BotEmbeddings(get_settings()), threshold=-1.0))
    threshold = report(samples, args.verbose)
    print(f"\nBOT_GROUNDING_THRESHOLD={threshold:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
