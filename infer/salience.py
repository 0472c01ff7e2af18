"""A salience model that reads: which sentences an editor puts under 核心观点.

The classifier already runs its backbone over every paragraph; the hidden state at the end of a sentence has read
the paragraph up to there (a causal model sees what came before). :class:`SalienceModel` is a logistic regression
over that state and the summarizer's text features (position, centrality, title similarity, cue words, figures,
theme and stance strength), fitted to team-written articles and their editors' picks by ``fincard train-salience``.
It costs no extra pass: the states come out of the classification pass (:meth:`infer.classifier.Classifier.read`).
The states belong to one classifier, so the model records which (a digest of its weights) and is only used with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import FincardError
from .shipped import SALIENCE, model_path

CONFIG_FILE = "salience.json"
# The summarizer's features the model reads beside the hidden state, each scaled to at most 1 within the document.
TEXT_FEATURES = ("centrality", "position", "title", "cue", "numbers", "theme", "stance")


class SalienceModel:
    """P(editor's pick) of each candidate sentence from its hidden state and its text features."""

    def __init__(self, coef: Sequence[float], intercept: float, mean: Sequence[float], scale: Sequence[float],
                 classifier: str, card: dict[str, Any] | None = None):
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = float(intercept)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.classifier = classifier  # digest of the classifier whose hidden states it reads
        self.card = card or {}
        if not len(self.coef) == len(self.mean) == len(self.scale) > len(TEXT_FEATURES):
            raise FincardError("salience model: coef, mean and scale must have the same length, above the text features")

    @property
    def hidden_size(self) -> int:
        return len(self.coef) - len(TEXT_FEATURES)

    def scores(self, states: np.ndarray, text_features: dict[str, np.ndarray]) -> np.ndarray:
        """Probabilities for sentences with ``states`` [n, hidden] and the summarizer's ``text_features``."""
        rows = np.hstack([states, np.column_stack([text_features[name] for name in TEXT_FEATURES])])
        return 1.0 / (1.0 + np.exp(-(((rows - self.mean) / self.scale) @ self.coef + self.intercept)))

    def fits(self, classifier: Any) -> bool:
        """Whether the hidden states of ``classifier`` are the ones this model was fitted on."""
        return getattr(classifier, "digest", None) == self.classifier

    # --- save and load ------------------------------------------------------------------------------------------

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "text_features": list(TEXT_FEATURES),
            "hidden_size": self.hidden_size,
            "classifier": self.classifier,
            "coef": [round(float(v), 6) for v in self.coef],
            "intercept": round(self.intercept, 6),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "card": self.card,
        }
        (folder / CONFIG_FILE).write_text(json.dumps(config, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path | None = None) -> "SalienceModel":
        """The shipped ``fincard-salience-v1``, or the folder at ``path``."""
        folder = Path(path) if path else model_path(SALIENCE)
        file = folder / CONFIG_FILE
        fix = f"fit one with `fincard train-salience --data labels/articles.jsonl --out {folder}`, or use --salience-model none"
        try:
            config = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FincardError(f"salience model {file} does not exist; {fix}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FincardError(f"cannot read salience model {file}: {exc}; {fix}") from None
        try:
            if config["text_features"] != list(TEXT_FEATURES):
                raise FincardError(f"salience model {file} was fitted on other features; {fix}")
            return cls(config["coef"], config["intercept"], config["mean"], config["scale"], config["classifier"],
                       config.get("card"))
        except (KeyError, TypeError, ValueError) as exc:
            raise FincardError(f"salience model {file} has a missing or bad field ({exc}); {fix}") from None
