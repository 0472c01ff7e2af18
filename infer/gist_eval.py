"""Scoring gists: character ROUGE against reference lines and sentence selection against marked sentences.

``fincard eval-gist`` and ``fincard train-headline`` read evaluation rows ``{text or paragraphs, gist: [str],
gist_sentences?: [str], split?, id?, title?, source?, date?}`` with :func:`read_eval_rows`.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from .document import Document, Paragraph
from .errors import ErrorHandler, ReadError
from .metrics import prf
from .readers import parse_date, read_jsonl_rows
from .segment import split_paragraphs


def _ngrams(texts: Iterable[str], n: int) -> Counter:
    return Counter(text[i:i + n] for text in texts for i in range(len(text) - n + 1))


def _f1(overlap: float, predicted: float, reference: float) -> float:
    return prf(overlap, predicted - overlap, reference - overlap)[2]


def rouge_n(candidate: Sequence[str], reference: Sequence[str], n: int) -> float:
    """Character n-gram ROUGE-N F1 (clipped counts; n-grams never span two lines)."""
    predicted, wanted = _ngrams(candidate, n), _ngrams(reference, n)
    return _f1(sum((predicted & wanted).values()), sum(predicted.values()), sum(wanted.values()))


def _lcs_positions(reference: str, candidate: str) -> set[int]:
    """Indexes of ``reference`` on one longest common subsequence with ``candidate``."""
    rows = [[0] * (len(candidate) + 1) for _ in range(len(reference) + 1)]
    for i, r in enumerate(reference, 1):
        row, above = rows[i], rows[i - 1]
        for j, c in enumerate(candidate, 1):
            row[j] = above[j - 1] + 1 if r == c else max(above[j], row[j - 1])
    positions, i, j = set(), len(reference), len(candidate)
    while i and j:
        if reference[i - 1] == candidate[j - 1]:
            positions.add(i - 1)
            i, j = i - 1, j - 1
        elif rows[i - 1][j] >= rows[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return positions


def rouge_l(candidate: Sequence[str], reference: Sequence[str]) -> float:
    """Character summary-level ROUGE-L F1: the union LCS of each reference line with all candidate lines
    (Lin 2004), each character counted at most as often as it occurs on both sides (as rouge-score's rougeLsum)."""
    left = {"candidate": Counter("".join(candidate)), "reference": Counter("".join(reference))}
    hits = 0
    for line in reference:
        for position in sorted(set().union(*(_lcs_positions(line, c) for c in candidate))):
            char = line[position]
            if left["candidate"][char] and left["reference"][char]:
                left["candidate"][char] -= 1
                left["reference"][char] -= 1
                hits += 1
    return _f1(hits, sum(map(len, candidate)), sum(map(len, reference)))


@dataclass
class EvalRow:
    doc: Document
    gist: list[str]  # reference lines
    gist_sentences: list[str] | None = None  # reference sentences of the text, when marked


def read_eval_rows(path: str | Path, on_error: ErrorHandler, split: str | None = None) -> Iterator[EvalRow]:
    """Rows ``{text or paragraphs, gist: [str], gist_sentences?: [str], split?, id?, title?, source?, date?}``."""
    for number, row in read_jsonl_rows(path, on_error):
        if split is not None and row.get("split") != split:
            continue
        try:
            yield _eval_row(row, f"{Path(path).stem}:{number}")
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            on_error(ReadError(str(path), number, f"bad evaluation row: {exc}"))


def _eval_row(row: dict[str, Any], default_id: str) -> EvalRow:
    gist, sentences = row["gist"], row.get("gist_sentences")
    if not (isinstance(gist, list) and gist and all(isinstance(g, str) for g in gist)):
        raise ValueError("'gist' must be a non-empty list of strings")
    if sentences is not None and not (isinstance(sentences, list) and all(isinstance(s, str) for s in sentences)):
        raise ValueError("'gist_sentences' must be a list of strings")
    if isinstance(row.get("paragraphs"), list):  # strings, or {text, section?} under the article's own headings
        items = [(p, None) if isinstance(p, str) else (p["text"], p.get("section")) for p in row["paragraphs"]]
    elif isinstance(row.get("text"), str):
        items = [(text, None) for text in split_paragraphs(row["text"])]
    else:
        raise ValueError("row needs a 'text' string or a 'paragraphs' list")
    paragraphs = [Paragraph.build(i, text.strip(), section) for i, (text, section) in enumerate((t for t in items if t[0].strip()), 1)]
    published = parse_date(str(row["date"])) if row.get("date") else None
    doc = Document(str(row.get("id") or default_id), row.get("title"), row.get("source"), published, paragraphs)
    return EvalRow(doc, gist, sentences)


def taken_from(line: str, sentence: str) -> bool:
    """The line is the sentence with parts left out: its characters in order, a speaker's title colon aside."""
    rest = iter(sentence)
    return all(char in rest for char in line.replace("：", ""))


def _matched(picked: Sequence[str], references: Sequence[str]) -> int:
    """How many picked lines were taken from a reference sentence, each reference counted for one line at most."""
    free = list(references)
    for line in picked:
        source = next((i for i, sentence in enumerate(free) if taken_from(line, sentence)), None)
        if source is not None:
            del free[source]
    return len(references) - len(free)


def evaluate(summarizer: Any, rows: Iterable[EvalRow], sentences: int | None = None,
             progress: Callable[[Iterable[EvalRow]], Iterable[EvalRow]] = lambda rows: rows) -> dict[str, Any]:
    """Mean character ROUGE-1/2/L F1 of each gist (headline + bullets) against its reference lines.

    A gist has ``sentences`` lines, by default as many as the row's reference (``gist_sentences`` or ``gist``).
    Rows with ``gist_sentences`` also count sentence selection: a picked line is right when it was taken from a
    reference sentence not claimed by an earlier line (precision, recall and F1 over all picked and reference sentences),
    and ``first_line``: the share of rows whose card opens (the first 核心观点 line) with a reference sentence.
    ``articles_per_s`` times ``summarize`` alone.
    """
    totals = Counter()
    seconds = 0.0
    for row in progress(rows):
        wanted = sentences or len(row.gist_sentences or row.gist)
        start = time.perf_counter()
        gist = summarizer.summarize(row.doc, max_bullets=wanted)
        seconds += time.perf_counter() - start
        picked = [line.text for line in gist.lines]
        totals.update(rows=1, rouge1=rouge_n(picked, row.gist, 1), rouge2=rouge_n(picked, row.gist, 2),
                      rougeL=rouge_l(picked, row.gist))
        if row.gist_sentences is not None:
            right = _matched(picked, row.gist_sentences)
            totals.update(selection_rows=1, right=right, wrong=len(picked) - right, missed=len(row.gist_sentences) - right,
                          first_right=bool(picked) and any(taken_from(picked[0], s) for s in row.gist_sentences))
    count = totals["rows"]
    report: dict[str, Any] = {"rows": count, "sentences": sentences}
    report.update({key: round(totals[key] / count, 4) if count else 0.0 for key in ("rouge1", "rouge2", "rougeL")})
    if totals["selection_rows"]:
        precision, recall, f1 = prf(totals["right"], totals["wrong"], totals["missed"])
        report["selection"] = {"rows": totals["selection_rows"], "precision": round(precision, 4),
                               "recall": round(recall, 4), "f1": round(f1, 4),
                               "first_line": round(totals["first_right"] / totals["selection_rows"], 4)}
    report["articles_per_s"] = round(count / seconds, 1) if seconds else None
    return report
