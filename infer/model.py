"""Backbone + pooling + two heads (themes: sigmoid multi-label; stance: softmax), and the TF-IDF baseline.

A model folder holds ``config.json`` (:class:`ModelConfig`), ``schema.json`` and the weights: for transformer
models the LoRA adapter (``adapter_config.json`` + ``adapter_model.safetensors``) and ``heads.safetensors`` on top
of the pip-installed backbone; for the ``tfidf`` baseline a scikit-learn pipeline (``tfidf.joblib``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .backbones import BACKBONES
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
    thresholds: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
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

        def embed(self, input_ids, attention_mask):
            hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return pool(hidden, attention_mask, config.pooling)

        def forward(self, input_ids, attention_mask):
            pooled = self.dropout(self.embed(input_ids, attention_mask)).float()  # heads stay fp32: they are tiny
            return self.theme_head(pooled), self.stance_head(pooled)

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
    """Character 1-3-gram TF-IDF + logistic regression: the reality-check baseline, same interface as the model."""

    def __init__(self, pipeline: Any = None):
        self.pipeline = pipeline

    @staticmethod
    def fit(texts: list[str], themes: np.ndarray, stances: np.ndarray, seed: int = 0) -> "TfidfBaseline":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True)
        features = vectorizer.fit_transform(texts)
        theme_model = OneVsRestClassifier(LogisticRegression(max_iter=2000, C=4.0, class_weight="balanced", random_state=seed))
        theme_model.fit(features, themes)
        stance_model = LogisticRegression(max_iter=2000, C=4.0, class_weight="balanced", random_state=seed)
        stance_model.fit(features, stances)
        return TfidfBaseline({"vectorizer": vectorizer, "themes": theme_model, "stance": stance_model})

    def scores(self, texts: list[str], batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """``batch_size`` is accepted for the scorer interface; scikit-learn takes all texts at once."""
        features = self.pipeline["vectorizer"].transform(texts)
        stance_model = self.pipeline["stance"]
        stance = np.zeros((len(texts), int(max(stance_model.classes_)) + 1))
        stance[:, stance_model.classes_] = stance_model.predict_proba(features)
        return self.pipeline["themes"].predict_proba(features), stance

    def save(self, folder: Path) -> None:
        import joblib

        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.pipeline, folder / "tfidf.joblib")

    @classmethod
    def load(cls, folder: Path) -> "TfidfBaseline":
        import joblib

        try:
            return cls(joblib.load(folder / "tfidf.joblib"))
        except (FileNotFoundError, OSError, EOFError, ValueError) as exc:
            raise FincardError(f"{folder}: missing or corrupt tfidf.joblib ({exc})") from None
