import io
import json
import sys
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infer import Document, ReadError, read_documents
from infer.cli import main

SEED_CARDS = [
    ("水电便宜到两三毛,中国铝业护城河有多深?", "搜狐财经", "2025-12-20 10:40"),
    ("高盛闭门会-2026全球金属铜锂铝展望,最看好铜看跌铝锂短期紧张", "高盛", "2025-12-17 23:50"),
    ("哥伦比亚政府拟上调陶瓷地砖进口关税", "商务部网站", "2025-12-16 11:18"),
    ("经济日报金观平:锻造新兴支柱产业硬实力", "经济日报", "2025-12-12 07:43"),
    ("中欧基金任飞:全球电力短缺催化再通胀,潜在风险或转为市场主线", "证券时报网", "2025-12-10 14:41"),
    ("ETO Markets:全球屏息以待,AI涨势与国债狂飙谁主沉浮?", "搜狐财经", "2025-12-08 16:54"),
    ("供给给力,消费费力——年终经济漫谈之二 || 大视野", "搜狐财经", "2025-12-08 16:19"),
    ("大洋彼岸的机器人豪赌开场了", "机器人大讲堂", "2025-12-07 17:04"),
    ("美国家安全战略报告调整美全球安全优先事项", "新华社", "2025-12-06 20:42"),
    ("黄仁勋:中美 AI 工厂赛,拼的是底座,不是硅谷", "36氪", "2025-12-04 11:54"),
]


def collect(inputs, **kwargs):
    errors = []
    docs = list(read_documents(inputs, on_error=errors.append, **kwargs))
    return docs, errors


def test_seed_parses_into_its_ten_cards(seed_path):
    docs, errors = collect(seed_path)
    assert errors == []
    assert [(d.title, d.source, d.published) for d in docs] == [
        (t, s, datetime.strptime(p, "%Y-%m-%d %H:%M")) for t, s, p in SEED_CARDS
    ]
    assert len({d.id for d in docs}) == 10


def test_structured_card_sections_and_citations(seed_path):
    goldman = list(read_documents(seed_path))[1]
    sections = [p.section for p in goldman.paragraphs]
    for heading in ("行业投资评级", "核心观点", "铜市场", "铝市场", "锂市场", "铁矿石与钢铁市场"):
        assert heading in sections
    first = goldman.paragraphs[0]
    assert first.section == "行业投资评级"
    assert first.text == "最看好铜,看跌铝,对锂短期前景乐观,对铁矿石前景悲观"
    assert first.citations == [1, 2]
    assert [p.index for p in goldman.paragraphs] == list(range(1, len(goldman.paragraphs) + 1))
    assert all("[" not in p.text for p in goldman.paragraphs)
    strategic = next(p for p in goldman.paragraphs if p.text.startswith("**战略储备**"))
    assert strategic.citations == [15, 16] and strategic.section == "铜市场"


def test_plain_cards_keep_their_text_less_the_line_wrap_spaces(seed_path):
    lines = seed_path.read_text(encoding="utf-8").split("\n")
    docs = list(read_documents(seed_path))
    for doc, body in ((docs[0], lines[4]), (docs[3], lines[13])):
        (paragraph,) = doc.paragraphs
        assert paragraph.raw == body.strip()  # the text as read stays recoverable
        assert paragraph.text.replace(" ", "") == body.strip().replace(" ", "") and len(paragraph.text) < len(paragraph.raw)
        assert paragraph.section is None and paragraph.citations == []
        assert "".join(s.text for s in paragraph.sentences).replace(" ", "") == body.strip().replace(" ", "")
    # Issue 15: the source wrapped its lines at about 48 characters and the card showed "朝 着3000美元".
    assert "正加快朝着3000美元的高位冲击" in docs[0].paragraphs[0].text and "朝 着" not in docs[0].paragraphs[0].text
    assert '"十五五"规划建议把' in docs[3].paragraphs[0].text
    assert docs[1].paragraphs[0].raw is None  # nothing removed, nothing kept twice


def test_spaces_that_separate_phrases_are_no_line_wraps(tmp_path):
    wrapped = "当你想要同时保持 高端算力以及基础制造的时候,脆弱的电网负荷,就是第一个倒下的多米诺骨牌,关税没有让本国产能得到恢复,反倒切断了外部的供 应途径。"
    separated = "房地产狂飙期曾引发对制造业“挤出效应”的担忧 但辩证来看 房地产通过地方政府出让商业用地获得收入 并将其用于改善基础设施"
    one_space = "上海证券报讯 国际半导体产业协会发布报告。"
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in (wrapped, separated, one_space)), encoding="utf-8")
    first, second, third = (d.paragraphs[0] for d in read_documents(path))
    assert (first.text, first.raw) == (wrapped.replace(" ", ""), wrapped)
    assert (second.text, second.raw) == (separated, None)
    assert (third.text, third.raw) == (one_space, None)


def test_text_and_markdown(tmp_path):
    (tmp_path / "a.md").write_text("# 标题\n\n第一段。第二句。\n\n## 小节\n\n第二段\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("甲段\n乙段\n", encoding="utf-8")
    (tmp_path / "ignored.csv").write_text("text\nx\n", encoding="utf-8")
    docs, errors = collect(tmp_path)
    assert errors == []
    a, b = docs
    assert (a.id, a.title) == ("a", "标题")
    assert [(p.text, p.section) for p in a.paragraphs] == [("第一段。第二句。", None), ("第二段", "小节")]
    assert [s.text for s in a.paragraphs[0].sentences] == ["第一段。", "第二句。"]
    assert [p.text for p in b.paragraphs] == ["甲段", "乙段"]


def test_heading_lines_name_the_sections_in_text_and_jsonl(tmp_path):
    body = ("【新华社电】\n\n铜价周一大涨3%。\n\n一、铜市场\n\n智利矿山罢工。\n\n（二）电力需求：\n\n数据中心用电激增。\n\n"
            "**值得关注的三大方向**\n\n一是电网。\n\n【铜市场】后市仍看涨。\n\n三、这一段虽以编号开头，却是一句完整的正文。")
    (tmp_path / "a.txt").write_text(body, encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "b", "text": body}, ensure_ascii=False) + "\n", encoding="utf-8")
    docs, errors = collect(tmp_path)
    assert errors == []
    expected = [("【新华社电】", None), ("铜价周一大涨3%。", None), ("智利矿山罢工。", "铜市场"), ("数据中心用电激增。", "电力需求"),
                ("一是电网。", "值得关注的三大方向"), ("【铜市场】后市仍看涨。", "值得关注的三大方向"),
                ("三、这一段虽以编号开头，却是一句完整的正文。", "值得关注的三大方向")]
    for doc in docs:
        assert [(p.text, p.section) for p in doc.paragraphs] == expected
        assert [p.index for p in doc.paragraphs] == list(range(1, 8))


def test_jsonl_rows_and_errors(tmp_path):
    path = tmp_path / "in.jsonl"
    rows = [
        json.dumps({"id": "x1", "title": "T", "source": "S", "date": "2024-05-01 09:30", "text": "一段\n二段"}, ensure_ascii=False),
        "{not json",
        json.dumps({"paragraphs": ["甲", {"text": "乙", "section": "节", "citations": [2, 1]}]}, ensure_ascii=False),
        json.dumps({"text": "   "}),
        json.dumps([1, 2]),
        json.dumps({"title": "no body"}),
        json.dumps({"text": "x", "date": "yesterday"}),
        "",
    ]
    path.write_text("\n".join(rows), encoding="utf-8")
    docs, errors = collect(path)
    assert [d.id for d in docs] == ["x1", "in:3"]
    assert docs[0].published == datetime(2024, 5, 1, 9, 30)
    assert [p.text for p in docs[0].paragraphs] == ["一段", "二段"]
    assert (docs[1].paragraphs[1].section, docs[1].paragraphs[1].citations) == ("节", [1, 2])
    assert [(e.line, e.error.split(":")[0]) for e in errors] == [
        (2, "invalid JSON"),
        (4, "empty document"),
        (5, "expected a JSON object, got list"),
        (6, "row needs a 'text' string or a 'paragraphs' list"),
        (7, "bad date 'yesterday'"),
    ]
    assert all(e.file == str(path) for e in errors)


def test_parse_output_reads_back_identically(seed_path, tmp_path):
    out = tmp_path / "docs.jsonl"
    assert main(["parse", str(seed_path), "-o", str(out)]) == 0
    again = list(read_documents(out))
    assert [d.to_dict() for d in again] == [d.to_dict() for d in read_documents(seed_path)]


def test_csv(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('id,title,text\nc1,标题,"第一段\n第二段"\nc2,空,\nc3,x,y,extra\n', encoding="utf-8")
    docs, errors = collect(path)
    assert [(d.id, d.title, [p.text for p in d.paragraphs]) for d in docs] == [("c1", "标题", ["第一段", "第二段"])]
    assert [(e.line, e.error) for e in errors] == [
        (4, "empty document: no paragraph text"),
        (5, "row has 4 fields, header has 3"),
    ]
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    assert "needs a 'text' or 'paragraphs' column" in collect(path)[1][0].error


def test_stdin(monkeypatch):
    data = json.dumps({"id": "s", "text": "来自标准输入"}, ensure_ascii=False).encode() + b"\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    docs, errors = collect("-")
    assert [d.id for d in docs] == ["s"] and errors == []


def test_stdin_sniffs_search_page(monkeypatch, seed_path):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(seed_path.read_bytes())))
    assert len(collect("-")[0]) == 10


def test_encodings(tmp_path, caplog):
    (tmp_path / "bom.txt").write_bytes("\ufeff央行降息。".encode("utf-8"))
    (tmp_path / "gbk.txt").write_bytes("铜价上涨。".encode("gb18030"))
    (tmp_path / "junk.txt").write_bytes(b"\xff\xfe\x80\x80\xff")
    docs, errors = collect(tmp_path)
    assert [d.paragraphs[0].text for d in docs] == ["央行降息。", "铜价上涨。"]
    assert "gbk.txt: not UTF-8, read as GB18030" in caplog.text
    assert len(errors) == 1 and errors[0].file.endswith("junk.txt") and "not UTF-8 or GB18030" in errors[0].error


def test_missing_file_and_empty_document(tmp_path):
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    docs, errors = collect([tmp_path / "nope.txt", tmp_path / "empty.txt"])
    assert docs == []
    assert [e.error for e in errors] == ["no such file or directory", "empty document: no paragraph text"]


def test_without_handler_the_first_error_raises(tmp_path):
    with pytest.raises(ReadError, match="nope.txt: no such file"):
        list(read_documents(tmp_path / "nope.txt"))


def test_jsonl_streams_without_reading_the_whole_file(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps({"text": f"第{i}段"}, ensure_ascii=False) + "\n" for i in range(1000)), encoding="utf-8")
    stream = read_documents(path)
    first = next(stream)
    assert first.paragraphs[0].text == "第0段"
    stream.close()


def test_cli_exit_codes_and_error_file(tmp_path, capsys, seed_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "好"}\n{oops\n', encoding="utf-8")
    errors = tmp_path / "errors.jsonl"
    assert main(["parse", str(seed_path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 10
    assert main(["parse", str(bad), "--errors", str(errors)]) == 1
    assert json.loads(errors.read_text(encoding="utf-8")) == {"file": str(bad), "line": 2, "error": "invalid JSON: Expecting property name enclosed in double quotes (column 2)"}
    with pytest.raises(SystemExit) as exit_info:
        main(["parse", str(bad), "--format", "xml"])
    assert exit_info.value.code == 2


def test_from_paragraphs_numbers_and_hashes():
    doc = Document.from_paragraphs(["甲。乙。", "  ", "丙"], title="T")
    assert [(p.index, p.text) for p in doc.paragraphs] == [(1, "甲。乙。"), (2, "丙")]
    assert [s.paragraph_index for s in doc.sentences] == [1, 1, 2]
    assert doc.id == Document.from_paragraphs(["甲。乙。", "丙"], title="T").id


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=400), st.text(max_size=400).map(lambda t: t.encode("utf-8"))),
       suffix=st.sampled_from([".txt", ".md", ".jsonl", ".csv"]))
def test_arbitrary_input_never_crashes(tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    for fmt in (None, "search", "text", "jsonl", "csv"):
        docs, errors = collect(path, format=fmt)
        assert all(isinstance(d, Document) and d.paragraphs for d in docs)
        assert all(isinstance(e, ReadError) for e in errors)
