"""User-facing errors and the error log every batch command shares."""

from __future__ import annotations

import json
import sys
from typing import IO

from .readers import ReadError


class FincardError(Exception):
    """A mistake the user can fix (bad option, missing model folder...): the CLI prints it without a traceback."""


class ErrorLog:
    """Collects :class:`ReadError` records as JSON lines on stderr, or in a JSONL file (``--errors FILE``)."""

    def __init__(self, path: str | None = None, append: bool = False):
        self.count = 0
        self._path = path
        self._mode = "a" if append else "w"
        self._stream: IO[str] | None = None

    def __call__(self, error: ReadError) -> None:
        self.count += 1
        if self._stream is None:
            self._stream = open(self._path, self._mode, encoding="utf-8") if self._path else sys.stderr
        self._stream.write(json.dumps(error.to_dict(), ensure_ascii=False) + "\n")
        self._stream.flush()

    def close(self) -> None:
        if self._stream is not None and self._stream is not sys.stderr:
            self._stream.close()

    def __enter__(self) -> "ErrorLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
