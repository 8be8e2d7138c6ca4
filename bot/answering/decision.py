"""The learned decisions: which retrieved sentence answers, and whether any does.

A logistic model over the signals of bot.answering.features.py gives each candidate sentence the probability
that it carries the answer. The answer quotes the most probable one, and the runner-up too when the model
nearly hesitates between them (RUNNER_UP_RATIO); below ``threshold`` the bot abstains.
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
# The runner-up is quoted too when its probability is at least this share of the best one's (what --fit
# writes; a model may carry another). Chosen leave-one-article-out among 0.5-0.9 (README, Evaluation): a
# question that needs two facts from two places ("between what times...") and a near tie both get both
# sentences, for about 32 more characters per answer on average.
RUNNER_UP_RATIO = 0.6


@dataclass(frozen=True)
class DecisionModel:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float  # abstain when no candidate reaches this probability
    runner_up_ratio: float = RUNNER_UP_RATIO  # quote the runner-up too from this share of the best probability

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        if rows.shape[1] != len(self.features):
            raise ValueError(f"a decision over {len(self.features)} signals was given rows of {rows.shape[1]}")
        z = ((rows - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.weights) + self.bias
        return 1.0 / (1.0 + np.exp(-z))

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
