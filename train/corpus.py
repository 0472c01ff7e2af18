"""``fincard labels check``: validate labelled corpora and print their statistics."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from infer.schema import Schema

MAX_CHARS = 400  # one paragraph
MAX_ITEM_CHARS = 1200  # a whole item: several paragraphs joined by "\n" (guide E14)
NEAR_DUPLICATE = 0.5
# Characters that exist only in Traditional script (a small, unambiguous sample of common ones).
_TRADITIONAL = set("國與為們說時會來這個開關經濟產業價對發應後點從當現進過還舉動問實際區據據億萬際變書務條與銀幣貿鐵鋁鋰鎳鋅銅電廠廣場")
FIELDS = {"id", "text", "themes", "stance"}


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
    texts: list[tuple[str, str, str]] = []  # (where, split, text)
    seen_ids: dict[str, str] = {}
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
            # Team-written rows (they carry a writing batch) obey the length rule; real text (the seed gold set)
            # is kept as published, so there it is only a warning.
            written = "batch" in row
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
            texts.append((where, split if written else f"real:{path}", text))
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
    _duplicates(texts, report)
    return report


def _duplicates(texts: list[tuple[str, str, str]], report: Report) -> None:
    """Exact duplicates, and pairs with character 5-gram Jaccard >= 0.5, found through an inverted index."""
    exact: dict[str, str] = {}
    grams = []
    index: dict[str, list[int]] = defaultdict(list)
    for i, (where, _, text) in enumerate(texts):
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
                same = texts[i][1] == texts[j][1]
                message = f"{texts[j][0]}: near-duplicate of {texts[i][0]} ({'within a split' if same else 'across splits'}, 5-gram Jaccard {jaccard:.2f})"
                # A real article repeating itself (a card's summary bullet restating a section bullet) is a fact of the
                # text, not a writing error; every other near-duplicate is.
                (report.warnings if same and texts[i][1].startswith("real:") else report.errors).append(message)
