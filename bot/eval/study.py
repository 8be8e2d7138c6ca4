"""``python -m bot.eval --study``: what the decisions could do, leave-one-article-out, without re-answering.

Every development question's candidates, signals and labels are computed once (``fit.label``: the product's own
deliberation); each variant below is then refitted per fold and scored on the left-out article in seconds. First,
where the left-out questions go (``where_they_go``: a wrong threshold, a wrong choice, or no right candidate
retrieved). The variants: ablations of each group of signals, the fits' random seeds (how far the fit alone moves
the figures), the runner-up's ratio and the threshold's weight. The figures approximate the harness's, not exactly:
a follow-up is studied after a right first turn (the harness after the bot's own), and the trees' fit moves with
the last digits of the signals (another thread count, another index build), so a refit here need not equal the
committed model (on-topic abstention left out: 0.44 here, 0.43-0.52 in the harness's builds).
The README's [Evaluation](../../README.md#evaluation) reports them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import partial

import numpy as np

from bot.answering.decision import DecisionModel
from bot.answering.features import FEATURES
from bot.eval import fit
from bot.eval.fit import Labelled

# Groups of signals, for ablations: the variant without a group refits on the other columns.
GROUPS: dict[str, tuple[str, ...]] = {
    "dense scores, rank and distance to the best": ("context_score", "sentence_score", "behind_best",
                                                    "best_margin", "reciprocal_rank"),
    "literal term coverage": ("terms_covered", "terms_covered_sentence"),
    "cross-lingual word coverage": ("terms_soft", "terms_soft_min"),
    "question type vs evidence type": ("typed", "type_mismatch", "type_mismatch_pair", "new_type_mismatch",
                                       "new_type_mismatch_pair"),
    "the followed passage": ("in_followed_document", "next_to_followed_passage"),
    "the titled scores (choosing only)": ("titled_score", "titled_behind_best"),
}


class Masked:
    """A decision over some columns of the signals (an ablation), scored like the product's."""

    def __init__(self, model: DecisionModel, columns: Sequence[int]) -> None:
        self.model, self.columns, self.threshold = model, list(columns), model.threshold

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        return self.model.probabilities(rows[:, self.columns]) if len(rows) else np.zeros(0)

    def confidence(self, rows: np.ndarray, probabilities: np.ndarray | None = None) -> float:
        return self.model.confidence(rows[:, self.columns], probabilities) if len(rows) else 0.0

    def quoted(self, probabilities: np.ndarray) -> list[int]:
        return self.model.quoted(probabilities)


def _masked_fit(columns: Sequence[int]) -> Callable[[Sequence[Labelled]], Masked]:
    names = tuple(FEATURES[c] for c in columns)

    def fitter(items: Sequence[Labelled]) -> Masked:
        masked = [replace(i, deliberation=replace(i.deliberation, rows=i.deliberation.rows[:, list(columns)]))
                  for i in items if len(i.deliberation.rows)]
        return Masked(fit.fit(masked, features=names), columns)

    return fitter


def _shown(model, item: Labelled) -> tuple[bool, bool]:
    """(right, abstained) of one question under a decision: right when a candidate its answer quotes is."""
    probabilities = model.probabilities(item.deliberation.rows)
    if not len(probabilities) or model.confidence(item.deliberation.rows, probabilities) < model.threshold:
        return False, True
    if item.question.abstain:
        return False, False
    return bool(item.labels[model.quoted(probabilities)].any()), False


def _left_out(items: Sequence[Labelled], fitter: Callable) -> Iterator[tuple[object, list[Labelled]]]:
    """Per development article: the decision fitted on the other articles, and the article's own items."""
    for file in sorted({i.question.file for i in items}):
        yield fitter([i for i in items if i.question.file != file]), [i for i in items if i.question.file == file]


def fitted_once(fitter: Callable) -> Callable:
    """The fitter, remembering its model per set of training articles: the study reads the product's fit three
    times (choice, where the questions go, figures) and one fit of every fold takes minutes."""
    models: dict[frozenset[str], object] = {}

    def cached(items: Sequence[Labelled]):
        key = frozenset(i.question.file for i in items)
        if key not in models:
            models[key] = fitter(items)
        return models[key]

    return cached


def score(items: Sequence[Labelled], blind: Sequence[Labelled], fitter: Callable) -> dict:
    """Left-out and blind figures of one variant, on single questions (follow-up turns apart)."""
    outcomes = [(i, *_shown(model, i)) for model, held_out in _left_out(items, fitter) for i in held_out]
    model = fitter(list(items))
    blind_outcomes = [(i, *_shown(model, i)) for i in blind]
    return {"left out": _figures(outcomes), "blind": _figures(blind_outcomes)}


def _print(name: str, result: dict) -> None:
    print(f"{name:52s} " + " | ".join(
        "  ".join(f"{value:.2f}" for value in result[part].values()) for part in ("left out", "blind")))


def _follow_up(item: Labelled) -> bool:
    """A conversation's turn after the first (ids ``conversation#turn``)."""
    conversation, _, turn = item.question.id.rpartition("#")
    return bool(conversation) and turn != "0"


def _figures(outcomes: Sequence[tuple[Labelled, bool, bool]]) -> dict[str, float]:
    single = [(i, r, a) for i, r, a in outcomes if not _follow_up(i)]
    answerable = [(r, a) for i, r, a in single if not i.question.abstain]
    unanswerable = [a for i, _, a in single if i.question.category == "unanswerable"]
    return {"key facts": _mean([r for r, _ in answerable]), "false abstentions": _mean([a for _, a in answerable]),
            "unanswerable abstained": _mean(unanswerable),
            "follow-ups": _mean([r for i, r, _ in outcomes if _follow_up(i)])}


def _mean(values: Sequence[bool]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def selection(items: Sequence[Labelled], fitter: Callable) -> float:
    """Share of answerable questions whose most probable candidate is right (left out, abstention aside)."""
    right = [bool(i.labels[int(np.argmax(model.probabilities(i.deliberation.rows)))])
             for model, held_out in _left_out(items, fitter) for i in held_out
             if not i.question.abstain and len(i.deliberation.rows)]
    return _mean(right)


def where_they_go(items: Sequence[Labelled], fitter: Callable) -> Counter[str]:
    """Left out, per question and turn: what the decision did and whether a right candidate was there to take.
    Tells apart the failures a threshold can trade (abstained, the choice right), a better choice could fix (another
    candidate right) and only retrieval or a reader could (no candidate right)."""
    outcomes: Counter[str] = Counter()
    for model, held_out in _left_out(items, fitter):
        for item in (i for i in held_out if len(i.deliberation.rows)):
            probabilities = model.probabilities(item.deliberation.rows)
            answered = model.confidence(item.deliberation.rows, probabilities) >= model.threshold
            did = "answered" if answered else "abstained"
            if item.question.abstain:
                outcomes[f"not answerable, {did}"] += 1
            elif item.labels[model.quoted(probabilities)].any():
                outcomes[f"answerable, {did}, the choice right"] += 1
            else:
                outcomes[f"answerable, {did}, {'another' if item.labels.any() else 'no'} candidate right"] += 1
    return outcomes


def run(labelled: Sequence[Labelled], blind: Sequence[Labelled]) -> None:
    product = fitted_once(fit.fit)
    answerable = [i for i in labelled if not i.question.abstain and len(i.labels)]
    print(f"candidates: some retrieved candidate right {_mean([i.labels.any() for i in answerable]):.3f}, "
          f"the dense first {_mean([bool(i.labels[0]) for i in answerable]):.3f}, the learned choice "
          f"{selection(labelled, product):.3f} (answerable development questions, left out)")
    print("where the development questions and turns go (left out): " + "; ".join(
        f"{outcome} {count}" for outcome, count in sorted(where_they_go(labelled, product).items())))
    every = list(range(len(FEATURES)))
    variants: list[tuple[str, Callable]] = [("all signals (committed)", product)]
    # The band a new signal must beat: the committed signals with only the fits' random seeds changed.
    variants += [(f"all signals, seeds +{shift}", partial(fit.fit, seeds=range(shift, shift + fit.SEEDS)))
                 for shift in (5, 10)]
    for group, names in GROUPS.items():
        variants.append((f"without {group}", _masked_fit([c for c in every if FEATURES[c] not in names])))
    header = "key facts  false abst.  unanswerable abst.  follow-ups"
    print(f"\n{'variant':52s} {'left out: ' + header:58s} | blind")
    for name, fitter in variants:
        _print(name, score(labelled, blind, fitter))
    print("\nquoting the runner-up too when its probability is at least this share of the best one's "
          "(1.00: never):")
    for ratio in (0.5, 0.6, 0.7, 0.8, 0.9, 1.01):
        _print(f"  {min(ratio, 1.0):.2f}", score(labelled, blind, partial(fit.fit, runner_up_ratio=ratio)))
    print("\nthe threshold's weight (a right answer against a right abstention):")
    for weight in (1.5, 2.0, 2.5, 3.0, 4.0):
        _print(f"  {weight:3.1f}", score(labelled, blind, partial(fit.fit, answer_weight=weight)))
