"""The ``fincard`` command line: parse arguments, call the library, report errors without tracebacks.

Exit codes: 0 everything read and written; 1 some inputs or rows failed (see the error records);
2 usage errors (bad options, missing model, unreadable configuration).
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib.metadata import entry_points
from typing import Callable, Sequence

from tqdm import tqdm

from . import __version__
from .errors import ErrorLog, FincardError
from .readers import FORMATS, read_documents
from .render import atomic_output, json_line

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2

EPILOG = """exit codes:
  0  all inputs read and all outputs written
  1  some files or rows failed: one JSON error record {"file", "line", "error"} each,
     on stderr or in --errors FILE; the rest of the batch still completed
  2  usage error (bad option, missing model or file that the command itself needs)
"""


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """The input options every batch command shares."""
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="files, directories (every .txt/.md) or - for stdin")
    parser.add_argument("--format", choices=FORMATS, help="force the input format (default: from extension and content)")
    parser.add_argument("--errors", metavar="FILE", help="write error records here as JSONL instead of stderr")


def progress(iterable, desc: str, unit: str = "doc"):
    """A progress bar on stderr, shown only when stderr is a terminal."""
    return tqdm(iterable, desc=desc, unit=unit, disable=None, dynamic_ncols=True)


def _parse(args: argparse.Namespace) -> int:
    with ErrorLog(args.errors) as errors, atomic_output(args.output) as out:
        for doc in progress(read_documents(args.inputs, args.format, errors), "parse"):
            out.write(json_line(doc.to_dict()))
    return EXIT_SOME_FAILED if errors.count else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fincard",
        description="Label Chinese financial news paragraphs by theme and stance, and write cited card gists.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fincard {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail on stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    parse = commands.add_parser(
        "parse",
        help="read inputs and write each document as one JSON line",
        description="Read articles (search-page cards, text/Markdown, JSONL, CSV) and write the parsed documents "
        "as JSON lines: id, title, source, date and numbered paragraphs with sections and citations.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parse)
    parse.add_argument("-o", "--output", metavar="OUT.jsonl", help="output file (default: stdout)")
    parse.set_defaults(run=_parse)

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
