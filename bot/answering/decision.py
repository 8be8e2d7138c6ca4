"""The learned decisions: which retrieved sentence answers, and whether any does.

A logistic model over the signals of bot.answering.features.py gives each candidate sentence the probability
that it carries the answer. The answer quotes the most probable one; below ``threshold`` the bot abstains.
The weights are fitted by ``python -m bot.eval --fit`` (scikit-learn, leave-one-article-out for the figures)
and committed in ``decision.json``; scoring needs numpy only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.answering.features import FEATURES

DECISION_FILE = Path(__file__).with_name("decision.json")


@dataclass(frozen=True)
class DecisionModel:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float  # abstain when no candidate reaches this probability

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        if rows.shape[1] != len(self.features):
            raise ValueError(f"a decision over {len(self.features)} signals was given rows of {rows.shape[1]}")
        z = ((rows - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.weights) + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def save(self, path: Path = DECISION_FILE) -> None:
        data = {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = DECISION_FILE) -> DecisionModel:
        """The committed model; one fitted on other signals than today's (a stale file) is refused."""
        data = json.loads(path.read_text(encoding="utf-8"))
        model = cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in data.items()})
        if model.features != FEATURES:
            raise ValueError(f"{path.name} was fitted on other features: refit with python -m bot.eval --fit")
        return model


@lru_cache(maxsize=1)
def committed_model() -> DecisionModel:
    return DecisionModel.load()
