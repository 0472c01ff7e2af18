"""One exception hierarchy and the error log every batch command shares.

:class:`FincardError` is a mistake the user can fix; the CLI prints it without a traceback. :class:`ReadError` (a
bad file or row) and :class:`ConfigError` (a bad option or setting) are the two kinds the library raises.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import IO, Any, Callable


class FincardError(Exception):
    """A mistake the user can fix (bad option, missing model folder...): the CLI prints it without a traceback."""


class ConfigError(FincardError, ValueError):
    """A bad setting: the message names it and says what to change. (Also a ValueError, as Python's own are.)"""


@dataclass(frozen=True)
class ReadError(FincardError):
    """A bad file or row: where it is and what is wrong, as one JSON-ready record."""

    file: str
    line: int | None
    error: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.error}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "error": self.error}


ErrorHandler = Callable[[ReadError], None]


def raise_error(error: ReadError) -> None:
    """The error handler of a caller that gave none: the first bad input stops it."""
    raise error


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
