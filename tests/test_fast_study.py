"""``python -m bot.eval --study`` on made-up signals: a variant that keeps the signal that tells right from wrong
scores well left out, the ablation that drops it does not, and follow-up turns are told apart by their ids."""

from __future__ import annotations

import numpy as np

from bot.answering.extractive import Deliberation
from bot.answering.features import FEATURES, analyse
from bot.eval import fit
from bot.eval.fit import Labelled
from bot.eval.sets import Question
from bot.eval.study import GROUPS, _follow_up, _masked_fit, fitted_once, score, where_they_go

TELLING = FEATURES.index("context_score")


def item(rng: np.random.Generator, file: str, n: int, answerable: bool, turn: str = "") -> Labelled:
    """Four candidates with noise signals; when answerable, the second is right and its context score says so."""
    rows = rng.normal(size=(4, len(FEATURES)))
    rows[:, TELLING] = rng.uniform(0.0, 0.3, size=4)
    labels = np.zeros(4, dtype=bool)
    if answerable:
        rows[1, TELLING], labels[1] = rng.uniform(0.7, 1.0), True
    question = Question(id=f"{file}-{n}{turn}", q="Wat?", file=file, language="nl",
                        category="fact" if answerable else "unanswerable")
    return Labelled(question, Deliberation("Wat?", analyse("Wat?"), [None] * 4, rows=rows), labels)


def made_up_articles() -> tuple[list[Labelled], list[Labelled]]:
    rng = np.random.default_rng(7)
    development = [item(rng, f"article-{a}.txt", n, answerable=n % 3 != 0) for a in range(4) for n in range(30)]
    blind = [item(rng, "blind.txt", n, answerable=n % 3 != 0) for n in range(30)]
    return development, blind


def test_the_signal_that_tells_right_from_wrong_carries_the_figures_and_its_ablation_loses_them():
    development, blind = made_up_articles()
    kept = score(development, blind, fit.fit)
    assert kept["left out"]["key facts"] > 0.95 and kept["left out"]["unanswerable abstained"] > 0.95
    assert kept["blind"]["key facts"] > 0.95

    dense = GROUPS["dense scores, rank and distance to the best"]
    without = score(development, blind, _masked_fit([c for c, name in enumerate(FEATURES) if name not in dense]))
    assert without["left out"]["key facts"] < 0.6


def test_follow_up_turns_are_the_turns_after_a_conversations_first():
    rng = np.random.default_rng(1)
    assert _follow_up(item(rng, "a.txt", 1, True, "#1"))
    assert not _follow_up(item(rng, "a.txt", 1, True, "#0"))
    assert not _follow_up(item(rng, "a.txt", 1, True))


def test_the_committed_trees_score_exactly_as_scikit_learns_model(tmp_path):
    from sklearn.ensemble import GradientBoostingClassifier

    from bot.answering.decision import DecisionModel

    development, _ = made_up_articles()
    fit.fit(development).save(tmp_path / "decision.json")
    committed = DecisionModel.load(tmp_path / "decision.json")
    rows = np.vstack([i.deliberation.rows for i in development])
    labels = np.concatenate([i.labels for i in development])
    # The committed model averages the log-odds of fit.SEEDS boosted fits.
    log_odds = np.mean([GradientBoostingClassifier(**fit.BOOSTING, random_state=seed).fit(rows, labels)
                        .decision_function(rows) for seed in range(fit.SEEDS)], axis=0)
    assert np.allclose(committed.probabilities(rows), 1 / (1 + np.exp(-log_odds)), rtol=0, atol=1e-12)


def test_the_fits_seeds_are_a_choice_the_study_can_vary():
    """The study measures how far the fit's own random seeds move the figures: other seeds grow other trees, the
    product's seeds (the default) the same ones, and the average stays an average (the learning rate over the
    number of fits)."""
    development, _ = made_up_articles()
    rows = np.vstack([i.deliberation.rows for i in development])
    product = fit.fit(development)
    assert fit.fit(development, seeds=range(fit.SEEDS)).trees == product.trees
    shifted = fit.fit(development, seeds=range(5, 5 + fit.SEEDS))
    assert shifted.trees != product.trees
    assert np.allclose(shifted.probabilities(rows), product.probabilities(rows), atol=1e-3)  # made-up: separable
    assert shifted.learning_rate == product.learning_rate == fit.BOOSTING["learning_rate"] / fit.SEEDS
    assert fit.fit(development, seeds=[0]).learning_rate == fit.BOOSTING["learning_rate"]


def test_the_study_tells_a_wrong_choice_from_a_wrong_threshold_and_from_no_right_candidate():
    """Where the questions go: with the telling signal the choice is right and the unanswerable are abstained on;
    without it, answerable questions are answered from a wrong candidate while a right one was retrieved."""
    development, _ = made_up_articles()
    kept = where_they_go(development, fit.fit)
    assert sum(kept.values()) == len(development)
    assert kept["answerable, answered, the choice right"] >= 0.95 * 80
    assert kept["not answerable, abstained"] >= 0.95 * 40

    dense = GROUPS["dense scores, rank and distance to the best"]
    without = where_they_go(development, _masked_fit([c for c, name in enumerate(FEATURES) if name not in dense]))
    assert without["answerable, answered, another candidate right"] + without[
        "answerable, abstained, another candidate right"] > 40
    assert without["answerable, answered, no candidate right"] == 0


def test_the_study_fits_each_fold_once_however_often_it_reads_it():
    development, blind = made_up_articles()
    fits = []
    product = fitted_once(lambda items: fits.append(len(items)) or fit.fit(items))
    first = score(development, blind, product)["left out"]
    assert score(development, blind, product)["left out"]["key facts"] == first["key facts"]
    assert sum(where_they_go(development, product).values()) == len(development)
    assert len(fits) == 5  # four folds and the fit on every article
