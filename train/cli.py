"""``fincard train``, ``train-headline``, ``train-salience``, ``calibrate`` and ``labels check``: registered through the
``fincard.commands`` entry point."""

from __future__ import annotations

import argparse
import dataclasses
import json

from infer.cli import EXIT_OK, EXIT_SOME_FAILED, add_command, progress
from infer.errors import ErrorLog

from .args import HeadlineArguments, SalienceArguments, TrainArguments


def _from_namespace(arguments: type, args: argparse.Namespace):
    """The arguments dataclass built from the parsed options that are its fields (validated by its __post_init__)."""
    fields = {f.name for f in dataclasses.fields(arguments)}
    return arguments(**{k: v for k, v in vars(args).items() if k in fields})


def _train(args: argparse.Namespace) -> int:
    from .trainer import Interrupted, train

    try:
        metrics = train(_from_namespace(TrainArguments, args))
    except Interrupted as exc:
        print(f"fincard train: interrupted: {exc}")
        return 130
    dev = metrics.get("dev") or {}
    print(json.dumps({
        "out": str(args.out),
        "dev_theme_macro_f1": dev.get("themes", {}).get("macro_f1"),
        "dev_stance_macro_f1": dev.get("stance", {}).get("macro_f1"),
        "train_seconds": metrics["train_seconds"],
    }))
    return EXIT_OK


def _train_headline(args: argparse.Namespace) -> int:
    from .headline import fit_headline, write_headline_card

    arguments = _from_namespace(HeadlineArguments, args)
    with ErrorLog(args.errors) as errors:
        ranker, report = fit_headline(arguments, errors, lambda rows: progress(rows, "train-headline", "row"))
    ranker.save(arguments.out)
    write_headline_card(arguments, report)
    print(json.dumps({"out": str(arguments.out), **{k: v for k, v in report.items() if k != "weights"}}, ensure_ascii=False))
    return EXIT_SOME_FAILED if errors.count else EXIT_OK


def _train_salience(args: argparse.Namespace) -> int:
    from .salience import fit_salience, write_salience_card

    arguments = _from_namespace(SalienceArguments, args)
    with ErrorLog(args.errors) as errors:
        model, report = fit_salience(arguments, errors, lambda rows: progress(rows, "train-salience", "article"))
    model.save(arguments.out)
    write_salience_card(arguments, report)
    print(json.dumps({"out": str(arguments.out), **report}, ensure_ascii=False))
    return EXIT_SOME_FAILED if errors.count else EXIT_OK


def _calibrate(args: argparse.Namespace) -> int:
    from infer.classifier import Classifier
    from infer.evaluate import evaluate_scores, read_labelled

    from .trainer import tune

    classifier = Classifier.load(args.model)
    config, schema = classifier.config, classifier.schema
    with ErrorLog(args.errors) as errors:
        rows = list(read_labelled(args.dev, schema, errors))
    themes, stances = classifier.raw_scores([r.text for r in rows], args.batch_size)
    before = evaluate_scores(rows, *config.calibration.apply(themes, stances, schema.theme_ids), schema, config.thresholds)
    after = tune(rows, themes, stances, schema, config, str(args.dev))
    config.save(classifier.folder)

    def summary(metrics: dict) -> dict:
        return {f"{task}_{name}": round(metrics[task][name], 4) for task, name in
                (("themes", "micro_f1"), ("themes", "ece"), ("stance", "macro_f1"), ("stance", "ece")) if task in metrics}

    print(json.dumps({"model": str(classifier.folder), "dev": str(args.dev), "before": summary(before), "after": summary(after),
                      "stance_temperature": config.calibration.stance_temperature, "thresholds": config.thresholds}))
    return EXIT_SOME_FAILED if errors.count else EXIT_OK


def _labels_check(args: argparse.Namespace) -> int:
    from .corpus import check_corpus

    report = check_corpus(args.paths, args.schema)
    print(report.format())
    return EXIT_SOME_FAILED if report.errors else EXIT_OK


def _add_fields(parser: argparse.ArgumentParser, arguments: type, names: tuple[str, ...]) -> None:
    """One option per dataclass field, typed by its default, explained by its ``help`` metadata."""
    fields = arguments.__dataclass_fields__
    for name in names:
        default = fields[name].default
        parser.add_argument("--" + name.replace("_", "-"), type=type(default), default=default,
                            help=f"{fields[name].metadata.get('help', '')} (default: {default})".lstrip())


def register(commands: argparse._SubParsersAction) -> None:
    defaults = TrainArguments.__dataclass_fields__
    train = add_command(
        commands,
        "train",
        help="fine-tune a paragraph classifier on labelled JSONL",
        description="Fine-tune LoRA adapters and theme/stance heads on an offline backbone (or fit the TF-IDF baseline). "
        "Rows: {\"text\", \"themes\": [...], \"stance\"}. Ctrl-C saves a checkpoint; rerun with --resume.",
    )
    train.add_argument("--train", required=True, help="labelled JSONL to train on")
    train.add_argument("--dev", help="labelled JSONL for threshold tuning and early stopping")
    train.add_argument("--out", required=True, help="model folder to write")
    train.add_argument("--schema", help="label schema JSON (default: labels/schema.json)")
    train.add_argument("--backbone", default=defaults["backbone"].default, help="gemma-3-270m (default), m3e-small, tiny-random or tfidf")
    train.add_argument("--pooling", default=defaults["pooling"].default, choices=["mean", "last"],
                       help="pool the last real token or the mean of all (default: %(default)s)")
    _add_fields(train, TrainArguments, ("epochs", "batch_size", "learning_rate", "head_learning_rate", "lora_r", "lora_alpha",
                                        "max_length", "max_batch_tokens", "patience", "seed"))
    train.add_argument("--max-steps", type=int, help="stop after this many optimiser steps (smoke tests)")
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    train.set_defaults(run=_train)

    headline = add_command(
        commands,
        "train-headline",
        help="fit the 核心观点 ranker to flashes and their editors' titles",
        description="Fit a ridge regression that rates every run of whole clauses of an article's best sentences by "
        "its predicted character ROUGE-L against the editor's title (rows {text or paragraphs, gist: [title], split}). "
        "Fits on the tune rows, picks the ridge penalty on the dev rows, and writes OUT/headline.json and a card.",
    )
    headline.add_argument("--data", required=True, metavar="FILE.jsonl", help="flashes with titles, e.g. labels/headlines.jsonl")
    headline.add_argument("--out", required=True, metavar="DIR", help="model folder to write")
    _add_fields(headline, HeadlineArguments, ("tune_split", "dev_split", "max_sentences", "min_chars", "max_chars"))
    headline.add_argument("--errors", metavar="FILE", help="write bad-row records here as JSONL instead of stderr")
    headline.set_defaults(run=_train_headline)

    salience = add_command(
        commands,
        "train-salience",
        help="fit the salience model (which sentences make the card) to articles and their editors' picks",
        description="Fit a logistic regression over the classifier's hidden state at each sentence's end and the "
        "summarizer's text features to the sentences an editor picked (rows {text or paragraphs, gist_sentences, "
        "split}). Fits on the tune rows, chooses the penalty by cross-validation over articles, and writes "
        "OUT/salience.json and a card.",
    )
    salience.add_argument("--data", required=True, metavar="FILE.jsonl", help="articles with picks, e.g. labels/articles.jsonl")
    salience.add_argument("--out", required=True, metavar="DIR", help="model folder to write")
    salience.add_argument("--model", metavar="DIR", help="the classifier whose hidden states it reads (default: the shipped one)")
    _add_fields(salience, SalienceArguments, ("tune_split", "folds"))
    salience.add_argument("--errors", metavar="FILE", help="write bad-row records here as JSONL instead of stderr")
    salience.set_defaults(run=_train_salience)

    calibrate = add_command(
        commands,
        "calibrate",
        help="fit a model's score calibration and theme thresholds to labelled dev rows",
        description="Refit what `fincard train` fits at its best epoch: Platt scaling per theme and a stance "
        "temperature on the model's raw scores of the dev rows, then per-theme thresholds on the calibrated scores "
        "(the cut nearest 0.5 within 0.01 of the best F1). Writes them into MODEL/config.json; the weights stay.",
    )
    calibrate.add_argument("--model", required=True, metavar="DIR", help="model folder to calibrate (rewritten in place)")
    calibrate.add_argument("--dev", required=True, metavar="FILE.jsonl", help="labelled dev rows, never the test split")
    calibrate.add_argument("--batch-size", type=int, default=32, help="paragraphs per batch (default: %(default)s)")
    calibrate.add_argument("--errors", metavar="FILE", help="write bad-row records here as JSONL instead of stderr")
    calibrate.set_defaults(run=_calibrate)

    labels = add_command(commands, "labels", help="check labelled corpora").add_subparsers(dest="labels_command", required=True)
    check = labels.add_parser(
        "check",
        help="validate labelled JSONL and print corpus statistics",
        description="Schema validity, unknown labels, empty or over-long text, exact and near duplicates "
        "(character 5-gram Jaccard >= 0.5, within and across splits), Traditional characters; then counts per theme, "
        "stance, style, split and length. Exits 1 when there are errors.",
    )
    check.add_argument("paths", nargs="+", help="JSONL files or folders of them")
    check.add_argument("--schema", help="label schema JSON (default: labels/schema.json)")
    check.set_defaults(run=_labels_check)



