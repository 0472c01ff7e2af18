"""The ``Classifier`` API: paragraphs in, themes and stance out."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from .backbones import sha256_of
from .errors import FincardError
from .metrics import theme_cuts
from .model import TFIDF, ModelConfig, TfidfBaseline
from .schema import Schema
from .shipped import model_path



@dataclass
class Prediction:
    themes: list[str]
    theme_scores: dict[str, float]
    stance: str
    stance_scores: dict[str, float]

    def to_dict(self) -> dict:
        return {"themes": self.themes, "theme_scores": self.theme_scores, "stance": self.stance, "stance_scores": self.stance_scores}


class Classifier:
    """Load with :meth:`load`; :meth:`predict` labels texts in streamed batches."""

    def __init__(self, folder: Path, config: ModelConfig, schema: Schema, scorer):
        self.folder = folder
        self.config = config
        self.schema = schema
        self.scorer = scorer  # .scores(texts, batch_size) -> (theme probabilities, stance probabilities)

    @classmethod
    def load(cls, path: str | Path | None = None, *, threads: int | str | None = "auto") -> "Classifier":
        """The model folder at ``path``, else ``$FINCARD_MODEL``, else the shipped ``fincard-zh-v1``.

        ``threads``: torch threads for a transformer model: ``"auto"`` (the cores this process may use), a number,
        or None to leave torch's setting alone (when the caller, e.g. a Ray actor, manages threads itself).
        """
        folder = Path(path or os.environ.get("FINCARD_MODEL") or model_path())
        if not folder.is_dir():
            raise FincardError(f"model folder {folder} does not exist; train one with `fincard train --out {folder}`")
        config = ModelConfig.load(folder)
        schema = Schema.load(folder / "schema.json")
        if config.backbone == TFIDF:
            scorer = TfidfBaseline.load(folder)
        else:
            from .engine import TransformerEngine

            scorer = TransformerEngine.load(folder, config, schema, threads=threads)
        return cls(folder, config, schema, scorer)

    def scores(self, texts: Sequence[str], batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated probabilities for non-empty texts; empty ones get zero theme scores and the neutral stance."""
        themes, stances, _ = self._probabilities(texts, batch_size)
        return themes, stances

    def read(self, texts: Sequence[str], marks: Sequence[Sequence[int]],
             batch_size: int = 32) -> tuple[list[Prediction], list[np.ndarray] | None]:
        """Predictions, and the backbone's hidden states at ``marks`` (per text, character offsets: its sentences'
        ends) from the same pass; None for a model without hidden states (the TF-IDF baseline)."""
        if not hasattr(self.scorer, "read"):
            return self.predict(texts, batch_size), None
        themes, stances, states = self._probabilities(texts, batch_size, marks)
        return self.label(themes, stances), states

    def raw_scores(self, texts: Sequence[str], batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """The heads' probabilities before calibration (what calibration is fitted on)."""
        themes, stances, _ = self._probabilities(texts, batch_size, calibrated=False)
        return themes, stances

    def _probabilities(self, texts: Sequence[str], batch_size: int, marks: Sequence[Sequence[int]] | None = None,
                       calibrated: bool = True):
        themes = np.zeros((len(texts), len(self.schema.themes)), dtype=np.float32)
        stances = np.zeros((len(texts), len(self.schema.stances)), dtype=np.float32)
        stances[:, self.schema.stance_ids.index(self.schema.neutral_stance)] = 1.0
        states = None if marks is None else [np.zeros((len(m), 0), dtype=np.float32) for m in marks]
        filled = [i for i, t in enumerate(texts) if t and t.strip()]
        if filled and marks is None:
            themes[filled], stances[filled] = self.scorer.scores([texts[i] for i in filled], batch_size)
        elif filled:
            themes[filled], stances[filled], read = self.scorer.read([texts[i] for i in filled], [marks[i] for i in filled], batch_size)
            for i, vectors in zip(filled, read):
                states[i] = vectors
        if filled and calibrated:
            themes[filled], stances[filled] = self.config.calibration.apply(themes[filled], stances[filled], self.schema.theme_ids)
        return themes, stances, states

    @property
    def digest(self) -> str:
        """Which weights these are (models fitted on the classifier's hidden states check it)."""
        return sha256_of(sorted(p for p in self.folder.iterdir() if p.suffix == ".safetensors"))[:16]

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Pooled backbone vectors (the summarizer's ``vectors="classifier"`` sentence similarity)."""
        if self.config.backbone == TFIDF:
            raise FincardError("the tfidf baseline has no embeddings: use a transformer model")
        return self.scorer.embed(list(texts), batch_size)

    def label(self, theme_scores: np.ndarray, stance_scores: np.ndarray) -> list[Prediction]:
        thresholds = theme_cuts(self.config.thresholds, self.schema.theme_ids)
        out = []
        for t_row, s_row in zip(theme_scores, stance_scores):
            out.append(Prediction(
                themes=[tid for tid, score, cut in zip(self.schema.theme_ids, t_row, thresholds) if score >= cut],
                theme_scores={tid: float(v) for tid, v in zip(self.schema.theme_ids, t_row)},
                stance=self.schema.stance_ids[int(np.argmax(s_row))],
                stance_scores={sid: float(v) for sid, v in zip(self.schema.stance_ids, s_row)},
            ))
        return out

    def predict(self, texts: Iterable[str], batch_size: int = 32, chunk: int = 1024) -> list[Prediction]:
        return list(self.predict_iter(texts, batch_size, chunk))

    def predict_iter(self, texts: Iterable[str], batch_size: int = 32, chunk: int = 1024) -> Iterator[Prediction]:
        """Stream predictions ``chunk`` texts at a time, so memory stays bounded on any input size."""
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts, not one string")
        buffer: list[str] = []
        for text in texts:
            buffer.append(text)
            if len(buffer) == chunk:
                yield from self.label(*self.scores(buffer, batch_size))
                buffer = []
        if buffer:
            yield from self.label(*self.scores(buffer, batch_size))
