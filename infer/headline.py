"""The 核心观点 line: a learned choice of one run of whole clauses from the article's best sentences.

An editor titles a flash with its subject, event and key figure. The sentence that carries them often opens with a
reporting frame (XX公告，/ 据XX数据显示，) or runs on with detail, so the best sentence is rarely the best headline.
:class:`HeadlineRanker` rates every run of whole clauses of the summarizer's top sentences (cut at clause ends, never
inside a number) with a linear model over the sentence's score and position, the run's length, figures, reporting
frames, salience and how often editors keep its words, and returns the best run. Like an editor, it leaves out
relative time words (今日, 周四, 盘中) and the year before a month, and offers a run right after a reporting frame a
second time headed by the frame's speaker (国家统计局：…, or 华锐精工中标… for a notice's 公司中标…). Nothing else is
changed: the line still reads as the source wrote it. It is fitted to team-written flashes and their editors' titles
(``labels/headlines.jsonl``) by ``fincard train-headline``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import FincardError
from .shipped import HEADLINE, model_path
from .segment import CLAUSE_END, NUMBER, leaves_open, split_clauses, unbalanced_quotes, words

CONFIG_FILE = "headline.json"

# A clause that only says who reports: 华锐精工公告 / 据国家统计局数据显示 / 央行有关负责人表示.
_FRAME = re.compile(r"(?:公告|表示|指出|称|显示|获悉|认为|报道|宣布|透露|消息|介绍|回复|回应|提到|发布|披露)$")
# Openings that lean on an earlier sentence, so the run cannot stand as a title.
_DANGLING = re.compile(r"^(?:此外|同时|其中|而|但|对此|该|此前|另外|目前|不过|此次|这|其|并|且|以及|随后|与此同时)")
# What a frame's speaker is left with: 国家统计局数据显示 -> 国家统计局, 华锐精工发布公告称 -> 华锐精工, 据彭博社报道 -> 彭博社.
_SPEAKER_FILLER = re.compile(r"^(?:另据|据)|(?:发布|公告|数据|消息)+$")
# The frame's own date and verb, which a title leaves out: 东岳矿业3月30日(公告) -> 东岳矿业, 某部门18日公布的(数据显示) -> 某部门.
_FRAME_DATE_VERB = re.compile(r"(?:(?:\d{4}年)?(?:\d{1,2}月)?\d{1,2}日)?(?:公布|发布|披露|发表|公开)?的?$")
# What a clean subject holds no more of: a date, a verb of the frame, a modifier (…的).
_UNCLEAN = re.compile(r"\d[年月日号]|公布|发布|披露|发表|的")
# Speakers a title cannot open with: they name no one (公司, 发言人, 最新数据显示, 2023年数据显示, 从央行获悉, 利好消息).
_NAMELESS = re.compile(r"^(?:公司|该|本|此|其|他|她|我们|相关|有关|从|有|最新|官方|初步|公开|统计|市场|业内|分析|报告|研报|财报|年报|"
                       r"调查|研究|数据|(?:新闻)?发言人$|负责人$|\d)|记者|人士|季度$|利好|利空")
# A notice whose run opens with the company itself: 华锐精工公告，公司中标… is titled 华锐精工中标…. (公司债 is a bond.)
_NOTICE = re.compile(r"(?:公告|披露)称?$")
_SELF = re.compile(r"^(?:该公司|本公司|公司)(?!债|型|法|治理)")
# Words editors leave out of a title: relative time (今日, 周四, 晚间, 盘中…) and the year before a month
# (2022年12月 -> 12月). They stay where they are part of a longer word (上周四, 3月31日前, 交易日前, 当日均价) or start or
# bound a period (今日起, 截至今日, 2023年12月至2024年3月, 较2023年末, 2024年3月以来).
_DROPPED = re.compile(
    r"(?<![上下本每这该当是至到止于自从在截])周[一二三四五六日](?![起以至到均末内度])"
    r"|(?<![\d期易节假作工至到止于自从在截])(?:今日|昨日|今天|昨天|近日|日前|当天|当日)(?![起以至到均是为前后])"
    r"|(?<![至到止于自从在截])(?:晚间|早间|午间|盘中|盘后|尾盘)"
    r"|(?<![\d至到止于自从在截较比与同])\d{4}年(?=\d{1,2}月(?>(?:份|\d{1,2}日|末|底|初|上旬|中旬|下旬)?)(?![起以至到来后前]))")
_PARENTHESIS = re.compile(r"[（(][^（()）]*[）)]")
_TRAILING = "，,；;：:。！!、 "

FEATURES = (
    "sentence_score",  # the summarizer's text-only score of the sentence, scaled to at most 1 in the document
    "first_sentence",
    "sentence_position",  # 1 / (1 + index of the sentence among the document's candidates)
    "starts_sentence",
    "ends_sentence",
    "clauses",  # clauses in the run / 3
    "clause_offset",  # index of the run's first clause / clauses in the sentence
    "length",  # characters / 30
    "length_squared",
    "figures",  # numbers in the run, saturating at 3
    "percent",
    "opens_with_frame",  # the run's first clause is a reporting frame
    "follows_frame",  # the run starts right after a reporting frame
    "salience",  # in how many of the document's sentences (its own included) the run's words occur, capped at 3
    "parenthesis",
    "dangling",
    "keep_mean",  # mean rate at which editors keep the run's words in the title
    "keep_sum",
    "keep_low",  # words editors seldom keep (rate below 0.2)
    "unseen",  # share of words the keep rates never saw twice: names, mostly
    "opening_words",  # share of the document's first clause's words that the run repeats or contains
    "attributed",  # the run is headed by the speaker of the reporting frame before it (统计局：…)
)


@dataclass(frozen=True)
class Span:
    sentence: int  # index into the sentences given to the ranker
    text: str  # the clauses, less the words editors drop (and headed by the frame's speaker when attributed)
    first_clause: int
    last_clause: int
    clause_count: int  # clauses in the whole sentence
    attributed: bool = False  # text opens with the speaker of the frame clause before the run


def speaker(frame: str) -> str | None:
    """Who a reporting-frame clause quotes, short enough to head a title (统计局：…), or None."""
    if not _FRAME.search(frame):
        return None
    name = _FRAME_DATE_VERB.sub("", _SPEAKER_FILLER.sub("", _FRAME.sub("", _compress(frame))).strip())
    clean = not (_NAMELESS.search(name) or CLAUSE_END.search(name) or _UNCLEAN.search(name))
    return name if 2 <= len(name) <= 12 and clean else None


def _attributed(frame: str, name: str, run: str) -> str:
    """The run headed by the frame's speaker, as editors title quotes (统计局：…) and notices (华锐精工中标… for
    华锐精工公告，公司中标…)."""
    own = _SELF.match(run) if _NOTICE.search(frame) else None
    return name + run[own.end():] if own else f"{name}：{run}"


def _whole(run: str, ends_sentence: bool) -> bool:
    """Whether a run of clauses can stand as a line: its quotes balanced, and complete unless the sentence ends there."""
    return not unbalanced_quotes(run) and (ends_sentence or not leaves_open(run))


def _compress(text: str) -> str:
    return _DROPPED.sub("", text)


def _edges_stripped(text: str) -> str:
    return text.strip().strip(_TRAILING)


def clause_spans(text: str, sentence: int, min_chars: int, max_chars: int) -> list[Span]:
    """Every run of whole clauses of ``text`` between ``min_chars`` and ``max_chars`` long, without the words
    editors drop and the separators at its ends; a run never starts or ends on a clause that had nothing else,
    never leaves a quote open or closes one it did not open, and stops mid-phrase (华尔街的那些) only where the
    sentence does.

    A run right after a reporting frame (华锐精工公告，) is offered a second time headed by the frame's speaker.
    A sentence whose every clause is too long still offers its first clause, as the summarizer's trim would.
    """
    bounds = split_clauses(text)
    pieces = [_compress(text[a:b]) for a, b in bounds]  # each clause with its separator
    kept = [i for i, piece in enumerate(pieces) if _edges_stripped(piece)]
    runs = [(first, last, _edges_stripped("".join(pieces[first:last + 1]))) for first in kept for last in kept
            if last >= first and _whole(text[bounds[first][0]:bounds[last][1]], last == len(bounds) - 1)]
    spans = [Span(sentence, run, first, last, len(bounds)) for first, last, run in runs if min_chars <= len(run) <= max_chars]
    if not spans and runs and len(runs[0][2]) >= min_chars:
        first, last, run = runs[0]
        spans.append(Span(sentence, run, first, last, len(bounds)))
    for first, last, run in runs:
        frame = _edges_stripped(pieces[first - 1]) if first else ""
        name = speaker(frame) if frame and not _DANGLING.match(run) else None
        if name and min_chars <= len(titled := _attributed(frame, name, run)) <= max_chars:
            spans.append(Span(sentence, titled, first, last, len(bounds), attributed=True))
    return spans


@dataclass
class KeepRates:
    """How often a word of a flash appears in its editor's title, smoothed towards ``prior``."""

    rates: dict[str, float]
    prior: float

    @classmethod
    def count(cls, pairs: Sequence[tuple[str, str]], strength: float = 2.0) -> "KeepRates":
        """From (text, title) pairs; words seen once are left to the prior."""
        seen: dict[str, int] = {}
        kept: dict[str, int] = {}
        for text, title in pairs:
            for word in set(words(text)):
                seen[word] = seen.get(word, 0) + 1
                kept[word] = kept.get(word, 0) + (word in title)
        prior = sum(kept.values()) / max(sum(seen.values()), 1)
        rates = {w: round((kept[w] + prior * strength) / (n + strength), 4) for w, n in sorted(seen.items()) if n >= 2}
        return cls(rates, round(prior, 4))

    def __call__(self, word: str) -> float:
        return self.rates.get(word, self.prior)


def top_spans(sentences: Sequence[str], scores: Sequence[float], max_sentences: int, min_chars: int,
              max_chars: int) -> list[Span]:
    """The clause runs of the ``max_sentences`` best-scored sentences (ties: the earlier sentence)."""
    top = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))[:max_sentences]
    return [span for i in sorted(top) for span in clause_spans(sentences[i], i, min_chars, max_chars)]


def span_features(sentences: Sequence[str], scores: Sequence[float], spans: Sequence[Span], keep: KeepRates) -> np.ndarray:
    """One row of :data:`FEATURES` per span."""
    frequency: dict[str, int] = {}
    for sentence in sentences:
        for word in set(words(sentence)):
            frequency[word] = frequency.get(word, 0) + 1
    opening = split_clauses(sentences[0])[:1] if sentences else []
    opening_words = set(words(sentences[0][slice(*opening[0])])) if opening else set()
    clauses: dict[int, list[str]] = {}  # each sentence's clauses, split once for all its runs
    rows = []
    for span in spans:
        if span.sentence not in clauses:
            sentence = sentences[span.sentence]
            clauses[span.sentence] = [sentence[a:b] for a, b in split_clauses(sentence)]
        own = clauses[span.sentence]
        opening = own[span.first_clause].strip().rstrip(_TRAILING)
        before = own[span.first_clause - 1].strip().rstrip(_TRAILING) if span.first_clause else ""
        # jieba cuts text into blocks at punctuation first, so a run's words are its clauses' words, each cut once.
        span_words = words(span.text) if span.attributed else [
            w for clause in own[span.first_clause:span.last_clause + 1] for w in words(_compress(clause))]
        rates = np.array([keep(w) for w in span_words] or [keep.prior])
        length = len(span.text) / 30
        rows.append([
            scores[span.sentence],
            float(span.sentence == 0),
            1.0 / (1 + span.sentence),
            float(span.first_clause == 0),
            float(span.last_clause == span.clause_count - 1),
            (span.last_clause - span.first_clause + 1) / 3,
            span.first_clause / span.clause_count,
            length,
            length * length,
            min(len(NUMBER.findall(span.text)), 3) / 3,
            float("%" in span.text),
            float(bool(_FRAME.search(opening))),
            float(bool(before and _FRAME.search(before))),
            float(np.mean([min(frequency.get(w, 0), 3) / 3 for w in span_words])) if span_words else 0.0,
            float(bool(_PARENTHESIS.search(span.text))),
            float(bool(_DANGLING.match(span.text))),
            float(rates.mean()),
            float(rates.sum()) / 10,
            float((rates < 0.2).sum()) / 10,
            float(np.mean([w not in keep.rates for w in span_words])) if span_words else 0.0,
            len(opening_words & set(span_words)) / max(len(opening_words), 1),
            float(span.attributed),
        ])
    return np.asarray(rows, dtype=float).reshape(len(rows), len(FEATURES))


class HeadlineRanker:
    """A linear model over :data:`FEATURES` of clause runs; :meth:`choose` returns the best run of a document."""

    def __init__(self, coef: Sequence[float], intercept: float, mean: Sequence[float], scale: Sequence[float],
                 keep: KeepRates, max_sentences: int = 8, min_chars: int = 8, max_chars: int = 80,
                 card: dict[str, Any] | None = None):
        self.coef, self.mean, self.scale = (np.asarray(v, dtype=float) for v in (coef, mean, scale))
        self.intercept = float(intercept)
        if not self.coef.shape == self.mean.shape == self.scale.shape == (len(FEATURES),):
            raise ValueError(f"expected {len(FEATURES)} weights, means and scales, one per feature ({', '.join(FEATURES)})")
        if not (np.isfinite(self.coef).all() and np.isfinite(self.mean).all() and np.isfinite(self.intercept)
                and np.isfinite(self.scale).all() and (self.scale > 0).all()):
            raise ValueError("weights, means and the intercept must be finite numbers and every scale above 0")
        if not (isinstance(keep.rates, dict) and all(isinstance(v, (int, float)) for v in keep.rates.values())
                and isinstance(keep.prior, (int, float))):
            raise ValueError("keep rates must map words to numbers, with a number as the prior")
        if not (isinstance(max_sentences, int) and max_sentences >= 1):
            raise ValueError(f"max_sentences must be a whole number of at least 1, got {max_sentences!r}")
        if not (isinstance(min_chars, int) and isinstance(max_chars, int) and 0 < min_chars < max_chars):
            raise ValueError(f"need whole numbers 0 < min_chars < max_chars, got {min_chars!r} and {max_chars!r}")
        self.keep = keep
        self.max_sentences, self.min_chars, self.max_chars = max_sentences, min_chars, max_chars
        self.card = card or {}  # how it was fitted and what it scored, kept with the weights

    def rate(self, features: np.ndarray) -> np.ndarray:
        """The predicted ROUGE-L of each span against the editor's title."""
        return (features - self.mean) / self.scale @ self.coef + self.intercept

    def choose(self, sentences: Sequence[str], scores: Sequence[float]) -> Span | None:
        """The best clause run of ``sentences`` given their summarizer scores (ties: the earlier run), or None
        when no run is long enough."""
        spans = top_spans(sentences, scores, self.max_sentences, self.min_chars, self.max_chars)
        if not spans:
            return None
        return spans[int(np.argmax(self.rate(span_features(sentences, scores, spans, self.keep))))]

    # --- save and load ------------------------------------------------------------------------------------------

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "features": list(FEATURES),
            "coef": [round(float(v), 6) for v in self.coef],
            "intercept": round(self.intercept, 6),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "max_sentences": self.max_sentences,
            "min_chars": self.min_chars,
            "max_chars": self.max_chars,
            "card": self.card,
            "keep_prior": self.keep.prior,
            "keep_rates": self.keep.rates,
        }
        (folder / CONFIG_FILE).write_text(json.dumps(config, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path | None = None) -> "HeadlineRanker":
        """The shipped ``fincard-headline-v1``, or the folder at ``path``."""
        folder = Path(path) if path else model_path(HEADLINE)
        file = folder / CONFIG_FILE
        fix = f"fit one with `fincard train-headline --data labels/headlines.jsonl --out {folder}`, or use --headline-model none"
        if not file.is_file():
            raise FincardError(f"headline model {file} does not exist; {fix}")
        try:
            config = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FincardError(f"cannot read headline model {file}: {exc}; {fix}") from None
        try:
            if config["features"] != list(FEATURES):
                raise FincardError(f"headline model {file} was fitted on other features; {fix}")
            return cls(config["coef"], config["intercept"], config["mean"], config["scale"],
                       KeepRates(config["keep_rates"], config["keep_prior"]), config["max_sentences"],
                       config["min_chars"], config["max_chars"], config.get("card"))
        except (KeyError, TypeError, ValueError) as exc:
            raise FincardError(f"headline model {file} has a missing or bad field ({exc}); {fix}") from None
