"""Training data: labelled paragraphs to tensors, length-bucketed batches."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infer.engine import WindowTokenizer, encode_chunks
from infer.errors import FincardError
from infer.evaluate import LabelledParagraph, read_labelled
from infer.schema import Schema


@dataclass
class Encoded:
    ids: list[list[int]]  # first window of each paragraph
    themes: np.ndarray  # [n, themes] 0/1
    theme_mask: np.ndarray  # [n] 1 where the row has theme labels
    stances: np.ndarray  # [n] class index, -100 where missing


def load_split(path: Path, schema: Schema) -> list[LabelledParagraph]:
    """All rows of a labelled file; bad rows stop training with one message per row, listed first."""
    problems: list[str] = []
    rows = list(read_labelled(path, schema, on_error=lambda e: problems.append(str(e))))
    if problems:
        raise FincardError("bad training rows:\n  " + "\n  ".join(problems[:20]))
    if not rows:
        raise FincardError(f"{path} holds no labelled rows")
    return rows


def encode(rows: list[LabelledParagraph], tokenizer: WindowTokenizer, schema: Schema, max_length: int) -> Encoded:
    return Encoded(
        ids=[windows[0] for windows in encode_chunks(tokenizer, [r.text for r in rows], max_length)],
        themes=np.array([[t in (r.themes or []) for t in schema.theme_ids] for r in rows], dtype=np.float32),
        theme_mask=np.array([r.themes is not None for r in rows], dtype=np.float32),
        stances=np.array([schema.stance_ids.index(r.stance) if r.stance else -100 for r in rows], dtype=np.int64),
    )


def bucketed_batches(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Shuffle, sort within windows of 50 batches by length, then shuffle the batches: little padding, random order."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def micro_batches(batch: list[int], lengths: Mapping[int, int] | Sequence[int], max_tokens: int) -> list[list[int]]:
    """Consecutive pieces of ``batch`` whose padded size (rows x longest row) stays within ``max_tokens``.

    Gradients are accumulated over the pieces, so a batch of long whole items costs the memory of a batch of
    paragraphs and still makes one optimiser step. A single row longer than ``max_tokens`` is a piece of its own.
    """
    pieces: list[list[int]] = []
    piece: list[int] = []
    longest = 0
    for i in batch:
        if piece and (len(piece) + 1) * max(longest, lengths[i]) > max_tokens:
            pieces.append(piece)
            piece, longest = [], 0
        piece.append(i)
        longest = max(longest, lengths[i])
    return pieces + [piece] if piece else pieces
