import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from infer import Bullet, Document, Gist, Summarizer, read_documents
from infer.card import Section
from infer.cli import main
from infer.document import Paragraph
from infer.errors import ConfigError, FincardError
from infer.schema import Schema
from infer.segment import split_sentences, unbalanced_quotes
from infer.gist_eval import EvalRow, evaluate, read_eval_rows, rouge_l, rouge_n
from infer.summarize import LeadSummarizer, SummarizerConfig, TextRankSummarizer, fallback_title

ROOT = Path(__file__).resolve().parents[1]

ARTICLE = [
    "新华社北京12月11日电（记者 张三）中国人民银行宣布下调存款准备金率0.5个百分点，释放长期流动性约1万亿元。",
    "受降准消息提振，10年期国债收益率下行4个基点至1.82%。央行有关负责人表示，将保持流动性合理充裕。",
    "伦敦金属交易所三个月期铜上涨2.1%，报每吨10,850美元，创年内新高。铜价上涨主要受矿端供应收紧推动。",
    "美国宣布对进口铝加征25%关税，欧盟表示将采取反制措施。",
    "这意味着什么？",
    "图：LME铜价走势",
    "分析人士认为，货币宽松与供给收缩共振，铜价短期仍有上行空间，但需警惕关税升级带来的需求冲击。",
]


@dataclass
class FakePrediction:
    themes: list
    theme_scores: dict
    stance: str
    stance_scores: dict


class FakeClassifier:
    """Keyword rules with the Classifier interface: predict(texts, batch_size) and schema."""

    RULES = {"metals": "铜|铝", "central_banks": "央行|准备金|国债|货币", "tariffs": "关税"}

    def __init__(self):
        self.schema = Schema.load()
        self.calls = 0

    def predict(self, texts, batch_size=32):
        self.calls += 1
        out = []
        for text in texts:
            scores = {t: (0.9 if re.search(self.RULES.get(t, "^$"), text) else 0.05) for t in self.schema.theme_ids}
            stance = "bullish" if re.search("上涨|新高|上行", text) else "bearish" if re.search("下跌|冲击", text) else "neutral"
            stance_scores = {s: (0.8 if s == stance else 0.1) for s in self.schema.stance_ids}
            out.append(FakePrediction([t for t, v in scores.items() if v >= 0.5], scores, stance, stance_scores))
        return out


class EmbeddingClassifier(FakeClassifier):
    def embed(self, texts, batch_size=32):
        vectors = np.zeros((len(texts), 97))
        for row, text in enumerate(texts):
            for char in re.sub(r"\W", "", text):
                vectors[row, ord(char) % 97] += 1
        return vectors


LONG_REPORT = [
    "2025年全球铜市场出现较大供给过剩，废料供应同比增长超过5%，增加约60万吨。矿端方面，多个新建项目陆续投产，贝斯铜矿复产进度快于预期。",
    "我们预计2026年废料供应增速将放缓至3%左右，同时矿产供应继续增加。印度尼西亚和阿曼的新矿产量扩张，将部分抵消废料增速的回落。",
    "需求端，人工智能数据中心是铜需求的重要增长点。预计到2026年，数据中心将贡献全球铜需求增量的26%，但仅占总需求的1%左右。",
    "中国铜需求近期明显走弱，第四季度表观消费同比下降约4%。电网投资放缓叠加地产拖累，线缆企业开工率降至六成以下。",
    "央行年内两次下调存款准备金率，货币环境保持宽松，但对金属需求的传导仍需时间。10年期国债收益率已降至1.8%附近。",
    "美国关税政策是价格的关键变量。若关税明确落地，美国库存积累将放缓，铜价有望稳定在10,500至11,000美元区间。",
    "铝市场前景偏弱，预计从2026年开始全球供给过剩将变得明显。印尼新增电解铝产能集中释放，价格或将下降至每吨2,350美元。",
    "锂市场短期偏紧，我们将2026年上半年中国碳酸锂价格预测上调至每吨11,000美元。但下半年随着新增产能投放，价格预计回落至9,500美元左右。",
    "铁矿石方面，西芒杜项目投产将显著增加供应，预计2026年均价为每吨93美元，年底跌破90美元。钢厂利润修复有限，补库意愿偏低。",
    "综合来看，我们最看好铜，看跌铝，对锂短期前景乐观，对铁矿石前景悲观。建议投资者关注铜矿资源储备丰富的龙头企业。",
    "风险提示：全球经济衰退超预期；美国关税政策反复；国内稳增长政策力度不及预期。",
]


def article(**kwargs):
    return Document.from_paragraphs(ARTICLE, **kwargs)


def assert_cited_faithfully(doc: Document, gist: Gist):
    """Every bullet is a piece of a paragraph it cites (up to the card-safe " - " -> " – " and dropped [n]); the
    others it cites state the same point elsewhere."""
    for bullet in gist.lines:
        assert bullet.citations == sorted(set(bullet.citations)) and bullet.citations
        assert all(1 <= number <= len(doc.paragraphs) for number in bullet.citations)
        sources = [re.sub(r"\s*(?:\[\d+\])+", "", doc.paragraphs[n - 1].text).replace(" - ", " – ") for n in bullet.citations]
        assert any(bullet.text in source for source in sources)


@pytest.mark.parametrize("summarizer", [Summarizer(headline=None), Summarizer(FakeClassifier()), LeadSummarizer(), TextRankSummarizer()])
def test_citations_point_at_the_source_paragraph_and_nothing_repeats(summarizer):
    doc = Document.from_paragraphs(ARTICLE + [ARTICLE[2], ARTICLE[0]])  # the same sentences again, in paragraphs 8-9
    gist = summarizer.summarize(doc, max_bullets=8)
    assert_cited_faithfully(doc, gist)
    texts = [b.text for b in gist.lines]
    assert len(texts) == len(set(texts))
    assert len(gist.lines) >= 3


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(alphabet="铜价上涨央行降准关税新高1,.%。；？ -[]【】（）记者电日月", max_size=60), max_size=6))
@example(["伦敦铜价上涨 - 创下新高[2]，库存下降 - 现货升水扩大。", "[1]"])
def test_any_text_gives_a_faithful_gist(paragraphs):
    doc = Document.from_paragraphs(paragraphs)
    for summarizer in (Summarizer(FakeClassifier()), LeadSummarizer(), TextRankSummarizer()):
        gist = summarizer.summarize(doc, max_bullets=3)
        assert_cited_faithfully(doc, gist)
        assert len(gist.lines) <= 4 and len({b.text for b in gist.lines}) == len(gist.lines)
        assert all(" - " not in b.text and not re.search(r"\[\d+\]", b.text) for b in gist.lines)


def test_cleaning_strips_datelines_and_drops_questions_and_captions():
    gist = Summarizer(headline=None).summarize(article(), max_bullets=10)
    texts = [b.text for b in gist.lines]
    assert not any(t.startswith(("新华社", "（记者")) for t in texts)
    assert any(t.startswith("中国人民银行宣布下调存款准备金率") for t in texts)
    assert not any(t.endswith("？") or t.startswith("图") for t in texts)


def test_bracket_headline_becomes_the_title_of_an_untitled_document():
    doc = Document.from_paragraphs(["【铜价再创新高】财联社5月20日电，沪铜主力合约日内涨幅3.1%，刷新上市以来最高纪录。", "上期所铜库存连续第三周下降。"])
    gist = Summarizer(headline=None).summarize(doc)
    assert gist.title == "铜价再创新高"
    assert gist.headline.text == "沪铜主力合约日内涨幅3.1%，刷新上市以来最高纪录。"
    assert Summarizer(headline=None).summarize(Document.from_paragraphs(doc.text.split("\n"), title="原标题")).title == "原标题"


def test_long_sentences_are_trimmed_at_a_clause_end_never_inside_a_number():
    sentence = "今年前三季度公司实现营业收入1,286.5亿元，同比增长12.4%，归母净利润68.5亿元，同比增长31.2%，矿产铜产量同比增长18%至36.2万吨，经营现金流净额达到152.3亿元。"
    config = SummarizerConfig(max_chars=50)
    bullet = Summarizer(headline=None, config=config).summarize(Document.from_paragraphs([sentence])).headline
    assert sentence.startswith(bullet.text) and 40 <= len(bullet.text) <= 50
    assert sentence[len(bullet.text)] == "，"
    # The comma in 1,286.5 is no clause end: a first clause longer than the limit is kept whole.
    short = Summarizer(headline=None, config=SummarizerConfig(max_chars=16)).summarize(Document.from_paragraphs([sentence])).headline
    assert short.text == "今年前三季度公司实现营业收入1,286.5亿元"


def test_one_paragraph_one_sentence_and_empty_documents():
    one_paragraph = Document.from_paragraphs(["铜价大涨3%，创历史新高。库存连续三周下降，现货升水扩大。"])
    gist = Summarizer(headline=None).summarize(one_paragraph)
    assert gist.headline is not None and len(gist.lines) == 2
    assert all(b.citations == [1] for b in gist.lines)

    one_sentence = Document.from_paragraphs(["铜价创新高。"])  # shorter than min_chars: still the headline
    for summarizer in (Summarizer(headline=None), LeadSummarizer(), TextRankSummarizer()):
        gist = summarizer.summarize(one_sentence, max_bullets=5)
        assert gist.headline.text == "铜价创新高。" and gist.bullets == []

    empty = Document("empty", "标题", "来源", datetime(2025, 1, 2, 9, 30))
    for summarizer in (Summarizer(FakeClassifier()), LeadSummarizer(), TextRankSummarizer()):
        gist = summarizer.summarize(empty)
        assert gist.headline is None and gist.bullets == [] and gist.lines == []
        assert gist.to_markdown() == "标题\n来源· 2025-01-02 09:30\n\n"
        assert gist.to_dict()["sections"] == []


def test_max_bullets_caps_the_card_and_long_articles_get_long_cards():
    one = Summarizer(headline=None).summarize(article(), max_bullets=1)
    assert len(one.lines) == 1 and one.bullets == [] and one.headline.rank == 1
    assert len(Summarizer(headline=None).summarize(article(), max_bullets=2).lines) == 2
    for bad in (0, -1):
        with pytest.raises(ConfigError, match="max_bullets"):
            Summarizer(headline=None).summarize(article(), max_bullets=bad)
    short = Summarizer(headline=None).summarize(article())
    long = Summarizer(headline=None).summarize(Document.from_paragraphs(LONG_REPORT))
    assert len(short.lines) == 3 and [s.heading for s in short.sections] == ["核心观点"]
    assert 6 <= len(long.lines) <= 25 and len(long.sections[0].bullets) in (4, 5) and len(long.sections) >= 2
    assert sorted(b.rank for b in long.lines) == list(range(1, len(long.lines) + 1))
    assert long.top(3) == [b for b in long.lines if b.rank <= 3]  # the card cut to its 3 best lines, in card order


def pick(paragraph, text, rank, theme=None):
    from infer.document import Sentence
    from infer.layout import Pick

    return Pick(Sentence(text, paragraph, 0, len(text)), text, rank, theme, "neutral" if theme else None)


def test_layout_key_views_in_reading_order_then_themes_by_weight_then_the_key_phrase():
    from infer.layout import arrange

    doc = Document.from_paragraphs(["甲。", "乙。", "丙。", "丁。", "戊。", "己。"])
    picks = [pick(3, "铜价上涨2.1%。", 1, "metals"), pick(1, "央行降准0.5个百分点。", 2, "central_banks"),
             pick(6, "国债收益率下行。", 3, "central_banks"), pick(2, "电影票房创下新纪录。", 4),
             pick(5, "货币市场利率回落。", 5, "central_banks"), pick(4, "铝价下跌。", 6, "metals")]
    names = {"metals": "金属", "central_banks": "央行与货币政策"}
    gist = arrange(doc, None, picks, 2, ["central_banks", "metals"], names.get)
    assert [(s.heading, [b.citations[0] for b in s.bullets]) for s in gist.sections] == [
        ("核心观点", [1, 3]),  # the two most salient, in reading order
        ("央行与货币政策", [5, 6]),  # the heavier theme first, reading order inside
        ("金属", [4]),
        ("电影票房", [2]),  # no theme: the line's own key phrase heads it
    ]
    assert gist.headline.text == "铜价上涨2.1%。"  # rank 1, wherever it stands on the card
    # The article's own sections win over themes.
    structured = Document("s", paragraphs=[Paragraph.build(i, t, section) for i, (t, section) in enumerate(
        [("甲。", None), ("乙。", "市场回顾"), ("丙。", "市场回顾"), ("丁。", "展望"), ("戊。", "展望"), ("己。", "展望")], 1)])
    gist = arrange(structured, None, picks, 2, ["central_banks", "metals"], names.get)
    assert [(s.heading, [b.citations[0] for b in s.bullets]) for s in gist.sections] == [
        ("核心观点", [1, 3]), ("市场回顾", [2]), ("展望", [4, 5, 6])]


def test_long_report_card_groups_by_theme_and_key_views_cite_the_paragraphs_that_repeat_them():
    classifier = FakeClassifier()
    doc = Document.from_paragraphs(LONG_REPORT + ["全球铜市场出现较大供给过剩，废料供应同比增长超过5%。"])
    gist = Summarizer(classifier, headline=None).summarize(doc)
    assert classifier.calls == 1  # the paragraphs, once per document
    headings = [s.heading for s in gist.sections]
    assert headings[0] == "核心观点" and "金属" in headings
    themed = [s for s in gist.sections[1:] if s.heading in ("金属", "央行与货币政策", "关税与贸易")]
    assert all(b.theme and Schema.load().theme_name(b.theme) == s.heading for s in themed for b in s.bullets)
    key = gist.sections[0].bullets
    assert [b.citations[0] for b in key] == sorted(b.citations[0] for b in key)
    first = next(b for b in gist.lines if b.text.startswith("2025年全球铜市场出现较大供给过剩"))
    assert first in key and first.citations == [1, 12]  # stated again in paragraph 12
    assert not any(b.text.startswith("风险提示") for b in gist.lines)


def test_without_a_classifier_lines_follow_document_order_inside_each_section():
    gist = Summarizer(headline=None).summarize(Document.from_paragraphs(LONG_REPORT))
    for section in gist.sections:
        order = [(b.citations[0], LONG_REPORT[b.citations[0] - 1].index(b.text)) for b in section.bullets]
        assert order == sorted(order)
    assert all(b.theme is None for b in gist.lines) and gist.sections[1].heading not in ("要点", "其他")


def test_markdown_reads_back_as_the_same_card(tmp_path):
    doc = article(title="央行降准 铜价走高", source="测试社", published=datetime(2025, 12, 11, 10, 5))
    for summarizer in (Summarizer(headline=None), Summarizer(FakeClassifier())):
        gist = summarizer.summarize(doc, max_bullets=4)
        markdown = gist.to_markdown()
        lines = markdown.splitlines()
        assert lines[:2] == ["央行降准 铜价走高", "测试社· 2025-12-11 10:05"]
        assert len(lines) == 3 and lines[2].startswith("核心观点 - ") and re.search(r" \[\d+\]$", lines[2])
        path = tmp_path / "card.txt"
        path.write_text(markdown, encoding="utf-8")
        (card,) = read_documents(path)
        assert (card.title, card.source, card.published) == (doc.title, doc.source, doc.published)
        assert [(p.text, p.citations, p.section) for p in card.paragraphs] == [
            (b.text, b.citations, s.heading) for s in gist.sections for b in s.bullets]


def test_card_structure_in_the_text_cannot_leak_into_bullets(tmp_path):
    doc = Document.from_paragraphs(
        ["路透伦敦3月5日 - 伦敦铜周二上涨1.2%，报每吨8,855美元 - 为两周高位[3]。", "伦敦金属交易所铜库存减少4,125吨 - 降至30.2万吨。"],
        title="伦铜上涨", source="路透", published=datetime(2023, 3, 5),
    )
    gist = Summarizer(headline=None).summarize(doc)
    assert all(" - " not in b.text and "[3]" not in b.text for b in gist.lines)
    path = tmp_path / "card.txt"
    path.write_text(gist.to_markdown(), encoding="utf-8")
    (card,) = read_documents(path)
    assert [p.text for p in card.paragraphs] == [b.text for b in gist.lines]


def test_lead_baseline_takes_the_first_sentences():
    doc = Document.from_paragraphs(["第一句话在这里。第二句话在这里。", "第三句话在这里。", "第四句话在这里。"])
    gist = LeadSummarizer().summarize(doc, max_bullets=3)
    assert [b.text for b in gist.lines] == ["第一句话在这里。", "第二句话在这里。", "第三句话在这里。"]
    assert [b.citations for b in gist.lines] == [[1], [1], [2]] and [b.rank for b in gist.lines] == [1, 2, 3]


def test_textrank_baseline_picks_the_central_sentence_and_restores_order():
    doc = Document.from_paragraphs([
        "今天天气晴朗适合出游。",
        "铜价上涨推动矿业股走强。",
        "铜价上涨与库存下降推动矿业股和冶炼股走强。",
        "库存下降推动冶炼股走强。",
        "周末电影票房创下新纪录。",
    ])
    gist = TextRankSummarizer().summarize(doc, max_bullets=3)
    assert gist.headline.text == "铜价上涨与库存下降推动矿业股和冶炼股走强。"  # rank 1, standing in reading order
    assert [b.text for b in gist.lines] == ["铜价上涨推动矿业股走强。", "铜价上涨与库存下降推动矿业股和冶炼股走强。", "库存下降推动冶炼股走强。"]


def test_deterministic():
    doc = article(title="央行降准 铜价走高")
    first = Summarizer(FakeClassifier()).summarize(doc).to_dict()
    assert all(Summarizer(FakeClassifier()).summarize(doc).to_dict() == first for _ in range(3))
    assert TextRankSummarizer().summarize(doc).to_dict() == TextRankSummarizer().summarize(doc).to_dict()


def test_config_is_validated_with_what_to_change():
    with pytest.raises(ConfigError, match="echo"):
        SummarizerConfig(echo=0)
    with pytest.raises(ValueError, match="numbers"):
        SummarizerConfig(numbers=-1)
    with pytest.raises(ValueError, match="every score weight is 0"):
        SummarizerConfig(**{name: 0 for name in ("centrality", "position", "title", "cue", "numbers", "theme", "stance")})
    with pytest.raises(ValueError, match="max_chars"):
        SummarizerConfig(min_chars=50, max_chars=40)
    with pytest.raises(ValueError, match="tfidf"):
        SummarizerConfig(vectors="bert")
    with pytest.raises(FincardError, match="embed"):
        Summarizer(FakeClassifier(), SummarizerConfig(vectors="classifier"))
    gist = Summarizer(EmbeddingClassifier(), SummarizerConfig(vectors="classifier")).summarize(article(), max_bullets=3)
    assert len(gist.lines) == 3
    assert_cited_faithfully(article(), gist)


def test_names_weight_prefers_sentences_that_name_who_and_where():
    doc = Document.from_paragraphs(["今天市场情绪平稳，大家都在观望后市。", "宁德时代与特斯拉在上海签署供货协议，比亚迪随后跟进。"])
    only = dict(centrality=0, position=0, title=0, cue=0, numbers=0, theme=0, stance=0)
    assert Summarizer(headline=None, config=SummarizerConfig(**only, names=1.0)).summarize(doc, 1).headline.citations == [2]
    assert Summarizer(headline=None, config=SummarizerConfig(**{**only, "position": 1.0})).summarize(doc, 1).headline.citations == [1]


def test_config_from_settings():
    config = SummarizerConfig.from_settings(["names=0.5", " max_chars = 60"], vectors="classifier")
    assert (config.names, config.max_chars, config.vectors) == (0.5, 60, "classifier")
    assert SummarizerConfig.from_settings([]) == SummarizerConfig()
    for bad, message in [("nams=1", "NAME one of"), ("names", "NAME one of"), ("max_chars=6.5", "takes a whole number"),
                         ("position=-1", "must be 0 or more")]:
        with pytest.raises(FincardError, match=message):
            SummarizerConfig.from_settings([bad])


def test_rouge():
    assert rouge_l(["铜价上涨"], ["铜价上涨"]) == rouge_n(["铜价上涨"], ["铜价上涨"], 2) == 1.0
    assert rouge_l(["铜价上涨"], ["央行降准"]) == rouge_n(["铜价上涨"], ["央行降准"], 1) == 0.0
    assert rouge_l([], ["央行降准"]) == 0.0
    # LCS 铜上 (2) of 4 and 3 characters: P 1/2, R 2/3.
    assert rouge_l(["铜价上涨"], ["铜再上"]) == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    # Summary level: each reference line matches its own candidate line, order does not matter.
    assert rouge_l(["乙乙乙", "甲甲甲"], ["甲甲甲", "乙乙乙"]) == 1.0
    # A candidate character is not counted twice for two reference lines.
    assert rouge_l(["甲"], ["甲", "甲"]) == pytest.approx(2 * 1 * 0.5 / 1.5)


def test_evaluate_and_eval_gist_cli(tmp_path, capsys):
    rows = [
        {"text": "铜价大涨3%，创历史新高。\n库存连续三周下降。\n分析师看好后市。", "gist": ["铜价创历史新高"],
         "gist_sentences": ["铜价大涨3%，创历史新高。", "库存连续三周下降。"], "split": "dev"},
        {"paragraphs": ["央行宣布降准0.5个百分点。", {"text": "国债收益率下行。"}], "gist": ["央行降准"], "split": "tune"},
        {"text": "缺少参考摘要的一行"},
    ]
    data = tmp_path / "gist.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\nnot json\n", encoding="utf-8")
    errors = []
    parsed = list(read_eval_rows(data, errors.append))
    assert len(parsed) == 2 and [e.line for e in errors] == [3, 4]

    report = evaluate(LeadSummarizer(), parsed)
    assert report["rows"] == 2 and 0 < report["rougeL"] <= 1
    # Row 1 asks for two lines (two gist sentences): lead picks exactly those.
    assert report["selection"] == {"rows": 1, "precision": 1.0, "recall": 1.0, "f1": 1.0, "first_line": 1.0}

    # A trimmed or speaker-headed line counts for the sentence it was taken from, a line from elsewhere does not,
    # and one reference sentence counts for one line only.
    class Picks:
        def summarize(self, doc, max_bullets):
            lines = [Bullet("统计局：铜价大涨3%", [1]), Bullet("分析师看好后市", [3]), Bullet("铜价创历史新高", [1])]
            return Gist("x", None, None, None, [Section("核心观点", lines)])

    picks_row = [EvalRow(parsed[0].doc, parsed[0].gist, ["统计局数据显示，铜价大涨3%，创历史新高。", "库存连续三周下降。"])]
    assert evaluate(Picks(), picks_row)["selection"] == {"rows": 1, "precision": round(1 / 3, 4), "recall": 0.5, "f1": 0.4,
                                                         "first_line": 1.0}

    class OpensElsewhere(Picks):
        def summarize(self, doc, max_bullets):
            lines = [Bullet("分析师看好后市", [3]), Bullet("统计局：铜价大涨3%", [1])]
            return Gist("x", None, None, None, [Section("核心观点", lines)])

    assert evaluate(OpensElsewhere(), picks_row)["selection"]["first_line"] == 0.0

    clean = tmp_path / "clean.jsonl"
    clean.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows[:2]) + "\n", encoding="utf-8")
    assert main(["eval-gist", "--data", str(clean), "--method", "lead", "--split", "dev", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["method"], out["split"], out["rows"], out["selection"]["f1"]) == ("lead", "dev", 1, 1.0)
    errors_file = tmp_path / "errors.jsonl"
    assert main(["eval-gist", "--data", str(data), "--method", "textrank", "--sentences", "1", "--errors", str(errors_file)]) == 1
    assert "ROUGE-L" in capsys.readouterr().out
    assert [json.loads(line)["line"] for line in errors_file.read_text(encoding="utf-8").splitlines()] == [3, 4]
    assert main(["eval-gist", "--data", str(tmp_path / "missing.jsonl")]) == 2
    assert main(["eval-gist", "--data", str(clean), "--headline-model", str(tmp_path / "no-model")]) == 2
    assert "train-headline" in capsys.readouterr().err


def test_summarize_cli_markdown_and_jsonl(tmp_path, seed_path, capsys):
    cards = tmp_path / "cards.md"
    missing = tmp_path / "missing.txt"
    assert main(["summarize", str(seed_path), str(missing), "-o", str(cards), "--max-bullets", "2", "--no-classifier"]) == 1
    assert "no such file" in capsys.readouterr().err
    docs = list(read_documents(cards, format="search"))  # .md would be read as plain Markdown
    assert len(docs) == 10 and all(1 <= len(d.paragraphs) <= 2 for d in docs)
    assert docs[0].paragraphs[0].section == "核心观点"

    rows = tmp_path / "cards.jsonl"
    assert main(["summarize", str(seed_path), "-o", str(rows), "--max-bullets", "1", "--no-classifier"]) == 0
    lines = [json.loads(line) for line in rows.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 10
    assert all([s["heading"] for s in r["sections"]] == ["核心观点"] and len(r["sections"][0]["bullets"]) == 1 for r in lines)
    with pytest.raises(SystemExit):
        main(["summarize", str(seed_path), "--max-bullets", "0"])


def test_summarize_cli_groups_bullets_with_a_model(tmp_path, seed_path, tiny_model):
    rows = tmp_path / "cards.jsonl"
    assert main(["summarize", str(seed_path), "-o", str(rows), "--model", str(tiny_model)]) == 0
    cards = [json.loads(line) for line in rows.read_text(encoding="utf-8").splitlines()]
    assert all(s["bullets"] and b["stance"] in {"bullish", "bearish", "neutral"}
               for c in cards for s in c["sections"] for b in s["bullets"])
    assert all(c["sections"][0]["heading"] == "核心观点" for c in cards)


def test_tuning_articles_follow_the_rules():
    rows = [json.loads(line) for line in (ROOT / "labels" / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 400 and len({r["id"] for r in rows}) == len(rows)
    splits = {r["split"] for r in rows}
    assert splits == {"tune", "dev", "test"} and sum(r["split"] == "dev" for r in rows) >= 60
    assert all(len({r["split"] for r in rows if r["batch"] == batch}) == 1 for batch in {r["batch"] for r in rows})
    assert len({r["register"] for r in rows}) == 9  # seven news registers, research notes, opinion pieces
    for row in rows:
        assert 5 <= len(row["paragraphs"]) <= 20 and 2015 <= int(row["date"][:4]) <= 2026
        texts = [p if isinstance(p, str) else p["text"] for p in row["paragraphs"]]
        sentences = {s.text for text in texts for s in split_sentences(text)}
        assert 3 <= len(row["gist_sentences"]) <= 5 and set(row["gist_sentences"]) <= sentences
        assert row["gist"] == row["gist_sentences"]
        sectioned = [s for section in row.get("sections", []) for s in section["sentences"]]
        assert set(sectioned) <= sentences and not set(sectioned) & set(row["gist_sentences"])


def test_headline_tuning_flashes_have_an_editor_title_not_a_copied_sentence():
    rows = [json.loads(line) for line in (ROOT / "labels" / "headlines.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 100 and len({r["id"] for r in rows}) == len(rows)
    assert {r["split"] for r in rows} == {"tune", "dev"}
    for row in rows:
        (title,) = row["gist"]
        assert 50 <= len(row["text"]) <= 400 and title not in row["text"]


def test_bullet_and_gist_are_exported():
    assert Bullet("铜价上涨。", [1]).to_dict() == {"text": "铜价上涨。", "citations": [1], "theme": None, "stance": None, "rank": 1}
    gist = Gist("x", "标题", None, None, [Section("核心观点", [Bullet("铜价上涨。", [1, 3], rank=2), Bullet("央行降准。", [2])])])
    assert Gist.from_dict(gist.to_dict()) == gist and gist.headline.text == "央行降准。"


def test_classifier_vectors_from_the_cli(tmp_path, tiny_model, seed_path, capsys, monkeypatch):
    from infer import Classifier

    data = tmp_path / "gist.jsonl"
    row = {"text": "铜价大涨3%，创历史新高。\n库存连续三周下降。\n分析师看好后市。", "gist": ["铜价创历史新高"]}
    data.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["eval-gist", "--data", str(data), "--no-classifier", "--vectors", "classifier"]) == 2
    assert "leave out --no-classifier" in capsys.readouterr().err
    assert main(["summarize", str(seed_path), "--no-classifier", "--vectors", "classifier"]) == 2
    assert "leave out --no-classifier" in capsys.readouterr().err

    embedded = []
    embed = Classifier.embed
    monkeypatch.setattr(Classifier, "embed", lambda self, texts, batch_size=32: embedded.append(texts) or embed(self, texts, batch_size))
    assert main(["eval-gist", "--data", str(data), "--model", str(tiny_model), "--vectors", "classifier", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] == 1 and 0 < report["rougeL"] <= 1 and report["config"]["vectors"] == "classifier"
    assert embedded and "铜价大涨3%，创历史新高。" in embedded[0]  # the sentences were compared by the model's vectors


# --- issue 15: what readers saw on real cards ------------------------------------------------------------------

CONNECTIVE = re.compile(r"^(?:例如|比如|此外|同时|而|但|因此|对此|其中|另外|不过|与此同时)")


def test_a_line_drops_an_opening_connective_or_leaves_the_sentence_out():
    doc = Document.from_paragraphs([
        "美联储宣布将联邦基金利率目标区间下调25个基点至3.75%-4.00%。",
        "例如，分接开关企业相比欧美有20%以上成本优势，交付周期短30%-50%。",
        "其中出口14.26万亿元，增长6.7%，进口10.57万亿元。",
        "而这只是开始，市场仍在消化政策带来的变化。",  # without 而 it still leans on the sentence before
    ])
    for summarizer in (Summarizer(headline=None), Summarizer()):
        texts = [b.text for b in summarizer.summarize(doc, max_bullets=10).lines]
        assert not any(CONNECTIVE.match(t) for t in texts)
        assert "分接开关企业相比欧美有20%以上成本优势，交付周期短30%-50%。" in texts
        assert not any("只是开始" in t for t in texts)


def test_a_press_conference_announcement_is_no_line():
    doc = Document.from_paragraphs([
        "国家统计局10月18日举行新闻发布会，介绍前三季度国民经济运行情况。",
        "初步核算，前三季度国内生产总值同比增长5.2%，比上半年加快0.1个百分点。",
        "分季度看，一季度增长4.5%，二季度增长6.3%，三季度增长4.9%。",
        "国家统计局新闻发言人表示，国民经济持续恢复向好，但外部环境依然复杂严峻。",
    ])
    for summarizer in (Summarizer(headline=None), Summarizer()):
        gist = summarizer.summarize(doc, max_bullets=10)
        assert gist.headline.citations == [2]
        assert not any("新闻发布会" in b.text for b in gist.lines)


def test_a_dateline_ending_in_a_slash_leaves_no_punctuation_behind():
    doc = Document.from_paragraphs(["中新网华盛顿1月5日电/据新华社报导,美联储宣布维持联邦基金利率目标区间不变。", "市场预计美联储将在3月再次评估降息时机。"])
    texts = [b.text for b in Summarizer(headline=None).summarize(doc).lines]
    assert "据新华社报导,美联储宣布维持联邦基金利率目标区间不变。" in texts
    assert not any(re.match(r"[/／,，、:：;；|丨-]", t) for t in texts)


def test_a_line_is_cut_only_where_its_clause_is_complete():
    sentence = ("从伦敦金属交易所(LME)最新交易数据来看,铝价期货,已经突破2880美元/吨这个关口,正加快朝着3000美元的高位冲击,"
                "华尔街的那些,交易员还在留意着英伟达的GPU出货量,却忽视了更为基本的实体制裁。")
    # Up to 70 characters the last clause end is after 华尔街的那些, which needs the 交易员 that follows.
    line = Summarizer(headline=None, config=SummarizerConfig(max_chars=70)).summarize(Document.from_paragraphs([sentence])).headline
    assert line.text == "从伦敦金属交易所(LME)最新交易数据来看,铝价期货,已经突破2880美元/吨这个关口,正加快朝着3000美元的高位冲击"


def test_a_sentence_the_source_cut_short_is_never_a_line():
    for marker in (" ...", "…", "……"):
        doc = Document.from_paragraphs([f"铜价上涨3%，创下历史新高。库存连续三周下降，现货升水扩大。铝不是一般金属,它乃是固{marker}"])
        assert not any("乃是固" in b.text for b in Summarizer(headline=None).summarize(doc, max_bullets=10).lines)
    # An ellipsis inside a paragraph is the writer's, not a cut.
    doc = Document.from_paragraphs(["推进数据高效便利安全跨境流动等部署正在落地……规划建议中的诸多部署均与此有关。"])
    assert any("跨境流动" in b.text for b in Summarizer(headline=None).summarize(doc, max_bullets=10).lines)


def test_seed_cards_show_none_of_the_defects_readers_reported(seed_path):
    lines = [b.text for doc in read_documents(seed_path) for b in Summarizer().summarize(doc).lines]
    assert not any(t.endswith("那些") for t in lines)  # "…华尔街的那些 [1]"
    assert not any("乃是固" in t or t.endswith("...") for t in lines)  # "铝不是一般金属,它乃是固 ..."
    assert not any(unbalanced_quotes(t) for t in lines)  # '十五五"规 划建议…' with its quote left behind
    assert not any(re.search(r"[\u3400-\u9fff] [\u3400-\u9fff]", t) for t in lines[:12])  # "朝 着3000美元" (cards 1-2)
    assert not any(re.match(r"[/／,，、:：;；|丨-]", t) or CONNECTIVE.match(t) for t in lines)


def test_fallback_title_is_the_first_sentence_cut_at_a_clause_never_the_hash_id():
    doc = article()
    assert doc.title is None and doc.id.startswith("sha1-")
    assert fallback_title(doc) == "中国人民银行宣布下调存款准备金率0.5个百分点"  # without dateline and reporter credit
    bracketed = Document.from_paragraphs(["【铜价再创新高】财联社5月20日电，沪铜主力合约日内涨幅3.1%，刷新上市以来最高纪录。"])
    assert fallback_title(bracketed) == "铜价再创新高"
    assert fallback_title(Document.from_paragraphs(["铜价创新高。"])) == "铜价创新高"
    assert fallback_title(Document("empty")) == ""



def test_sumy_baselines_pick_whole_sentences_and_cite_their_paragraphs():
    from infer.summarize import SumySummarizer

    doc = Document.from_paragraphs(LONG_REPORT)
    for method in SumySummarizer.METHODS:
        gist = SumySummarizer(method).summarize(doc, max_bullets=4)
        assert len(gist.lines) == 4 and [s.heading for s in gist.sections] == ["核心观点"]
        assert_cited_faithfully(doc, gist)
    with pytest.raises(ConfigError, match="lexrank"):
        SumySummarizer("lsa")


def test_cards_of_the_seeds_structured_cards_keep_their_layout(seed_path):
    """The seed's 8 structured cards are 核心观点 and then their own headed sections: fincard's card of each keeps that
    layout (its own headings, in their order, none twice) with 3-6 key views."""
    structured = [doc for doc in read_documents(seed_path) if any(p.section for p in doc.paragraphs)]
    assert len(structured) == 8
    for doc in structured:
        gist = Summarizer(headline=None).summarize(doc)
        headings = [s.heading for s in gist.sections]
        assert headings[0] == "核心观点" and 3 <= len(gist.sections[0].bullets) <= 6
        own = list(dict.fromkeys(p.section for p in doc.paragraphs if p.section))
        assert len(set(headings)) == len(headings)
        assert [h for h in own if h in headings[1:]] == headings[1:], doc.title
        assert len(gist.lines) >= min(len(doc.paragraphs) // 3, 8)


def test_an_untitled_document_is_titled_by_its_first_clause_never_its_hash_id():
    doc = Document.from_paragraphs(["新华社北京3月5日电 国家统计局今日公布，2月份全国居民消费价格同比上涨0.7%，环比上涨1.0%。", "分析人士认为通胀温和。"])
    for summarizer in (Summarizer(headline=None), LeadSummarizer(), TextRankSummarizer()):
        gist = summarizer.summarize(doc)
        assert gist.title and not gist.title.startswith("sha1-") and gist.title in doc.paragraphs[0].text
        assert gist.to_markdown().splitlines()[0] == gist.title
