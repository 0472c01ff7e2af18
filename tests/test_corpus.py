import json

from train.corpus import MAX_CHARS, MAX_ITEM_CHARS, check_corpus


def _write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _row(i, text, **extra):
    return {"id": f"tst-01-{i:03d}", "text": text, "themes": [], "stance": "neutral", "batch": "tst-01", **extra}


def test_whole_items_obey_paragraph_and_item_limits(tmp_path):
    paragraph = "央行今日开展逆回购操作。" * 20  # 240 characters, distinct per row below
    rows = [
        _row(1, "\n".join(f"{paragraph}第{k}段" for k in range(3))),  # a valid item of three paragraphs
        _row(2, "甲" * (MAX_CHARS + 1)),  # a paragraph over the limit
        _row(3, "\n".join(f"段落{k}" + "乙丙丁戊" * 90 for k in range(4))),  # paragraphs fit, the item does not
        _row(4, "第一段有内容。\n\n第三段有内容。"),  # an empty paragraph
    ]
    report = check_corpus([str(_write(tmp_path / "train.jsonl", rows))])
    assert report.rows == 4
    assert not any(":1:" in e for e in report.errors)
    assert any(":2:" in e and f"at most {MAX_CHARS}" in e for e in report.errors)
    assert any(":3:" in e and f"at most {MAX_ITEM_CHARS}" in e for e in report.errors)
    assert any(":4:" in e and "empty paragraph" in e for e in report.errors)
    assert report.stats["unit"] == {"whole item": 3, "paragraph": 1}


def test_real_text_over_the_limit_is_only_a_warning(tmp_path):
    real = {"id": "seed-1", "text": "丙" * (MAX_CHARS + 5), "themes": [], "stance": "neutral"}
    report = check_corpus([str(_write(tmp_path / "gold.jsonl", [real]))])
    assert not report.errors
    assert any(f"at most {MAX_CHARS}" in w for w in report.warnings)


def test_bad_labels_ids_and_near_duplicates_are_errors(tmp_path):
    text = "沪深两市成交额连续第三个交易日突破一万亿元，北向资金全天净买入超过五十亿元。"
    rows = [_row(1, text), _row(1, text.replace("五十", "六十")), _row(3, "独立的一段文字。", stance="up")]
    report = check_corpus([str(_write(tmp_path / "dev.jsonl", rows))])
    assert any("already used" in e for e in report.errors)
    assert any("near-duplicate" in e for e in report.errors)
    assert any("unknown stance 'up'" in e for e in report.errors)


def test_members_of_one_minimal_pair_may_share_their_wording(tmp_path):
    text = "智利某铜矿工会宣布自本周六起无限期罢工，该矿年产铜约三十万吨，沪铜夜盘应声拉涨百分之一点一。"
    flipped = text.replace("宣布自本周六起无限期罢工", "宣布取消原定本周六的罢工").replace("拉涨", "回落")
    rows = [_row(1, text, stance="bullish", pair="tst-01-p01"), _row(2, flipped, stance="bearish", pair="tst-01-p01"),
            _row(3, flipped.replace("三十", "四十"), pair="tst-01-p02")]
    report = check_corpus([str(_write(tmp_path / "train.jsonl", rows))])
    assert [e for e in report.errors if "near-duplicate" in e] and all(":3:" in e for e in report.errors)
