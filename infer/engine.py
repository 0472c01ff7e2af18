"""Batched inference: chunk long texts, sort by token length, pack batches by a token budget, run in bf16.

The engine returns raw probabilities; :class:`infer.classifier.Classifier` turns them into labels.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .backbones import backbone_folder
from .model import ModelConfig, load_merged
from .schema import Schema


class WindowTokenizer:
    """The backbone's ``tokenizer.json`` through the Rust ``tokenizers`` library directly.

    fincard needs only ids, the window-start token (BOS for Gemma, CLS for BERT) and the pad id; skipping the
    transformers wrapper saves seconds of start-up on Gemma's 262k vocabulary and batches encoding in Rust.
    """

    def __init__(self, folder: Path):
        from tokenizers import Tokenizer

        self.core = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.core.no_padding()
        self.core.no_truncation()
        self.start_id = next((i for i in map(self.core.token_to_id, ("<bos>", "[CLS]")) if i is not None), None)
        self.pad_id = next((i for i in map(self.core.token_to_id, ("<pad>", "[PAD]")) if i is not None), 0)

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.core.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        return self.core.decode(list(ids))


def encode_chunks(tokenizer: WindowTokenizer, texts: Sequence[str], max_length: int) -> list[list[list[int]]]:
    """Per text, its token ids split into windows of ``max_length``, each starting with the start token."""
    prefix = [tokenizer.start_id] if tokenizer.start_id is not None else []
    window = max_length - len(prefix)
    return [[prefix + ids[i:i + window] for i in range(0, max(len(ids), 1), window)] for ids in tokenizer.ids(texts)]


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

    def __init__(self, module, tokenizer: WindowTokenizer, config: ModelConfig):
        self.module = module
        self.tokenizer = tokenizer
        self.config = config

    @classmethod
    def load(cls, folder: Path, config: ModelConfig, schema: Schema, dtype: str = "bfloat16",
             threads: int | str | None = "auto") -> "TransformerEngine":
        """LoRA merged into the backbone weights at load, so inference pays nothing for the adapters.

        ``dtype``: ``bfloat16`` (default), ``float32``, or ``int8`` (dynamic per-channel quantisation of the linear layers).
        ``threads``: torch's intra-op threads, ``"auto"`` for the cores this process may use, None to leave them alone.
        """
        import torch

        if threads is not None:
            torch.set_num_threads(physical_cores() if threads == "auto" else int(threads))
        base = backbone_folder(config.backbone)
        # Parsing Gemma's 33 MB tokenizer.json takes a second in Rust: do it on the other core while the weights load.
        with ThreadPoolExecutor(max_workers=1) as pool:
            tokenizer = pool.submit(WindowTokenizer, base)
            module = load_merged(folder, config, schema, base, "float32" if dtype == "int8" else dtype)
            if dtype == "int8":  # measured by `fincard bench --int8`; not the default: it moves labels (see the model card)
                from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

                module.backbone = quantize_dynamic(module.backbone, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
            return cls(module, tokenizer.result(), config)

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
                ids, mask = pad_batch([chunks[i] for i in batch], self.tokenizer.pad_id)
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
