"""Readers: files, directories or stdin in, :class:`Document` objects out, streamed.

Formats: the search-page card format of ``seeds/`` (``search``), plain text / Markdown (``text``), JSON Lines
(``jsonl``), CSV (``csv``) and Parquet (``parquet``, files only: not stdin). A user's bad input never raises out of
:func:`read_documents` unless asked to: each bad file or row becomes one :class:`ReadError` handed to ``on_error``
and the batch goes on.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import re
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

from .card import BULLET_SEPARATOR, CITATION, structured_paragraphs
from .document import Document, Paragraph
from .errors import ErrorHandler, FincardError, ReadError, raise_error
from .segment import headed_paragraphs, split_paragraphs

logger = logging.getLogger("fincard")

FORMATS = ("search", "text", "jsonl", "csv", "parquet")
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet", ".txt": None, ".md": "text"}
_DIRECTORY_SUFFIXES = (".txt", ".md")
_SOURCE_LINE = re.compile(r"^\s*(?P<source>\S.*?)\s*·\s*(?P<date>\d{4}-\d{2}-\d{2})(?:\s+(?P<time>\d{1,2}:\d{2}))?\s*$")
_SEARCH_MARKER = "搜索文档"
_PARQUET_MAGIC = b"PAR1"
_ROW_FIELDS = ("id", "title", "source", "date", "text", "paragraphs")
_PARQUET_BATCH_ROWS = 1000  # rows decoded at a time: articles are large, so memory stays bounded
# A space between two CJK characters, where a copied page wrapped its lines (正加快朝 着3000美元). Spaces that
# separate phrases (的担忧 但辩证来看 房地产) come closer together than a line is wide, so a paragraph's spaces
# between two ideographs are taken for line wraps only when there are two or more and every two are a line apart;
# then the spaces after CJK punctuation go too (体制、 科技).
_IDEOGRAPH_SPACE = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")
_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff\u3001-\u303f\uff01-\uffef]) (?=[\u3400-\u9fff\u3001-\u303f\uff01-\uffef])")
_MIN_LINE_CHARS = 30  # the seed's separators are 5 to 28 characters apart, its wraps 46 or more


def read_documents(
    paths_or_stdin: str | Path | Iterable[str | Path],
    format: str | None = None,
    on_error: ErrorHandler | None = None,
) -> Iterator[Document]:
    """Yield the documents of every input in order.

    ``paths_or_stdin`` is a path, ``"-"`` for stdin, or a list of them; a directory reads every ``.txt``/``.md``
    below it in sorted order. ``format`` forces one of :data:`FORMATS`; by default it comes from the extension
    and the content. ``on_error`` receives each :class:`ReadError`; without it the first one is raised.
    """
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}: choose one of {', '.join(FORMATS)}")
    handle = on_error or raise_error
    inputs = [paths_or_stdin] if isinstance(paths_or_stdin, (str, Path)) else list(paths_or_stdin)
    for item in inputs:
        for name, path in _expand(str(item), handle):
            yield from _read_one(name, path, format, handle)


def _expand(item: str, handle: ErrorHandler) -> Iterator[tuple[str, Path | None]]:
    if item == "-":
        yield "<stdin>", None
        return
    path = Path(item)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _DIRECTORY_SUFFIXES)
        if not files:
            handle(ReadError(item, None, "directory holds no .txt or .md files"))
        for file in files:
            yield str(file), file
    elif path.is_file():
        yield item, path
    else:
        handle(ReadError(item, None, "no such file or directory"))


def _read_one(name: str, path: Path | None, format: str | None, handle: ErrorHandler) -> Iterator[Document]:
    try:
        stream: BinaryIO = path.open("rb") if path is not None else sys.stdin.buffer
    except OSError as exc:
        handle(ReadError(name, None, f"cannot open: {exc.strerror or exc}"))
        return
    try:
        buffered = stream if hasattr(stream, "peek") else io.BufferedReader(stream)  # type: ignore[arg-type]
        fmt = format or _guess_format(path, buffered.peek(4096)[:4096])
        stem = path.stem if path is not None else "stdin"
        if fmt == "parquet":
            yield from _read_parquet(name, stem, path, handle)
        elif fmt in ("jsonl", "csv"):
            lines = _decode_lines(name, buffered, handle)
            reader = _read_jsonl if fmt == "jsonl" else _read_csv
            yield from reader(name, stem, lines, handle)
        else:
            text = _decode_whole(name, buffered.read(), handle)
            if text is not None:
                reader = _read_search_page if fmt == "search" else _read_text
                yield from reader(name, stem, text, handle)
    except OSError as exc:
        handle(ReadError(name, None, f"cannot read: {exc.strerror or exc}"))
    finally:
        if path is not None:
            stream.close()


def _guess_format(path: Path | None, head: bytes) -> str:
    by_extension = _EXTENSIONS.get(path.suffix.lower()) if path is not None else None
    if by_extension:
        return by_extension
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    sample = head.decode("utf-8", errors="ignore").lstrip("\ufeff")
    if sample.lstrip().startswith("{"):
        return "jsonl"
    lines = sample.splitlines()
    if any(_SOURCE_LINE.match(line) for line in lines[1:]) or (lines and lines[min(1, len(lines) - 1)].strip() == _SEARCH_MARKER):
        return "search"
    if path is None and lines and _csv_header_has_text(lines[0]):
        return "csv"
    return "text"


def _csv_header_has_text(line: str) -> bool:
    columns = {c.strip().lower() for c in next(csv.reader([line]), [])}
    return "," in line and bool(columns & {"text", "paragraphs"})


# --- decoding -------------------------------------------------------------------------------------------


def _decode_whole(name: str, data: bytes, handle: ErrorHandler) -> str | None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            handle(ReadError(name, None, f"not UTF-8 or GB18030 text (undecodable byte at offset {exc.start})"))
            return None
        logger.warning("%s: not UTF-8, read as GB18030", name)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode_lines(name: str, stream: BinaryIO, handle: ErrorHandler) -> Iterator[tuple[int, str | None]]:
    """Yield ``(line number, text)``, decoding each line on its own so huge files stream.

    A line that is neither UTF-8 nor GB18030 yields ``None`` after reporting the error for that line only.
    """
    warned = False
    for number, raw in enumerate(stream, 1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            try:
                line = raw.decode("gb18030")
            except UnicodeDecodeError:
                handle(ReadError(name, number, "line is not UTF-8 or GB18030 text"))
                yield number, None
                continue
            if not warned:
                logger.warning("%s: not UTF-8, read as GB18030", name)
                warned = True
        yield number, line.rstrip("\r\n")


# --- search-page cards ------------------------------------------------------------------------------------


def _read_search_page(name: str, stem: str, text: str, handle: ErrorHandler) -> Iterator[Document]:
    """Cards: a title line, a ``来源· YYYY-MM-DD HH:MM`` line, then body lines until the next title + source pair."""
    lines = text.split("\n")
    starts = [
        i for i in range(len(lines) - 1)
        if lines[i].strip() and lines[i].strip() != _SEARCH_MARKER and _SOURCE_LINE.match(lines[i + 1])
    ]
    if not starts:
        handle(ReadError(name, None, "no card found: expected a title line followed by a '来源· YYYY-MM-DD HH:MM' line"))
        return
    for number, (start, end) in enumerate(zip(starts, starts[1:] + [len(lines)]), 1):
        match = _SOURCE_LINE.match(lines[start + 1])
        assert match is not None
        body = [line.strip() for line in lines[start + 2:end] if line.strip()]
        if not body:
            handle(ReadError(name, start + 1, "card has a title but no body"))
            continue
        when = f"{match['date']} {match['time'] or '00:00'}"
        try:
            published = datetime.strptime(when, "%Y-%m-%d %H:%M")
        except ValueError:
            handle(ReadError(name, start + 2, f"bad date {when!r}"))
            continue
        doc = Document(f"{stem}#{number}", lines[start].strip(), match["source"].strip(), published)
        joined = " ".join(body)
        if CITATION.search(joined) and BULLET_SEPARATOR in joined:
            doc.paragraphs = [_paragraph(p.index, p.text, p.section, p.citations) for p in structured_paragraphs(joined)]
        else:
            doc.paragraphs = [_paragraph(i, t) for i, t in enumerate(body, 1)]
        yield doc


# --- plain text and Markdown --------------------------------------------------------------------------------


def _read_text(name: str, stem: str, text: str, handle: ErrorHandler) -> Iterator[Document]:
    """One document per file; a leading ``# `` line is the title and heading lines (``##``, **bold**, 【…】, 一、,
    （一）) name the sections."""
    title = None
    stripped = text.lstrip("\n")
    if stripped.startswith("# "):
        first, _, stripped = stripped.partition("\n")
        title = first[2:].strip() or None
    paragraphs = [_paragraph(i, block, section) for i, (block, section) in enumerate(headed_paragraphs(split_paragraphs(stripped)), 1)]
    if not paragraphs:
        handle(ReadError(name, None, "empty document: no paragraph text"))
        return
    yield Document(stem, title, None, None, paragraphs)


# --- JSON Lines and CSV rows ------------------------------------------------------------------------------------


def _json_objects(name: str, lines: Iterable[tuple[int, str | None]], handle: ErrorHandler) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` of every non-blank line; invalid JSON and non-objects become error records."""
    for number, line in lines:
        if line is None or not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            handle(ReadError(name, number, f"invalid JSON: {exc.msg} (column {exc.colno})"))
            continue
        if not isinstance(row, dict):
            handle(ReadError(name, number, f"expected a JSON object, got {type(row).__name__}"))
            continue
        yield number, row


def read_jsonl_rows(path: str | Path, on_error: ErrorHandler | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """The one reader of labelled and evaluation JSONL files: ``(line number, row)`` for each JSON object line,
    decoded like every input (UTF-8 with or without BOM, else GB18030). A missing file is a FincardError."""
    name = str(path)
    try:
        stream = open(path, "rb")
    except OSError as exc:
        raise FincardError(f"cannot read {name}: {exc.strerror or exc}") from None
    handle = on_error or raise_error
    with stream:
        yield from _json_objects(name, _decode_lines(name, stream, handle), handle)


def _read_jsonl(name: str, stem: str, lines: Iterable[tuple[int, str | None]], handle: ErrorHandler) -> Iterator[Document]:
    for number, row in _json_objects(name, lines, handle):
        yield from _document_from_row(name, number, f"{stem}:{number}", row, handle)


def _read_csv(name: str, stem: str, lines: Iterable[tuple[int, str | None]], handle: ErrorHandler) -> Iterator[Document]:
    numbers: list[int] = []

    def text_lines() -> Iterator[str]:
        for number, line in lines:
            if line is not None:
                numbers.append(number)
                yield line + "\n"

    reader = csv.reader(text_lines())
    try:
        header = [c.strip().lower() for c in next(reader)]
    except StopIteration:
        handle(ReadError(name, None, "empty CSV: a header row is required"))
        return
    except csv.Error as exc:
        handle(ReadError(name, 1, f"bad CSV header: {exc}"))
        return
    if not {"text", "paragraphs"} & set(header):
        handle(ReadError(name, 1, f"CSV header needs a 'text' or 'paragraphs' column, found {header}"))
        return
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            handle(ReadError(name, numbers[-1] if numbers else None, f"bad CSV row: {exc}"))
            continue
        number = numbers[-1]
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            handle(ReadError(name, number, f"row has {len(values)} fields, header has {len(header)}"))
            continue
        row: dict[str, Any] = dict(zip(header, values))
        if row.get("paragraphs", "").strip().startswith("["):
            try:
                row["paragraphs"] = json.loads(row["paragraphs"])
            except json.JSONDecodeError:
                pass  # not a JSON list after all: read as line-separated text below
        if isinstance(row.get("paragraphs"), str):
            row["paragraphs"] = split_paragraphs(row["paragraphs"]) if row["paragraphs"].strip() else None
        yield from _document_from_row(name, number, f"{stem}:{number}", row, handle)


# --- Parquet -------------------------------------------------------------------------------------------------


def _read_parquet(name: str, stem: str, path: Path | None, handle: ErrorHandler) -> Iterator[Document]:
    """The JSONL fields as columns, one document per row; ``line`` in errors is the 1-based row number."""
    if path is None:
        handle(ReadError(name, None, "Parquet cannot be read from stdin: save it to a file and give its path"))
        return
    import pyarrow as pa  # here, not at the top: importing pyarrow takes longer than the rest of fincard
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        columns = [c for c in _ROW_FIELDS if c in parquet.schema_arrow.names]
        if not {"text", "paragraphs"} & set(columns):
            handle(ReadError(name, None, f"Parquet file needs a 'text' or 'paragraphs' column, found {parquet.schema_arrow.names}"))
            return
        number = 0
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS, columns=columns):
            for row in batch.to_pylist():
                number += 1
                if isinstance(row.get("date"), date):  # a timestamp or date column: datetime is a date too
                    row["date"] = row["date"].isoformat()
                yield from _document_from_row(name, number, f"{stem}:{number}", row, handle)
    except (pa.ArrowException, OSError) as exc:
        handle(ReadError(name, None, f"not a readable Parquet file: {exc}"))


def _document_from_row(name: str, number: int, default_id: str, row: dict[str, Any], handle: ErrorHandler) -> Iterator[Document]:
    """Shared by JSONL, CSV and Parquet: ``id? title? source? date?`` plus ``text`` or ``paragraphs``."""

    def fail(message: str) -> None:
        handle(ReadError(name, number, message))

    for key in ("id", "title", "source", "date", "text"):
        if row.get(key) is not None and not isinstance(row[key], (str, int)) or isinstance(row.get(key), bool):
            return fail(f"field {key!r} must be a string")
    published = None
    if row.get("date"):
        published = parse_date(str(row["date"]))
        if published is None:
            return fail(f"bad date {row['date']!r}: use YYYY-MM-DD or YYYY-MM-DD HH:MM")
    paragraphs = row.get("paragraphs")
    if paragraphs:
        if not isinstance(paragraphs, list):
            return fail("field 'paragraphs' must be a list")
        built = []
        for item in paragraphs:
            if isinstance(item, str):
                item = {"text": item}
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                return fail("each paragraph must be a string or an object with a 'text' string")
            citations = item.get("citations") or []
            if not isinstance(citations, list) or not all(isinstance(c, int) for c in citations):
                return fail("paragraph 'citations' must be a list of integers")
            if item["text"].strip():
                built.append(_paragraph(len(built) + 1, item["text"].strip(), item.get("section"), citations))
    elif isinstance(row.get("text"), str):
        built = [_paragraph(i, t, section) for i, (t, section) in enumerate(headed_paragraphs(split_paragraphs(row["text"])), 1)]
    else:
        return fail("row needs a 'text' string or a 'paragraphs' list")
    if not built:
        return fail("empty document: no paragraph text")
    title = row.get("title")
    source = row.get("source")
    yield Document(str(row.get("id") or default_id), str(title) if title else None, str(source) if source else None, published, built)


def _paragraph(index: int, text: str, section: str | None = None, citations: Iterable[int] = ()) -> Paragraph:
    """A paragraph without the line-wrap spaces of ``text``, which stays as the paragraph's ``raw``."""
    return Paragraph.build(index, _unwrapped(text), section, citations, raw=text)


def _unwrapped(text: str) -> str:
    spaces = [m.start() for m in _IDEOGRAPH_SPACE.finditer(text)]
    if len(spaces) < 2 or any(b - a < _MIN_LINE_CHARS for a, b in zip(spaces, spaces[1:])):
        return text
    return _CJK_SPACE.sub("", text)


def parse_date(value: str) -> datetime | None:
    """ISO-like dates: ``2025-12-17``, ``2025/12/17 23:50``, ``2025-12-17T23:50:00``."""
    try:
        return datetime.fromisoformat(value.strip().replace("/", "-"))
    except ValueError:
        return None
