"""Calibrate the grounding threshold: ``python bench/grounding_calibration.py [--threshold T]``.

Scripted answer sentences (``bench/grounding_cases.json``) for the questions of the evaluation set:
faithful ones (paraphrases and translations of the gold sentences, citing the gold paragraph) and
unfaithful ones (invented facts, changed details, answers to unanswerable questions, and every faithful
sentence citing a wrong paragraph). Each is checked exactly as the bot checks an LLM sentence
(:class:`bot.grounding.GroundingChecker`). "Positive" = kept. Precision: kept sentences that are faithful;
recall: faithful sentences kept. The threshold is chosen on the dev-* questions (the highest recall with
precision >= 0.95); the own-* questions are held out. Prints the figures the README reports.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.language.linguistics import language_of  # noqa: E402
from bot.language.text import read_document  # noqa: E402
from bot.llm.grounding import GroundingChecker, unsupported_specifics  # noqa: E402

CASES = ROOT / "bench" / "grounding_cases.json"
ARTICLE = ROOT / "data" / "article-nl-migratie.txt"
MIN_PRECISION = 0.95
LANGUAGES = {"en": "English", "nl": "Dutch"}
ANSWERING = [1, 2, 3, 4, 5, 7, 8, 9, 10]  # paragraphs with content (0 is the title, 6 a heading)


@dataclass
class Sample:
    case: str
    claim: str
    cite: list[int]
    faithful: bool
    kind: str  # faithful | invented | contradicting | wrong-citation
    score: float = 0.0
    specifics_ok: bool = True

    @property
    def split(self) -> str:
        return "dev" if self.case.startswith("dev-") else "own"

    def kept(self, threshold: float, specifics: bool = True) -> bool:
        return self.score >= threshold and (self.specifics_ok or not specifics)


def wrong_paragraph(cite: list[int], offset: int) -> int:
    """A deterministic paragraph that is not cited: a few paragraphs further on."""
    candidates = [p for p in ANSWERING if p not in cite]
    return candidates[(ANSWERING.index(min(cite, key=ANSWERING.index)) + 3 + offset) % len(candidates)]


def samples_from(cases: list[dict]) -> list[Sample]:
    samples = []
    for case in cases:
        for i, text in enumerate(case.get("faithful", [])):
            samples.append(Sample(case["id"], text, case["cite"], True, "faithful"))
            samples.append(Sample(case["id"], text, [wrong_paragraph(case["cite"], i)], False, "wrong-citation"))
        for kind in ("invented", "contradicting"):
            samples += [Sample(case["id"], text, case["cite"], False, kind) for text in case.get(kind, [])]
    return samples


def score_all(samples: list[Sample], checker: GroundingChecker, paragraphs: list[str]) -> None:
    for s in samples:
        cited = [paragraphs[p] for p in s.cite]
        s.score, _ = checker.score(s.claim, cited)
        s.specifics_ok = not unsupported_specifics(s.claim, " ".join(cited))


def precision_recall(samples: list[Sample], threshold: float, specifics: bool = True) -> tuple[float, float]:
    kept = [s for s in samples if s.kept(threshold, specifics)]
    faithful = [s for s in samples if s.faithful]
    precision = sum(s.faithful for s in kept) / len(kept) if kept else 1.0
    recall = sum(s.kept(threshold, specifics) for s in faithful) / len(faithful) if faithful else 1.0
    return precision, recall


def choose(samples: list[Sample]) -> float:
    """The threshold with the highest recall at precision >= MIN_PRECISION (ties: the higher threshold)."""
    grid = [round(0.30 + 0.01 * i, 2) for i in range(61)]
    ok = [(precision_recall(samples, t)[1], t) for t in grid if precision_recall(samples, t)[0] >= MIN_PRECISION]
    if not ok:
        return max(grid, key=lambda t: precision_recall(samples, t)[0])
    best_recall = max(r for r, _ in ok)
    return max(t for r, t in ok if r == best_recall)


def report(samples: list[Sample], threshold: float) -> None:
    dev = [s for s in samples if s.split == "dev"]
    own = [s for s in samples if s.split == "own"]
    print(f"samples: {len(samples)} ({sum(s.faithful for s in samples)} faithful), "
          f"dev {len(dev)}, own (held out) {len(own)}")
    print("\nthreshold  dev P / R     own P / R     all P / R")
    for t in sorted({round(threshold + d, 2) for d in (-0.10, -0.05, -0.02, 0.0, 0.02, 0.05, 0.10)}):
        cells = ["{:.2f} / {:.2f}".format(*precision_recall(part, t)) for part in (dev, own, samples)]
        print(f"{t:9.2f}  " + "   ".join(cells) + ("   <- chosen" if t == threshold else ""))
    print(f"\nat {threshold:.2f}:")
    for name, part in (("dev", dev), ("own", own), ("all", samples)):
        p, r = precision_recall(part, threshold)
        p0, r0 = precision_recall(part, threshold, specifics=False)
        print(f"  {name}: precision {p:.2f}, recall {r:.2f}   (similarity alone: precision {p0:.2f}, recall {r0:.2f})")
    for language in ("en", "nl"):
        part = [s for s in samples if language_of(s.claim) == language]
        p, r = precision_recall(part, threshold)
        print(f"  {LANGUAGES[language]} sentences (Dutch passages): precision {p:.2f}, recall {r:.2f}")
    for kind in ("invented", "contradicting", "wrong-citation"):
        part = [s for s in samples if s.kind == kind]
        removed = sum(not s.kept(threshold) for s in part)
        print(f"  {kind}: {removed}/{len(part)} removed")
    print("\nkept although unfaithful / dropped although faithful:")
    for s in samples:
        if s.kept(threshold) != s.faithful:
            print(f"  {'KEPT ' if s.faithful is False else 'DROP '} {s.kind:14s} {s.score:.2f} {s.case}: {s.claim}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, help="report at this threshold instead of choosing one")
    args = parser.parse_args(argv)
    from bot.model.embedding import BotEmbeddings
    from bot.settings import get_settings

    paragraphs = [p.text for p in read_document(ARTICLE).paragraphs]
    samples = samples_from(json.loads(CASES.read_text(encoding="utf-8"))["cases"])
    score_all(samples, GroundingChecker(BotEmbeddings(get_settings()), threshold=0.0), paragraphs)
    threshold = args.threshold if args.threshold is not None else choose([s for s in samples if s.split == "dev"])
    report(samples, threshold)
    print(f"\nBOT_GROUNDING_THRESHOLD={threshold:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
