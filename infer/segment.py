"""Chinese-aware segmentation: paragraphs, sentences, clauses and (jieba) words.

Sentences end after 。！？；… (a run of them counts once) and after ASCII ``!?;`` when CJK text surrounds
them. Closing quotes and brackets, and ``[1][2]`` citation runs, stay with the sentence they close; an ASCII
``"`` after a terminator closes a quote only when one is open, else it opens the next sentence. A period
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
    rf"(?P<closers>[{re.escape(_CLOSERS)}]*)"  # closing quotes / brackets
    r"(?:\s*(?:\[\d+\])+)?"  # citation run
    r"|\n+"
)
_BLANK_LINE = re.compile(r"\n[ \t\u3000]*\n")
# Clause ends: CJK separators anywhere, ASCII ones unless inside a number (1,050 or 10:30).
CLAUSE_END = re.compile(r"[，；：]|(?<!\d)[,;:]|[,;:](?!\d)")
# A clause a line cannot end on, as it needs what follows: it stops on a modifier or a link (华尔街的那些, 以及, 含义是),
# on a frame (某部门表示, 某公司公告, 从数据来看), or it is a subordinate clause or the first of a list, which need the clause
# after them (不管价格多么疯狂地上涨, 一是AI数据中心的快速扩张).
# A clause ending in 的 or 这些 is complete with 是 (这是暂时的, 上限就是这个).
_MODIFIER_END = re.compile(r"(?:的|那些|这些|那个|这个)$")
_LINK_END = re.compile(r"(?:以及|并且|而且|或者|或|但是|因为|由于|为了|对于|关于|根据|通过|随着|包括|如果|虽然|尽管|不管|无论|"
                       r"只要|除了|是|来看|公告|获悉|报道|表示|指出|认为|显示|宣布|强调|透露|预计|提到|(?<![名简对职号])称)$")
_SUBORDINATE = re.compile(r"^(?:不管|无论|如果|假如|虽然|尽管|即使|即便|只要|只有|随着|由于|因为|为了|一旦|一是|其一|首先)|^当.{1,30}时候?$")
_SEPARATORS = "，；：,;:、 "
NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")
# jieba's part-of-speech tags of proper names: persons (nr, nrfg, nrt), places (ns), organisations (nt), others (nz).
_NAME_TAGS = ("nr", "ns", "nt", "nz")
_WORD = re.compile(r"\w")


def split_sentences(text: str, paragraph_index: int = 0) -> list[Sentence]:
    """Split one paragraph into sentences whose offsets point back into ``text``."""
    sentences = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = _sentence_end(text, match)
        _append(sentences, text, start, end, paragraph_index)
        start = end
    _append(sentences, text, start, len(text), paragraph_index)
    return sentences


def _sentence_end(text: str, boundary: re.Match) -> int:
    """Where the sentence ends: after the boundary, or before an ASCII ``"`` among its closers when no quote is open
    (an even number of them before it in the paragraph), as that quote opens the next sentence."""
    closers = boundary["closers"]
    if not closers or '"' not in closers:
        return boundary.end()
    quote = boundary.start("closers") + closers.index('"')
    return quote if text.count('"', 0, quote) % 2 == 0 else boundary.end()


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


_NUMERAL = "一二三四五六七八九十"
_HEADING = re.compile(
    r"^(?:#{2,6}\s+(?P<markdown>.+)"  # ## 铜市场
    rf"|\*\*(?P<bold>[^*]+)\*\*[:：]?"  # **铜市场**
    r"|【(?P<bracket>[^】]+)】"  # 【铜市场】
    rf"|(?:[{_NUMERAL}]+、|[（(][{_NUMERAL}]+[）)])\s*(?P<numbered>.+))$"  # 一、铜市场 / （一）铜市场
)
_SOURCE_TAG = re.compile(r"(?:报道|讯|电|消息|快讯|网)$")  # 【新华社电】 opens a flash, it heads no section
_MAX_HEADING_CHARS = 30


def section_heading(block: str) -> str | None:
    """The heading a paragraph-sized block stands for, when the block is only a heading (Markdown ``##``, a bold
    line, a 【…】 line, or 一、/（一） numbering), else None. A sentence ending or a long block is body text."""
    block = block.strip()
    if "\n" in block or block.endswith(("。", "！", "？", "；", ".", "!", "?")):
        return None
    match = _HEADING.match(block)
    if not match:
        return None
    heading = next(v for v in match.groupdict().values() if v).strip().rstrip("：:")
    if not heading or len(heading) > _MAX_HEADING_CHARS or (match["bracket"] and _SOURCE_TAG.search(heading)):
        return None
    return heading


def headed_paragraphs(blocks: list[str]) -> list[tuple[str, str | None]]:
    """Body blocks, each with the heading above it (None before the first); heading blocks themselves drop out."""
    out: list[tuple[str, str | None]] = []
    section = None
    for block in blocks:
        heading = section_heading(block)
        if heading is None:
            out.append((block, section))
        else:
            section = heading
    return out


def split_clauses(text: str) -> list[tuple[int, int]]:
    """Start and end offsets of each clause of a sentence; a clause keeps its closing separator."""
    cuts = [0, *(m.start() + 1 for m in CLAUSE_END.finditer(text)), len(text)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def unbalanced_quotes(text: str) -> bool:
    """Whether ``text`` opens a quote it does not close, or closes one it did not open."""
    return bool(text.count('"') % 2) or text.count("“") != text.count("”")


def leaves_open(line: str) -> bool:
    """Whether ``line``, a sentence cut after one of its clauses, stops mid-phrase: on a clause that needs what
    follows (华尔街的那些, 某部门表示, 不管…) or inside a quote."""
    line = line.rstrip(_SEPARATORS)
    if unbalanced_quotes(line):
        return True
    clause = CLAUSE_END.split(line)[-1].strip()
    if _MODIFIER_END.search(clause):
        return "是" not in clause
    return bool(_LINK_END.search(clause) or _SUBORDINATE.search(clause))


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
