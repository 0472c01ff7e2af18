"""Scores a user can threshold: Platt scaling per theme and a temperature for stance, fitted on labelled dev rows.

Fine-tuned heads come out overconfident (theme scores of 1.00 or 0.00 even where they are wrong). Both maps are
monotone, so a theme's ranking and the stance's argmax do not change; only the numbers move toward frequencies.
They act on the engine's probabilities (per text, after its windows are combined), which is what is fitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ConfigError

_EPS = 1e-6
_TEMPERATURES = np.exp(np.linspace(np.log(0.2), np.log(20.0), 400))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x), without overflow warnings for large negative x."""
    return np.exp(-np.logaddexp(0.0, -x))


def _tempered(stance: np.ndarray, temperature: float) -> np.ndarray:
    logits = np.log(np.clip(stance, _EPS, 1.0)) / temperature
    logits -= logits.max(1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(1, keepdims=True)


@dataclass
class Calibration:
    """``themes``: per theme id, ``[slope, intercept]`` on the logit; ``stance_temperature`` divides the stance
    log-probabilities. The default is the identity (a model trained before calibration existed)."""

    themes: dict[str, list[float]] = field(default_factory=dict)
    stance_temperature: float = 1.0
    fitted_on: str = ""  # the labelled file and its row count, for the model card

    def __post_init__(self) -> None:
        if not self.stance_temperature > 0:
            raise ConfigError(f"calibration: stance_temperature must be above 0, got {self.stance_temperature}; "
                              "refit with `fincard calibrate`")
        for theme, pair in self.themes.items():
            if len(pair) != 2 or not pair[0] > 0:
                raise ConfigError(f"calibration: theme {theme!r} needs [slope > 0, intercept], got {pair!r}; "
                                  "refit with `fincard calibrate`")

    @property
    def identity(self) -> bool:
        return not self.themes and self.stance_temperature == 1.0

    def apply(self, themes: np.ndarray, stance: np.ndarray, theme_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated copies of theme probabilities [texts, themes] and stance probabilities [texts, stances]."""
        if self.identity or not len(themes):
            return themes, stance
        themes = themes.copy()
        for k, theme in enumerate(theme_ids):
            if theme in self.themes:
                slope, intercept = self.themes[theme]
                themes[:, k] = sigmoid(slope * _logit(themes[:, k]) + intercept)
        if self.stance_temperature != 1.0:
            stance = _tempered(stance, self.stance_temperature)
        return themes.astype(np.float32), stance.astype(np.float32)

    @classmethod
    def fit(cls, themes: np.ndarray, theme_gold: np.ndarray, stance: np.ndarray, stance_gold: np.ndarray,
            theme_ids: list[str], fitted_on: str = "") -> "Calibration":
        """Per theme, a logistic regression on the score's logit (left out when dev has only one class for it); one
        stance temperature by the lowest negative log-likelihood on a log-spaced grid (0.2 to 20)."""
        from sklearn.linear_model import LogisticRegression

        fitted: dict[str, list[float]] = {}
        for k, theme in enumerate(theme_ids):
            gold = theme_gold[:, k].astype(int)
            if 0 < gold.sum() < len(gold):
                platt = LogisticRegression(C=100.0).fit(_logit(themes[:, k])[:, None], gold)
                slope, intercept = float(platt.coef_[0, 0]), float(platt.intercept_[0])
                if slope > 0:  # a negative slope would invert the ranking: dev too small to say anything
                    fitted[theme] = [round(slope, 5), round(intercept, 5)]
        temperature = 1.0
        if len(stance_gold):
            losses = [-np.log(_tempered(stance, t)[np.arange(len(stance_gold)), stance_gold] + 1e-12).mean() for t in _TEMPERATURES]
            temperature = round(float(_TEMPERATURES[int(np.argmin(losses))]), 4)
        return cls(fitted, temperature, fitted_on)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Calibration":
        try:
            return cls(**(data or {}))
        except TypeError as exc:
            raise ConfigError(f"calibration: {exc}; refit with `fincard calibrate`") from None
