import pytest

from infer import split_paragraphs, split_sentences


def texts(text):
    return [s.text for s in split_sentences(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("央行宣布降准0.5个百分点。市场预计释放1.2万亿元流动性！", ["央行宣布降准0.5个百分点。", "市场预计释放1.2万亿元流动性！"]),
        ("铜价上涨3.5%，创新高；库存下降", ["铜价上涨3.5%，创新高；", "库存下降"]),
        ("他说：“要稳增长。”随后散会。", ["他说：“要稳增长。”", "随后散会。"]),
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
