import pytest

from infer import split_paragraphs, split_sentences
from infer.segment import leaves_open


def texts(text):
    return [s.text for s in split_sentences(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("央行宣布降准0.5个百分点。市场预计释放1.2万亿元流动性！", ["央行宣布降准0.5个百分点。", "市场预计释放1.2万亿元流动性！"]),
        ("铜价上涨3.5%，创新高；库存下降", ["铜价上涨3.5%，创新高；", "库存下降"]),
        ("他说：“要稳增长。”随后散会。", ["他说：“要稳增长。”", "随后散会。"]),
        # An ASCII quote after a terminator opens the next sentence unless a quote is open (issue 15, the seed).
        ('居于牵一发而动全身的重要地位。"十五五"规划建议把"建设现代化产业体系"作为重点任务之一。',
         ["居于牵一发而动全身的重要地位。", '"十五五"规划建议把"建设现代化产业体系"作为重点任务之一。']),
        ('他说:"要稳增长。"随后散会。', ['他说:"要稳增长。"', "随后散会。"]),
        ("（详见公告。）下一句", ["（详见公告。）", "下一句"]),
        ("「好。」他答", ["「好。」", "他答"]),
        ("等待……然后呢？是的", ["等待……", "然后呢？", "是的"]),
        ("需求强劲?是的!好的;再见", ["需求强劲?", "是的!", "好的;", "再见"]),
        ("Fed cut rates. Stocks rose! OK?", ["Fed cut rates. Stocks rose! OK?"]),
        ("英伟达Q3营收达351亿美元.同比增长94%。", ["英伟达Q3营收达351亿美元.同比增长94%。"]),
        ("增长显著。[1][2] 下一观点[3]", ["增长显著。[1][2]", "下一观点[3]"]),
        ("价格为...待定。", ["价格为...待定。"]),
        ("第一行\n第二行", ["第一行", "第二行"]),
        ("   ", []),
    ],
)
def test_split_sentences(text, expected):
    assert texts(text) == expected


def test_offsets_point_back_into_paragraph():
    text = " 首句。  次句！\n末句 "
    for s in split_sentences(text, paragraph_index=4):
        assert text[s.start:s.end] == s.text
        assert s.paragraph_index == 4


def test_split_paragraphs_blank_lines_or_single_breaks():
    assert split_paragraphs("甲\n乙\n\n丙") == ["甲\n乙", "丙"]
    assert split_paragraphs("甲\r\n乙\r\n丙") == ["甲", "乙", "丙"]
    assert split_paragraphs("\n\n  \n") == []


@pytest.mark.parametrize("line, stops_mid_phrase", [
    ("从伦敦金属交易所(LME)最新交易数据来看,铝价期货,已经突破2880美元/吨这个关口,正加快朝着3000美元的高位冲击,华尔街的那些,", True),
    ("这条红线传递的含义是,", True),
    ("不管全球价格多么疯狂地上涨,", True),
    ("当前有两股趋势性力量正在形成额外的电力需求:一是AI数据中心的快速扩张,", True),
    ("从伦敦金属交易所(LME)最新交易数据来看,", True),
    ("智利国家统计局公布的", True),
    ("金穗食品6月6日公告，", True),
    ('"十五五"规划建议把"建设现代化产业体系,', True),
    ("铝价期货,已经突破2880美元/吨这个关口,正加快朝着3000美元的高位冲击,", False),
    ("这是暂时的，", False),
    ("上限就是这个,", False),
    ("需求增加，供给减少，", False),
    ("公司名称，", False),
])
def test_a_line_never_stops_mid_phrase(line, stops_mid_phrase):
    assert leaves_open(line) is stops_mid_phrase
