"""The label set as data (``labels/schema.json``): every stage reads its themes and stances from here."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import FincardError
from .shipped import schema_path

@dataclass(frozen=True)
class Label:
    id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class Schema:
    """Themes (multi-label, possibly none) and stances (exactly one) with their display names."""

    themes: tuple[Label, ...]
    stances: tuple[Label, ...]
    name: str = "custom"
    no_theme_name: str = "其他"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for kind, labels, minimum in (("themes", self.themes, 1), ("stances", self.stances, 2)):
            ids = [label.id for label in labels]
            if len(ids) < minimum:
                raise FincardError(f"schema {self.name!r}: list at least {minimum} {kind}")
            if len(set(ids)) != len(ids):
                raise FincardError(f"schema {self.name!r}: {kind} ids must be unique, got {ids}")

    @property
    def theme_ids(self) -> list[str]:
        return [t.id for t in self.themes]

    @property
    def stance_ids(self) -> list[str]:
        return [s.id for s in self.stances]

    @property
    def neutral_stance(self) -> str:
        """The stance for empty text: ``neutral`` when the schema has it, else the last stance listed."""
        return "neutral" if "neutral" in self.stance_ids else self.stance_ids[-1]

    def theme_name(self, theme_id: str | None) -> str:
        names = {t.id: t.name for t in self.themes}
        return names.get(theme_id, self.no_theme_name) if theme_id else self.no_theme_name

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.extra,
            "name": self.name,
            "themes": [asdict(t) for t in self.themes],
            "stances": [asdict(s) for s in self.stances],
            "no_theme_name": self.no_theme_name,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "schema") -> "Schema":
        try:
            themes = tuple(Label(**_label(item)) for item in data["themes"])
            stances = tuple(Label(**_label(item)) for item in data["stances"])
        except (KeyError, TypeError) as exc:
            raise FincardError(f"{where}: needs 'themes' and 'stances' lists of {{id, name, description?}} ({exc})") from None
        extra = {k: v for k, v in data.items() if k not in {"name", "themes", "stances", "no_theme_name"}}
        return cls(themes, stances, data.get("name", "custom"), data.get("no_theme_name", "其他"), extra)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Schema":
        path = Path(path) if path else schema_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise FincardError(f"cannot read schema {path}: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise FincardError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        return cls.from_dict(data, str(path))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _label(item: Any) -> dict[str, str]:
    if isinstance(item, str):
        return {"id": item, "name": item}
    return {"id": item["id"], "name": item.get("name", item["id"]), "description": item.get("description", "")}
