"""The card's layout: picked sentences in, the seed's card out.

A card is a 核心观点 section of the 3–5 most salient lines in document order, then sections: the article's own
(Markdown ``##``, 一、/（一）/【…】 heading paragraphs, structured cards) where it has them, else the classifier's
theme groups (heaviest theme first), and the lines that fit no theme under the article's key phrase (其他 when it has
none). Long articles get long cards: the number of lines grows with the number of candidate sentences.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

from .card import HEADLINE_SECTION, Bullet, Gist, Section, card_safe
from .document import Document, Sentence

SENTENCES_PER_LINE = 3  # one card line for about every three candidate sentences (the seed's long cards: 15–25 lines)
KEY_VIEWS = ((6, 3), (12, 4))  # up to 6 lines: 3 key views; up to 12: 4; more: 5


@dataclass(frozen=True)
class Pick:
    """A picked line: the sentence it comes from, its text on the card, its salience rank (1 = best) and labels."""

    sentence: Sentence
    text: str
    rank: int
    theme: str | None = None
    stance: str | None = None
    echoes: tuple[int, ...] = ()  # other paragraphs that state the same point


def card_size(candidates: int, max_lines: int) -> tuple[int, int]:
    """Lines on the card and how many of them are key views, for a document of ``candidates`` sentences. The key
    views follow the article's length, not the cap: a long report cut to 5 lines shows 5 key views."""
    natural = max(3, round(candidates / SENTENCES_PER_LINE))
    lines = min(max_lines, candidates, natural)
    key_views = next((views for most, views in KEY_VIEWS if natural <= most), 5)
    return lines, min(lines, key_views)


def key_phrase(texts: Sequence[str]) -> str | None:
    """The article's own word for what the lines are about (TF-IDF over jieba's nouns), for a heading."""
    import jieba.analyse

    tags = jieba.analyse.extract_tags("".join(texts), topK=1, allowPOS=("n", "nz", "vn", "nt", "ns", "nr"))
    return tags[0] if tags else None


def arrange(doc: Document, title: str | None, picks: Sequence[Pick], key_views: int,
            theme_order: Sequence[str] | None = None, theme_name: Callable[[str], str] | None = None,
            no_theme: str = "其他") -> Gist:
    """The card of ``picks`` (in rank order): the first ``key_views`` under 核心观点, the rest in sections.

    ``theme_order`` (heaviest first) and ``theme_name`` group the rest by theme when the article has no sections
    of its own; without them, or for lines of no theme, the heading is the lines' key phrase.
    """
    key, rest = sorted(picks[:key_views], key=_reading_order), sorted(picks[key_views:], key=_reading_order)
    sections = [Section(HEADLINE_SECTION, [_bullet(p, p.echoes) for p in key])] if key else []
    own = {p.sentence: doc.paragraphs[p.sentence.paragraph_index - 1].section for p in rest}
    if any(own.values()):
        headings = [own[p.sentence] for p in rest]
    elif theme_order is not None and theme_name is not None:
        order = {theme: i for i, theme in enumerate(theme_order)}
        rest = sorted(rest, key=lambda p: (order.get(p.theme, len(order)), _reading_order(p)))
        headings = [theme_name(p.theme) if p.theme else None for p in rest]
    else:
        headings = [None] * len(rest)
    untitled = [p.text for p, heading in zip(rest, headings) if not heading]
    fallback = (key_phrase(untitled) if untitled else None) or no_theme
    grouped: dict[str, list[Bullet]] = {}  # first appearance orders the sections
    for pick, heading in zip(rest, headings):
        grouped.setdefault(card_safe(heading or fallback), []).append(_bullet(pick, ()))
    if sections and HEADLINE_SECTION in grouped:  # the article's own 核心观点 lines join the key views
        sections[0].bullets = sorted(sections[0].bullets + grouped.pop(HEADLINE_SECTION), key=_card_order(doc))
    sections += [Section(heading, bullets) for heading, bullets in grouped.items()]
    return Gist(doc.id, doc.title or title, doc.source, doc.published, sections)


def echoes(sentences: Sequence[Sentence], similarity, index: int, threshold: float) -> tuple[int, ...]:
    """Paragraphs other than sentence ``index``'s own where a sentence says the same (similarity ≥ ``threshold``)."""
    own = sentences[index].paragraph_index
    return tuple(sorted({s.paragraph_index for j, s in enumerate(sentences)
                         if s.paragraph_index != own and similarity[index][j] >= threshold}))


def _card_order(doc: Document) -> Callable[[Bullet], tuple[int, int]]:
    """Reading order of lines already on the card: by paragraph, then by where the line's text starts in it."""
    return lambda b: (b.citations[0], doc.paragraphs[b.citations[0] - 1].text.find(b.text))


def _reading_order(pick: Pick) -> tuple[int, int]:
    return pick.sentence.paragraph_index, pick.sentence.start


def _bullet(pick: Pick, also: Sequence[int]) -> Bullet:
    return Bullet(pick.text, sorted({pick.sentence.paragraph_index, *also}), pick.theme, pick.stance, pick.rank)


def heaviest_themes(labels: Sequence[dict[str, float]]) -> list[str]:
    """Themes by their total score over the document (the card's section order)."""
    weight: Counter = Counter()
    for scores in labels:
        weight.update(scores)
    return [theme for theme, _ in weight.most_common()]
