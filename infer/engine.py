"""Batched inference: chunk long texts, sort by token length, pack batches by a token budget, run in bf16.

The engine returns raw probabilities; :class:`infer.classifier.Classifier` turns them into labels.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .backbones import backbone_folder
from .model import ModelConfig, load_merged, pool
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
        return [e.ids for e in self.encode(texts)]

    def encode(self, texts: Sequence[str]):
        """The ``tokenizers`` encodings (ids and character offsets) of ``texts``, without special tokens."""
        return self.core.encode_batch(list(texts), add_special_tokens=False)

    def decode(self, ids: Sequence[int]) -> str:
        return self.core.decode(list(ids))


def windows(ids: list[int], start_id: int | None, max_length: int) -> tuple[list[list[int]], int]:
    """``ids`` split into windows of ``max_length`` tokens, each opening with the start token, and how many of the
    text's tokens a window holds."""
    prefix = [start_id] if start_id is not None else []
    width = max_length - len(prefix)
    return [prefix + ids[i:i + width] for i in range(0, max(len(ids), 1), width)], width


def encode_chunks(tokenizer: WindowTokenizer, texts: Sequence[str], max_length: int) -> list[list[list[int]]]:
    """Per text, its token ids split into windows (:func:`windows`)."""
    return [windows(ids, tokenizer.start_id, max_length)[0] for ids in tokenizer.ids(texts)]


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

    def _run_chunks(self, texts: Sequence[str], batch_size: int, compute,
                    marks: Sequence[Sequence[int]] | None = None) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, list[np.ndarray]]:
        """``compute(hidden, mask)`` on the last hidden states of every window of every text, batched by length;
        outputs in window order, with each window's owning text and token count. ``marks`` (per text, character
        offsets): also the hidden state of the last token that starts before each offset, read in the same pass."""
        import torch

        chunks: list[list[int]] = []
        owner: list[int] = []
        wanted: dict[int, list[tuple[int, int, int]]] = {}  # window -> (text, mark, position in the window)
        for i, encoding in enumerate(self.tokenizer.encode(texts)):
            first = len(chunks)
            text_windows, width = windows(encoding.ids, self.tokenizer.start_id, self.config.max_length)
            chunks += text_windows
            owner += [i] * len(text_windows)
            starts = [start for start, _ in encoding.offsets]
            opening = self.config.max_length - width  # the start token before each window's text
            for j, offset in enumerate(marks[i] if marks else ()):
                token = max(bisect_left(starts, offset) - 1, 0)
                wanted.setdefault(first + token // width, []).append((i, j, token % width + opening))
        outputs: list[np.ndarray] = []
        marked = [np.zeros((len(m), 0), dtype=np.float32) for m in marks] if marks else []
        with torch.inference_mode():
            for batch in token_budget_batches([len(c) for c in chunks], batch_size):
                ids, mask = pad_batch([chunks[i] for i in batch], self.tokenizer.pad_id)
                hidden = self.module.states(ids, mask)
                for k, value in enumerate(compute(hidden, mask)):
                    if len(outputs) <= k:
                        outputs.append(np.zeros((len(chunks), value.shape[-1]), dtype=np.float32))
                    outputs[k][batch] = value.float().numpy()
                for row, window in enumerate(batch):
                    for i, j, position in wanted.get(window, ()):
                        if not marked[i].shape[1]:
                            marked[i] = np.zeros((len(marks[i]), hidden.shape[-1]), dtype=np.float32)
                        marked[i][j] = hidden[row, position].float().numpy()
        return outputs, np.array(owner), np.array([len(c) for c in chunks], dtype=np.float32), marked

    def read(self, texts: Sequence[str], marks: Sequence[Sequence[int]] | None = None,
             batch_size: int = 32) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """Theme probabilities (max over a text's windows), stance probabilities (window-length-weighted mean) and,
        for ``marks`` (per text, character offsets such as its sentences' ends), the hidden states there."""
        import torch

        def heads(hidden, mask):
            theme_logits, stance_logits = self.module.heads(pool(hidden, mask, self.config.pooling))
            return torch.sigmoid(theme_logits.float()), torch.softmax(stance_logits.float(), -1)

        (theme_out, stance_out), owners, lengths, marked = self._run_chunks(texts, batch_size, heads, marks)
        themes = np.zeros((len(texts), theme_out.shape[1]), dtype=np.float32)
        np.maximum.at(themes, owners, theme_out)
        return themes, _weighted_mean(stance_out, owners, lengths, len(texts), normalise=True), marked

    def scores(self, texts: Sequence[str], batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        themes, stances, _ = self.read(texts, None, batch_size)
        return themes, stances

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Pooled backbone states per text (chunk-length-weighted mean over its windows)."""
        pooled = lambda hidden, mask: (pool(hidden, mask, self.config.pooling),)  # noqa: E731
        (vectors,), owners, lengths, _ = self._run_chunks(texts, batch_size, pooled)
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
