import json
import os
import re
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from browser import chromium, console_errors, needs_chromium
from conftest import SEED

from infer.cli import main
from infer.errors import FincardError, ReadError
from infer.report import render_report, write_report

THEMES = {"metals": "金属", "ai_power": "AI与电力", "central_banks": "央行与货币政策", "consumption": "消费", "tariffs": "关税与贸易"}
STANCES = ("bullish", "bearish", "neutral")
HOSTILE = "<script>alert(1)</script><img src=x onerror=\"window.pwned=1\">"


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory, tiny_model) -> Path:
    """The real pipeline on the 10 seed articles, with the tiny test model."""
    out = tmp_path_factory.mktemp("report") / "seed_run"
    assert main(["run", str(SEED), "-o", str(out), "--model", str(tiny_model)]) == 0
    return out


KEYWORDS = {"metals": "铜|铝|锂|金属|矿", "ai_power": "AI|人工智能|电力|算力|数据中心", "central_banks": "央行|美联储|降息|利率|国债",
            "consumption": "消费|零售", "tariffs": "关税|贸易|进口|出口"}


@pytest.fixture(scope="module")
def keyword_run(seed_run, tmp_path_factory) -> Path:
    """The seed run with keyword labels: the tiny model labels every paragraph alike, leaving the filters nothing to
    tell apart."""
    out = tmp_path_factory.mktemp("report") / "keyword_run"
    out.mkdir()
    (out / "cards.jsonl").write_bytes((seed_run / "cards.jsonl").read_bytes())
    with (out / "paragraphs.jsonl").open("w", encoding="utf-8") as stream:
        for line in (seed_run / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            row["theme_scores"] = {t: 0.9 if re.search(words, row["text"]) else 0.05 for t, words in KEYWORDS.items()}
            row["themes"] = [t for t, score in row["theme_scores"].items() if score > 0.5]
            up, down = (bool(re.search(words, row["text"])) for words in ("上涨|增长|上调|乐观|看好", "下降|下跌|悲观|看跌|过剩"))
            row["stance"] = "bullish" if up > down else "bearish" if down > up else "neutral"
            row["stance_scores"] = {s: 0.8 if s == row["stance"] else 0.1 for s in STANCES}
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out


def page_data(page: str) -> dict:
    block = re.search(r'<script type="application/json" id="fincard-data">(.*?)</script>', page, re.S)
    return json.loads(block[1])


def card(doc_id: str, title: str, texts: list[str], day: str, source: str, i: int) -> tuple[dict, list[dict]]:
    """One card and its paragraph rows as ``fincard run`` writes them, labelled by a fixed rule."""
    key = f"{doc_id}|sha1-0"
    rows, lines = [], []
    for n, text in enumerate(texts, 1):
        theme = list(THEMES)[(i + n) % len(THEMES)]
        stance = STANCES[(i * 7 + n) % len(STANCES)]
        rows.append({"key": key, "doc_id": doc_id, "paragraph": n, "section": None, "text": text, "themes": [theme],
                     "theme_scores": {t: 0.9 if t == theme else 0.01 for t in THEMES}, "stance": stance,
                     "stance_scores": {s: 0.8 if s == stance else 0.1 for s in STANCES}})
        lines.append({"text": text, "citations": [n], "theme": theme, "stance": stance, "rank": n})
    sections = [{"heading": "核心观点", "bullets": lines[:1]}, {"heading": THEMES[lines[1]["theme"]], "bullets": lines[1:]}]
    return {"key": key, "id": doc_id, "title": title, "source": source, "date": f"{day}T08:00", "sections": sections}, rows


def synthetic_run(count: int) -> tuple[list[dict], list[dict]]:
    cards, paragraphs = [], []
    for i in range(count):
        texts = [f"第{i}篇第{n}段：铜价上涨，央行降息，消费回暖，关税下调，电力需求增长。" for n in (1, 2, 3)]
        day = (date(2025, 1, 1) + timedelta(days=i % 365)).isoformat()
        one, rows = card(f"doc{i}", f"第{i}篇 市场快讯", texts, day, f"来源{i % 7}", i)
        cards.append(one)
        paragraphs += rows
    return cards, paragraphs


def test_report_of_a_run(seed_run):
    path = write_report(seed_run)
    assert path == seed_run / "report.html"
    assert not list(seed_run.glob(".report.html.*"))
    page = path.read_text(encoding="utf-8")
    data = page_data(page)
    cards = [json.loads(line) for line in (seed_run / "cards.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = (seed_run / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()
    assert [d["title"] for d in data["docs"]] == [c["title"] for c in cards] and len(cards) == 10
    assert sum(len(d["paras"]) for d in data["docs"]) == len(rows)
    assert [t for t, _ in data["themes"]] == list(THEMES) and data["themes"][0][1] == "金属"
    assert 'id="ts-0-0"' in page and re.search(r'id="tb-\d-\d-\d{8}-\d{8}"', page)  # both charts, bars clickable
    assert "http://" not in page.replace("http://www.w3.org/", "") and "https://" not in page  # nothing to fetch
    assert write_report(seed_run, seed_run / "other.html", title="季度").read_text(encoding="utf-8").count("季度") >= 1


def test_card_lines_are_stored_as_slices_of_their_paragraphs():
    cards, paragraphs = synthetic_run(2)
    cards[1]["sections"][1]["bullets"][0]["text"] = "不在段落里的句子"
    docs = page_data(render_report(cards, paragraphs))["docs"]
    assert docs[0]["sections"][0] == ["核心观点", [[[1, 0, len(paragraphs[0]["text"])], [1], "bearish", 1]]]
    assert docs[1]["sections"][1][1][0][0] == "不在段落里的句子"


def test_missing_or_bad_outputs_are_clear_errors(tmp_path):
    with pytest.raises(FincardError, match="is not a folder"):
        write_report(tmp_path / "nothing")
    with pytest.raises(FincardError, match="cards.jsonl not found"):
        write_report(tmp_path)
    (tmp_path / "cards.jsonl").write_text('{"id": "a", "sections": []}\n{broken\n', encoding="utf-8")
    (tmp_path / "paragraphs.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(ReadError) as error:
        write_report(tmp_path)
    assert error.value.line == 2 and error.value.file.endswith("cards.jsonl")
    assert not (tmp_path / "report.html").exists()


def test_input_text_is_escaped():
    cards, paragraphs = synthetic_run(3)
    cards[0]["title"] = HOSTILE
    cards[0]["source"] = "</script><!--"
    paragraphs[0]["text"] = cards[0]["sections"][0]["bullets"][0]["text"] = "</SCRIPT><script>alert(2)</script>"
    page = render_report(cards, paragraphs, title="</title><script>alert(3)</script>")
    block = re.search(r'<script type="application/json" id="fincard-data">(.*?)</script>', page, re.S)[1]
    assert "<" not in block and ">" not in block and "&" not in block
    assert page.count("<script") == 2 and "&lt;/title&gt;&lt;script&gt;alert(3)" in page  # the title, as text
    data = page_data(page)
    assert data["docs"][0]["title"] == HOSTILE and data["docs"][0]["source"] == "</script><!--"
    assert data["title"] == "</title><script>alert(3)</script>"


def test_ten_thousand_cards_stay_small():
    cards, paragraphs = synthetic_run(10_000)
    started = time.monotonic()
    page = render_report(cards, paragraphs)
    seconds = time.monotonic() - started
    outputs = sum(len(json.dumps(row, ensure_ascii=False).encode()) + 1 for row in cards + paragraphs)
    size = len(page.encode())
    print(f"10,000 cards: page {size / 1e6:.1f} MB (run outputs {outputs / 1e6:.1f} MB), built in {seconds:.1f} s")
    assert size < 0.4 * outputs and size < 8e6
    assert len(page_data(page)["docs"]) == 10_000
    assert page.count("<article") == 0  # cards are rendered in the browser, a page at a time


# --- in a real browser ----------------------------------------------------------------------------------------------


def visible_cards(driver) -> int:
    return driver.execute_script("return document.querySelectorAll('#cards article.card').length")


def shown_count(driver) -> int:
    return int(driver.find_element("css selector", "#count b").text)


def wait_for(driver, condition: str, timeout: float = 5.0) -> None:
    """Wait until the JavaScript expression ``condition`` is true (the search box is debounced)."""
    deadline = time.monotonic() + timeout
    while not driver.execute_script(f"return Boolean({condition})"):
        assert time.monotonic() < deadline, f"timed out waiting for {condition}"
        time.sleep(0.05)


def screenshot_path(name: str, tmp_path: Path) -> Path:
    folder = Path(os.environ.get("FINCARD_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


@needs_chromium
def test_seed_report_in_chromium(keyword_run, tmp_path):
    path = write_report(keyword_run, tmp_path / "report.html")
    with chromium() as driver:
        driver.get(path.as_uri())
        assert visible_cards(driver) == 10 and shown_count(driver) == 10
        assert driver.title == "keyword_run · fincard" and driver.find_element("css selector", ".card h2").text

        # A theme filter: pick a theme on some but not all cards; its chip's count is what clicking shows.
        chips = driver.find_elements("css selector", "#theme-chips .chip")
        counts = [int(chip.find_element("css selector", ".n").text) for chip in chips]
        theme = next(i for i, n in enumerate(counts) if 0 < n < 10)
        chips[theme].click()
        assert visible_cards(driver) == shown_count(driver) == counts[theme] < 10
        assert chips[theme].get_attribute("aria-pressed") == "true"
        driver.find_element("id", "clear").click()
        assert visible_cards(driver) == 10

        # Search over titles and text.
        driver.find_element("id", "q").send_keys("哥伦比亚")
        wait_for(driver, "document.querySelectorAll('#cards article.card').length === 1")
        assert "哥伦比亚" in driver.find_element("css selector", ".card h2").text
        assert driver.find_elements("css selector", ".card mark")
        driver.find_element("id", "clear").click()
        assert visible_cards(driver) == 10

        # A citation opens its paragraph with theme and stance chips and scores.
        cite = driver.find_element("css selector", ".card .cite")
        cite.click()
        paragraph = driver.find_element("css selector", ".card .para")
        assert cite.get_attribute("aria-expanded") == "true"
        assert paragraph.is_displayed() and len(paragraph.find_element("css selector", ".para-text").text) > 5
        assert len(paragraph.find_elements("css selector", ".chip.stance")) == 3
        assert "%" in paragraph.find_element("css selector", ".chip .n").text

        # A chart bar filters; a top paragraph opens in the dialog.
        driver.find_element("css selector", '.chart [id^="ts-"]').click()
        assert shown_count(driver) <= 10
        driver.find_element("css selector", ".top-item").click()
        assert driver.find_element("id", "dialog").is_displayed()
        driver.find_element("id", "close").click()

        assert console_errors(driver) == []
        shot = screenshot_path("report-seed.png", tmp_path)
        driver.find_element("id", "clear").click()
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(shot))
        print(f"screenshot: {shot}")


@needs_chromium
def test_hostile_text_shows_as_text_in_chromium(tmp_path):
    cards, paragraphs = synthetic_run(3)
    cards[0]["title"] = HOSTILE
    paragraphs[0]["text"] = cards[0]["sections"][0]["bullets"][0]["text"] = HOSTILE
    path = tmp_path / "hostile.html"
    path.write_text(render_report(cards, paragraphs, title=HOSTILE), encoding="utf-8")
    with chromium() as driver:
        driver.get(path.as_uri())
        assert driver.find_element("css selector", ".card h2").text == HOSTILE
        driver.find_element("css selector", ".card .cite").click()
        assert driver.find_element("css selector", ".card .para-text").text == HOSTILE
        assert driver.find_element("id", "title").text == HOSTILE
        assert driver.execute_script("return window.pwned") is None
        assert driver.execute_script("return document.querySelectorAll('#cards script, #cards img').length") == 0
        assert console_errors(driver) == []  # no alert either: it would fail every call above


@needs_chromium
def test_ten_thousand_cards_render_a_page_at_a_time(tmp_path):
    cards, paragraphs = synthetic_run(10_000)
    path = tmp_path / "big.html"
    path.write_text(render_report(cards, paragraphs), encoding="utf-8")
    with chromium() as driver:
        started = time.monotonic()
        driver.get(path.as_uri())
        loaded = time.monotonic() - started
        assert visible_cards(driver) == 20 and shown_count(driver) == 10_000
        assert "1 / 500" in driver.find_element("id", "pager").text
        first = driver.find_element("css selector", ".card h2").text
        driver.find_elements("css selector", "#pager button")[1].click()
        assert visible_cards(driver) == 20 and driver.find_element("css selector", ".card h2").text != first

        started = time.monotonic()
        driver.find_element("id", "q").send_keys("第1234篇")
        wait_for(driver, "document.querySelector('#count b').textContent === '1'")
        searched = time.monotonic() - started
        assert driver.find_element("css selector", ".card h2").text == "第1234篇 市场快讯"
        driver.find_element("id", "clear").click()
        driver.find_elements("css selector", "#theme-chips .chip")[0].click()
        assert 0 < shown_count(driver) < 10_000 and visible_cards(driver) == 20
        assert console_errors(driver) == []
        print(f"10,000 cards: loaded in {loaded:.1f} s, searched in {searched:.2f} s")
        assert loaded < 20 and searched < 5


def test_report_from_the_command_line_reads_jsonl_and_parquet_runs(tiny_model, tmp_path, capsys):
    out = tmp_path / "parquet_run"
    assert main(["run", str(SEED), "-o", str(out), "--model", str(tiny_model), "--output-format", "parquet", "--report"]) == 0
    assert (out / "report.html").is_file() and not (out / "cards.jsonl").exists()
    assert len(page_data((out / "report.html").read_text(encoding="utf-8"))["docs"]) == 10
    assert main(["report", str(out), "-o", str(tmp_path / "again.html"), "--title", "季度回顾"]) == 0
    assert "季度回顾" in (tmp_path / "again.html").read_text(encoding="utf-8")
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
