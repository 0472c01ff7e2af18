import json

import numpy as np
import pytest

from infer import Document, Summarizer
from infer.cli import main
from infer.errors import FincardError
from infer.headline import CONFIG_FILE, FEATURES, HeadlineRanker, KeepRates, _compress, clause_spans, speaker
from infer.gist_eval import rouge_l, taken_from

SEPARATORS = "，；：,;:。"


def test_clause_spans_are_runs_of_whole_clauses_never_cut_inside_a_number():
    sentence = "华锐精工公告，公司中标国家电网项目，中标金额合计约1,050.3万元，占营业收入的18.2%。"
    spans = clause_spans(sentence, 0, 8, 80)
    assert {s.text for s in spans} >= {"公司中标国家电网项目", "华锐精工公告，公司中标国家电网项目", "中标金额合计约1,050.3万元，占营业收入的18.2%"}
    for span in (s for s in spans if not s.attributed):
        start = sentence.index(span.text)
        end = start + len(span.text)
        assert start == 0 or sentence[start - 1] in SEPARATORS
        assert end == len(sentence) or sentence[end] in SEPARATORS
        assert 8 <= len(span.text) <= 80 and span.clause_count == 4
    assert not any(s.text.endswith("约1") for s in spans)
    assert [s.text for s in clause_spans(sentence, 0, 8, 12)] == ["公司中标国家电网项目", "占营业收入的18.2%", "华锐精工中标国家电网项目"]
    # Runs after a notice's frame are offered again, headed by the company as editors title them.
    assert [s.text for s in spans if s.attributed] == [
        "华锐精工中标国家电网项目", "华锐精工中标国家电网项目，中标金额合计约1,050.3万元",
        "华锐精工中标国家电网项目，中标金额合计约1,050.3万元，占营业收入的18.2%"]
    quoted = clause_spans("宁德时代董事长曾毓群表示，公司将加大海外投资力度。", 0, 8, 80)
    assert [s.text for s in quoted if s.attributed] == ["宁德时代董事长曾毓群：公司将加大海外投资力度"]  # not a notice
    attributed = clause_spans("国家统计局数据显示，12月CPI同比上涨1.8%，环比持平。", 0, 8, 80)
    assert [s.text for s in attributed if s.attributed] == ["国家统计局：12月CPI同比上涨1.8%", "国家统计局：12月CPI同比上涨1.8%，环比持平"]
    assert not any(s.attributed for s in clause_spans("公司表示，预计全年经营保持稳定。", 0, 8, 80))  # 公司 names no one


@pytest.mark.parametrize("text, compressed", [
    ("瑞士央行周四意外宣布降息", "瑞士央行意外宣布降息"),
    ("英伟达盘后股价大涨", "英伟达股价大涨"),
    ("公司日前公告", "公司公告"),
    ("2024年5月10日晚间公告", "5月10日公告"),
    ("2022年12月份CPI同比上涨1.8%", "12月份CPI同比上涨1.8%"),
])
def test_editors_drop_relative_time_and_the_year_before_a_month(text, compressed):
    assert _compress(text) == compressed


@pytest.mark.parametrize("text", [
    "上周四美联储宣布加息", "本周一度大涨5%", "下周一开始实施", "今天是周三", "于3月31日前完成整改", "在5个交易日前公告",
    "到期日前不得转让", "本周日均成交额", "当日均价", "节日前后", "将于今日开市起停牌", "截止今日收盘", "今日起调整",
    "2023年12月至2024年3月", "较2023年12月末", "与2023年12月相比", "从2021年3月开始", "2021年3月后", "2024年3月中旬以来",
])
def test_words_that_are_part_of_a_longer_word_or_bound_a_period_stay(text):
    assert _compress(text) == text


@pytest.mark.parametrize("frame, name", [
    ("华锐精工发布公告称", "华锐精工"), ("国家统计局数据显示", "国家统计局"), ("据彭博社报道", "彭博社"), ("央行有关负责人表示", "央行有关负责人"),
    ("公司表示", None), ("最新数据显示", None), ("2023年数据显示", None), ("从央行获悉", None), ("利好消息", None),
    ("财联社记者获悉", None), ("分析人士指出", None), ("一季度数据显示", None), ("铜价大涨", None),
    # Issue 15: a heading is a clean subject, without the frame's date and verb (not 某部门18日公布的：…).
    ("某部门18日公布的数据显示", "某部门"), ("智利国家统计局周三公布的数据显示", "智利国家统计局"), ("东岳矿业3月30日公告", "东岳矿业"),
    ("中国人民银行9月14日宣布", "中国人民银行"), ("美国的官员表示", None), ("发言人介绍", None),
])
def test_speaker_of_a_reporting_frame(frame, name):
    assert speaker(frame) == name


def test_speaker_headings_never_keep_the_frames_date_or_verb():
    quoted = clause_spans("某部门18日公布的数据显示，1月铜产量同比下降5.2%，至40.6万吨。", 0, 8, 80)
    assert [s.text for s in quoted if s.attributed] == ["某部门：1月铜产量同比下降5.2%", "某部门：1月铜产量同比下降5.2%，至40.6万吨"]
    notice = clause_spans("北辰电气12月29日公告，公司全资子公司与美国一家电力公司签订电力变压器供货合同。", 0, 8, 80)
    assert [s.text for s in notice if s.attributed] == ["北辰电气全资子公司与美国一家电力公司签订电力变压器供货合同"]
    # No clean subject, no heading: the plain run is offered as it is.
    plain = clause_spans("美国的官员表示，将对进口铜征收50%的关税。", 0, 8, 80)
    assert not any(s.attributed for s in plain) and "将对进口铜征收50%的关税" in {s.text for s in plain}


def test_a_run_never_stops_mid_phrase_before_the_sentence_ends():
    # Issue 15: the seed's 核心观点 was cut at "…华尔街的那些".
    sentence = ("从伦敦金属交易所(LME)最新交易数据来看,铝价期货,已经突破2880美元/吨这个关口,正加快朝着3000美元的高位冲击,"
                "华尔街的那些,交易员还在留意着英伟达的GPU出货量,却忽视了更为基本的实体制裁。")
    texts = [s.text for s in clause_spans(sentence, 0, 8, 80)]
    assert "铝价期货,已经突破2880美元/吨这个关口,正加快朝着3000美元的高位冲击" in texts
    assert not any(t.endswith(("那些", "来看")) for t in texts)
    quoted = [s.text for s in clause_spans('"十五五"规划建议把"建设现代化产业体系,巩固壮大实体经济根基"作为重点任务之一。', 0, 8, 80)]
    assert all(t.count('"') % 2 == 0 for t in quoted)


def test_clause_spans_leave_out_the_words_editors_drop_but_not_where_a_period_starts():
    texts = {s.text for s in clause_spans("瑞士央行周四宣布，今日起将政策利率下调25个基点，为2024年3月以来首次降息。", 0, 8, 80)}
    assert "瑞士央行：今日起将政策利率下调25个基点" in texts and "为2024年3月以来首次降息" in texts
    assert not any("周四" in text for text in texts)
    texts = [s.text for s in clause_spans("今日，国家统计局数据显示，2022年12月份CPI同比上涨1.8%。", 0, 8, 80)]
    # The frame alone is no run: a line never stops on 数据显示.
    assert texts == ["国家统计局数据显示，12月份CPI同比上涨1.8%", "12月份CPI同比上涨1.8%", "国家统计局：12月份CPI同比上涨1.8%"]
    assert all(taken_from(text, "今日，国家统计局数据显示，2022年12月份CPI同比上涨1.8%。") for text in texts)
    # A sentence whose clauses are all too long still offers its first clause, as the summarizer's trim would.
    one_clause = "受海外矿山供应扰动与国内新能源需求超预期的共同影响沪铜主力合约日内涨幅一度超过百分之三并刷新上市以来最高纪录"
    assert [s.text for s in clause_spans(one_clause + "，随后回落。", 2, 8, 30)] == [one_clause]
    assert clause_spans("铜价大涨。", 0, 8, 80) == []


def test_keep_rates_are_smoothed_counts_of_words_kept_in_the_title():
    keep = KeepRates.count([("黄金 白银", "黄金"), ("黄金 铜", "黄金价格"), ("白银 铜", "铜"), ("锌", "锌价")])
    prior = 4 / 7  # 4 of 7 (flash, word) pairs were kept
    assert keep.prior == pytest.approx(prior, abs=1e-4)
    assert keep("黄金") == pytest.approx((2 + 2 * prior) / 4, abs=1e-4)
    assert keep("白银") == pytest.approx(2 * prior / 4, abs=1e-4)
    assert keep("铜") == pytest.approx((1 + 2 * prior) / 4, abs=1e-4)
    assert "锌" not in keep.rates and keep("锌") == keep("从未见过") == keep.prior


COMPANIES = ["华锐精工", "光启储能", "晶芯微电子", "东岳新材", "瑞丰光电", "宏远电子", "中原铜业", "丰牧农业", "北辰医药",
             "远航物流", "天衡环保", "金桥科技", "汇川重工", "海晟能源", "明德食品", "云图软件", "蓝海航运", "鼎盛建材",
             "安泰化工", "星河传媒", "长风汽车"]
EVENTS = ["中标国家电网输变电项目", "拟定增募资不超过32亿元", "一季度净利润同比预增120%", "控股股东拟减持不超过3%股份",
          "获得创新药临床试验批准", "拟回购股份金额不超过5亿元", "与宁德时代签订战略合作协议"]


def flash(i: int) -> dict:
    company, event = COMPANIES[i], EVENTS[i % len(EVENTS)]
    text = (f"证券时报{i % 12 + 1}月{i % 27 + 1}日讯，{company}公告，公司{event}，相关事项尚需履行审批程序，"
            f"存在不确定性。公司表示，本次事项不会对当期经营产生重大影响。")
    return {"id": f"f{i}", "text": text, "gist": [f"{company}{event}"], "split": "tune" if i < 15 else "dev"}


def test_train_headline_learns_where_the_news_sits_and_round_trips(tmp_path, capsys):
    data = tmp_path / "flashes.jsonl"
    data.write_text("".join(json.dumps(flash(i), ensure_ascii=False) + "\n" for i in range(len(COMPANIES))), encoding="utf-8")
    out = tmp_path / "ranker"
    assert main(["train-headline", "--data", str(data), "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["tune_rows"], report["dev_rows"]) == (15, 6)
    assert (out / "README.md").is_file() and f"fincard train-headline --data {data} --out {out}" in (out / "README.md").read_text()

    ranker = HeadlineRanker.load(out)
    dev = [flash(i) for i in range(15, len(COMPANIES))]
    docs = [Document.from_paragraphs([row["text"]]) for row in dev]
    with_ranker = [Summarizer(headline=ranker).summarize(doc, max_bullets=1).headline.text for doc in docs]
    without = [Summarizer(headline=None).summarize(doc, max_bullets=1).headline.text for doc in docs]
    # The event clause, not the whole sentence with its frame and caveats, on rows it never saw.
    assert all(EVENTS[i % len(EVENTS)] in text and "不确定性" not in text for i, text in zip(range(15, 21), with_ranker))
    score = lambda texts: np.mean([rouge_l([t], row["gist"]) for t, row in zip(texts, dev)])
    assert score(with_ranker) > score(without) + 0.1
    assert report["dev_rougeL"] == pytest.approx(score(with_ranker), abs=1e-4)

    again = tmp_path / "again"
    ranker.save(again)
    assert json.loads((again / CONFIG_FILE).read_text()) == json.loads((out / CONFIG_FILE).read_text())


NEWS = "华锐精工公告，公司中标国家电网2023年第一批输变电项目设备采购，中标金额合计约4.86亿元，占公司2022年营业收入的18.2%。"
MARKET = "A股三大指数午后震荡走低，沪指跌0.6%，两市成交额不足8000亿元。"


def test_summarizer_with_the_shipped_ranker_trims_the_headline_cites_it_and_does_not_repeat_it():
    paragraphs = [NEWS, MARKET, "公司表示，项目顺利履行将对未来经营业绩产生积极影响。"]
    doc = Document.from_paragraphs(paragraphs)
    gist = Summarizer(headline=HeadlineRanker.load()).summarize(doc, max_bullets=3)
    # The news sentence, cut to a run of its clauses: the reporting frame or the trailing detail goes.
    assert gist.headline.citations == [1] and taken_from(gist.headline.text, NEWS) and len(gist.headline.text) < len(NEWS) - 10
    assert [b.text for b in gist.bullets] == [MARKET, "公司表示，项目顺利履行将对未来经营业绩产生积极影响。"]
    assert Summarizer(headline=None).summarize(doc, max_bullets=1).headline.text == NEWS  # without a ranker: the whole sentence


def test_ranker_headline_falls_back_to_the_sentence_and_keeps_near_repeats_out():
    ranker = HeadlineRanker.load()
    short = Document.from_paragraphs(["铜价创新高。"])  # no run reaches the ranker's 8 characters
    assert Summarizer(headline=ranker).summarize(short).headline.text == "铜价创新高。"
    repeat = NEWS.replace("。", "！")  # a near-repeat in another paragraph: MMR must treat it as the headline's
    gist = Summarizer(headline=ranker).summarize(Document.from_paragraphs([NEWS, MARKET, repeat]), max_bullets=3)
    assert [b.text for b in gist.bullets] == [MARKET]


def test_the_ranker_sees_text_only_scores_with_or_without_a_classifier():
    from test_summarize import FakeClassifier, article

    texts, scores = Summarizer().sentence_scores(article())
    classifier = FakeClassifier()
    with_classifier = Summarizer(classifier).sentence_scores(article())
    assert texts == with_classifier[0] and np.allclose(scores, with_classifier[1]) and scores.max() == 1.0
    assert classifier.calls == 0  # text-only: the classifier is not run for nothing


def test_headline_model_errors_say_what_to_do(tmp_path):
    with pytest.raises(FincardError, match="train-headline --data"):
        HeadlineRanker.load(tmp_path / "missing")
    (tmp_path / "folder" / CONFIG_FILE).mkdir(parents=True)
    with pytest.raises(FincardError, match="does not exist"):
        HeadlineRanker.load(tmp_path / "folder")
    (tmp_path / CONFIG_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(FincardError, match="cannot read.*headline-model none"):
        HeadlineRanker.load(tmp_path)
    (tmp_path / CONFIG_FILE).write_bytes("{}".encode("utf-16"))
    with pytest.raises(FincardError, match="cannot read"):
        HeadlineRanker.load(tmp_path)
    shipped = HeadlineRanker.load()
    shipped.save(tmp_path)
    config = json.loads((tmp_path / CONFIG_FILE).read_text(encoding="utf-8"))
    config["features"] = list(FEATURES[:-1])
    (tmp_path / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(FincardError, match="fitted on other features"):
        HeadlineRanker.load(tmp_path)
    config["features"] = list(FEATURES)
    for field, value, message in (("coef", ["a"] * len(FEATURES), "could not convert"), ("scale", [0.0] * len(FEATURES), "above 0"),
                                  ("max_sentences", "8", "max_sentences"), ("keep_rates", [], "keep rates"),
                                  ("coef", None, "coef")):
        broken = {**config, field: value} if value is not None else {k: v for k, v in config.items() if k != field}
        (tmp_path / CONFIG_FILE).write_text(json.dumps(broken), encoding="utf-8")
        with pytest.raises(FincardError, match=message):
            HeadlineRanker.load(tmp_path)


def test_headline_model_option_of_the_summarize_command(tmp_path, capsys):
    data = tmp_path / "news.jsonl"
    data.write_text(json.dumps({"id": "n1", "paragraphs": [NEWS, MARKET]}, ensure_ascii=False) + "\n", encoding="utf-8")
    headlines = {}
    for option in ("none", None):
        args = ["summarize", str(data), "-o", str(tmp_path / "cards.jsonl"), "--no-classifier", "--max-bullets", "1"]
        assert main(args + (["--headline-model", option] if option else [])) == 0
        headlines[option] = json.loads((tmp_path / "cards.jsonl").read_text(encoding="utf-8"))["sections"][0]["bullets"][0]["text"]
    assert headlines["none"] == NEWS and taken_from(headlines[None], NEWS) and len(headlines[None]) < len(NEWS)
    assert main(["summarize", str(data), "--no-classifier", "--headline-model", str(tmp_path / "nothing")]) == 2
    assert "train-headline" in capsys.readouterr().err
