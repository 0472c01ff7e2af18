"""Where the shipped models and label schema live: package data, found with ``importlib.resources``.

The repository's top-level ``models/`` and ``labels/`` folders are the source of truth; ``pyproject.toml`` maps
them to the packages ``infer.models`` and ``infer.labels``, so an editable checkout, a wheel, a container and a
Ray worker all find them the same way, whatever the current folder.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from .errors import FincardError

CLASSIFIER = "fincard-zh-v1"
HEADLINE = "fincard-headline-v1"
SALIENCE = "fincard-salience-v1"


def _path(package: str, name: str) -> Path:
    resource = files(package).joinpath(name)
    # Wheels install unzipped, so this is a real path; a zipped install would need extracting, which fincard refuses.
    if not isinstance(resource, Path) or not resource.exists():
        raise FincardError(f"the shipped {name} is missing from package {package}: reinstall fincard")
    return resource


def model_path(name: str = CLASSIFIER) -> Path:
    """A shipped model folder: ``fincard-zh-v1`` (the classifier), ``fincard-headline-v1`` (the 核心观点 line) or
    ``fincard-salience-v1`` (which sentences make the card)."""
    return _path("infer.models", name)


def schema_path() -> Path:
    """The default label schema (``labels/schema.json``)."""
    return _path("infer.labels", "schema.json")
