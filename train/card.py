"""The model card (``README.md`` in the model folder): data, backbone and licence, every number with its command."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from infer.schema import Schema

from .args import TrainArguments


def _metric_lines(metrics: dict[str, Any]) -> list[str]:
    lines = []
    if "themes" in metrics:
        t = metrics["themes"]
        lines.append(f"| themes micro-F1 | {t['micro_f1']:.3f} |")
        lines.append(f"| themes macro-F1 | {t['macro_f1']:.3f} |")
        if "ece" in t:
            lines.append(f"| themes ECE (calibrated on dev itself) | {t['ece']:.3f} |")
    if "stance" in metrics:
        s = metrics["stance"]
        lines.append(f"| stance macro-F1 | {s['macro_f1']:.3f} |")
        lines.append(f"| stance accuracy | {s['accuracy']:.3f} |")
        lines.append(f"| stance ECE (calibrated on dev itself) | {s['ece']:.3f} |")
    return lines


def write_card(args: TrainArguments, schema: Schema, metrics: dict[str, Any]) -> None:
    command = " ".join(["fincard train", *_options(args)])
    dev = metrics.get("dev") or {}
    config = _config(args) if dev else None
    thresholds = ", ".join(f"{k} {v:.3f}" for k, v in sorted(config.thresholds.items())) if config else "0.5 (no dev data)"
    calibration = (f"Platt scaling per theme and a stance temperature of {config.calibration.stance_temperature} fitted on "
                   "dev's raw scores at the best epoch (`fincard calibrate` refits them)" if config else "none (no dev data)")
    text = [
        f"# {args.out.name}",
        "",
        f"Paragraph classifier for Chinese financial text: themes ({', '.join(schema.theme_ids)}; multi-label) "
        f"and stance ({', '.join(schema.stance_ids)}).",
        "",
        "## Recipe",
        "",
        f"- Backbone: `{args.backbone}` ({metrics.get('backbone_licence', 'scikit-learn baseline')}), "
        f"pooling `{args.pooling}`, LoRA r={args.lora_r} alpha={args.lora_alpha} on attention and MLP projections; "
        "theme head (sigmoid) and stance head (softmax) fully trained; class-weighted losses."
        if args.backbone != "tfidf" else "- Backbone: character 1-3-gram TF-IDF + logistic regression (baseline).",
        f"- Data: `{args.train}` ({metrics.get('train_rows')} rows)" + (f", dev `{args.dev}` ({metrics.get('dev_rows')} rows)" if args.dev else ""),
        f"- Epochs {args.epochs} (early stopping, patience {args.patience}), batch {args.batch_size}, "
        f"learning rate {args.learning_rate} (heads {args.head_learning_rate}), max length {args.max_length}, seed {args.seed}; "
        f"trained in {metrics.get('train_seconds')} s.",
        f"- Calibration: {calibration}.",
        f"- Theme thresholds tuned on dev's calibrated scores (the cut nearest 0.5 within 0.01 of the best F1): {thresholds}.",
        "",
        "Reproduce:",
        "",
        "```bash",
        command,
        "```",
        "",
        "## Dev metrics (written by the training run)",
        "",
        "| metric | value |",
        "|---|---|",
        *(_metric_lines(dev) or ["| (no dev data) | |"]),
        "",
        "Evaluate on any labelled JSONL with `fincard eval --model " + str(args.out) + " --data FILE.jsonl`.",
        "",
    ]
    if args.backbone == "gemma-3-270m":
        text += ["## Licence", "", "The backbone is Gemma 3 270M: use is subject to the Gemma Terms of Use (`GEMMA_TERMS.html`).", ""]
    (args.out / "README.md").write_text("\n".join(text), encoding="utf-8")


def _options(args: TrainArguments) -> list[str]:
    """The command-line options that reproduce ``args``: the paths, then every setting that differs from its default."""
    options = []
    for f in fields(args):
        value = getattr(args, f.name)
        if f.name in ("train", "out") or (value is not None and value != f.default and f.name != "resume"):
            options.append(f"--{f.name.replace('_', '-')} {value}")
    return options


def _config(args: TrainArguments):
    from infer.model import ModelConfig

    return ModelConfig.load(args.out)
