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
UNGROUPED_SECTION = "要点"  # the heading of bullets when there is no classifier to group them by theme
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
    """One line of a card: ``text`` is (a trimmed part of) one input sentence, ``citations`` its paragraph numbers."""

    text: str
    citations: list[int]
    theme: str | None = None
    stance: str | None = None
    section: str | None = None  # the card heading it sits under

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Gist:
    id: str
    title: str | None
    source: str | None
    published: datetime | None
    headline: Bullet | None = None
    bullets: list[Bullet] = field(default_factory=list)

    @property
    def lines(self) -> list[Bullet]:
        """The headline, then the bullets: every sentence the gist picked."""
        return ([self.headline] if self.headline else []) + self.bullets

    def to_dict(self) -> dict[str, Any]:
        return {
            **metadata_dict(self.id, self.title, self.source, self.published),
            "headline": self.headline.to_dict() if self.headline else None,
            "bullets": [b.to_dict() for b in self.bullets],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Gist":
        """The inverse of :meth:`to_dict` (``fincard run`` renders ``cards.md`` from ``cards.jsonl``)."""
        headline = Bullet(**data["headline"]) if data.get("headline") else None
        published = datetime.fromisoformat(data["date"]) if data.get("date") else None
        return cls(data["id"], data.get("title"), data.get("source"), published, headline, [Bullet(**b) for b in data.get("bullets", [])])

    def to_markdown(self) -> str:
        """The seed card layout, which ``fincard parse`` reads back (a card needs a date to be recognised).

        A title line, a ``来源· YYYY-MM-DD HH:MM`` line, ``核心观点 - sentence [n]``, then one line per heading:
        ``金属 - sentence [n] - sentence [m]``.
        """
        date = f" {self.published:%Y-%m-%d %H:%M}" if self.published else ""
        lines = [_one_line(self.title or self.id), f"{_one_line(self.source or '来源不详')}·{date}"]
        section = None
        for bullet in self.lines:
            item = f"{BULLET_SEPARATOR}{bullet.text} {citations_text(bullet.citations)}"
            if bullet.section == section:
                lines[-1] += item
            else:
                lines.append(f"{bullet.section}{item}")
                section = bullet.section
        return "\n".join(lines) + "\n"


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
