"""Backbone + pooling + two heads (themes: sigmoid multi-label; stance: softmax), and the TF-IDF baseline.

A model folder holds ``config.json`` (:class:`ModelConfig`), ``schema.json`` and the weights: for transformer
models the LoRA adapter (``adapter_config.json`` + ``adapter_model.safetensors``) and ``heads.safetensors`` on top
of the pip-installed backbone; for the ``tfidf`` baseline the TF-IDF vocabulary (``tfidf.json``) and the logistic
regressions' weights (``tfidf.safetensors``). Loading a folder never unpickles.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .backbones import BACKBONES, offline
from .calibration import Calibration, sigmoid
from .errors import FincardError
from .schema import Schema

POOLINGS = ("mean", "last")
TFIDF = "tfidf"


@dataclass
class ModelConfig:
    backbone: str
    pooling: str = "mean"
    max_length: int = 256
    lora_r: int = 16
    lora_alpha: int = 32
    thresholds: dict[str, float] = field(default_factory=dict)  # per theme, on calibrated scores
    calibration: Calibration = field(default_factory=Calibration)

    def __post_init__(self) -> None:
        if not isinstance(self.calibration, Calibration):
            self.calibration = Calibration.from_dict(self.calibration)
        if self.pooling not in POOLINGS:
            raise FincardError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.max_length < 16:
            raise FincardError(f"max_length must be at least 16 tokens, got {self.max_length}")

    def save(self, folder: Path) -> None:
        (folder / "config.json").write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "ModelConfig":
        path = folder / "config.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except FileNotFoundError:
            raise FincardError(f"{folder} is not a fincard model folder (no config.json); train one with `fincard train`") from None
        except (json.JSONDecodeError, TypeError) as exc:
            raise FincardError(f"{path} is corrupt: {exc}") from None


def pool(hidden, attention_mask, how: str):
    """Mean over real tokens, or the last real token (sequences are right-padded)."""
    import torch

    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    if how == "mean":
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    last = attention_mask.sum(1).clamp(min=1) - 1
    return hidden[torch.arange(hidden.size(0), device=hidden.device), last]


def build_transformer(config: ModelConfig, schema: Schema, backbone_folder: Path, dtype: str = "bfloat16"):
    """The frozen backbone (in ``dtype``) with fresh LoRA adapters and the two heads, as one ``torch.nn.Module``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel

    offline()

    class ThemeStanceModel(torch.nn.Module):
        """The backbone with LoRA adapters, pooled, under a theme head (sigmoid) and a stance head (softmax)."""

        def __init__(self):
            super().__init__()
            base = AutoModel.from_pretrained(backbone_folder, dtype=getattr(torch, dtype))
            targets = BACKBONES[config.backbone].lora_targets
            lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=0.05, target_modules=list(targets))
            self.backbone = get_peft_model(base, lora)
            hidden = base.config.hidden_size
            self.dropout = torch.nn.Dropout(0.1)
            self.theme_head = torch.nn.Linear(hidden, len(schema.themes))
            self.stance_head = torch.nn.Linear(hidden, len(schema.stances))

        def states(self, input_ids, attention_mask):
            """The backbone's last hidden state at every token."""
            return self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        def embed(self, input_ids, attention_mask):
            return pool(self.states(input_ids, attention_mask), attention_mask, config.pooling)

        def heads(self, pooled):
            pooled = self.dropout(pooled).float()  # heads stay fp32: they are tiny
            return self.theme_head(pooled), self.stance_head(pooled)

        def forward(self, input_ids, attention_mask):
            return self.heads(self.embed(input_ids, attention_mask))

    return ThemeStanceModel()


def load_merged(folder: Path, config: ModelConfig, schema: Schema, backbone_folder: Path, dtype: str = "bfloat16"):
    """A saved model ready for inference: backbone in ``dtype`` with the LoRA adapter merged into its weights."""
    import torch

    module = build_transformer(config, schema, backbone_folder, dtype)
    load_transformer_weights(module, folder)
    module.backbone = module.backbone.merge_and_unload()
    module.backbone.to(getattr(torch, dtype))  # buffers too (rotary frequencies), not only the weights
    return module.eval()


def save_transformer(module, config: ModelConfig, schema: Schema, folder: Path) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    module.backbone.save_pretrained(folder)  # adapter_config.json + adapter_model.safetensors only
    heads = {f"theme_head.{k}": v for k, v in module.theme_head.state_dict().items()}
    heads |= {f"stance_head.{k}": v for k, v in module.stance_head.state_dict().items()}
    save_file({k: v.detach().contiguous() for k, v in heads.items()}, folder / "heads.safetensors")
    config.save(folder)
    schema.save(folder / "schema.json")


def load_transformer_weights(module, folder: Path) -> None:
    """Put a saved adapter and heads into a freshly built module."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    try:
        adapter = load_file(folder / "adapter_model.safetensors")
        heads = load_file(folder / "heads.safetensors")
    except (FileNotFoundError, OSError) as exc:
        raise FincardError(f"{folder}: missing or unreadable weights ({exc}); retrain or re-copy the model folder") from None
    except Exception as exc:  # safetensors raises its own error type for corrupt files
        raise FincardError(f"{folder}: corrupt weights ({exc}); retrain or re-copy the model folder") from None
    set_peft_model_state_dict(module.backbone, adapter)
    module.theme_head.load_state_dict({k.split(".", 1)[1]: v for k, v in heads.items() if k.startswith("theme_head.")})
    module.stance_head.load_state_dict({k.split(".", 1)[1]: v for k, v in heads.items() if k.startswith("stance_head.")})


class TfidfBaseline:
    """Character 1-3-gram TF-IDF + logistic regression: the reality-check baseline, same interface as the model.

    Saved as plain data, never a pickle: ``tfidf.json`` holds the vectorizer's settings and vocabulary,
    ``tfidf.safetensors`` its idf and the regressions' weights; :meth:`scores` redoes scikit-learn's arithmetic.
    """

    def __init__(self, vectorizer: Any, weights: dict[str, np.ndarray]):
        self.vectorizer = vectorizer  # a fitted scikit-learn TfidfVectorizer
        self.weights = weights  # theme_coef, theme_intercept, stance_coef, stance_intercept, stance_classes

    @classmethod
    def fit(cls, texts: list[str], themes: np.ndarray, stances: np.ndarray, seed: int = 0) -> "TfidfBaseline":
        return cls.from_sklearn(*cls.fit_sklearn(texts, themes, stances, seed))

    @staticmethod
    def fit_sklearn(texts: list[str], themes: np.ndarray, stances: np.ndarray, seed: int = 0) -> tuple[Any, Any, Any]:
        """The fitted scikit-learn vectorizer, one-vs-rest theme regressions and stance regression."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True)
        features = vectorizer.fit_transform(texts)
        theme_model = OneVsRestClassifier(LogisticRegression(max_iter=2000, C=4.0, class_weight="balanced", random_state=seed))
        theme_model.fit(features, themes)
        stance_model = LogisticRegression(max_iter=2000, C=4.0, class_weight="balanced", random_state=seed)
        stance_model.fit(features, stances)
        return vectorizer, theme_model, stance_model

    @classmethod
    def from_sklearn(cls, vectorizer: Any, theme_model: Any, stance_model: Any) -> "TfidfBaseline":
        n_features = len(vectorizer.vocabulary_)
        theme_coef = np.zeros((len(theme_model.estimators_), n_features))
        theme_intercept = np.zeros(len(theme_model.estimators_))
        for k, estimator in enumerate(theme_model.estimators_):
            if hasattr(estimator, "coef_"):
                theme_coef[k], theme_intercept[k] = estimator.coef_[0], estimator.intercept_[0]
            else:  # one class in training: OneVsRest's constant predictor; sigmoid(+-inf) is exactly that 1 or 0
                theme_intercept[k] = np.inf if estimator.y_[0] else -np.inf
        return cls(vectorizer, {
            "theme_coef": theme_coef, "theme_intercept": theme_intercept,
            "stance_coef": stance_model.coef_, "stance_intercept": stance_model.intercept_,
            "stance_classes": stance_model.classes_.astype(np.int64),
        })

    def scores(self, texts: list[str], batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """``batch_size`` is accepted for the scorer interface; all texts go through at once."""
        features = self.vectorizer.transform(texts)
        w = self.weights
        themes = sigmoid(features @ w["theme_coef"].T + w["theme_intercept"])
        decision = features @ w["stance_coef"].T + w["stance_intercept"]
        if decision.shape[1] == 1:  # scikit-learn's binary regression: one row of weights, for the second class
            positive = sigmoid(decision)
            probabilities = np.hstack([1 - positive, positive])
        else:
            exp = np.exp(decision - decision.max(1, keepdims=True))
            probabilities = exp / exp.sum(1, keepdims=True)
        stance = np.zeros((len(texts), int(w["stance_classes"].max()) + 1))
        stance[:, w["stance_classes"]] = probabilities
        return themes, stance

    def save(self, folder: Path) -> None:
        from safetensors.numpy import save_file

        folder.mkdir(parents=True, exist_ok=True)
        vocabulary = sorted(self.vectorizer.vocabulary_, key=self.vectorizer.vocabulary_.get)  # term of column 0, 1, ...
        settings = self.vectorizer.get_params() | {"vocabulary": None, "dtype": np.dtype(self.vectorizer.dtype).name}
        saved = {"settings": settings, "vocabulary": vocabulary}
        (folder / "tfidf.json").write_text(json.dumps(saved, ensure_ascii=False) + "\n", encoding="utf-8")
        arrays = {"idf": self.vectorizer.idf_} | self.weights
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, folder / "tfidf.safetensors")

    @classmethod
    def load(cls, folder: Path) -> "TfidfBaseline":
        from safetensors import SafetensorError
        from safetensors.numpy import load_file
        from sklearn.feature_extraction.text import TfidfVectorizer

        retrain = "retrain with `fincard train --backbone tfidf`"
        if not (folder / "tfidf.json").exists() and (folder / "tfidf.joblib").exists():
            raise FincardError(f"{folder} holds a pickled baseline (tfidf.joblib) from an older fincard, which is never loaded "
                               f"because unpickling can run code: {retrain}")
        try:
            saved = json.loads((folder / "tfidf.json").read_text(encoding="utf-8"))
            weights = load_file(folder / "tfidf.safetensors")
            settings = saved["settings"] | {"ngram_range": tuple(saved["settings"]["ngram_range"]),
                                            "dtype": np.dtype(saved["settings"]["dtype"]).type, "vocabulary": saved["vocabulary"]}
            vectorizer = TfidfVectorizer(**settings)
            vectorizer.idf_ = weights.pop("idf")
            n_features = len(vectorizer.vocabulary_)
            if weights["theme_coef"].shape[1] != n_features or weights["stance_coef"].shape[1] != n_features:
                raise ValueError(f"weights for {weights['theme_coef'].shape[1]} features, a vocabulary of {n_features}")
        except OSError as exc:
            raise FincardError(f"{folder}: missing or unreadable tfidf baseline ({exc}); {retrain}") from None
        except (SafetensorError, KeyError, TypeError, ValueError) as exc:  # ValueError covers bad JSON
            raise FincardError(f"{folder}: corrupt tfidf baseline ({exc}); {retrain}") from None
        return cls(vectorizer, weights)
