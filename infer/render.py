"""Writers: JSONL or Parquet out, atomically (a crash never leaves a half-written output file behind).

Parquet is the interchange format for large batches (a Ray Data pipeline reads and writes the same files): its
columns are the JSONL fields of each record kind, under the explicit schemas of :func:`record_schema`. pyarrow is
imported only where Parquet is used, because importing it takes longer than the rest of fincard.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Iterable, Iterator, Protocol

from .errors import ConfigError

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

RECORD_KINDS = ("documents", "paragraphs", "cards")
RECORD_FORMATS = ("jsonl", "parquet")
ROW_GROUP_ROWS = 2000  # rows buffered per Parquet row group: bounded memory, and groups big enough to scan fast


@contextmanager
def _temporary_beside(target: Path) -> Iterator[Path]:
    """A temporary file next to ``target`` that replaces it on success and is removed on failure."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_output(path: str | Path | None) -> Iterator[IO[str]]:
    """Yield a text stream; for a path, write to a temporary file beside it and rename it into place on success."""
    if path is None or str(path) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    with _temporary_beside(Path(path)) as tmp, tmp.open("w", encoding="utf-8", newline="\n") as stream:
        yield stream


def paragraph_row(doc, paragraph, prediction) -> dict[str, Any]:
    """One labelled paragraph as ``fincard classify`` and ``fincard run`` write it."""
    return {"doc_id": doc.id, "paragraph": paragraph.index, "section": paragraph.section, "text": paragraph.text,
            **prediction.to_dict()}


def json_line(row: Any) -> str:
    return json.dumps(row, ensure_ascii=False) + "\n"


def write_jsonl(rows: Iterable[Any], stream: IO[str]) -> int:
    count = 0
    for row in rows:
        stream.write(json_line(row))
        count += 1
    return count


# --- records: JSONL or Parquet ------------------------------------------------------------------------------------


def record_schema(kind: str, keyed: bool = False) -> pa.Schema:
    """The Parquet columns of one record kind, in the order its ``to_dict`` writes them.

    ``documents`` are :meth:`Document.to_dict`, ``paragraphs`` :func:`paragraph_row` and ``cards``
    :meth:`Gist.to_dict`; ``keyed`` puts first the ``key`` column that ``fincard run`` adds. Every column is nullable.
    A new field is one more line here.
    """
    _check_kind(kind)
    import pyarrow as pa

    metadata = [("id", pa.string()), ("title", pa.string()), ("source", pa.string()), ("date", pa.string())]
    bullet = pa.struct([
        ("text", pa.string()),
        ("citations", pa.list_(pa.int64())),
        ("theme", pa.string()),
        ("stance", pa.string()),
        ("rank", pa.int64()),
    ])
    section = pa.struct([("heading", pa.string()), ("bullets", pa.list_(bullet))])
    paragraph = pa.struct([
        ("index", pa.int64()),
        ("text", pa.string()),
        ("section", pa.string()),
        ("citations", pa.list_(pa.int64())),
    ])
    scores = pa.map_(pa.string(), pa.float64())  # keyed by the model's own label ids: users train their own sets
    fields = {
        "documents": [*metadata, ("paragraphs", pa.list_(paragraph))],
        "paragraphs": [
            ("doc_id", pa.string()),
            ("paragraph", pa.int64()),
            ("section", pa.string()),
            ("text", pa.string()),
            ("themes", pa.list_(pa.string())),
            ("theme_scores", scores),
            ("stance", pa.string()),
            ("stance_scores", scores),
        ],
        "cards": [*metadata, ("sections", pa.list_(section))],
    }
    return pa.schema(([("key", pa.string())] if keyed else []) + fields[kind])


def _check_kind(kind: str) -> None:
    if kind not in RECORD_KINDS:
        raise ValueError(f"unknown record kind {kind!r}: choose one of {', '.join(RECORD_KINDS)}")


def record_format(path: str | Path | None, format: str | None = None) -> str:
    """``format`` when given, else ``parquet`` for a ``.parquet`` name and ``jsonl`` for anything else (stdout too)."""
    if format is not None and format not in RECORD_FORMATS:
        raise ConfigError(f"unknown output format {format!r}: choose one of {', '.join(RECORD_FORMATS)}")
    return format or ("parquet" if str(path or "").lower().endswith(".parquet") else "jsonl")


class RecordWriter(Protocol):
    def write(self, row: dict[str, Any]) -> None: ...


class _JsonlRecords:
    def __init__(self, stream: IO[str]):
        self._stream = stream

    def write(self, row: dict[str, Any]) -> None:
        self._stream.write(json_line(row))


class _ParquetRecords:
    """Buffers rows and writes them a row group at a time; the schema is fixed by the kind, never by the data.

    Whether the optional ``key`` column is there comes from the first row (a run writes it on every row).
    """

    def __init__(self, path: Path, kind: str):
        self._path = path
        self._kind = kind
        self._rows: list[dict[str, Any]] = []
        self._schema: pa.Schema | None = None
        self._writer: pq.ParquetWriter | None = None

    def write(self, row: dict[str, Any]) -> None:
        if self._schema is None:
            self._schema = record_schema(self._kind, keyed="key" in row)
        _check_fields(row, self._schema)
        self._rows.append(row)
        if len(self._rows) >= ROW_GROUP_ROWS:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows as one row group (an empty output still gets the schema)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            self._schema = self._schema or record_schema(self._kind)
            self._writer = pq.ParquetWriter(self._path, self._schema)
        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self._schema))
            self._rows.clear()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _check_fields(row: dict[str, Any], schema: pa.Schema) -> None:
    """Refuse fields the schema lacks: pyarrow would drop them silently, and the Parquet file would lose data."""
    import pyarrow as pa

    def check(value: Any, arrow_type: pa.DataType, where: str) -> None:
        if pa.types.is_struct(arrow_type) and isinstance(value, dict):
            if unknown := value.keys() - {field.name for field in arrow_type}:
                raise ValueError(f"{where}: {sorted(unknown)} not in the Parquet schema: add them to record_schema()")
            for field in arrow_type:
                check(value.get(field.name), field.type, f"{where}.{field.name}")
        elif pa.types.is_list(arrow_type) and isinstance(value, list):
            for item in value:
                check(item, arrow_type.value_type, f"{where}[]")

    check(row, pa.struct(list(schema)), "row")


@contextmanager
def open_records(path: str | Path | None, kind: str, format: str | None = None) -> Iterator[RecordWriter]:
    """Yield a writer of ``kind`` records (see :data:`RECORD_KINDS`) to ``path``, atomically.

    The format is ``format`` or comes from the name (:func:`record_format`); JSONL may go to stdout (``None`` or
    ``"-"``), Parquet needs a file.
    """
    _check_kind(kind)
    if record_format(path, format) == "jsonl":
        with atomic_output(path) as stream:
            yield _JsonlRecords(stream)
        return
    if path is None or str(path) == "-":
        raise ConfigError("Parquet output needs a file name, e.g. -o out.parquet")
    with _temporary_beside(Path(path)) as tmp:
        records = _ParquetRecords(tmp, kind)
        try:
            yield records
            records.flush()
        finally:
            records.close()


def jsonl_to_parquet(source: str | Path, target: str | Path, kind: str) -> int:
    """Convert a finished JSONL file of ``kind`` records to Parquet, streaming; returns the number of rows."""
    count = 0
    with open_records(target, kind, "parquet") as out, Path(source).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{source}:{number}: invalid JSON: {exc.msg}") from exc
            out.write(row)
            count += 1
    return count


def read_records(path: str | Path, format: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield the rows of a JSONL or Parquet records file as dicts, as they were written (maps as dicts)."""
    if record_format(path, format) == "jsonl":
        with Path(path).open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)
        return
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=ROW_GROUP_ROWS):
        yield from batch.to_pylist(maps_as_pydicts="strict")
