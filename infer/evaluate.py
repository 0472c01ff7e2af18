"""Labelled paragraphs in, metrics out: what ``fincard eval`` and the trainer's dev evaluation share."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
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
    fields: dict[str, Any] = field(default_factory=dict)  # the row's other fields (capability, test, group, style, ...)

    def value(self, name: str) -> Any:
        """A row field by name: text, themes, stance and id, or any other field of the row (None when absent)."""
        return getattr(self, name) if name in _LABELLED else self.fields.get(name)


_LABELLED = ("text", "themes", "stance", "id")


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
            yield LabelledParagraph(row["text"], row_themes, row_stance, str(row.get("id", f"{path.stem}:{number}")),
                                    {k: v for k, v in row.items() if k not in _LABELLED})


def theme_matrix(rows: list[LabelledParagraph], schema: Schema) -> np.ndarray:
    return np.array([[t in (r.themes or []) for t in schema.theme_ids] for r in rows], dtype=np.float32).reshape(len(rows), len(schema.themes))


def stance_vector(rows: list[LabelledParagraph], schema: Schema) -> np.ndarray:
    return np.array([schema.stance_ids.index(r.stance) for r in rows], dtype=np.int64)


def predicted_labels(theme_scores: np.ndarray, stance_scores: np.ndarray, schema: Schema,
                     thresholds: dict[str, float]) -> tuple[list[list[str]], list[str]]:
    """Scores to labels the way the classifier labels: themes at their cuts, the stance with the highest score."""
    cuts = theme_cuts(thresholds, schema.theme_ids)
    themes = [[t for t, score, cut in zip(schema.theme_ids, row, cuts) if score >= cut] for row in theme_scores]
    return themes, [schema.stance_ids[int(i)] for i in np.asarray(stance_scores).argmax(1)]


def _label_text(value: Any) -> str:
    """A row field's value as a table key: a list (themes) joined by '+', a missing value as '(none)'."""
    if value is None or value == []:
        return "(none)"
    return "+".join(sorted(map(str, value))) if isinstance(value, list) else str(value)


def failure_report(rows: list[LabelledParagraph], predicted_themes: list[list[str]], predicted_stances: list[str],
                   by: str = "capability", examples: int = 3) -> dict[str, Any]:
    """Failure counts per value of the row field ``by`` (CheckList style behavioural tests).

    A case fails when its predicted stance differs from its gold stance (when it has one) or its predicted theme set
    differs from its gold themes (when it has them). Rows with ``test: "INV"`` and a ``group`` also fail together: when
    the members of a group do not all get the same prediction, every member counts as failed. ``DIR`` pairs (the same
    sentence with its direction flipped, gold flipped) are scored case by case against their own gold labels.
    """
    if not (len(rows) == len(predicted_themes) == len(predicted_stances)):
        raise ValueError(f"{len(rows)} rows but {len(predicted_themes)} theme and {len(predicted_stances)} stance predictions")
    predicted = [(sorted(set(t)), s) for t, s in zip(predicted_themes, predicted_stances)]
    reasons: list[list[str]] = [[] for _ in rows]
    for i, (row, (themes, stance)) in enumerate(zip(rows, predicted)):
        if row.stance is not None and stance != row.stance:
            reasons[i].append("stance")
        if row.themes is not None and themes != sorted(set(row.themes)):
            reasons[i].append("themes")
    invariant: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        if row.fields.get("test") == "INV" and row.fields.get("group") is not None:
            invariant[str(row.fields["group"])].append(i)
    failed_groups = {g for g, members in invariant.items() if len({json.dumps(predicted[i]) for i in members}) > 1}
    for group in failed_groups:
        for i in invariant[group]:
            reasons[i].append(f"INV group {group} disagrees")
    table: dict[str, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        key = _label_text(row.value(by))
        entry = table.setdefault(key, {"cases": 0, "failures": 0, "failure_rate": 0.0, "examples": []})
        entry["cases"] += 1
        if reasons[i]:
            entry["failures"] += 1
            if len(entry["examples"]) < examples:
                entry["examples"].append({
                    "id": row.id, "text": row.text, "why": reasons[i],
                    "gold": {"themes": row.themes, "stance": row.stance},
                    "predicted": {"themes": predicted[i][0], "stance": predicted[i][1]},
                })
    for entry in table.values():
        entry["failure_rate"] = entry["failures"] / entry["cases"]
    failures = sum(1 for r in reasons if r)
    return {
        "by": by,
        "groups": dict(sorted(table.items())),
        "all": {"cases": len(rows), "failures": failures, "failure_rate": failures / len(rows) if rows else 0.0},
        "inv_groups": {"groups": len(invariant), "failed": len(failed_groups)},
    }


def evaluate_scores(rows: list[LabelledParagraph], theme_scores: np.ndarray, stance_scores: np.ndarray,
                    schema: Schema, thresholds: dict[str, float], by: str | None = None) -> dict[str, Any]:
    """Metrics for whichever tasks the rows are labelled for (rows lacking a field are skipped for that task); with
    ``by``, also the failure report per value of that row field (:func:`failure_report`)."""
    result: dict[str, Any] = {"n": len(rows)}
    if by:
        result["failures"] = failure_report(rows, *predicted_labels(theme_scores, stance_scores, schema, thresholds), by=by)
    with_themes = [i for i, r in enumerate(rows) if r.themes is not None]
    if with_themes:
        predicted = theme_scores[with_themes] >= theme_cuts(thresholds, schema.theme_ids)
        result["themes"] = theme_metrics(theme_matrix([rows[i] for i in with_themes], schema), predicted, schema.theme_ids,
                                         theme_scores[with_themes])
    with_stance = [i for i, r in enumerate(rows) if r.stance is not None]
    if with_stance:
        result["stance"] = stance_metrics(stance_vector([rows[i] for i in with_stance], schema), stance_scores[with_stance], schema.stance_ids)
    return result


def format_report(result: dict[str, Any], title: str) -> str:
    lines = [f"{title}: {result['n']} paragraphs"]
    if "themes" in result:
        t = result["themes"]
        lines.append(f"\nthemes ({t['n']} labelled)   micro-F1 {t['micro_f1']:.3f}   macro-F1 {t['macro_f1']:.3f}   exact match {t['exact_match']:.3f}"
                     + (f"   ECE {t['ece']:.3f}" if "ece" in t else ""))
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
    if "failures" in result:
        lines += format_failures(result["failures"])
    return "\n".join(lines)


def format_failures(report: dict[str, Any], width: int = 60) -> list[str]:
    """The failure table of :func:`failure_report`, then its failing examples."""
    by, groups = report["by"], report["groups"]
    column = max([len(by), 5, *map(len, groups)]) + 2
    inv = report["inv_groups"]
    lines = [f"\nfailures by {by} (a wrong stance or theme set fails a case; "
             f"an INV group whose members disagree fails whole: {inv['failed']} of {inv['groups']} groups)"]
    lines.append(f"  {by:<{column}}{'cases':>7}{'failures':>10}{'rate':>8}")
    for key, entry in [*groups.items(), ("all", report["all"])]:
        lines.append(f"  {key:<{column}}{entry['cases']:>7}{entry['failures']:>10}{entry['failure_rate']:>8.3f}")
    shown = [(key, example) for key, entry in groups.items() for example in entry["examples"]]
    if shown:
        lines.append("\nfailing examples (gold -> predicted)")
    for key, example in shown:
        gold, predicted = example["gold"], example["predicted"]
        text = example["text"] if len(example["text"]) <= width else example["text"][:width] + "…"
        lines.append(f"  [{key}] {example['id']}: {text}")
        lines.append(f"      {gold['stance']} {_label_text(gold['themes'])} -> {predicted['stance']} "
                     f"{_label_text(predicted['themes'])}   ({', '.join(example['why'])})")
    return lines
