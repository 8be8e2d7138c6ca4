"""The learned decisions: which retrieved sentence answers, and whether any does.

An additive model over the signals of bot.answering.features.py gives each candidate sentence the probability
that it carries the answer: the log-odds are a bias, a linear part and the sum of boosted regression trees. The
product's model is the trees alone (gradient boosting, fitted by ``python -m bot.eval --fit``, scikit-learn,
leave-one-article-out for the figures; README, Evaluation); a hand-set linear part serves readable stand-ins
(the fast tier's). The answer quotes the most probable candidate, and the runner-up too when the model nearly
hesitates between them (RUNNER_UP_RATIO); below ``threshold`` the bot abstains. The product's model leaves that
last call to a second model over fewer signals (``abstention``): the titled scores help choose a sentence but
make questions the article does not answer look answered. The model is committed in
``decision.json``; scoring needs numpy only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from bot.answering.features import FEATURES

DECISION_FILE = Path(__file__).with_name("decision.json")
# The runner-up is quoted too when its probability is at least this share of the best one's (what --fit
# writes; a model may carry another). Chosen leave-one-article-out among 0.5-0.9 (README, Evaluation): a
# question that needs two facts from two places ("between what times...") and a near tie both get both
# sentences, for about 32 more characters per answer on average.
RUNNER_UP_RATIO = 0.6


@dataclass(frozen=True)
class Trees:
    """Regression trees as scikit-learn grows them, one row per tree, padded to the largest: a node goes left
    when its signal is at most its cut (compared in float32, as scikit-learn does); a leaf has left == -1."""

    signal: tuple[tuple[int, ...], ...]
    cut: tuple[tuple[float, ...], ...]
    left: tuple[tuple[int, ...], ...]
    right: tuple[tuple[int, ...], ...]
    value: tuple[tuple[float, ...], ...]

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(np.asarray(a) for a in (self.signal, self.cut, self.left, self.right, self.value))

    def total(self, rows: np.ndarray) -> np.ndarray:
        """Per row: the sum of its leaves' values over all trees."""
        signal, cut, left, right, value = self._arrays
        x = rows.astype(np.float32).astype(float)
        trees = np.arange(len(signal))[:, None]
        node = np.zeros((len(signal), len(rows)), dtype=int)
        for _ in range(signal.shape[1]):
            inner = left[trees, node] >= 0
            if not inner.any():
                break
            goes_left = x[np.arange(len(rows))[None, :], np.maximum(signal[trees, node], 0)] <= cut[trees, node]
            node = np.where(inner, np.where(goes_left, left[trees, node], right[trees, node]), node)
        return value[trees, node].sum(axis=0)


@dataclass(frozen=True)
class DecisionModel:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]  # the linear part, over standardised signals
    bias: float
    threshold: float  # abstain when no candidate reaches this probability
    runner_up_ratio: float = RUNNER_UP_RATIO  # quote the runner-up too from this share of the best probability
    trees: Trees | None = None  # their sum, times learning_rate, adds to the log-odds
    learning_rate: float = 0.0
    # When set, whether to answer is this model's call, over its own (fewer) signals, at ``threshold``; this one
    # only chooses what to quote (features.CHOICE_ONLY).
    abstention: DecisionModel | None = None

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        if rows.shape[1] != len(self.features):
            raise ValueError(f"a decision over {len(self.features)} signals was given rows of {rows.shape[1]}")
        z = ((rows - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.weights) + self.bias
        if self.trees is not None:
            z = z + self.learning_rate * self.trees.total(rows)
        return 1.0 / (1.0 + np.exp(-z))

    def confidence(self, rows: np.ndarray, probabilities: np.ndarray | None = None) -> float:
        """The probability that the best candidate answers, as abstaining reads it (below ``threshold``).
        ``probabilities``: this model's for these rows, when the caller has them already."""
        if not len(rows):
            return 0.0
        if self.abstention is not None:
            columns = [self.features.index(f) for f in self.abstention.features]
            return self.abstention.confidence(rows[:, columns])
        return float((self.probabilities(rows) if probabilities is None else probabilities).max())

    def quoted(self, probabilities: np.ndarray) -> list[int]:
        """The candidates an answer quotes, most probable first (whether to abstain is apart: ``threshold``)."""
        if not len(probabilities):
            return []
        order = np.argsort(-probabilities, kind="stable")
        quoted = [int(order[0])]
        if len(order) > 1 and probabilities[order[1]] >= self.runner_up_ratio * probabilities[order[0]]:
            quoted.append(int(order[1]))
        return quoted

    def save(self, path: Path = DECISION_FILE) -> None:
        path.write_text(json.dumps(asdict(self), separators=(",", ":")) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = DECISION_FILE) -> DecisionModel:
        """The committed model; one fitted on other signals than today's (a stale file) is refused."""
        model = cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        if model.features != FEATURES:
            raise ValueError(f"{path.name} was fitted on other features: refit with python -m bot.eval --fit")
        return model

    @classmethod
    def from_dict(cls, data: dict) -> DecisionModel:
        data = dict(data)
        trees, abstention = data.pop("trees", None), data.pop("abstention", None)
        return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in data.items()},
                   trees=Trees(**{key: tuple(map(tuple, value)) for key, value in trees.items()}) if trees else None,
                   abstention=cls.from_dict(abstention) if abstention else None)


@lru_cache(maxsize=1)
def committed_model() -> DecisionModel:
    return DecisionModel.load()
