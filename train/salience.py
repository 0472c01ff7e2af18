"""``fincard train-salience``: fit the salience model to articles and the sentences their editors picked.

Each candidate sentence of a ``tune`` article is a row: the classifier's hidden state at the sentence's end and the
summarizer's text features, labelled by whether it is one of the editor's 核心观点 sentences. A logistic regression
learns P(pick); its penalty is chosen by cross-validation over whole articles, scoring what the card does with the
model (the top k sentences of each held-out article against its k picks), so no dev or test row is looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

from infer.classifier import Classifier
from infer.errors import ErrorHandler, FincardError
from infer.gist_eval import EvalRow, read_eval_rows, taken_from
from infer.salience import TEXT_FEATURES, SalienceModel
from infer.summarize import Summarizer

from .args import SalienceArguments

PENALTIES = (0.001, 0.003, 0.01, 0.03)  # inverse regularisation strengths tried (scikit-learn's C)


@dataclass
class _Article:
    rows: np.ndarray  # [candidates, hidden + text features]
    picked: np.ndarray  # [candidates] 1 where the editor picked the sentence
    wanted: int  # how many sentences the editor picked


def _articles(rows: Iterable[EvalRow], classifier: Classifier) -> list[_Article]:
    summarizer = Summarizer(classifier, headline=None, salience=None)

    def read(doc):
        return classifier.read([p.text for p in doc.paragraphs], [[s.end for s in p.sentences] for p in doc.paragraphs])

    articles = []
    for row in rows:
        texts, states, features = summarizer.salience_inputs(row.doc, read)
        picks = row.gist_sentences or row.gist
        if not texts or states.shape[1] == 0:
            continue
        picked = np.array([any(taken_from(text, pick) or taken_from(pick, text) for pick in picks) for text in texts], dtype=float)
        text_features = np.column_stack([features[name] for name in TEXT_FEATURES])
        articles.append(_Article(np.hstack([states, text_features]), picked, min(len(picks), len(texts))))
    return articles


def _selection_f1(articles: list[_Article], probabilities: list[np.ndarray]) -> float:
    """Sentence-selection F1 of taking each article's top-``wanted`` sentences (what the card's key views do)."""
    right = sum(int(a.picked[np.argsort(-p, kind="stable")[:a.wanted]].sum()) for a, p in zip(articles, probabilities))
    chosen = sum(a.wanted for a in articles)
    wanted = sum(int(a.picked.sum()) for a in articles)
    precision, recall = right / max(chosen, 1), right / max(wanted, 1)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _fit(articles: list[_Article], penalty: float):
    from sklearn.linear_model import LogisticRegression

    rows = np.vstack([a.rows for a in articles])
    mean, scale = rows.mean(axis=0), rows.std(axis=0)
    scale[scale == 0] = 1.0
    labels = np.concatenate([a.picked for a in articles])
    regression = LogisticRegression(C=penalty, max_iter=2000, class_weight="balanced").fit((rows - mean) / scale, labels)
    return regression.coef_[0], float(regression.intercept_[0]), mean, scale


def _probabilities(fitted, articles: list[_Article]) -> list[np.ndarray]:
    coef, intercept, mean, scale = fitted
    return [1.0 / (1.0 + np.exp(-(((a.rows - mean) / scale) @ coef + intercept))) for a in articles]


def fit_salience(args: SalienceArguments, on_error: ErrorHandler,
                 progress: Callable[[Any], Any] = lambda rows: rows) -> tuple[SalienceModel, dict[str, Any]]:
    classifier = Classifier.load(args.model)
    articles = _articles(progress(read_eval_rows(args.data, on_error, args.tune_split)), classifier)
    if len(articles) < args.folds:
        raise FincardError(f"{args.data}: {len(articles)} usable rows with split {args.tune_split!r} "
                           f"(a transformer classifier is needed); at least {args.folds} are required")
    folds = [list(range(len(articles)))[k::args.folds] for k in range(args.folds)]
    scores = {}
    for penalty in PENALTIES:
        held_out: list[np.ndarray] = [np.zeros(0)] * len(articles)
        for fold in folds:
            fitted = _fit([a for i, a in enumerate(articles) if i not in set(fold)], penalty)
            for i, p in zip(fold, _probabilities(fitted, [articles[i] for i in fold])):
                held_out[i] = p
        scores[penalty] = _selection_f1(articles, held_out)
    penalty = max(PENALTIES, key=lambda c: (scores[c], -c))  # ties: the stronger penalty
    coef, intercept, mean, scale = _fit(articles, penalty)
    report = {
        "data": str(args.data),
        "classifier": str(classifier.folder.name),
        "tune_articles": len(articles),
        "sentences": int(sum(len(a.picked) for a in articles)),
        "penalty": penalty,
        "cv_selection_f1_by_penalty": {str(c): round(v, 4) for c, v in scores.items()},
        "cv_selection_f1": round(scores[penalty], 4),
    }
    return SalienceModel(coef, intercept, mean, scale, classifier.digest, report), report


def write_salience_card(args: SalienceArguments, report: dict[str, Any]) -> None:
    """``README.md`` beside ``salience.json``: what it is, how it was fitted, what it scored and how to rerun it."""
    model = f" --model {args.model}" if args.model else ""
    text = f"""# {args.out.name}

fincard's salience model: which sentences of an article go on its card. A logistic regression over the hidden
state of the classifier `{report['classifier']}` at each sentence's end (read in the same pass that labels the
paragraph, so it costs nothing extra) and the summarizer's text features ({', '.join(TEXT_FEATURES)}). It is used
only with the classifier it was fitted on; elsewhere the summarizer falls back to its hand-weighted score.

## Recipe

- Data: `{args.data}`, {report['tune_articles']} `{args.tune_split}` articles ({report['sentences']} candidate sentences),
  each with the 3–5 sentences an editor would put under 核心观点.
- Penalty (scikit-learn C) chosen by {args.folds}-fold cross-validation over whole articles on the same rows, scoring
  the top-k selection F1: {report['cv_selection_f1_by_penalty']}; chosen {report['penalty']}.
- Reproduce: `fincard train-salience --data {args.data} --out {args.out}{model}`

## Scores

Cross-validated selection F1 on the tune articles: {report['cv_selection_f1']:.4f}. The held-out figures come from
`fincard eval-gist --data {args.data} --split dev` and `--split test` (see the README's table).
"""
    (args.out / "README.md").write_text(text, encoding="utf-8")
