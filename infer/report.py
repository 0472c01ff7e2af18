"""``fincard report``: a run's cards and paragraph labels as one self-contained, offline HTML page.

The page carries the run as one JSON blob and renders it in the browser a page of cards at a time, with a search box,
theme, stance, source and date filters whose counts follow the selection, and each ``[n]`` opening the paragraph it
cites with its labels and scores. Every piece of input text reaches the DOM through ``textContent``; the blob sits in
a ``<script type="application/json">`` block with ``<``, ``>`` and ``&`` escaped, and a Content-Security-Policy lets
only the page's own script run and nothing load from the network.

The two overview charts (theme × stance counts, stance over time per theme) are static SVG drawn by matplotlib when
the page is built: tens of KB (40 KB for the seeds), where plotly's inlined JavaScript alone is 4.8 MB. Their text
stays text (``svg.fonttype: none``), so the browser draws the Chinese with its own CJK fonts, and clicking a bar
filters the cards.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import os
import re
import warnings
from collections import Counter
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from .errors import FincardError, ReadError
from .readers import read_jsonl_rows
from .render import atomic_output, read_records

# Stance colours follow the Chinese market convention (red up, green down); other stance ids take the palette in turn.
STANCE_COLORS = {"bullish": "#d63939", "bearish": "#2b8a3e", "neutral": "#8a929a"}
PALETTE = ("#4263eb", "#f08c00", "#7048e8", "#0c8599", "#c2255c")
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", "SimHei")
TEXT_COLOR, GRID_COLOR = "#343a40", "#e9ecef"
BUCKET_NAMES = {"day": "按日", "week": "按周", "month": "按月"}


def write_report(outdir: str | Path, output: str | Path | None = None, *, title: str | None = None) -> Path:
    """Read ``OUTDIR/cards.jsonl`` and ``OUTDIR/paragraphs.jsonl`` (or their ``.parquet``: a ``fincard run``'s outputs)
    and write the page to
    ``output`` (default ``OUTDIR/report.html``) atomically. Returns the page's path.

    Raises :class:`FincardError` when OUTDIR or one of its two files is missing, :class:`ReadError` (a FincardError)
    for a line that is not a JSON object with the fields the page needs, and FincardError without matplotlib.
    """
    folder = Path(outdir)
    if not folder.is_dir():
        raise FincardError(f"{folder} is not a folder: give the OUTDIR of a `fincard run`")
    cards = _read_run_file(folder, "cards", ("id", "sections"))
    paragraphs = _read_run_file(folder, "paragraphs", ("doc_id", "paragraph", "text"))
    page = render_report(cards, paragraphs, title=title or folder.resolve().name)
    target = Path(output) if output else folder / "report.html"
    with atomic_output(target) as stream:
        stream.write(page)
    umask = os.umask(0)
    os.umask(umask)
    target.chmod(0o666 & ~umask)  # the temporary file it was renamed from is private; a report is for sharing
    return target


def render_report(cards: list[dict[str, Any]], paragraphs: Iterable[dict[str, Any]], title: str = "fincard") -> str:
    """The page for ``cards`` (``Gist.to_dict()`` rows: id, title, source, date, sections of {heading, bullets}; perhaps
    with ``key``) and their ``paragraphs``
    (``paragraph_row()`` rows), joined on ``key`` where both have one, else on the document id."""
    paragraphs = list(paragraphs)
    themes, stances, no_theme = _labels(paragraphs)
    data = _page_data(cards, paragraphs, themes, stances, no_theme, title)
    charts = _charts(data)
    script = resources.files(__package__).joinpath("report.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    values = {
        "TITLE": html.escape(title),
        "SCRIPT_HASH": f"'sha256-{digest}'",
        "DATA": _json_for_html(data),
        "SCRIPT": script,
        **charts,
    }
    template = resources.files(__package__).joinpath("report.html").read_text(encoding="utf-8")
    # One pass, so that a value containing "{{...}}" is never substituted again.
    return re.sub(r"\{\{([A-Z_]+)\}\}", lambda match: values[match[1]], template)


def _read_run_file(folder: Path, kind: str, required: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows of ``kind`` (``cards`` or ``paragraphs``) as the run wrote them: JSON lines or Parquet."""
    for path in (folder / f"{kind}.jsonl", folder / f"{kind}.parquet"):
        if not path.is_file():
            continue
        numbered = read_jsonl_rows(path) if path.suffix == ".jsonl" else enumerate(read_records(path), 1)
        rows = []
        for number, row in numbered:
            missing = [name for name in required if name not in row]
            if missing:
                raise ReadError(str(path), number, f"missing field(s) {', '.join(missing)}")
            rows.append(row)
        return rows
    raise FincardError(f"{folder / kind}.jsonl not found: `fincard report` reads the OUTDIR of a finished `fincard run`")


def _labels(paragraphs: list[dict[str, Any]]) -> tuple[list[list[str]], list[list[str]], str]:
    """Theme and stance ids in the model's order (its score keys), named as the default schema names them (else by
    id), each stance with its colour; and the name of no theme."""
    theme_ids = list(dict.fromkeys(t for p in paragraphs for t in [*(p.get("theme_scores") or {}), *(p.get("themes") or [])]))
    stance_ids = list(dict.fromkeys(s for p in paragraphs for s in [*(p.get("stance_scores") or {}), p.get("stance")] if s))
    names, no_theme = _schema_names()
    stances = [[s, names.get(s, s), STANCE_COLORS.get(s, PALETTE[i % len(PALETTE)])] for i, s in enumerate(stance_ids)]
    return [[t, names.get(t, t)] for t in theme_ids], stances, no_theme


def _schema_names() -> tuple[dict[str, str], str]:
    """Display names of the default label set, when it can be read."""
    from .schema import Schema

    try:
        schema = Schema.load()
    except FincardError:
        return {}, "其他"
    return {label.id: label.name for label in (*schema.themes, *schema.stances)}, schema.no_theme_name


def _page_data(cards: list[dict[str, Any]], paragraphs: list[dict[str, Any]], themes: list[list[str]],
               stances: list[list[str]], no_theme: str, title: str) -> dict[str, Any]:
    """The JSON blob, compact enough for 10,000 cards: each paragraph one array, labels as indices, scores in
    thousandths, and a card line that is a slice of its cited paragraph (an extractive gist's usual case) as
    ``[paragraph, start, length]`` instead of its text."""
    theme_index = {t: i for i, (t, _) in enumerate(themes)}
    stance_index = {s: i for i, (s, _, _) in enumerate(stances)}
    keyed = all("key" in c for c in cards) and all("key" in p for p in paragraphs)
    by_doc: dict[str, list[list[Any]]] = {}
    for p in paragraphs:
        theme_scores, stance_scores = p.get("theme_scores") or {}, p.get("stance_scores") or {}
        by_doc.setdefault(p["key"] if keyed else p["doc_id"], []).append([
            p["paragraph"],
            p.get("section"),
            p["text"],
            [theme_index[t] for t in p.get("themes") or []],
            [round(float(theme_scores.get(t, 0.0)) * 1000) for t, _ in themes],
            stance_index.get(p.get("stance"), -1),
            [round(float(stance_scores.get(s, 0.0)) * 1000) for s, _, _ in stances],
        ])
    docs = []
    for card in cards:
        paras = sorted(by_doc.get(card["key"] if keyed else card["id"], []), key=lambda row: row[0])
        texts = {row[0]: row[2] for row in paras}
        docs.append({
            "id": card["id"],
            "title": card.get("title"),
            "source": card.get("source"),
            "date": card.get("date"),
            "sections": [[section.get("heading"), [_line(bullet, texts) for bullet in section.get("bullets") or []]]
                         for section in card.get("sections") or []],
            "paras": paras,
        })
    return {"title": title, "themes": themes, "stances": stances, "noTheme": no_theme, "docs": docs}


def _line(bullet: dict[str, Any], texts: dict[int, str]) -> list[Any]:
    text, citations = bullet.get("text") or "", bullet.get("citations") or []
    start = texts.get(citations[0], "").find(text) if citations and text else -1
    return [[citations[0], start, len(text)] if start >= 0 else text, citations, bullet.get("stance"), bullet.get("rank")]


def _json_for_html(data: dict[str, Any]) -> str:
    """JSON that cannot end its <script> block or open a comment: ``<``, ``>`` and ``&`` only occur inside strings,
    where the \\u escapes read back the same."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --- charts ---------------------------------------------------------------------------------------------------------


def _charts(data: dict[str, Any]) -> dict[str, str]:
    """The two SVG charts and the time chart's caption, for the whole run."""
    try:
        import matplotlib
    except ImportError:
        raise FincardError("fincard report draws its charts with matplotlib: pip install 'fincard[report]'") from None
    cjk = _cjk_font()
    style = {
        "svg.fonttype": "none",  # text stays text: small, selectable, drawn by the browser's CJK fonts
        "font.family": "sans-serif",
        "font.sans-serif": [*([cjk] if cjk else []), "DejaVu Sans"],
        "font.size": 9,
        "text.color": TEXT_COLOR,
        "axes.edgecolor": GRID_COLOR,
        "axes.labelcolor": TEXT_COLOR,
        "xtick.color": TEXT_COLOR,
        "ytick.color": TEXT_COLOR,
        "xtick.major.size": 0,
        "ytick.major.size": 0,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
    with matplotlib.rc_context(style), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")  # without a CJK font: widths only
        return {
            "THEME_STANCE_CHART": _theme_stance_chart(data),
            **_timeline_chart(data),
        }


def _cjk_font() -> str | None:
    """A CJK font matplotlib can measure the labels with, when one is installed (the browser draws them anyway)."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _theme_stance_chart(data: dict[str, Any]) -> str:
    """Horizontal stacked bars: paragraphs per theme (and none), split by stance; bar ids ``ts-THEME-STANCE``."""
    from matplotlib.figure import Figure

    rows = [name for _, name in data["themes"]] + [data["noTheme"]]
    stances = data["stances"]
    counts = Counter()
    for doc in data["docs"]:
        for _, _, _, themes, _, stance, _ in doc["paras"]:
            for theme in themes or [len(data["themes"])]:
                if stance >= 0:
                    counts[theme, stance] += 1
    if not counts:
        return '<p class="empty">没有段落</p>'
    totals = [sum(counts[t, s] for s in range(len(stances))) for t in range(len(rows))]
    fig = Figure(figsize=(4.6, 0.55 + 0.3 * len(rows)))
    ax = fig.add_axes((0.22, 0.02, 0.7, 0.98 - 0.42 / fig.get_figheight()))
    y = list(range(len(rows)))
    left = [0] * len(rows)
    for s, (_, name, color) in enumerate(stances):
        widths = [counts[t, s] for t in range(len(rows))]
        bars = ax.barh(y, widths, left=left, height=0.66, color=color, label=name, linewidth=0)
        for t, bar in enumerate(bars):
            bar.set_gid(f"ts-{t}-{s}")
            if widths[t] >= 0.06 * max(totals):
                ax.text(left[t] + widths[t] / 2, t, str(widths[t]), ha="center", va="center", color="white", fontsize=8)
        left = [a + b for a, b in zip(left, widths)]
    for t, total in enumerate(totals):
        ax.text(total + max(totals) * 0.015, t, str(total), va="center", fontsize=8, color="#868e96")
    ax.set_yticks(y, rows)
    ax.invert_yaxis()
    ax.set_xlim(0, max(totals) * 1.1)
    ax.xaxis.set_visible(False)
    ax.spines[["bottom", "left"]].set_visible(False)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1), ncols=len(stances), frameon=False, handlelength=1, handleheight=1,
              borderaxespad=0.2, columnspacing=1.2)
    return _svg(fig, "ts")


def _bucketing(first: date, last: date) -> tuple[str, int]:
    """Day buckets up to two months, then weeks up to two years, then months: a readable number of bars."""
    span = (last - first).days
    return ("day", 1) if span <= 62 else ("week", 7) if span <= 730 else ("month", 31)


def _bucket_start(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1) if unit == "month" else day


def _bucket_end(start: date, unit: str) -> date:
    if unit == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return start + timedelta(days=6 if unit == "week" else 0)


def _doc_day(doc: dict[str, Any]) -> date | None:
    try:
        return datetime.fromisoformat(doc["date"]).date() if doc.get("date") else None
    except ValueError:
        return None


def _timeline_chart(data: dict[str, Any]) -> dict[str, str]:
    """One row per theme: bullish paragraphs up, bearish down, per date bucket; bar ids ``tb-THEME-STANCE-FROM-TO``
    (the bucket's first and last day, inclusive)."""
    from matplotlib import dates
    from matplotlib.figure import Figure

    stance_ids = [s for s, _, _ in data["stances"]]
    up, down = (stance_ids.index(s) if s in stance_ids else None for s in ("bullish", "bearish"))
    days = [(doc, day) for doc in data["docs"] if (day := _doc_day(doc))]
    if not days or not data["themes"] or up is None or down is None:
        return {"TIMELINE_CHART": '<p class="empty">没有可画的日期或立场</p>', "TIMELINE_CAPTION": ""}
    unit, width = _bucketing(min(d for _, d in days), max(d for _, d in days))
    counts = Counter()
    for doc, day in days:
        start = _bucket_start(day, unit)
        for _, _, _, themes, _, stance, _ in doc["paras"]:
            for theme in themes:
                counts[theme, stance, start] += 1
    buckets = sorted({start for _, _, start in counts} or {_bucket_start(days[0][1], unit)})
    peak = max([counts[key] for key in counts if key[1] in (up, down)], default=0) or 1
    themes = data["themes"]
    fig = Figure(figsize=(4.6, 0.45 + 0.8 * len(themes)))
    axes = fig.subplots(len(themes), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    fig.subplots_adjust(left=0.1, right=0.95, top=1 - 0.3 / fig.get_figheight(), bottom=0.25 / fig.get_figheight(), hspace=0.5)
    x = dates.date2num(buckets)
    for t, (ax, (_, name)) in enumerate(zip(axes, themes)):
        for s, sign in ((up, 1), (down, -1)):
            heights = [sign * counts[t, s, b] for b in buckets]
            bars = ax.bar(x, heights, width=0.8 * width, color=data["stances"][s][2], linewidth=0,
                          label=data["stances"][s][1] if t == 0 else None)
            for bar, start in zip(bars, buckets):
                bar.set_gid(f"tb-{t}-{s}-{start:%Y%m%d}-{_bucket_end(start, unit):%Y%m%d}")
        ax.axhline(0, color="#ced4da", linewidth=0.8)
        ax.set_title(name, loc="left", fontsize=9, pad=2, fontweight="bold")
        ax.spines[["left", "bottom"]].set_visible(False)
        ax.grid(axis="y", color=GRID_COLOR, linewidth=0.6)
        ax.set_axisbelow(True)
    axes[0].set_ylim(-peak * 1.15, peak * 1.15)
    axes[0].set_yticks([-peak, peak], [str(peak), str(peak)])
    axes[0].set_xlim(x[0] - width * 0.7, x[-1] + width * 0.7)
    locator = dates.AutoDateLocator(minticks=3, maxticks=6)
    axes[-1].xaxis.set_major_locator(locator)
    # Short labels (12-08, 3月) with the year only where it changes; the header gives the run's dates in full.
    axes[-1].xaxis.set_major_formatter(dates.ConciseDateFormatter(
        locator, formats=["%Y", "%-m月", "%m-%d", "%H:%M", "%H:%M", "%S"],
        zero_formats=["", "%Y", "%-m月", "%m-%d", "%H:%M", "%H:%M"], show_offset=False))
    fig.legend(loc="upper right", ncols=2, frameon=False, handlelength=1, handleheight=1, borderaxespad=0.1)
    caption = f"{BUCKET_NAMES[unit]} · {data['stances'][up][1]}向上、{data['stances'][down][1]}向下"
    return {"TIMELINE_CHART": _svg(fig, "tb"), "TIMELINE_CAPTION": html.escape(caption)}


def _svg(fig, salt: str) -> str:
    """The figure as inline SVG: no XML prolog, no metadata, ids distinct per chart and stable between builds."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"fincard-{salt}", "svg.id": f"fincard-{salt}"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    return re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
