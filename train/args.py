"""Typed training arguments, validated before any work starts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from infer.backbones import BACKBONES, DEFAULT_BACKBONE
from infer.errors import FincardError
from infer.model import POOLINGS, TFIDF


@dataclass
class TrainArguments:
    train: Path
    out: Path
    dev: Path | None = None
    schema: Path | None = None
    backbone: str = DEFAULT_BACKBONE
    pooling: str = "last"  # better than "mean" on dev for Gemma (see the model card)
    # dev theme/stance macro-F1 0.954/0.906 after 2, 0.961/0.919 after 3 (see the model card)
    epochs: int = field(default=3, metadata={"help": "passes over the training rows; the best epoch on --dev is kept"})
    batch_size: int = field(default=16, metadata={"help": "rows per optimiser step"})
    learning_rate: float = field(default=3e-4, metadata={"help": "peak learning rate of the LoRA adapters"})
    head_learning_rate: float = field(default=2e-3, metadata={"help": "peak learning rate of the theme and stance heads"})
    warmup_ratio: float = 0.06
    lora_r: int = field(default=16, metadata={"help": "LoRA rank of every adapted projection"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling numerator (the update is scaled by alpha / r)"})
    # whole items (guide E14) run to about 600 tokens; paragraphs fit either way
    max_length: int = field(default=512, metadata={"help": "model window in tokens: training reads the first window of a text, prediction splits longer texts into windows"})
    # longer batches are split and their gradients accumulated, which bounds memory
    max_batch_tokens: int = field(default=4096, metadata={"help": "padded tokens per forward pass"})
    patience: int = field(default=1, metadata={"help": "epochs without a better dev score before training stops"})
    seed: int = field(default=0, metadata={"help": "seed of the initialisation and the batch order"})
    max_steps: int | None = None
    resume: bool = False

    def __post_init__(self) -> None:
        self.train, self.out = Path(self.train), Path(self.out)
        self.dev = Path(self.dev) if self.dev else None
        self.schema = Path(self.schema) if self.schema else None
        if self.backbone not in (*BACKBONES, TFIDF):
            raise FincardError(f"--backbone must be one of {', '.join((*BACKBONES, TFIDF))}, got {self.backbone!r}")
        if self.pooling not in POOLINGS:
            raise FincardError(f"--pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")
        for name in ("epochs", "batch_size", "lora_r", "lora_alpha", "patience"):
            if getattr(self, name) < 1:
                raise FincardError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if not 0 < self.learning_rate < 1 or not 0 < self.head_learning_rate < 1:
            raise FincardError("learning rates must be between 0 and 1 (try --learning-rate 3e-4)")
        if self.max_batch_tokens < self.max_length:
            raise FincardError(f"--max-batch-tokens ({self.max_batch_tokens}) must be at least --max-length ({self.max_length})")
        if self.max_steps is not None and self.max_steps < 1:
            raise FincardError(f"--max-steps must be at least 1, got {self.max_steps}")
        if not self.train.is_file():
            raise FincardError(f"--train {self.train} does not exist")
        if self.dev is not None and not self.dev.is_file():
            raise FincardError(f"--dev {self.dev} does not exist")

    def to_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


@dataclass
class SalienceArguments:
    """``fincard train-salience``: articles with their editors' 核心观点 picks in, a salience model folder out."""

    data: Path
    out: Path
    model: Path | None = None  # the classifier whose hidden states it reads (default: the shipped one)
    tune_split: str = field(default="tune", metadata={"help": "split of the rows the model is fitted on"})
    folds: int = field(default=5, metadata={"help": "cross-validation folds (by article) that choose the penalty"})

    def __post_init__(self) -> None:
        self.data, self.out = Path(self.data), Path(self.out)
        self.model = Path(self.model) if self.model else None
        if not self.data.is_file():
            raise FincardError(f"--data {self.data} does not exist")
        if self.folds < 2:
            raise FincardError(f"--folds must be at least 2, got {self.folds}")


@dataclass
class HeadlineArguments:
    """``fincard train-headline``: flashes with titles in, a 核心观点 ranker folder out."""

    data: Path
    out: Path
    tune_split: str = field(default="tune", metadata={"help": "split of the rows the ranker is fitted on"})
    dev_split: str = field(default="dev", metadata={"help": "split of the rows that picks the ridge penalty"})
    max_sentences: int = field(default=8, metadata={"help": "how many of the best-scored sentences offer clause runs"})
    min_chars: int = field(default=8, metadata={"help": "shortest clause run offered as a headline"})
    max_chars: int = field(default=80, metadata={"help": "longest clause run offered as a headline"})

    def __post_init__(self) -> None:
        self.data, self.out = Path(self.data), Path(self.out)
        if not self.data.is_file():
            raise FincardError(f"--data {self.data} does not exist")
        if self.max_sentences < 1:
            raise FincardError(f"--max-sentences must be at least 1, got {self.max_sentences}")
        if not 0 < self.min_chars < self.max_chars:
            raise FincardError(f"--min-chars ({self.min_chars}) must be above 0 and below --max-chars ({self.max_chars})")
