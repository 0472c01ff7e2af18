"""The card: what a gist is (:class:`Gist`, :class:`Bullet`) and its one-line-per-section Markdown, written and read.

The seed's search-result cards are ``title``, ``来源· YYYY-MM-DD HH:MM``, then ``核心观点 - 观点 [1][2] 小标题 - 要点 [3]``:
bullets are separated by `` - `` and end with a run of ``[n]`` paragraph citations. :meth:`Gist.to_markdown` writes
that form and :func:`structured_paragraphs` reads it back (``fincard parse --format search``), so both rules live here.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from .document import Paragraph, metadata_dict

HEADLINE_SECTION = "核心观点"
BULLET_SEPARATOR = " - "
CITATION = re.compile(r"\[(\d+)\]")
CITATION_RUN = re.compile(r"\s*((?:\[\d+\]\s*)+)")
_CITATIONS = re.compile(r"\s*(?:\[\d+\])+")


def citations_text(numbers: list[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def card_safe(text: str) -> str:
    """Drop ``[n]`` runs and break `` - `` so that a bullet cannot be misread as card structure."""
    return _CITATIONS.sub("", text).replace(BULLET_SEPARATOR, " – ").strip()


@dataclass
class Bullet:
    """One line of a card: ``text`` is (a trimmed part of) one input sentence, ``citations`` the paragraphs that
    state it (its own first); ``rank`` its salience on the card, 1 the line a one-line gist keeps."""

    text: str
    citations: list[int]
    theme: str | None = None
    stance: str | None = None
    rank: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Section:
    heading: str
    bullets: list[Bullet] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"heading": self.heading, "bullets": [b.to_dict() for b in self.bullets]}


@dataclass
class Gist:
    """A card: sections in order, the first the 核心观点 (the key views, in document order), then the article's own
    sections or its theme groups."""

    id: str
    title: str | None
    source: str | None
    published: datetime | None
    sections: list[Section] = field(default_factory=list)

    @property
    def lines(self) -> list[Bullet]:
        """Every line of the card, in card order."""
        return [bullet for section in self.sections for bullet in section.bullets]

    @property
    def headline(self) -> Bullet | None:
        """The most salient line (rank 1): what a one-line gist shows."""
        return min(self.lines, key=lambda b: b.rank, default=None)

    @property
    def bullets(self) -> list[Bullet]:
        """Every line but the headline, in card order."""
        headline = self.headline
        return [b for b in self.lines if b is not headline]

    def top(self, count: int) -> list[Bullet]:
        """The ``count`` most salient lines, in card order: the card cut to ``count`` lines."""
        kept = {id(b) for b in sorted(self.lines, key=lambda b: b.rank)[:count]}
        return [b for b in self.lines if id(b) in kept]

    def to_dict(self) -> dict[str, Any]:
        return {
            **metadata_dict(self.id, self.title, self.source, self.published),
            "sections": [section.to_dict() for section in self.sections],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Gist":
        """The inverse of :meth:`to_dict` (``fincard run`` renders ``cards.md`` from ``cards.jsonl``)."""
        published = datetime.fromisoformat(data["date"]) if data.get("date") else None
        sections = [Section(s["heading"], [Bullet(**b) for b in s["bullets"]]) for s in data.get("sections") or []]
        return cls(data["id"], data.get("title"), data.get("source"), published, sections)

    def to_markdown(self) -> str:
        """The seed's card: a title line, a ``来源· YYYY-MM-DD HH:MM`` line, then the body on one line,
        ``核心观点 - 观点 [1][4] - 观点 [2] 铜市场 - 要点 [3]``, which ``fincard parse`` reads back (a card needs a date to
        be recognised as one)."""
        date = f" {self.published:%Y-%m-%d %H:%M}" if self.published else ""
        body = " ".join(
            _one_line(section.heading)
            + "".join(f"{BULLET_SEPARATOR}{b.text} {citations_text(b.citations)}" for b in section.bullets)
            for section in self.sections if section.bullets
        )
        return "\n".join([_one_line(self.title or self.id), f"{_one_line(self.source or '来源不详')}·{date}", body]) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def structured_paragraphs(body: str) -> list[Paragraph]:
    """``核心观点 - 观点一 [1][2] - 观点二 [3] 小标题 - ...``: one paragraph per bullet under its heading.

    Whatever follows a bullet's closing citation run, up to the next separator, is the next heading.
    """
    pieces = body.split(BULLET_SEPARATOR)
    section: str | None = pieces[0].strip() or None
    paragraphs: list[Paragraph] = []
    for piece in pieces[1:]:
        runs = list(CITATION_RUN.finditer(piece))
        last = runs[-1] if runs else None
        text, citations, next_section = piece, [], None
        if last is not None:
            text = piece[: last.start()]
            citations = [int(n) for n in CITATION.findall(last.group(1))]
            next_section = piece[last.end():].strip() or None
        text = text.strip()
        if text:
            paragraphs.append(Paragraph.build(len(paragraphs) + 1, text, section, citations))
        if next_section:
            section = next_section
    return paragraphs
