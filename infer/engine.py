"""Batched inference: chunk long texts, sort by token length, pack batches by a token budget, run in bf16.

The engine returns raw probabilities; :class:`infer.classifier.Classifier` turns them into labels.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .backbones import backbone_folder
from .model import ModelConfig, build_transformer, load_transformer_weights
from .schema import Schema


def encode_chunks(tokenizer, texts: Sequence[str], max_length: int) -> list[list[list[int]]]:
    """Per text, its token ids split into windows of ``max_length``, each starting with BOS (or CLS) when there is one.

    One tokenizer call for all texts: the Rust tokenizer batches them in parallel.
    """
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.cls_token_id  # Gemma / BERT
    prefix = [start] if start is not None else []
    window = max_length - len(prefix)
    encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"] if texts else []
    return [[prefix + ids[i:i + window] for i in range(0, max(len(ids), 1), window)] for ids in encoded]


def pad_batch(chunks: Sequence[list[int]], pad_id: int):
    import torch

    width = max(len(c) for c in chunks)
    ids = torch.full((len(chunks), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(chunks), width), dtype=torch.long)
    for row, chunk in enumerate(chunks):
        ids[row, :len(chunk)] = torch.tensor(chunk)
        mask[row, :len(chunk)] = 1
    return ids, mask


def physical_cores() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def token_budget_batches(lengths: Sequence[int], batch_size: int, tokens_per_row: int = 64) -> Iterator[list[int]]:
    """Indexes longest first, at most ``batch_size`` rows and ``batch_size * tokens_per_row`` padded tokens a batch."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    budget = batch_size * tokens_per_row
    batch: list[int] = []
    for i in order:
        if batch and (len(batch) == batch_size or (len(batch) + 1) * lengths[batch[0]] > budget):
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


class TransformerEngine:
    """Scores texts with a backbone + heads module under ``torch.inference_mode``."""

    def __init__(self, module, tokenizer, config: ModelConfig):
        self.module = module
        self.tokenizer = tokenizer
        self.config = config
        self.pad_id = tokenizer.pad_token_id or 0

    @classmethod
    def load(cls, folder: Path, config: ModelConfig, schema: Schema, dtype: str = "bfloat16") -> "TransformerEngine":
        """LoRA merged into the backbone weights at load, so inference pays nothing for the adapters."""
        import torch
        from transformers import AutoTokenizer

        torch.set_num_threads(physical_cores())
        base = backbone_folder(config.backbone)
        module = build_transformer(config, schema, base, dtype)
        load_transformer_weights(module, folder)
        module.backbone = module.backbone.merge_and_unload()
        return cls(module.to(getattr(torch, dtype)).eval(), AutoTokenizer.from_pretrained(base), config)

    def _run_chunks(self, texts: Sequence[str], batch_size: int, compute) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """``compute(ids, mask)`` on every window of every text, batched by length; outputs in window order,
        with each window's owning text and token count."""
        import torch

        chunks: list[list[int]] = []
        owner: list[int] = []
        for i, windows in enumerate(encode_chunks(self.tokenizer, texts, self.config.max_length)):
            chunks += windows
            owner += [i] * len(windows)
        outputs: list[np.ndarray] = []
        with torch.inference_mode():
            for batch in token_budget_batches([len(c) for c in chunks], batch_size):
                ids, mask = pad_batch([chunks[i] for i in batch], self.pad_id)
                for k, value in enumerate(compute(ids, mask)):
                    if len(outputs) <= k:
                        outputs.append(np.zeros((len(chunks), value.shape[-1]), dtype=np.float32))
                    outputs[k][batch] = value.float().numpy()
        return outputs, np.array(owner), np.array([len(c) for c in chunks], dtype=np.float32)

    def scores(self, texts: Sequence[str], batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """Theme probabilities (max over a text's chunks) and stance probabilities (chunk-length-weighted mean)."""
        import torch

        def heads(ids, mask):
            theme_logits, stance_logits = self.module(ids, mask)
            return torch.sigmoid(theme_logits.float()), torch.softmax(stance_logits.float(), -1)

        (theme_out, stance_out), owners, lengths = self._run_chunks(texts, batch_size, heads)
        themes = np.zeros((len(texts), theme_out.shape[1]), dtype=np.float32)
        np.maximum.at(themes, owners, theme_out)
        return themes, _weighted_mean(stance_out, owners, lengths, len(texts), normalise=True)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Pooled backbone states per text (chunk-length-weighted mean over its windows)."""
        (vectors,), owners, lengths = self._run_chunks(texts, batch_size, lambda ids, mask: (self.module.embed(ids, mask),))
        return _weighted_mean(vectors, owners, lengths, len(texts), normalise=False)


def _weighted_mean(values: np.ndarray, owners: np.ndarray, weights: np.ndarray, n: int, normalise: bool) -> np.ndarray:
    """Per owner, the weight-weighted mean of its rows (``normalise``: rescale each row to sum to 1 instead)."""
    total = np.zeros((n, values.shape[1]), dtype=np.float32)
    np.add.at(total, owners, values * weights[:, None])
    if normalise:
        return total / np.maximum(total.sum(1, keepdims=True), 1e-9)
    weight = np.zeros(n, dtype=np.float32)
    np.add.at(weight, owners, weights)
    return total / np.maximum(weight, 1e-9)[:, None]
