"""Labelled paragraphs in, metrics out: what ``fincard eval`` and the trainer's dev evaluation share."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .errors import FincardError
from .metrics import stance_metrics, theme_cuts, theme_metrics
from .errors import ErrorHandler, ReadError
from .schema import Schema


@dataclass
class LabelledParagraph:
    text: str
    themes: list[str] | None  # None: the row has no theme labels
    stance: str | None  # None: the row has no stance label
    id: str = ""


def read_labelled(path: str | Path, schema: Schema, on_error: ErrorHandler | None = None) -> Iterator[LabelledParagraph]:
    """Rows ``{"text", "themes"?, "stance"?}``; unknown label ids are errors naming the line."""
    path = Path(path)
    if not path.is_file():
        raise FincardError(f"labelled data {path} does not exist")
    themes, stances = set(schema.theme_ids), set(schema.stance_ids)

    def fail(line: int, message: str) -> None:
        error = ReadError(str(path), line, message)
        if on_error is None:
            raise FincardError(str(error))
        on_error(error)

    with path.open(encoding="utf-8-sig") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                fail(number, f"invalid JSON: {exc.msg}")
                continue
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                fail(number, "row needs a 'text' string")
                continue
            row_themes, row_stance = row.get("themes"), row.get("stance")
            if row_themes is not None and (not isinstance(row_themes, list) or set(row_themes) - themes):
                fail(number, f"themes {row_themes!r} are not a list of {sorted(themes)}")
                continue
            if row_stance is not None and row_stance not in stances:
                fail(number, f"stance {row_stance!r} is not one of {sorted(stances)}")
                continue
            yield LabelledParagraph(row["text"], row_themes, row_stance, str(row.get("id", f"{path.stem}:{number}")))


def theme_matrix(rows: list[LabelledParagraph], schema: Schema) -> np.ndarray:
    return np.array([[t in (r.themes or []) for t in schema.theme_ids] for r in rows], dtype=np.float32).reshape(len(rows), len(schema.themes))


def stance_vector(rows: list[LabelledParagraph], schema: Schema) -> np.ndarray:
    return np.array([schema.stance_ids.index(r.stance) for r in rows], dtype=np.int64)


def evaluate_scores(rows: list[LabelledParagraph], theme_scores: np.ndarray, stance_scores: np.ndarray,
                    schema: Schema, thresholds: dict[str, float]) -> dict[str, Any]:
    """Metrics for whichever tasks the rows are labelled for (rows lacking a field are skipped for that task)."""
    result: dict[str, Any] = {"n": len(rows)}
    with_themes = [i for i, r in enumerate(rows) if r.themes is not None]
    if with_themes:
        predicted = theme_scores[with_themes] >= theme_cuts(thresholds, schema.theme_ids)
        result["themes"] = theme_metrics(theme_matrix([rows[i] for i in with_themes], schema), predicted, schema.theme_ids)
    with_stance = [i for i, r in enumerate(rows) if r.stance is not None]
    if with_stance:
        result["stance"] = stance_metrics(stance_vector([rows[i] for i in with_stance], schema), stance_scores[with_stance], schema.stance_ids)
    return result


def format_report(result: dict[str, Any], title: str) -> str:
    lines = [f"{title}: {result['n']} paragraphs"]
    if "themes" in result:
        t = result["themes"]
        lines.append(f"\nthemes ({t['n']} labelled)   micro-F1 {t['micro_f1']:.3f}   macro-F1 {t['macro_f1']:.3f}   exact match {t['exact_match']:.3f}")
        lines.append(f"  {'theme':<16}{'P':>7}{'R':>7}{'F1':>7}{'support':>9}")
        for theme, m in t["per_theme"].items():
            lines.append(f"  {theme:<16}{m['precision']:>7.3f}{m['recall']:>7.3f}{m['f1']:>7.3f}{m['support']:>9}")
    if "stance" in result:
        s = result["stance"]
        lines.append(f"\nstance ({s['n']} labelled)   macro-F1 {s['macro_f1']:.3f}   accuracy {s['accuracy']:.3f}   ECE {s['ece']:.3f}")
        labels = s["confusion"]["labels"]
        lines.append("  gold \\ predicted " + "".join(f"{x:>10}" for x in labels))
        for label, row in zip(labels, s["confusion"]["matrix"]):
            lines.append(f"  {label:<17}" + "".join(f"{v:>10}" for v in row))
    return "\n".join(lines)
