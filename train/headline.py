"""``fincard train-headline``: fit the 核心观点 ranker to flashes and the titles their editors gave them.

Every clause run of the summarizer's top sentences is a training row whose target is its character ROUGE-L
against the title; a ridge regression learns to predict it, and the ranker keeps the run it rates best. The
words' keep rates are counted on the other folds for the training rows (cross-fitting), so that the regression
does not learn to trust rates that saw the row's own title. The weights are fitted on the ``tune`` rows only; the
ridge penalty (one of four) is chosen on the ``dev`` rows, so the dev score is slightly optimistic. Rows where no
run is long enough are left out of both scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

from infer.errors import FincardError
from infer.headline import FEATURES, HeadlineRanker, KeepRates, Span, span_features, top_spans
from infer.errors import ReadError
from infer.gist_eval import EvalRow, read_eval_rows, rouge_l
from infer.summarize import Summarizer

from .args import HeadlineArguments

ALPHAS = (0.1, 1.0, 10.0, 100.0)
FOLDS = 5


@dataclass
class _Flash:
    text: str
    title: str
    sentences: list[str]
    scores: np.ndarray
    spans: list[Span]
    rouge: np.ndarray  # each span's ROUGE-L against the title


def _flashes(rows: Iterable[EvalRow], args: HeadlineArguments) -> list[_Flash]:
    summarizer = Summarizer(headline=None)  # only its sentence scores: the ranker is what is being fitted
    flashes = []
    for row in rows:
        sentences, scores = summarizer.sentence_scores(row.doc)
        spans = top_spans(sentences, scores, args.max_sentences, args.min_chars, args.max_chars)
        if spans:
            title = row.gist[0]
            flashes.append(_Flash(row.doc.text, title, sentences, scores, spans,
                                  np.array([rouge_l([s.text], [title]) for s in spans])))
    return flashes


def _keep_rates(flashes: list[_Flash]) -> KeepRates:
    return KeepRates.count([(f.text, f.title) for f in flashes])


def _features(flashes: list[_Flash], keep: KeepRates) -> list[np.ndarray]:
    return [span_features(f.sentences, f.scores, f.spans, keep) for f in flashes]


def _cross_fitted(flashes: list[_Flash]) -> list[np.ndarray]:
    """Features of each flash with keep rates counted on the other folds."""
    out: list[np.ndarray] = [np.zeros(0)] * len(flashes)
    for fold in range(FOLDS):
        held = [i for i in range(len(flashes)) if i % FOLDS == fold]
        keep = _keep_rates([f for i, f in enumerate(flashes) if i % FOLDS != fold])
        for i, features in zip(held, _features([flashes[i] for i in held], keep)):
            out[i] = features
    return out


def _mean_rouge(ranker: HeadlineRanker, flashes: list[_Flash], features: list[np.ndarray]) -> float:
    """Mean ROUGE-L of the span the ranker picks in each flash."""
    return float(np.mean([f.rouge[int(np.argmax(ranker.rate(x)))] for f, x in zip(flashes, features)]))


def fit_headline(args: HeadlineArguments, on_error: Callable[[ReadError], None],
                 progress: Callable[[Any], Any] = lambda rows: rows) -> tuple[HeadlineRanker, dict[str, Any]]:
    from sklearn.linear_model import Ridge

    tune = _flashes(progress(read_eval_rows(args.data, on_error, args.tune_split)), args)
    dev = _flashes(read_eval_rows(args.data, on_error, args.dev_split), args)
    if len(tune) < FOLDS:
        raise FincardError(f"{args.data}: {len(tune)} usable rows with split {args.tune_split!r}; at least {FOLDS} are needed")
    train_features = _cross_fitted(tune)
    stacked = np.vstack(train_features)
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0)
    scale[scale == 0] = 1.0
    target = np.concatenate([f.rouge for f in tune])
    keep = _keep_rates(tune)
    dev_features = _features(dev, keep)

    def fitted(alpha: float) -> HeadlineRanker:
        regression = Ridge(alpha=alpha).fit((stacked - mean) / scale, target)
        return HeadlineRanker(regression.coef_, regression.intercept_, mean, scale, keep, args.max_sentences,
                              args.min_chars, args.max_chars)

    scored = {alpha: _mean_rouge(fitted(alpha), dev, dev_features) if dev else 0.0 for alpha in ALPHAS}
    alpha = max(ALPHAS, key=lambda a: (scored[a], a))  # ties: the stronger penalty
    ranker = fitted(alpha)
    report = {
        "data": str(args.data),
        "tune_rows": len(tune),
        "dev_rows": len(dev),
        "spans_per_row": round(len(target) / len(tune), 1),
        "alpha": alpha,
        "dev_rougeL_by_alpha": {str(a): round(v, 4) for a, v in scored.items()},
        "tune_rougeL": round(_mean_rouge(ranker, tune, train_features), 4),
        "tune_oracle_rougeL": round(float(np.mean([f.rouge.max() for f in tune])), 4),
        "dev_rougeL": round(scored[alpha], 4) if dev else None,
        "dev_oracle_rougeL": round(float(np.mean([f.rouge.max() for f in dev])), 4) if dev else None,
        "weights": {name: round(float(w), 4) for name, w in zip(FEATURES, ranker.coef)},
    }
    ranker.card = report
    return ranker, report


def write_headline_card(args: HeadlineArguments, report: dict[str, Any]) -> None:
    """``README.md`` beside ``headline.json``: what it is, how it was fitted, what it scored and how to rerun it."""
    command = f"fincard train-headline --data {args.data} --out {args.out}"
    evaluate = f"fincard eval-gist --data {args.data} --split {args.dev_split} --sentences 1 --headline-model {args.out}"
    weights = "\n".join(f"| {name} | {weight:+.4f} |" for name, weight in report["weights"].items())
    text = f"""# {args.out.name}

The 核心观点 ranker of fincard's summarizer: a ridge regression that rates every run of whole clauses of an
article's {args.max_sentences} best sentences ({args.min_chars}–{args.max_chars} characters; relative time words and the year before a month
left out; a run after a reporting frame offered once more headed by the frame's speaker, 国家统计局：…) by its
predicted character ROUGE-L against an editor's title, and keeps the best. Weights, feature scaling and the words' keep rates are in `headline.json`.

## Recipe

- Data: `{args.data}`, {report['tune_rows']} `{args.tune_split}` rows to fit ({report['spans_per_row']} clause runs each on
  average), {report['dev_rows']} `{args.dev_split}` rows to choose the ridge penalty
  (dev ROUGE-L by alpha: {report['dev_rougeL_by_alpha']}; chosen {report['alpha']}).
- Reproduce: `{command}`

## Scores (top-1 line, character ROUGE-L F1)

| rows | ranker | best run (oracle) |
|---|---|---|
| {args.tune_split} (fitted on; keep rates cross-fitted) | {report['tune_rougeL']:.4f} | {report['tune_oracle_rougeL']:.4f} |
| {args.dev_split} | {report['dev_rougeL'] or 0:.4f} | {report['dev_oracle_rougeL'] or 0:.4f} |

The dev figure is rerun by `{evaluate}`.

## Weights (standardised features)

| feature | weight |
|---|---|
{weights}
"""
    (args.out / "README.md").write_text(text, encoding="utf-8")
