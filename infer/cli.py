"""The ``fincard`` command line: parse arguments, call the library, report errors without tracebacks.

Exit codes: 0 everything read and written; 1 some inputs or rows failed (see the error records);
2 usage errors (bad options, missing model, unreadable configuration).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path
from importlib.metadata import entry_points
from typing import Callable, Sequence

from tqdm import tqdm

from . import __version__
from .errors import ErrorLog, FincardError
from .bench import DEFAULT_TEXTS
from .readers import FORMATS, read_documents
from .render import RECORD_FORMATS, atomic_output, json_line, open_records, paragraph_row
from .summarize import DEFAULT_MAX_BULLETS, SHIPPED, VECTORS

# A convenience of the command line only: --data names of the team's real evaluation files, beside the checkout.
REAL_DATA = Path("..") / "shared" / "data" / "real"

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2

EPILOG = """exit codes:
  0  all inputs read and all outputs written
  1  some files or rows failed: one JSON error record {"file", "line", "error"} each,
     on stderr or in --errors FILE; the rest of the batch still completed
  2  usage error (bad option, missing model or file that the command itself needs)
"""


class _HelpFormatter(argparse.HelpFormatter):
    """Descriptions wrap to the terminal; the exit-code table keeps its lines."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text == EPILOG:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def add_command(commands: argparse._SubParsersAction, name: str, **kwargs) -> argparse.ArgumentParser:
    """A subcommand whose --help ends with the exit codes."""
    return commands.add_parser(name, epilog=EPILOG, formatter_class=_HelpFormatter, **kwargs)


def add_input_arguments(parser: argparse.ArgumentParser, errors_option: bool = True) -> None:
    """The input options every batch command shares."""
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="files, directories (every .txt/.md) or - for stdin")
    parser.add_argument("--format", choices=FORMATS, help="force the input format (default: from extension and content)")
    if errors_option:
        parser.add_argument("--errors", metavar="FILE", help="write error records here as JSONL instead of stderr")


def add_output_format_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output-format", choices=RECORD_FORMATS,
                        help="jsonl or parquet (default: parquet when the output name ends in .parquet, else jsonl)")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model`` and ``--batch-size`` for the commands that run the classifier."""
    parser.add_argument("--model", metavar="DIR", help="model folder (default: $FINCARD_MODEL or the shipped fincard-zh-v1)")
    parser.add_argument("--batch-size", type=int, default=32, help="paragraphs per batch (default: 32)")


def progress(iterable, desc: str, unit: str = "doc"):
    """A progress bar on stderr, shown only when stderr is a terminal."""
    return tqdm(iterable, desc=desc, unit=unit, disable=None, dynamic_ncols=True)


def _parse(args: argparse.Namespace) -> int:
    with ErrorLog(args.errors) as errors, open_records(args.output, "documents", args.output_format) as out:
        for doc in progress(read_documents(args.inputs, args.format, errors), "parse"):
            out.write(doc.to_dict())
    return EXIT_SOME_FAILED if errors.count else EXIT_OK


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {number}")
    return number


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def add_headline_argument(parser: argparse.ArgumentParser) -> None:
    """The card's two learned parts: the 核心观点 line and which sentences make the card."""
    parser.add_argument("--headline-model", metavar="DIR|none",
                        help="the 核心观点 ranker (default: the shipped fincard-headline-v1); "
                        "none: the best sentence, cut at a clause end like the bullets")
    parser.add_argument("--salience-model", metavar="DIR|none",
                        help="which sentences make the card, read from the classifier's hidden states (default: the "
                        "shipped fincard-salience-v1, with the classifier it was fitted on); none: the hand-weighted "
                        "score of text features (also what runs without a classifier)")


def add_summarizer_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vectors", choices=VECTORS, default="tfidf",
                        help="sentence vectors for centrality, title similarity and MMR: tfidf (jieba words, default) or "
                        "classifier (the model's pooled embeddings; needs the classifier, slower)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", dest="settings",
                        help="change one SummarizerConfig weight or limit, e.g. --set position=1.5 --set names=0.1 "
                        "(repeatable; the fields are listed in infer/summarize.py)")


def _fincard(args: argparse.Namespace, with_classifier: bool = True, gists: bool = True):
    """The library's FinCard for the command's options; every command that classifies or gists goes through it."""
    from .fincard import FinCard
    from .summarize import SummarizerConfig

    config = None
    if gists and hasattr(args, "settings"):
        config = SummarizerConfig.from_settings(args.settings, vectors=args.vectors)
        if config.vectors == "classifier" and not with_classifier:
            raise FincardError("--vectors classifier uses the classifier's embeddings: leave out --no-classifier")
    return FinCard.load(
        model=(args.model or SHIPPED) if with_classifier else None,
        headline=_learned_part(getattr(args, "headline_model", None) if gists else "none"),
        salience=_learned_part(getattr(args, "salience_model", None) if gists else "none"),
        config=config,
        max_bullets=getattr(args, "max_bullets", DEFAULT_MAX_BULLETS),
        batch_size=getattr(args, "batch_size", 32),
    )


def _learned_part(option: str | None):
    """A ``--headline-model``/``--salience-model`` value as ``FinCard.load`` takes it: ``none`` is None, unset is
    the shipped one."""
    return None if option == "none" else (option or SHIPPED)


def _summarize(args: argparse.Namespace) -> int:
    fincard = _fincard(args, not args.no_classifier)
    as_jsonl = str(args.output or "").lower().endswith((".jsonl", ".ndjson", ".json"))
    with ErrorLog(args.errors) as errors, atomic_output(args.output) as out:
        documents = progress(read_documents(args.inputs, args.format, errors), "summarize")
        for result in fincard(documents, args.batch_size):
            out.write(json_line(result.gist.to_dict()) if as_jsonl else result.gist.to_markdown() + "\n")
    return EXIT_SOME_FAILED if errors.count else EXIT_OK


def _eval_gist(args: argparse.Namespace) -> int:
    from .gist_eval import evaluate, read_eval_rows
    from .summarize import LeadSummarizer, SumySummarizer, TextRankSummarizer

    path = Path(args.data)
    if not path.exists() and (REAL_DATA / path).is_file():
        path = REAL_DATA / path
    if args.method == "fincard":
        summarizer = _fincard(args, not args.no_classifier).summarizer
    else:
        baselines = {"lead": LeadSummarizer, "textrank": TextRankSummarizer}
        summarizer = baselines[args.method]() if args.method in baselines else SumySummarizer(args.method.removeprefix("sumy-"))
    with ErrorLog(args.errors) as errors:
        rows = read_eval_rows(path, errors, args.split)
        report = evaluate(summarizer, rows, args.sentences, lambda rows: progress(rows, f"eval-gist {args.method}", "row"))
    report = {"data": str(path), "method": args.method, "split": args.split, **report}
    if args.method == "fincard":
        report["config"] = asdict(summarizer.config)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        lines = report["sentences"] or "as many as the reference"
        print(f"{report['data']} · method {args.method} · split {args.split or 'all'} · {report['rows']} rows · lines per gist: {lines}")
        if args.method == "fincard" and (args.vectors != "tfidf" or args.settings):
            print(f"summarizer  --vectors {args.vectors} {' '.join(f'--set {s}' for s in args.settings)}".rstrip())
        print(f"character F1  ROUGE-1 {report['rouge1']:.4f}  ROUGE-2 {report['rouge2']:.4f}  ROUGE-L {report['rougeL']:.4f}")
        if "selection" in report:
            sel = report["selection"]
            print(f"sentence selection ({sel['rows']} rows)  P {sel['precision']:.4f}  R {sel['recall']:.4f}  F1 {sel['f1']:.4f}"
                  f"  first line picked by the editor {sel['first_line']:.1%}")
        print(f"speed  {report['articles_per_s']} articles/s (summarize alone)")
    return EXIT_SOME_FAILED if errors.count else EXIT_OK


def _classify(args: argparse.Namespace) -> int:
    fincard = _fincard(args, gists=False)
    with ErrorLog(args.errors) as errors, open_records(args.output, "paragraphs", args.output_format) as out:
        documents = progress(read_documents(args.inputs, args.format, errors), "classify")
        for result in fincard(documents, args.batch_size, gists=False):
            for paragraph, prediction in zip(result.document.paragraphs, result.predictions):
                out.write(paragraph_row(result.document, paragraph, prediction))
    return EXIT_SOME_FAILED if errors.count else EXIT_OK


def _eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_scores, format_report, read_labelled

    from .classifier import Classifier

    classifier = Classifier.load(args.model)
    with ErrorLog(args.errors) as errors:
        rows = list(read_labelled(args.data, classifier.schema, errors))
    started = time.monotonic()
    themes, stances = classifier.scores([r.text for r in rows], args.batch_size)
    result = evaluate_scores(rows, themes, stances, classifier.schema, classifier.config.thresholds, by=args.by)
    result |= {"data": str(args.data), "model": str(classifier.folder), "paragraphs_per_s": round(len(rows) / max(time.monotonic() - started, 1e-9), 1)}
    print(json.dumps(result, ensure_ascii=False) if args.json else format_report(result, f"{args.data} ({classifier.folder})")
          + f"\n\nspeed: {result['paragraphs_per_s']} paragraphs/s")
    return EXIT_SOME_FAILED if errors.count else EXIT_OK


def _run(args: argparse.Namespace) -> int:
    if args.ray is not None:
        return _run_ray(args)
    from .pipeline import run

    fincard = _fincard(args)
    bar = tqdm(desc="run", unit="doc", disable=None, dynamic_ncols=True)

    def on_progress(documents: int, paragraphs: int) -> None:
        bar.update(1)
        bar.set_postfix(paragraphs=paragraphs, refresh=False)

    try:
        summary = run(args.inputs, args.output, fincard, args.resume, args.batch_size, args.format, on_progress,
                      args.output_format or "jsonl")
    except KeyboardInterrupt:
        bar.close()
        print(f"fincard run: interrupted; {args.output} is consistent: rerun the same command with --resume", file=sys.stderr)
        return 130
    bar.close()
    print(summary.format(fincard.classifier.schema))
    if args.report:
        from .report import write_report

        print(f"report: {write_report(args.output)}")
    if summary.errors:
        print(f"{summary.errors} input errors: see {Path(args.output) / 'errors.jsonl'}", file=sys.stderr)
    return EXIT_SOME_FAILED if summary.errors else EXIT_OK


def _ray_address(value: str) -> str:
    """``--ray [ADDRESS]``: refuse an input path taken for the address (``--ray`` goes after the inputs)."""
    import re

    if value in ("local", "auto") or "://" in value or re.fullmatch(r"[\w.-]+:\d+", value):
        return value
    raise argparse.ArgumentTypeError(f"{value!r} is not a Ray address (auto, ray://HOST:10001 or HOST:PORT): "
                                     "put --ray after the inputs, e.g. fincard run data/ -o out/ --ray")


def _run_ray(args: argparse.Namespace) -> int:
    """``fincard run --ray``: the job on Ray Data (infer/distributed.py), shards under OUTDIR."""
    from .distributed import run_ray

    logging.getLogger("ray.data").setLevel(logging.INFO if args.verbose else logging.WARNING)
    bar = tqdm(desc="run --ray", unit="doc", disable=None, dynamic_ncols=True)

    def on_progress(documents: int, paragraphs: int) -> None:
        bar.update(documents - bar.n)
        bar.set_postfix(paragraphs=paragraphs, refresh=False)

    try:
        summary = run_ray(args.inputs, args.output, address=None if args.ray == "local" else args.ray,
                          model=args.model, options=_ray_fincard_options(args), batch_size=args.batch_size,
                          format=args.format, output_format=args.output_format or "parquet", resume=args.resume,
                          cpus_per_actor=args.ray_cpus, on_progress=on_progress)
    except KeyboardInterrupt:
        bar.close()
        print(f"fincard run: interrupted; rerun the same command with --resume to carry on in {args.output}", file=sys.stderr)
        return 130
    bar.close()
    print(summary.format(summary.schema))
    print(f"{summary.actors} Ray actors · shards in {Path(args.output) / 'paragraphs'} and {Path(args.output) / 'cards'}"
          f" · 'fincard merge {args.output}' writes paragraphs.jsonl, cards.jsonl and cards.md")
    if summary.errors:
        print(f"{summary.errors} input errors: see {Path(args.output) / 'errors.jsonl'}", file=sys.stderr)
    return EXIT_SOME_FAILED if summary.errors else EXIT_OK


def _ray_fincard_options(args: argparse.Namespace) -> dict:
    """What :func:`_fincard` gives ``FinCard.load`` besides the model, for the Ray actors to load the same FinCard."""
    options = {"max_bullets": args.max_bullets}
    for option, name in (("headline", "headline_model"), ("salience", "salience_model")):
        if hasattr(args, name):
            options[option] = _learned_part(getattr(args, name))
    return options


def _merge(args: argparse.Namespace) -> int:
    from .distributed import merge

    counts = merge(args.outdir, args.output_format)
    extension = ".parquet" if args.output_format == "parquet" else ".jsonl"
    print(f"{counts['documents']} documents, {counts['paragraphs']} paragraphs from {counts['chunks']} chunks → "
          f"{Path(args.outdir) / ('paragraphs' + extension)}, {Path(args.outdir) / ('cards' + extension)}, "
          f"{Path(args.outdir) / 'cards.md'}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from .report import write_report

    print(write_report(args.outdir, args.output, title=args.title))
    return EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    from .bench import format_bench, run_bench

    if args.ray is not None:
        from .bench import format_ray_bench, ray_bench

        result = ray_bench(args.model, args.run_articles or 1000, None if args.ray == "local" else args.ray,
                           args.batch_size, args.texts)
        print(json.dumps(result) if args.json else format_ray_bench(result))
        return EXIT_OK
    result = run_bench(args.model, args.n, args.repeats, args.batch_size, args.int8, args.run_articles, args.texts)
    print(json.dumps(result) if args.json else format_bench(result))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fincard",
        description="Label Chinese financial news paragraphs by theme and stance, and write cited card gists.",
        epilog=EPILOG,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fincard {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail on stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    parse = add_command(
        commands,
        "parse",
        help="read inputs and write each document as one JSON line (or Parquet row)",
        description="Read articles (search-page cards, text/Markdown, JSONL, CSV, Parquet) and write the parsed documents "
        "as JSON lines, or as Parquet when the output name ends in .parquet: id, title, source, date and numbered "
        "paragraphs with sections and citations.",
    )
    add_input_arguments(parse)
    parse.add_argument("-o", "--output", metavar="OUT.jsonl|OUT.parquet", help="output file (default: JSON lines on stdout)")
    add_output_format_argument(parse)
    parse.set_defaults(run=_parse)

    summarize = add_command(
        commands,
        "summarize",
        help="write an extractive card gist of each document, every line citing its paragraphs",
        description="Write a card per document: title, source line, 核心观点 and bullets, each a sentence of the "
        "article ending with the numbers of the paragraphs it comes from ([n]). Markdown cards (which 'fincard parse' "
        "reads back), or JSON lines when the output name ends in .jsonl.",
    )
    add_input_arguments(summarize)
    summarize.add_argument("-o", "--output", metavar="cards.md|cards.jsonl", help="output file (default: Markdown on stdout)")
    summarize.add_argument("--max-bullets", type=_positive, default=DEFAULT_MAX_BULLETS, metavar="N",
                           help=f"the most lines on a card; short articles get fewer, 1 gives the 核心观点 line alone "
                           f"(default {DEFAULT_MAX_BULLETS})")
    add_model_arguments(summarize)
    summarize.add_argument("--no-classifier", action="store_true", help="skip the classifier: faster, bullets not grouped by theme")
    add_headline_argument(summarize)
    add_summarizer_arguments(summarize)
    summarize.set_defaults(run=_summarize)

    eval_gist = add_command(
        commands,
        "eval-gist",
        help="score gists against reference lines (character ROUGE) and marked sentences (P/R/F1)",
        description="Summarize every row of a JSONL file {text or paragraphs, gist: [str], gist_sentences?: [str]} and "
        "report mean character ROUGE-1/2/L F1 against 'gist', sentence-selection precision/recall/F1 for rows "
        "with 'gist_sentences', and articles per second. A --data name that is not a file here is looked up in "
        "../shared/data/real/.",
    )
    eval_gist.add_argument("--data", required=True, metavar="FILE.jsonl", help="the evaluation rows")
    eval_gist.add_argument("--method", choices=("fincard", "lead", "textrank", "sumy-textrank", "sumy-lexrank"), default="fincard",
                           help="summarizer (default fincard); lead and textrank are fincard's baselines, sumy-* the "
                           "reference implementations (pip install 'fincard[eval]')")
    eval_gist.add_argument("--sentences", type=_non_negative, metavar="N",
                           help="lines per gist, headline included (default: as many as each row's reference)")
    eval_gist.add_argument("--split", metavar="NAME", help="only rows whose 'split' is NAME (e.g. dev)")
    eval_gist.add_argument("--model", metavar="DIR", help="the classifier for --method fincard (default: $FINCARD_MODEL or the shipped fincard-zh-v1)")
    eval_gist.add_argument("--no-classifier", action="store_true", help="summarize without the classifier (and so without the salience model)")
    add_headline_argument(eval_gist)
    add_summarizer_arguments(eval_gist)
    eval_gist.add_argument("--errors", metavar="FILE", help="write bad-row records here as JSONL instead of stderr")
    eval_gist.add_argument("--json", action="store_true", help="print the report as one JSON object")
    eval_gist.set_defaults(run=_eval_gist)

    classify = add_command(
        commands,
        "classify",
        help="label every paragraph by theme and stance",
        description="Read articles and write one JSON line per paragraph: doc_id, paragraph, section, text, themes, "
        "theme_scores, stance, stance_scores.",
    )
    add_input_arguments(classify)
    classify.add_argument("-o", "--output", metavar="OUT.jsonl|OUT.parquet", help="output file (default: JSON lines on stdout)")
    add_output_format_argument(classify)
    add_model_arguments(classify)
    classify.set_defaults(run=_classify)

    evaluate = add_command(
        commands,
        "eval",
        help="score a model on labelled paragraphs",
        description="Per-theme P/R/F1, micro and macro F1, stance macro-F1, accuracy, confusion matrix and calibration "
        "error on a labelled JSONL ({text, themes?, stance?}; rows lacking a field are skipped for that task).",
    )
    evaluate.add_argument("--data", required=True, help="labelled JSONL")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    evaluate.add_argument("--by", metavar="FIELD",
                          help="report failure rates per value of this row field, e.g. capability (a case fails on a "
                          "wrong stance or theme set; an INV group fails whole when its members' predictions differ)")
    add_model_arguments(evaluate)
    evaluate.add_argument("--errors", metavar="FILE", help="write error records here as JSONL instead of stderr")
    evaluate.set_defaults(run=_eval)

    run_parser = add_command(
        commands,
        "run",
        help="the whole job: classify every paragraph and gist every document into OUTDIR",
        description="Parse, classify every paragraph and build every gist, writing OUTDIR/paragraphs.jsonl, "
        "OUTDIR/cards.jsonl, OUTDIR/cards.md (and OUTDIR/errors.jsonl when inputs failed). Streams with bounded "
        "memory; outputs are renamed into place at the end; after a crash or Ctrl-C, --resume continues.",
    )
    add_input_arguments(run_parser, errors_option=False)
    run_parser.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    run_parser.add_argument("--output-format", choices=RECORD_FORMATS,
                            help="paragraphs and cards as jsonl (default) or parquet (written at the end; cards.md either way); "
                            "with --ray the format of the shards (default parquet)")
    run_parser.add_argument("--max-bullets", type=_positive, default=DEFAULT_MAX_BULLETS, metavar="N",
                            help=f"the most lines on a card; short articles get fewer (default: {DEFAULT_MAX_BULLETS})")
    run_parser.add_argument("--resume", action="store_true", help="skip documents already finished in OUTDIR")
    run_parser.add_argument("--report", action="store_true", help="also write OUTDIR/report.html (see fincard report)")
    add_model_arguments(run_parser)
    add_headline_argument(run_parser)
    run_parser.add_argument("--ray", nargs="?", const="local", type=_ray_address, metavar="ADDRESS",
                            help="run on Ray Data (pip install 'fincard[ray]'): no ADDRESS starts a local Ray on this "
                            "machine, 'auto' or ray://HOST:10001 joins a cluster; writes Parquet shards under "
                            "OUTDIR/paragraphs/ and OUTDIR/cards/ ('fincard merge OUTDIR' gathers them); put it after the inputs")
    run_parser.add_argument("--ray-cpus", type=_positive, default=2, metavar="N",
                            help="with --ray: CPUs and torch threads per actor, one model each (default: 2)")
    run_parser.set_defaults(run=_run)

    merge = add_command(
        commands,
        "merge",
        help="gather the shards of 'fincard run --ray' into paragraphs.jsonl, cards.jsonl and cards.md",
        description="Write OUTDIR/paragraphs.jsonl, OUTDIR/cards.jsonl (or both as .parquet) and OUTDIR/cards.md from "
        "the shards a 'fincard run --ray' left under OUTDIR/paragraphs/ and OUTDIR/cards/, in input order: the "
        "files a local 'fincard run' writes.",
    )
    merge.add_argument("outdir", metavar="OUTDIR", help="the -o folder of 'fincard run --ray'")
    merge.add_argument("--output-format", choices=RECORD_FORMATS, default="jsonl",
                       help="paragraphs and cards as jsonl (default) or parquet; cards.md either way")
    merge.set_defaults(run=_merge)

    report = add_command(
        commands,
        "report",
        help="the cards of a run as one offline HTML page, with filters and charts",
        description="Read a fincard run's OUTDIR (cards and paragraphs, JSON lines or Parquet) and write one "
        "self-contained HTML page: the cards in the seed's layout, each [n] opening its paragraph with its labels and "
        "scores; a search box and theme, stance, source and date filters; charts of theme x stance counts and stance "
        "over time. Nothing is loaded from the network. Needs matplotlib: pip install 'fincard[report]'.",
    )
    report.add_argument("outdir", metavar="OUTDIR", help="the output folder of a fincard run")
    report.add_argument("-o", "--output", metavar="report.html", help="the page to write (default: OUTDIR/report.html)")
    report.add_argument("--title", help="the page's title (default: the folder's name)")
    report.set_defaults(run=_report)

    bench = add_command(
        commands,
        "bench",
        help="time the inference engine against plain transformers",
        description="Paragraphs/s of plain transformers (merged fp32, input order, batches of 32) and of fincard's "
        "engine on the same paragraphs (labels test + seeds, repeated to N), their ratio and agreement, peak RSS, "
        "cold start, and the engine's GFLOPS against this machine's bf16 and fp32 matmul peak.",
    )
    bench.add_argument("--n", type=int, default=2000, help="paragraphs to time (default: 2000)")
    bench.add_argument("--repeats", type=int, default=3, help="timed repeats, the median is reported (default: 3)")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--int8", action="store_true", help="also time int8 dynamic quantisation and its agreement")
    bench.add_argument("--run-articles", type=_non_negative, default=0, metavar="N",
                       help="also time 'fincard run' end to end on N articles of 8 bench paragraphs (default: 0, skip)")
    bench.add_argument("--texts", nargs="+", default=list(DEFAULT_TEXTS), metavar="PATH",
                       help="where the bench paragraphs come from: labelled JSONL (their single-paragraph rows) or any "
                       "input (default: labels/corpus/test.jsonl seeds, from the repository root)")
    bench.add_argument("--ray", nargs="?", const="local", type=_ray_address, metavar="ADDRESS",
                       help="instead: time 'fincard run' and 'fincard run --ray' (local Ray, or the cluster at ADDRESS) "
                       "on the same --run-articles articles (default 1000) and compare their labels")
    add_model_arguments(bench)
    bench.set_defaults(run=_bench)

    # Packages that build on infer (train: train/eval/labels) add their commands through this entry-point group,
    # so infer never imports them.
    for entry in entry_points(group="fincard.commands"):
        register: Callable[[argparse._SubParsersAction], None] = entry.load()
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="fincard: %(message)s")
    try:
        return args.run(args)
    except FincardError as exc:
        print(f"fincard {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"fincard {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
