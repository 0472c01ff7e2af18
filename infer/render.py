"""Writers: JSONL out, atomically (a crash never leaves a half-written output file behind)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterable, Iterator


@contextmanager
def atomic_output(path: str | Path | None) -> Iterator[IO[str]]:
    """Yield a text stream; for a path, write to a temporary file beside it and rename it into place on success."""
    if path is None or str(path) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as stream:
            yield stream
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
