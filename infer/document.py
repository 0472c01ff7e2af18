"""The data model every stage shares: a Document holds numbered Paragraphs, each split into Sentences."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable


def metadata_dict(id: str, title: str | None, source: str | None, published: datetime | None) -> dict[str, Any]:
    """The id, title, source and date fields that documents and gists write alike."""
    return {"id": id, "title": title, "source": source, "date": published.isoformat(timespec="minutes") if published else None}


@dataclass(frozen=True)
class Sentence:
    """A sentence of a paragraph; ``start``/``end`` are character offsets into the paragraph's text."""

    text: str
    paragraph_index: int
    start: int
    end: int


@dataclass
class Paragraph:
    """One paragraph unit: a plain paragraph, or one bullet of a structured card.

    ``index`` is 1-based: the number a gist cites as ``[n]``. ``citations`` are the ``[n]`` numbers the
    source text itself carried (structured cards), already removed from ``text``. ``raw`` is the text as the
    reader found it when that differs (line-wrap spaces removed), else None: the original is ``raw or text``.
    """

    index: int
    text: str
    sentences: list[Sentence] = field(default_factory=list)
    section: str | None = None
    citations: list[int] = field(default_factory=list)
    raw: str | None = None

    @classmethod
    def build(cls, index: int, text: str, section: str | None = None, citations: Iterable[int] = (),
              raw: str | None = None) -> "Paragraph":
        """A paragraph with its sentences split by :func:`infer.segment.split_sentences`."""
        from .segment import split_sentences

        return cls(index, text, split_sentences(text, index), section, sorted(set(citations)), raw if raw != text else None)


@dataclass
class Document:
    id: str
    title: str | None = None
    source: str | None = None
    published: datetime | None = None
    paragraphs: list[Paragraph] = field(default_factory=list)

    @classmethod
    def from_paragraphs(
        cls,
        paragraphs: Iterable[str],
        title: str | None = None,
        source: str | None = None,
        published: datetime | None = None,
        id: str | None = None,
    ) -> "Document":
        """Build a document from plain paragraph strings; blank strings are dropped."""
        texts = [p.strip() for p in paragraphs if p and p.strip()]
        doc = cls(id or "", title, source, published, [Paragraph.build(i, t) for i, t in enumerate(texts, 1)])
        doc.id = id or doc.content_hash()
        return doc

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.paragraphs)

    @property
    def sentences(self) -> list[Sentence]:
        return [s for p in self.paragraphs for s in p.sentences]

    def content_hash(self) -> str:
        """A stable id for documents that came without one (used to resume interrupted runs)."""
        import hashlib

        digest = hashlib.sha1("\x1f".join([self.title or "", self.text]).encode("utf-8")).hexdigest()
        return "sha1-" + digest[:16]

    def to_dict(self) -> dict[str, Any]:
        """The interchange form written by ``fincard parse`` and read back by the JSONL reader."""
        return {
            **metadata_dict(self.id, self.title, self.source, self.published),
            "paragraphs": [
                {"index": p.index, "text": p.text, "section": p.section, "citations": p.citations}
                for p in self.paragraphs
            ],
        }
