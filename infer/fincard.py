"""``FinCard``: the one way in. Documents (or strings) in, each with its paragraph labels and its card out.

Every command is a thin wrapper over it (``fincard run``, ``classify``, ``summarize``), so an article gets the same
labels and the same card whichever way it is processed. Paragraphs are classified in batches that span documents
(the engine packs batches by length, so many short documents cost what a few long ones do), then each document is
gisted with its own paragraphs' labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from .card import Gist
from .classifier import Classifier, Prediction
from .document import Document
from .errors import ConfigError
from .headline import HeadlineRanker
from .salience import SalienceModel
from .segment import split_paragraphs
from .summarize import DEFAULT_MAX_BULLETS, SHIPPED, Summarizer, SummarizerConfig

PARAGRAPHS_PER_BATCH = 256  # documents are grouped until about this many paragraphs: good batches, bounded memory


@dataclass
class Result:
    document: Document
    predictions: list[Prediction] | None  # one per paragraph; None without a classifier
    gist: Gist | None  # None when gists were not asked for


class FinCard:
    """A classifier (optional) and a summarizer, applied to streams of documents.

    >>> fc = FinCard.load()                                  # the shipped classifier and 核心观点 ranker
    >>> for result in fc(["央行宣布降准0.5个百分点。"]):      # documents or plain strings
    ...     result.predictions[0].themes, result.gist.headline.text
    """

    def __init__(self, classifier: Classifier | None, summarizer: Summarizer, max_bullets: int = DEFAULT_MAX_BULLETS):
        if max_bullets < 1:
            raise ConfigError(f"max_bullets is the most lines on a card: 1 or more, got {max_bullets}")
        self.classifier = classifier
        self.summarizer = summarizer
        self.max_bullets = max_bullets

    @classmethod
    def load(cls, model: str | Path | None = SHIPPED, headline: str | Path | HeadlineRanker | None = SHIPPED, *,
             salience: str | Path | SalienceModel | None = SHIPPED, config: SummarizerConfig | None = None,
             max_bullets: int = DEFAULT_MAX_BULLETS, batch_size: int = 32, threads: int | str | None = "auto") -> "FinCard":
        """The shipped models by default.

        ``model``: a classifier folder, or None for no classifier (faster; bullets are not grouped by theme).
        ``headline``: a 核心观点 ranker folder or object, or None for the best sentence. ``salience``: a salience model
        folder or object (the shipped one is used with the classifier it was fitted on), or None for the text-feature
        score. ``config``: the
        summarizer's weights and limits. ``threads``: torch threads (``"auto"``, a number, or None to leave them).
        The ranker loads before the classifier, so that a bad path is reported before the slow load.
        """
        if isinstance(headline, (str, Path)):
            headline = HeadlineRanker.load(None if headline == SHIPPED else headline)
        if isinstance(salience, Path) or isinstance(salience, str) and salience != SHIPPED:
            salience = SalienceModel.load(salience)
        classifier = None if model is None else Classifier.load(None if model == SHIPPED else model, threads=threads)
        return cls(classifier, Summarizer(classifier, config, batch_size, headline=headline, salience=salience), max_bullets)

    def __call__(self, documents: Iterable[Document | str], batch_size: int = 32, *, gists: bool = True) -> Iterator[Result]:
        """Results in input order, streamed. A string is one document (paragraphs on line breaks; its id is a hash
        of its text). ``gists=False`` only classifies."""
        for batch in _batches(map(_document, documents), PARAGRAPHS_PER_BATCH):
            for doc, (predictions, states) in zip(batch, self._classify(batch, batch_size, states=gists)):
                gist = self.summarizer.summarize(doc, self.max_bullets, predictions, states) if gists else None
                yield Result(doc, predictions, gist)

    def _classify(self, batch: list[Document], batch_size: int, states: bool) -> list[tuple[list[Prediction] | None, Any]]:
        """Per document, its paragraphs' predictions and (``states``: for the salience model) their sentences'
        hidden states, read in the same pass."""
        if self.classifier is None:
            return [(None, None)] * len(batch)
        texts = [p.text for doc in batch for p in doc.paragraphs]
        read = None
        if states and self.summarizer.salience and self.classifier is self.summarizer.classifier:
            predictions, read = self.classifier.read(texts, [m for doc in batch for m in self.summarizer.marks(doc)], batch_size)
        else:
            predictions = self.classifier.predict(texts, batch_size=batch_size)
        out, start = [], 0
        for doc in batch:
            end = start + len(doc.paragraphs)
            out.append((predictions[start:end], read[start:end] if read is not None else None))
            start = end
        return out


def _document(item: Document | str) -> Document:
    if isinstance(item, Document):
        return item
    if isinstance(item, str):
        return Document.from_paragraphs(split_paragraphs(item))
    raise TypeError(f"FinCard takes Document objects or strings, not {type(item).__name__}")


def _batches(docs: Iterable[Document], paragraphs_per_batch: int) -> Iterator[list[Document]]:
    """Documents grouped until they hold ``paragraphs_per_batch`` paragraphs (and never fewer than one document)."""
    batch: list[Document] = []
    size = 0
    for doc in docs:
        batch.append(doc)
        size += len(doc.paragraphs)
        if size >= paragraphs_per_batch:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
