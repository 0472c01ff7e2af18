"""``fincard labels check``: validate labelled corpora and behavioural checklists, and print their statistics.

A checklist row (``labels/checklist*.jsonl``) is a labelled row with a ``capability``, a ``test`` (MFT: one case,
DIR: a minimal pair or set whose direction and gold label flip, INV: a set that must all get the same prediction), a
``group`` for DIR and INV sets and a short ``note``. Near-duplicates inside one group are what a minimal pair is, so
they are expected, as they are between corpus rows that share a ``pair`` (the training minimal pairs); a checklist row
near-duplicating a corpus row is an error: the checklist must not leak into training.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from infer.schema import Schema

MAX_CHARS = 400  # one paragraph
MAX_ITEM_CHARS = 1200  # a whole item: several paragraphs joined by "\n" (guide E14)
NEAR_DUPLICATE = 0.5
# Characters that exist only in Traditional script (a small, unambiguous sample of common ones).
_TRADITIONAL = set("國與為們說時會來這個開關經濟產業價對發應後點從當現進過還舉動問實際區據據億萬際變書務條與銀幣貿鐵鋁鋰鎳鋅銅電廠廣場")
FIELDS = {"id", "text", "themes", "stance"}
CHECKLIST_TESTS = ("MFT", "DIR", "INV")  # minimum functionality case, directional set, invariance set


class _Text(NamedTuple):
    where: str
    split: str  # the split file's stem for written rows, "real:<path>" for real text
    text: str
    group: str | None  # a checklist DIR/INV set, or a corpus row's minimal ``pair``
    checklist: bool


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stats: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    rows: int = 0

    def format(self) -> str:
        lines = [f"{self.rows} rows, {len(self.errors)} errors, {len(self.warnings)} warnings"]
        lines += [f"error: {e}" for e in self.errors[:200]]
        lines += [f"warning: {w}" for w in self.warnings[:50]]
        for table, counts in self.stats.items():
            lines.append(f"\n{table}")
            lines += [f"  {key:<28}{value:>7}" for key, value in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        return "\n".join(lines)


def _files(paths: list[str]) -> list[Path]:
    out = []
    for p in map(Path, paths):
        out += sorted(p.rglob("*.jsonl")) if p.is_dir() else [p]
    return out


def _length_bucket(n: int) -> str:
    return next(label for limit, label in ((60, "<60"), (120, "60-119"), (200, "120-199"), (300, "200-299")) if n < limit) if n < 300 else "300+"


def check_corpus(paths: list[str], schema_path: str | None = None) -> Report:
    schema = Schema.load(schema_path)
    themes, stances = set(schema.theme_ids), set(schema.stance_ids)
    report = Report()
    texts: list[_Text] = []
    seen_ids: dict[str, str] = {}
    groups: dict[str, list[tuple[str, str, tuple]]] = defaultdict(list)  # group -> (where, test, gold labels)
    for path in _files(paths):
        split = path.stem
        if not path.is_file():
            report.errors.append(f"{path}: no such file")
            continue
        for number, line in enumerate(path.open(encoding="utf-8"), 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                report.errors.append(f"{where}: invalid JSON ({exc.msg})")
                continue
            if not isinstance(row, dict) or FIELDS - set(row):
                report.errors.append(f"{where}: needs fields {sorted(FIELDS)}")
                continue
            report.rows += 1
            text = row["text"]
            if not isinstance(text, str) or not text.strip():
                report.errors.append(f"{where}: empty text")
                continue
            checklist = "capability" in row or "test" in row
            group = _check_checklist_fields(row, where, report) if checklist else None
            # Team-written rows (they carry a writing batch, or are checklist cases) obey the length rule; real text
            # (the seed gold set) is kept as published, so there it is only a warning.
            written = "batch" in row or checklist
            paragraphs = text.split("\n")
            problems = [f"item has {len(text)} characters (at most {MAX_ITEM_CHARS})"] if len(text) > MAX_ITEM_CHARS else []
            problems += [f"paragraph has {len(p)} characters (at most {MAX_CHARS})" for p in paragraphs if len(p) > MAX_CHARS]
            (report.errors if written else report.warnings).extend(f"{where}: {problem}" for problem in problems)
            if any(not p.strip() for p in paragraphs):
                report.errors.append(f"{where}: empty paragraph (a whole item joins its paragraphs with one \\n)")
            if not isinstance(row["themes"], list) or set(row["themes"]) - themes:
                report.errors.append(f"{where}: unknown themes {row['themes']!r} (schema: {sorted(themes)})")
            if row["stance"] not in stances:
                report.errors.append(f"{where}: unknown stance {row['stance']!r} (schema: {sorted(stances)})")
            if row["id"] in seen_ids:
                report.errors.append(f"{where}: id {row['id']!r} already used at {seen_ids[row['id']]}")
            seen_ids[row["id"]] = where
            traditional = sorted(set(text) & _TRADITIONAL)
            if traditional:
                report.warnings.append(f"{where}: Traditional characters {''.join(traditional)}")
            pair = row.get("pair") if not checklist and isinstance(row.get("pair"), str) else None
            texts.append(_Text(where, split if written else f"real:{path}", text, group if checklist else pair, checklist))
            if group is not None:
                labels_key = (str(row["stance"]), tuple(sorted(map(str, row["themes"]))) if isinstance(row["themes"], list) else ())
                groups[group].append((where, str(row.get("test")), labels_key))
            labels = row["themes"] if isinstance(row["themes"], list) else []
            for theme in labels or ["(none)"]:
                report.stats["themes"][theme] += 1
            if len(labels) > 1:
                report.stats["themes"]["(multi-theme)"] += 1
            report.stats["stance"][str(row["stance"])] += 1
            report.stats["style"][str(row.get("style", "(none)"))] += 1
            report.stats["split"][split] += 1
            report.stats["length (characters)"][_length_bucket(len(text))] += 1
            report.stats["unit"]["whole item" if len(paragraphs) > 1 else "paragraph"] += 1
            if checklist:
                report.stats["capability"][str(row.get("capability"))] += 1
                report.stats["test"][str(row.get("test"))] += 1
    _check_groups(groups, report)
    _duplicates(texts, report)
    return report


def _check_checklist_fields(row: dict, where: str, report: Report) -> str | None:
    """Errors for a checklist row's capability, test, group and note; its group id when it belongs to a set."""
    if not isinstance(row.get("capability"), str) or not row["capability"].strip():
        report.errors.append(f"{where}: a checklist row needs a 'capability' string")
    test = row.get("test")
    if test not in CHECKLIST_TESTS:
        report.errors.append(f"{where}: test {test!r} is not one of {list(CHECKLIST_TESTS)}")
    group = row.get("group")
    if group is not None and (not isinstance(group, str) or not group.strip()):
        report.errors.append(f"{where}: group {group!r} is not a non-empty string")
        group = None
    if test in ("DIR", "INV") and group is None:
        report.errors.append(f"{where}: a {test} case needs a 'group' naming its set")
    if test == "MFT" and group is not None:
        report.errors.append(f"{where}: an MFT case carries no group (groups are for DIR and INV sets)")
        group = None
    if "note" not in row:
        report.warnings.append(f"{where}: checklist row without a 'note' saying why it has its label")
    elif not isinstance(row["note"], str) or not row["note"].strip():
        report.errors.append(f"{where}: note {row['note']!r} is not a non-empty string")
    return group


def _check_groups(groups: dict[str, list[tuple[str, str, tuple]]], report: Report) -> None:
    """A set has two or more members of one test; an INV set shares its gold labels; a DIR set's labels differ."""
    for group, members in groups.items():
        first = members[0][0]
        tests = {test for _, test, _ in members}
        labels = {key for _, _, key in members}
        if len(members) < 2:
            report.errors.append(f"{first}: group {group!r} has one member (a DIR or INV set needs two or more)")
        if len(tests) > 1:
            report.errors.append(f"{first}: group {group!r} mixes tests {sorted(tests)}")
        elif tests == {"INV"} and len(labels) > 1:
            report.errors.append(f"{first}: INV group {group!r} has different gold labels (an invariance set shares them)")
        elif tests == {"DIR"} and len(members) > 1 and len(labels) == 1:
            report.errors.append(f"{first}: DIR group {group!r} has the same gold labels throughout (a directional set flips them)")


def _duplicates(texts: list[_Text], report: Report) -> None:
    """Exact duplicates, and pairs with character 5-gram Jaccard >= 0.5, found through an inverted index.

    Near-duplicates inside one checklist group are its minimal pairs (expected); a checklist row near a corpus row is
    a leak of the checklist into training."""
    exact: dict[str, str] = {}
    grams = []
    index: dict[str, list[int]] = defaultdict(list)
    for i, (where, _, text, _, _) in enumerate(texts):
        key = re.sub(r"\s+", "", text)
        if key in exact:
            report.errors.append(f"{where}: exact duplicate of {exact[key]}")
        exact.setdefault(key, where)
        g = {key[k:k + 5] for k in range(max(len(key) - 4, 1))}
        grams.append(g)
        for gram in g:
            index[gram].append(i)
    for i, g in enumerate(grams):
        shared = Counter(j for gram in g for j in index[gram] if j > i)
        for j, count in shared.items():
            jaccard = count / len(g | grams[j])
            if jaccard >= NEAR_DUPLICATE:
                a, b = texts[i], texts[j]
                if a.group is not None and a.group == b.group and a.checklist == b.checklist:
                    continue  # members of one minimal pair or checklist set
                if a.checklist != b.checklist:
                    report.errors.append(f"{b.where}: near-duplicate of {a.where} (5-gram Jaccard {jaccard:.2f}): a checklist "
                                         "case must not near-duplicate a corpus row (it would leak into training)")
                    continue
                same = a.split == b.split
                message = f"{b.where}: near-duplicate of {a.where} ({'within a split' if same else 'across splits'}, 5-gram Jaccard {jaccard:.2f})"
                # A real article repeating itself (a card's summary bullet restating a section bullet) is a fact of the
                # text, not a writing error; every other near-duplicate is.
                (report.warnings if same and texts[i][1].startswith("real:") else report.errors).append(message)
