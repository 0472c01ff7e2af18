"""Chinese-aware segmentation: paragraphs, sentences, clauses and (jieba) words.

Sentences end after 。！？；… (a run of them counts once) and after ASCII ``!?;`` when CJK text surrounds
them. Closing quotes and brackets, and ``[1][2]`` citation runs, stay with the sentence they close. A period
is never a boundary, so decimals (3.5%, 1.2万亿) and ASCII ellipses are safe.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from .document import Sentence

_CJK = r"\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_CLOSERS = "」』”’）》〉】〕]\"')"
_BOUNDARY = re.compile(
    rf"(?:[。！？；]+|…+|(?<=[{_CJK}])[!?;]+(?=\s*[{_CJK}]))"  # the terminator run
    rf"[{re.escape(_CLOSERS)}]*"  # closing quotes / brackets
    r"(?:\s*(?:\[\d+\])+)?"  # citation run
    r"|\n+"
)
_BLANK_LINE = re.compile(r"\n[ \t\u3000]*\n")
# Clause ends: CJK separators anywhere, ASCII ones unless inside a number (1,050 or 10:30).
CLAUSE_END = re.compile(r"[，；：]|(?<!\d)[,;:]|[,;:](?!\d)")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")
# jieba's part-of-speech tags of proper names: persons (nr, nrfg, nrt), places (ns), organisations (nt), others (nz).
_NAME_TAGS = ("nr", "ns", "nt", "nz")
_WORD = re.compile(r"\w")


def split_sentences(text: str, paragraph_index: int = 0) -> list[Sentence]:
    """Split one paragraph into sentences whose offsets point back into ``text``."""
    sentences = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        _append(sentences, text, start, match.end(), paragraph_index)
        start = match.end()
    _append(sentences, text, start, len(text), paragraph_index)
    return sentences


def _append(sentences: list[Sentence], text: str, start: int, end: int, paragraph_index: int) -> None:
    # Trim surrounding whitespace by moving the offsets, so text[start:end] == sentence.text.
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        sentences.append(Sentence(text[start:end], paragraph_index, start, end))


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs split on blank lines, or on single line breaks when the text has no blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    parts = _BLANK_LINE.split(text) if _BLANK_LINE.search(text) else text.split("\n")
    return [p.strip() for p in parts if p.strip()]


def split_clauses(text: str) -> list[tuple[int, int]]:
    """Start and end offsets of each clause of a sentence; a clause keeps its closing separator."""
    cuts = [0, *(m.start() + 1 for m in CLAUSE_END.finditer(text)), len(text)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


@lru_cache(maxsize=1)
def _jieba():
    import jieba  # loaded on first use: its dictionary takes a second

    jieba.setLogLevel(logging.WARNING)
    return jieba


def words(text: str) -> list[str]:
    """jieba words; punctuation and spaces left out."""
    return list(_cut(text))


@lru_cache(maxsize=1 << 16)
def _cut(text: str) -> tuple[str, ...]:
    # The summarizer and the headline ranker segment the same sentences and clauses: cut each text once.
    return tuple(w for w in _jieba().lcut(text) if _WORD.search(w))


@lru_cache(maxsize=1)
def _tagger():
    import jieba.posseg

    _jieba()  # quiets jieba's log
    return jieba.posseg


@lru_cache(maxsize=1 << 14)
def names(text: str) -> frozenset[str]:
    """The distinct proper names of ``text`` (persons, places, organisations, brands) by jieba's part-of-speech tags."""
    return frozenset(pair.word for pair in _tagger().cut(text) if pair.flag.startswith(_NAME_TAGS))
