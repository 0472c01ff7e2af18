"""Training data: labelled paragraphs to tensors, length-bucketed batches."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infer.backbones import fincard_home
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


def encode(rows: list[LabelledParagraph], tokenizer: WindowTokenizer, schema: Schema, max_length: int,
           tokenizer_file: Path | None = None) -> Encoded:
    """The rows as a ``datasets.Dataset``, tokenised by a batched ``map``.

    Given ``tokenizer_file`` (the ``tokenizer.json`` that ``tokenizer`` reads), the tokenised dataset is cached in
    ``$FINCARD_HOME/datasets`` under a hash of the rows, that file and ``max_length``, so a rerun or ``--resume``
    reads it back instead of tokenising again; without it, tokenising happens in memory.
    """
    from datasets import Dataset

    columns = {
        "text": [r.text for r in rows],
        "themes": [[float(t in (r.themes or [])) for t in schema.theme_ids] for r in rows],
        "theme_mask": [float(r.themes is not None) for r in rows],
        "stances": [schema.stance_ids.index(r.stance) if r.stance else -100 for r in rows],
    }
    key = hashlib.sha256(json.dumps([columns, max_length], ensure_ascii=False).encode())
    cache_file = None
    if tokenizer_file is not None:
        key.update(tokenizer_file.read_bytes())
        cache_file = fincard_home() / "datasets" / f"encoded-{key.hexdigest()[:32]}.arrow"
        cache_file.parent.mkdir(parents=True, exist_ok=True)

    def first_windows(batch: dict[str, list]) -> dict[str, list]:
        return {"ids": [windows[0] for windows in encode_chunks(tokenizer, batch["text"], max_length)]}

    # The key doubles as the fingerprint: without one, datasets hashes the function and the tokenizer it holds
    # (0.4 s for Gemma's, as long as tokenising the corpus).
    dataset = Dataset.from_dict(columns).map(
        first_windows, batched=True, remove_columns=["text"], desc="tokenising",
        cache_file_name=str(cache_file) if cache_file else None, new_fingerprint=key.hexdigest(),
    )
    encoded = dataset.to_dict()
    return Encoded(
        ids=encoded["ids"],
        themes=np.array(encoded["themes"], dtype=np.float32),
        theme_mask=np.array(encoded["theme_mask"], dtype=np.float32),
        stances=np.array(encoded["stances"], dtype=np.int64),
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
