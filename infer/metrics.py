"""Evaluation metrics for labelled paragraphs: per-theme P/R/F1, micro/macro F1, stance macro-F1, confusion, ECE."""

from __future__ import annotations

from typing import Any

import numpy as np


def prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def theme_metrics(gold: np.ndarray, predicted: np.ndarray, theme_ids: list[str], scores: np.ndarray | None = None) -> dict[str, Any]:
    """``gold``/``predicted``: 0/1 matrices [paragraphs, themes]. Macro F1 averages the themes with gold support.
    With ``scores`` (the probabilities behind ``predicted``), also their ECE: over every (paragraph, theme) pair,
    how far the share of true themes in each score bin is from the bin's mean score."""
    gold, predicted = gold.astype(bool), predicted.astype(bool)
    tp = (gold & predicted).sum(0)
    fp = (~gold & predicted).sum(0)
    fn = (gold & ~predicted).sum(0)
    per_theme = {}
    for i, theme in enumerate(theme_ids):
        p, r, f = prf(tp[i], fp[i], fn[i])
        per_theme[theme] = {"precision": p, "recall": r, "f1": f, "support": int(gold[:, i].sum())}
    supported = [m["f1"] for m in per_theme.values() if m["support"]]
    return {
        "n": int(len(gold)),
        "per_theme": per_theme,
        "micro_f1": prf(tp.sum(), fp.sum(), fn.sum())[2],
        "macro_f1": float(np.mean(supported)) if supported else 0.0,
        "exact_match": float((gold == predicted).all(1).mean()) if len(gold) else 0.0,
        **({"ece": expected_calibration_error(scores.ravel(), gold.ravel())} if scores is not None else {}),
    }


def stance_metrics(gold: np.ndarray, probabilities: np.ndarray, stance_ids: list[str]) -> dict[str, Any]:
    """``gold``: class indexes; ``probabilities``: [paragraphs, stances]. Macro F1 over stances with gold support."""
    predicted = probabilities.argmax(1)
    k = len(stance_ids)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (gold, predicted), 1)
    per_stance = {}
    for i, stance in enumerate(stance_ids):
        p, r, f = prf(confusion[i, i], confusion[:, i].sum() - confusion[i, i], confusion[i].sum() - confusion[i, i])
        per_stance[stance] = {"precision": p, "recall": r, "f1": f, "support": int(confusion[i].sum())}
    supported = [m["f1"] for m in per_stance.values() if m["support"]]
    return {
        "n": int(len(gold)),
        "per_stance": per_stance,
        "macro_f1": float(np.mean(supported)) if supported else 0.0,
        "accuracy": float((predicted == gold).mean()) if len(gold) else 0.0,
        "confusion": {"labels": stance_ids, "matrix": confusion.tolist()},  # rows gold, columns predicted
        "ece": expected_calibration_error(probabilities.max(1), predicted == gold),
    }


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Weighted mean |accuracy - confidence| over equal-width confidence bins."""
    if len(confidence) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            total += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(total)


def theme_cuts(thresholds: dict[str, float], theme_ids: list[str]) -> np.ndarray:
    """The per-theme thresholds as an array in schema order; a theme without one is cut at 0.5."""
    return np.array([thresholds.get(t, 0.5) for t in theme_ids])


def best_thresholds(gold: np.ndarray, scores: np.ndarray, theme_ids: list[str], tolerance: float = 0.01) -> dict[str, float]:
    """Per theme, the score cut nearest 0.5 among those whose F1 is within ``tolerance`` of the best.

    Dev F1 is flat over wide ranges of cuts, and one dev row moves it by about 0.01: the plain argmax then lands
    anywhere on the plateau and swings between retrainings (0.925 in one run, 0.5 in the next for the same theme),
    which real text, scored less confidently than the corpus, pays for in recall or precision.
    """
    grid = np.round(np.arange(0.05, 0.951, 0.025), 3)
    chosen = {}
    for i, theme in enumerate(theme_ids):
        if not gold[:, i].any():
            chosen[theme] = 0.5
            continue
        f1s = [prf(*_counts(gold[:, i].astype(bool), scores[:, i] >= cut))[2] for cut in grid]
        good_enough = max(f1s) - tolerance
        chosen[theme] = float(min((c for c, f in zip(grid, f1s) if f >= good_enough), key=lambda c: abs(c - 0.5)))
    return chosen


def _counts(gold: np.ndarray, predicted: np.ndarray) -> tuple[int, int, int]:
    return int((gold & predicted).sum()), int((~gold & predicted).sum()), int((gold & ~predicted).sum())
