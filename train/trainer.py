"""Fine-tune LoRA adapters and theme/stance heads on labelled paragraphs (or fit the TF-IDF baseline).

Fixed seed, bf16 autocast, length-bucketed batches, dev evaluation each epoch with calibration and per-theme thresholds,
early stopping, a checkpoint each epoch (``--resume`` continues from it) and on Ctrl-C.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import sys
import time
from typing import Any

import numpy as np

from infer.backbones import BACKBONES, backbone_folder
from infer.calibration import Calibration
from infer.engine import TransformerEngine, WindowTokenizer, pad_batch
from infer.errors import FincardError
from infer.evaluate import LabelledParagraph, evaluate_scores, stance_vector, theme_matrix
from infer.metrics import best_thresholds
from infer.model import TFIDF, ModelConfig, TfidfBaseline, build_transformer, load_transformer_weights, save_transformer
from infer.schema import Schema

from .args import TrainArguments
from .card import write_card
from .data import Encoded, bucketed_batches, encode, load_split, micro_batches

logger = logging.getLogger("fincard")
CHECKPOINT = "checkpoint"


class Interrupted(Exception):
    """Ctrl-C during training: a checkpoint was saved, ``--resume`` continues."""


def selection_score(metrics: dict[str, Any]) -> float:
    """What early stopping maximises: the mean of theme macro-F1 and stance macro-F1 on dev."""
    return (metrics.get("themes", {}).get("macro_f1", 0.0) + metrics.get("stance", {}).get("macro_f1", 0.0)) / 2


def plain_types(value: Any) -> Any:
    """``value`` with numpy scalars (dev metrics) turned into Python numbers, which ``torch.load(weights_only=True)`` accepts."""
    if isinstance(value, dict):
        return {k: plain_types(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_types(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value


def train(args: TrainArguments) -> dict[str, Any]:
    schema = Schema.load(args.schema)
    train_rows = load_split(args.train, schema)
    dev_rows = load_split(args.dev, schema) if args.dev else []
    started = time.monotonic()
    if args.backbone == TFIDF:
        metrics = _train_tfidf(args, schema, train_rows, dev_rows)
    else:
        metrics = _train_transformer(args, schema, train_rows, dev_rows)
    metrics["train_seconds"] = round(time.monotonic() - started, 1)
    metrics["train_rows"], metrics["dev_rows"] = len(train_rows), len(dev_rows)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (args.out / "training_args.json").write_text(json.dumps(args.to_dict(), indent=2) + "\n", encoding="utf-8")
    write_card(args, schema, metrics)
    return metrics


def tune(rows: list[LabelledParagraph], themes: np.ndarray, stances: np.ndarray, schema: Schema, config: ModelConfig,
         fitted_on: str) -> dict[str, Any]:
    """Fit the calibration on dev's raw scores, then choose per-theme thresholds for F1 on the calibrated scores; both
    go into ``config``. Returns the dev metrics under them."""
    labelled = [i for i, r in enumerate(rows) if r.themes is not None]
    with_stance = [i for i, r in enumerate(rows) if r.stance is not None]
    theme_gold = theme_matrix([rows[i] for i in labelled], schema)
    config.calibration = Calibration.fit(themes[labelled], theme_gold, stances[with_stance],
                                         stance_vector([rows[i] for i in with_stance], schema), schema.theme_ids,
                                         f"{fitted_on} ({len(rows)} rows)")
    themes, stances = config.calibration.apply(themes, stances, schema.theme_ids)
    config.thresholds = best_thresholds(theme_gold, themes[labelled], schema.theme_ids)
    return evaluate_scores(rows, themes, stances, schema, config.thresholds)


def _train_tfidf(args: TrainArguments, schema: Schema, train_rows, dev_rows) -> dict[str, Any]:
    rows = [r for r in train_rows if r.themes is not None and r.stance is not None]
    baseline = TfidfBaseline.fit([r.text for r in rows], theme_matrix(rows, schema), stance_vector(rows, schema), args.seed)
    config = ModelConfig(backbone=TFIDF, max_length=args.max_length)
    metrics: dict[str, Any] = {}
    if dev_rows:
        metrics["dev"] = tune(dev_rows, *baseline.scores([r.text for r in dev_rows]), schema, config, str(args.dev))
    baseline.save(args.out)
    config.save(args.out)
    schema.save(args.out / "schema.json")
    return metrics


def _train_transformer(args: TrainArguments, schema: Schema, train_rows, dev_rows) -> dict[str, Any]:
    import torch
    from transformers import get_linear_schedule_with_warmup

    torch.manual_seed(args.seed)
    base = backbone_folder(args.backbone)
    tokenizer = WindowTokenizer(base)
    config = ModelConfig(args.backbone, args.pooling, args.max_length, args.lora_r, args.lora_alpha)
    module = build_transformer(config, schema, base)
    data = encode(train_rows, tokenizer, schema, args.max_length, base / "tokenizer.json")
    lengths = [len(x) for x in data.ids]

    steps_per_epoch = math.ceil(len(lengths) / args.batch_size)
    total_steps = min(args.max_steps or steps_per_epoch * args.epochs, steps_per_epoch * args.epochs)
    lora_params = [p for n, p in module.named_parameters() if p.requires_grad and "lora_" in n]
    head_params = [p for n, p in module.named_parameters() if n.startswith(("theme_head", "stance_head"))]
    optimizer = torch.optim.AdamW([
        {"params": lora_params, "lr": args.learning_rate},
        {"params": head_params, "lr": args.head_learning_rate},
    ], weight_decay=0.01)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(args.warmup_ratio * total_steps), total_steps)

    # Class weights: rare themes and stances count as much as common ones.
    labelled = data.theme_mask > 0
    positives = data.themes[labelled].sum(0)
    pos_weight = torch.tensor(np.clip((labelled.sum() - positives) / np.maximum(positives, 1), 1.0, 10.0), dtype=torch.float32)
    stance_counts = np.bincount(data.stances[data.stances >= 0], minlength=len(schema.stances))
    stance_weight = torch.tensor(stance_counts.sum() / np.maximum(stance_counts, 1) / len(schema.stances), dtype=torch.float32)

    state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best": -1.0, "bad_epochs": 0, "history": [], "best_dev": {}}
    checkpoint = args.out / CHECKPOINT
    if args.resume:
        if not (checkpoint / "trainer_state.pt").exists():
            raise FincardError(f"--resume: no checkpoint in {checkpoint}; start without --resume")
        saved = torch.load(checkpoint / "trainer_state.pt", weights_only=True)
        load_transformer_weights(module, checkpoint)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        state = saved["state"]
        logger.warning("resuming at epoch %d, step %d", state["epoch"] + 1, state["step_in_epoch"])

    def save_checkpoint() -> None:
        save_transformer(module, config, schema, checkpoint)
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "state": plain_types(state)},
                   checkpoint / "trainer_state.pt")

    from tqdm import tqdm

    engine = TransformerEngine(module, tokenizer, config)
    try:
        while state["epoch"] < args.epochs and state["global_step"] < total_steps:
            batches = bucketed_batches(lengths, args.batch_size, args.seed + state["epoch"])
            module.train()
            # Training is long: show progress even in a log file, just less often there.
            bar = tqdm(batches, desc=f"epoch {state['epoch'] + 1}/{args.epochs}", unit="batch", initial=state["step_in_epoch"],
                       dynamic_ncols=True, mininterval=1 if sys.stderr.isatty() else 30)
            for batch in batches[state["step_in_epoch"]:]:
                batch_loss = backward_batch(module, data, batch, args.max_batch_tokens, tokenizer.pad_id, pos_weight, stance_weight)
                torch.nn.utils.clip_grad_norm_(lora_params + head_params, 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                state["step_in_epoch"] += 1
                state["global_step"] += 1
                bar.update(1)
                bar.set_postfix(loss=f"{batch_loss:.3f}")
                if state["global_step"] >= total_steps:
                    break
            bar.close()
            state["epoch"] += 1
            state["step_in_epoch"] = 0
            if dev_rows:
                score, dev_metrics = _evaluate_epoch(engine, module, schema, dev_rows, args, config)
            else:  # nothing to select on: every epoch counts as the best so far
                score, dev_metrics = float(state["epoch"]), {}
            state["history"].append({"epoch": state["epoch"], "selection": score})
            if score > state["best"]:
                state["best"], state["bad_epochs"], state["best_dev"] = score, 0, dev_metrics
                save_transformer(module, config, schema, args.out)
            else:
                state["bad_epochs"] += 1
            save_checkpoint()
            if state["bad_epochs"] >= args.patience:
                logger.warning("early stop: dev score did not improve for %d epoch(s)", args.patience)
                break
    except KeyboardInterrupt:
        save_checkpoint()
        raise Interrupted(f"checkpoint saved in {checkpoint}; continue with the same command plus --resume") from None
    shutil.rmtree(checkpoint, ignore_errors=True)
    backbone_terms = base / "GEMMA_TERMS.html"
    if backbone_terms.exists():
        shutil.copy(backbone_terms, args.out / "GEMMA_TERMS.html")
    return {"dev": state["best_dev"], "history": state["history"], "backbone_licence": BACKBONES[args.backbone].licence}


def backward_batch(module, data: Encoded, batch: list[int], max_tokens: int, pad_id: int, pos_weight, stance_weight) -> float:
    """Forward and backward over ``batch`` in pieces of at most ``max_tokens`` padded tokens; returns the batch's loss.

    Each piece's loss is a sum divided by the whole batch's labelled weight, so the accumulated gradient is the
    gradient of the batch's mean loss (class-weighted BCE over theme-labelled rows plus class-weighted cross-entropy).
    """
    import torch

    theme_loss = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")
    stance_loss = torch.nn.CrossEntropyLoss(weight=stance_weight, ignore_index=-100, reduction="sum")
    theme_rows = max(float(data.theme_mask[batch].sum()), 1.0)
    stance_total = max(float(stance_weight[[int(data.stances[i]) for i in batch if data.stances[i] >= 0]].sum()), 1e-12)
    lengths = {i: len(data.ids[i]) for i in batch}
    total = 0.0
    for piece in micro_batches(batch, lengths, max_tokens):
        ids, mask = pad_batch([data.ids[i] for i in piece], pad_id)
        with torch.autocast("cpu" if not torch.cuda.is_available() else "cuda", dtype=torch.bfloat16):
            theme_logits, stance_logits = module(ids, mask)
        row_mask = torch.tensor(data.theme_mask[piece])
        loss_t = (theme_loss(theme_logits.float(), torch.tensor(data.themes[piece])).mean(1) * row_mask).sum() / theme_rows
        loss = loss_t + stance_loss(stance_logits.float(), torch.tensor(data.stances[piece])) / stance_total
        loss.backward()
        total += loss.item()
    return total


def _evaluate_epoch(engine, module, schema: Schema, dev_rows, args: TrainArguments, config: ModelConfig) -> tuple[float, dict]:
    """Dev selection score and metrics, with the calibration and thresholds fitted on dev stored in ``config``."""
    module.eval()
    themes, stances = engine.scores([r.text for r in dev_rows], batch_size=args.batch_size * 2)
    metrics = tune(dev_rows, themes, stances, schema, config, str(args.dev))
    score = selection_score(metrics)
    logger.warning("dev: theme macro-F1 %.3f, stance macro-F1 %.3f", metrics.get("themes", {}).get("macro_f1", 0), metrics.get("stance", {}).get("macro_f1", 0))
    return score, metrics
