"""``fincard run``: parse → classify every paragraph → gist every document → write, streaming and resumable.

OUTDIR gets ``paragraphs.jsonl``, ``cards.jsonl`` (or both as ``.parquet``), ``cards.md`` and, when any input failed,
``errors.jsonl``. While a
run is going they are ``*.part`` files, appended one whole document at a time and renamed into place at the end;
a document counts as done once its ``cards.jsonl`` line is written, so after a crash or Ctrl-C ``--resume`` drops
the unfinished document's rows and carries on after the last finished one.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .card import Gist
from .document import Document
from .errors import ConfigError, ErrorLog, FincardError
from .fincard import FinCard
from .readers import read_documents
from .render import RECORD_FORMATS, json_line, jsonl_to_parquet, paragraph_row, read_records

OUTPUTS = ("paragraphs.jsonl", "cards.jsonl", "errors.jsonl")


def document_key(doc: Document) -> str:
    """Identity for resuming: the id plus a content hash, so a changed or re-numbered input is redone."""
    return f"{doc.id}|{doc.content_hash()}"


@dataclass
class RunSummary:
    documents: int = 0
    skipped: int = 0
    paragraphs: int = 0
    errors: int = 0
    seconds: float = 0.0
    labels: Counter = field(default_factory=Counter)  # (theme or "(none)", stance) -> paragraphs

    def format(self, schema) -> str:
        rate = self.documents / self.seconds if self.seconds else 0.0
        lines = [
            f"documents {self.documents} (+{self.skipped} already done) · paragraphs {self.paragraphs} · errors {self.errors}",
            f"throughput {rate:.1f} documents/s, {self.paragraphs / self.seconds if self.seconds else 0:.1f} paragraphs/s ({self.seconds:.1f} s)",
            "",
            f"{'theme':<16}" + "".join(f"{s:>10}" for s in schema.stance_ids),
        ]
        for theme in [*schema.theme_ids, "(none)"]:
            lines.append(f"{theme:<16}" + "".join(f"{self.labels[theme, s]:>10}" for s in schema.stance_ids))
        return "\n".join(lines)


class RunDirectory:
    """The part files of one run and which documents they already hold."""

    def __init__(self, outdir: Path, resume: bool, output_format: str = "jsonl"):
        self.outdir = outdir
        self.output_format = output_format
        outdir.mkdir(parents=True, exist_ok=True)
        self.part = {name: outdir / f"{name}.part" for name in OUTPUTS}
        interrupted = self.part["cards.jsonl"].exists()
        if interrupted and not resume:
            raise FincardError(f"{outdir} holds an interrupted run: add --resume to continue it, or choose another -o")
        if resume and not interrupted:
            self._reopen_finished()
        self.done = self._finished_documents() if resume else set()
        if not resume:
            for path in self.part.values():
                path.unlink(missing_ok=True)
        self._drop_unfinished()
        self.streams = {name: path.open("a", encoding="utf-8") for name, path in self.part.items() if name != "errors.jsonl"}

    def _reopen_finished(self) -> None:
        """Continue a finished run: its outputs become part files again and new inputs are appended to them."""
        for name in OUTPUTS:
            finished, parquet = self.outdir / name, (self.outdir / name).with_suffix(".parquet")
            if finished.exists():
                os.replace(finished, self.part[name])
            elif parquet.exists() and name != "errors.jsonl":
                with self.part[name].open("w", encoding="utf-8") as out:
                    out.writelines(json_line(row) for row in read_records(parquet))
                parquet.unlink()

    def _finished_documents(self) -> set[str]:
        path = self.part["cards.jsonl"]
        if not path.exists():
            return set()
        done = set()
        with path.open(encoding="utf-8") as stream:
            for line in stream:
                try:
                    done.add(json.loads(line)["key"])
                except (json.JSONDecodeError, KeyError):
                    break  # a torn last line from a crash: that document is redone
        return done

    def _drop_unfinished(self) -> None:
        """Keep only rows of finished documents (a crash can leave a document's paragraphs without its card)."""
        for name in ("paragraphs.jsonl", "cards.jsonl"):
            path = self.part[name]
            if not path.exists():
                continue
            kept = []
            with path.open(encoding="utf-8") as stream:
                for line in stream:
                    try:
                        if json.loads(line)["key"] in self.done:
                            kept.append(line)
                    except (json.JSONDecodeError, KeyError):
                        continue
            tmp = path.with_suffix(".tmp")
            tmp.write_text("".join(kept), encoding="utf-8")
            os.replace(tmp, path)

    def write(self, paragraph_rows: list[dict[str, Any]], card: dict[str, Any]) -> None:
        """One whole document: its paragraph rows, then its card line (the commit marker)."""
        self.streams["paragraphs.jsonl"].write("".join(json_line(r) for r in paragraph_rows))
        self.streams["paragraphs.jsonl"].flush()
        self.streams["cards.jsonl"].write(json_line(card))
        self.streams["cards.jsonl"].flush()

    def close(self) -> None:
        for stream in self.streams.values():
            stream.close()

    def finish(self) -> None:
        """Rename the part files into place and render ``cards.md`` from ``cards.jsonl``."""
        self.close()
        markdown = self.outdir / "cards.md.part"
        with self.part["cards.jsonl"].open(encoding="utf-8") as cards, markdown.open("w", encoding="utf-8") as out:
            for line in cards:
                out.write(Gist.from_dict(json.loads(line)).to_markdown() + "\n")
        for name, path in self.part.items():
            if not path.exists():
                continue
            if self.output_format == "parquet" and name != "errors.jsonl":  # error records stay JSONL, for people
                jsonl_to_parquet(path, (self.outdir / name).with_suffix(".parquet"), name.split(".")[0])
                path.unlink()
            else:
                os.replace(path, self.outdir / name)
        os.replace(markdown, self.outdir / "cards.md")


def run(
    inputs: list[str],
    outdir: str | Path,
    fincard: FinCard,
    resume: bool = False,
    batch_size: int = 32,
    format: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    output_format: str = "jsonl",
) -> RunSummary:
    """Process every input into OUTDIR with ``fincard``; ``on_progress(documents, paragraphs)`` after each document.
    ``output_format="parquet"`` writes ``paragraphs.parquet`` and ``cards.parquet`` at the end (the run itself
    appends JSONL part files, so that a crash loses nothing and ``resume`` works)."""
    if fincard.classifier is None:
        raise ConfigError("fincard run labels every paragraph: give FinCard a classifier")
    if output_format not in RECORD_FORMATS:
        raise ConfigError(f"output_format {output_format!r}: use one of {', '.join(RECORD_FORMATS)}")
    outdir = Path(outdir)
    directory = RunDirectory(outdir, resume, output_format)
    summary = RunSummary()
    started = time.monotonic()
    error_part = directory.part["errors.jsonl"]
    with ErrorLog(str(error_part), append=resume) as errors:
        try:
            todo = (doc for doc in read_documents(inputs, format, errors) if not _skip(doc, directory, summary))
            for result in fincard(todo, batch_size):
                key = document_key(result.document)
                rows = []
                for paragraph, prediction in zip(result.document.paragraphs, result.predictions):
                    rows.append({"key": key, **paragraph_row(result.document, paragraph, prediction)})
                    for theme in prediction.themes or ["(none)"]:
                        summary.labels[theme, prediction.stance] += 1
                directory.write(rows, {"key": key, **result.gist.to_dict()})
                summary.documents += 1
                summary.paragraphs += len(rows)
                if on_progress:
                    on_progress(summary.documents, summary.paragraphs)
        finally:
            summary.errors = errors.count
            summary.seconds = time.monotonic() - started
            directory.close()
    if errors.count == 0:
        error_part.unlink(missing_ok=True)
    directory.finish()
    return summary


def _skip(doc: Document, directory: RunDirectory, summary: RunSummary) -> bool:
    if document_key(doc) in directory.done:
        summary.skipped += 1
        return True
    return False
