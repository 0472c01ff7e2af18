"""The behavioural checklist (labels/checklist*.jsonl): its failure report, ``fincard eval --by`` and its checks."""

import json
from pathlib import Path

import pytest

from infer.cli import main
from infer.evaluate import LabelledParagraph, failure_report, format_failures, read_labelled
from infer.schema import Schema
from train.corpus import check_corpus

ROOT = Path(__file__).resolve().parents[1]
CHECKLIST = ROOT / "labels" / "checklist.jsonl"
PART1_CAPABILITIES = {"supply_shock", "demand_data", "rate_decision", "inflation_surprise", "tariff_action"}


def _case(id, stance, themes, capability="cap", test="MFT", group=None):
    fields = {"capability": capability, "test": test} | ({"group": group} if group else {})
    return LabelledParagraph(f"第{id}段文字。", themes, stance, id, fields)


def _write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


# --- the failure report -------------------------------------------------------------------------------------------

def test_mft_cases_fail_on_a_wrong_stance_or_theme_set():
    rows = [
        _case("a", "bullish", ["metals"], "supply_shock"),
        _case("b", "bearish", ["metals"], "supply_shock"),
        _case("c", "neutral", [], "rate_decision"),
        _case("d", "bullish", ["tariffs", "metals"], "rate_decision"),
        _case("e", None, None, "rate_decision"),  # no gold labels: nothing to fail on its own
    ]
    themes = [["metals"], ["metals"], ["tariffs"], ["metals", "tariffs"], ["consumption"]]
    stances = ["bullish", "bullish", "neutral", "bullish", "bearish"]
    report = failure_report(rows, themes, stances, by="capability")
    supply, rate = report["groups"]["supply_shock"], report["groups"]["rate_decision"]
    assert (supply["cases"], supply["failures"], supply["failure_rate"]) == (2, 1, 0.5)
    assert (rate["cases"], rate["failures"]) == (3, 1)  # theme order does not matter for d; e has no gold
    assert report["all"] == {"cases": 5, "failures": 2, "failure_rate": 0.4}
    [b] = supply["examples"]
    assert b["id"] == "b" and b["why"] == ["stance"]
    assert b["gold"] == {"themes": ["metals"], "stance": "bearish"}
    assert b["predicted"] == {"themes": ["metals"], "stance": "bullish"}
    [c] = rate["examples"]
    assert c["id"] == "c" and c["why"] == ["themes"] and c["predicted"]["themes"] == ["tariffs"]


def test_an_inv_group_whose_members_disagree_fails_every_member():
    rows = [
        _case("i1", "bullish", ["metals"], test="INV", group="g1"),
        _case("i2", "bullish", ["metals"], test="INV", group="g1"),
        _case("i3", "bullish", ["metals"], test="INV", group="g1"),
        _case("j1", "bullish", ["metals"], test="INV", group="g2"),  # consistent and right: passes
        _case("j2", "bullish", ["metals"], test="INV", group="g2"),
        _case("k1", "bullish", ["metals"], test="INV", group="g3"),  # consistent but wrong: fails on gold only
        _case("k2", "bullish", ["metals"], test="INV", group="g3"),
    ]
    stances = ["bullish", "bullish", "bearish", "bullish", "bullish", "bearish", "bearish"]
    report = failure_report(rows, [["metals"]] * 7, stances, by="capability", examples=10)
    entry = report["groups"]["cap"]
    assert (entry["cases"], entry["failures"]) == (7, 5)
    failed = {e["id"]: e["why"] for e in entry["examples"]}
    assert set(failed) == {"i1", "i2", "i3", "k1", "k2"}
    assert failed["i1"] == ["INV group g1 disagrees"]  # right on its own gold, failed with its group
    assert failed["i3"] == ["stance", "INV group g1 disagrees"]
    assert failed["k1"] == ["stance"]
    assert report["inv_groups"] == {"groups": 3, "failed": 1}


def test_inv_groups_compare_theme_sets_too():
    rows = [_case("a", "bullish", None, test="INV", group="g"), _case("b", "bullish", None, test="INV", group="g")]
    report = failure_report(rows, [["metals", "tariffs"], ["tariffs", "metals"]], ["bullish", "bullish"])
    assert report["all"]["failures"] == 0  # same set, other order
    report = failure_report(rows, [["metals"], ["tariffs", "metals"]], ["bullish", "bullish"])
    assert report["all"]["failures"] == 2  # no gold themes, but the members disagree


def test_dir_pairs_are_scored_against_their_own_flipped_gold():
    rows = [
        _case("up", "bullish", ["metals"], test="DIR", group="p1"),
        _case("down", "bearish", ["metals"], test="DIR", group="p1"),
    ]
    flipped = failure_report(rows, [["metals"], ["metals"]], ["bullish", "bearish"])
    assert flipped["all"]["failures"] == 0
    same = failure_report(rows, [["metals"], ["metals"]], ["bullish", "bullish"])  # ignores the flip
    assert same["all"]["failures"] == 1
    assert [e["id"] for e in same["groups"]["cap"]["examples"]] == ["down"]
    assert same["inv_groups"]["groups"] == 0  # a DIR pair is not an invariance set


def test_the_grouping_field_is_any_row_field():
    rows = [_case("a", "bullish", ["metals"], test="MFT"), _case("b", "bearish", [], test="DIR", group="p"),
            LabelledParagraph("无字段的一行。", [], "neutral", "c")]
    themes, stances = [["metals"], ["metals"], []], ["bearish", "bearish", "neutral"]
    by_test = failure_report(rows, themes, stances, by="test")
    assert {k: (v["cases"], v["failures"]) for k, v in by_test["groups"].items()} == {"MFT": (1, 1), "DIR": (1, 1), "(none)": (1, 0)}
    by_stance = failure_report(rows, themes, stances, by="stance")  # a gold label is a row field too
    assert {k: v["failures"] for k, v in by_stance["groups"].items()} == {"bullish": 1, "bearish": 1, "neutral": 0}
    by_themes = failure_report(rows, themes, stances, by="themes")
    assert set(by_themes["groups"]) == {"metals", "(none)"}
    with pytest.raises(ValueError):
        failure_report(rows, themes[:2], stances)


def test_the_table_lists_every_value_then_all_and_the_failing_examples():
    rows = [_case("a", "bullish", ["metals"], "supply_shock"), _case("b", "bearish", ["metals"], "supply_shock"),
            _case("c", "bullish", ["tariffs"], "tariff_action")]
    lines = format_failures(failure_report(rows, [["metals"]] * 3, ["bullish"] * 3))
    text = "\n".join(lines)
    assert "failures by capability" in text
    table = {line.split()[0]: line.split()[1:] for line in lines if line.startswith("  ") and line.split()[0] in
             ("supply_shock", "tariff_action", "all")}
    assert table == {"supply_shock": ["2", "1", "0.500"], "tariff_action": ["1", "1", "1.000"], "all": ["3", "2", "0.667"]}
    assert "[supply_shock] b:" in text and "bearish metals -> bullish metals" in text
    assert "[tariff_action] c:" in text and "bullish tariffs -> bullish metals   (themes)" in text


def test_read_labelled_keeps_the_other_row_fields(tmp_path):
    path = _write(tmp_path / "cl.jsonl", [{"id": "x1", "text": "央行宣布降准。", "themes": ["central_banks"], "stance": "bullish",
                                           "capability": "rate_decision", "test": "DIR", "group": "g", "note": "cut"}])
    [row] = read_labelled(path, Schema.load())
    assert row.fields == {"capability": "rate_decision", "test": "DIR", "group": "g", "note": "cut"}
    assert row.value("capability") == "rate_decision" and row.value("stance") == "bullish" and row.value("missing") is None


# --- fincard eval --by ------------------------------------------------------------------------------------------------

def test_cli_eval_by_reports_failures_per_field(tiny_model, labelled_path, tmp_path, capsys):
    from infer.classifier import Classifier

    rows = [json.loads(line) for line in labelled_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for i, row in enumerate(rows):
        row |= {"capability": "first" if i < 5 else "second", "test": "MFT"}
    data = _write(tmp_path / "checklist.jsonl", rows)
    predictions = Classifier.load(tiny_model).predict([r["text"] for r in rows])
    expected = {"first": 0, "second": 0}
    for row, p in zip(rows, predictions):
        expected[row["capability"]] += p.stance != row["stance"] or set(p.themes) != set(row["themes"])

    assert main(["eval", "--model", str(tiny_model), "--data", str(data), "--by", "capability", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    groups = result["failures"]["groups"]
    assert result["failures"]["by"] == "capability"
    assert {k: v["cases"] for k, v in groups.items()} == {"first": 5, "second": len(rows) - 5}
    assert {k: v["failures"] for k, v in groups.items()} == expected
    assert result["failures"]["all"]["failures"] == sum(expected.values())

    assert main(["eval", "--model", str(tiny_model), "--data", str(data), "--by", "capability"]) == 0
    out = capsys.readouterr().out
    assert "failures by capability" in out
    all_row = next(line.split() for line in out.splitlines() if line.startswith("  all "))
    assert all_row[1:3] == [str(len(rows)), str(sum(expected.values()))]

    assert main(["eval", "--model", str(tiny_model), "--data", str(data), "--json"]) == 0
    assert "failures" not in json.loads(capsys.readouterr().out)  # no --by, no report


# --- labels check on checklist rows -------------------------------------------------------------------------------

def _cl(i, text, stance="bullish", themes=("metals",), test="MFT", group=None, **extra):
    row = {"id": f"cl-x-{i:03d}", "text": text, "themes": list(themes), "stance": stance, "capability": "supply_shock",
           "test": test, "note": "why"}
    return row | ({"group": group} if group else {}) | extra


PAIR = "智利一座年产约30万吨铜精矿的大型铜矿工会宣布自本周四起举行无限期罢工，矿方已启动有序停产程序，伦铜盘中拉升1.5%。"
FLIPPED = "智利一座年产约30万吨铜精矿的大型铜矿工会宣布自本周四起结束无限期罢工，矿方已启动有序复产程序，伦铜盘中下挫1.5%。"


def test_minimal_pairs_inside_a_group_are_expected_near_duplicates(tmp_path):
    ok = check_corpus([str(_write(tmp_path / "checklist.jsonl", [
        _cl(1, PAIR, test="DIR", group="g1"), _cl(2, FLIPPED, stance="bearish", test="DIR", group="g1")]))])
    assert not ok.errors, ok.errors
    assert ok.stats["capability"] == {"supply_shock": 2} and ok.stats["test"] == {"DIR": 2}
    outside = check_corpus([str(_write(tmp_path / "checklist2.jsonl", [_cl(1, PAIR), _cl(2, FLIPPED, stance="bearish")]))])
    assert any("near-duplicate" in e and "within a split" in e for e in outside.errors)


def test_a_checklist_case_near_a_corpus_row_is_a_leak(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _write(corpus / "train.jsonl", [{"id": "met-01-001", "text": PAIR.replace("周四", "周五"), "themes": ["metals"],
                                     "stance": "bullish", "style": "flash", "batch": "met-01"}])
    checklist = _write(tmp_path / "checklist.jsonl", [_cl(1, PAIR, test="DIR", group="g1"),
                                                      _cl(2, FLIPPED, stance="bearish", test="DIR", group="g1")])
    assert not check_corpus([str(checklist)]).errors
    report = check_corpus([str(corpus), str(checklist)])
    leaks = [e for e in report.errors if "leak into training" in e]
    assert leaks and all("checklist.jsonl" in e and "train.jsonl" in e for e in leaks)


def test_checklist_fields_are_validated(tmp_path):
    rows = [
        _cl(1, "第一条：铜矿停产，铜价上涨。", test="XYZ"),
        _cl(2, "第二条：铝厂减产，铝价上涨。", test="DIR"),  # no group
        _cl(3, "第三条：锌矿罢工，锌价上涨。", group="lonely"),  # MFT with a group
        _cl(4, "第四条：镍矿禁令，镍价上涨。", test="DIR", group="same"),
        _cl(5, "第五条：锡矿封锁，锡价上涨。", test="DIR", group="same"),  # a DIR set that never flips
        _cl(6, "第六条：钴矿冲突，钴价上涨。", test="INV", group="mixed"),
        _cl(7, "第七条：锂矿停采，锂价下跌。", stance="bearish", test="INV", group="mixed"),  # an INV set that differs
        _cl(8, "第八条：铁矿溃坝，矿价上涨。", test="INV", group="single"),  # a set of one
        {k: v for k, v in _cl(9, "第九条：金矿罢工，金价上涨。").items() if k != "note"},
        _cl(10, "第十条：银矿事故，银价上涨。", capability=""),
    ]
    report = check_corpus([str(_write(tmp_path / "checklist.jsonl", rows))])
    errors = "\n".join(report.errors)
    assert ":1: test 'XYZ'" in errors
    assert ":2: a DIR case needs a 'group'" in errors
    assert ":3: an MFT case carries no group" in errors
    assert "DIR group 'same' has the same gold labels" in errors
    assert "INV group 'mixed' has different gold labels" in errors
    assert "group 'single' has one member" in errors
    assert ":10: a checklist row needs a 'capability'" in errors
    assert any(":9:" in w and "note" in w for w in report.warnings)


# --- the checklist itself -------------------------------------------------------------------------------------------

def _checklist() -> Path:
    return CHECKLIST


def test_the_checklist_passes_labels_check_with_60_cases_per_capability():
    path = _checklist()
    report = check_corpus([str(path)])
    assert not report.errors, report.errors[:5]
    assert not report.warnings, report.warnings[:5]
    counts = report.stats["capability"]
    assert PART1_CAPABILITIES <= set(counts)
    assert all(n >= 60 for n in counts.values()), counts
    assert report.stats["test"]["DIR"] >= 10 and report.rows >= 320
    rows = list(read_labelled(path, Schema.load()))
    assert all(r.id.startswith(f"cl-{r.fields['capability']}-") and r.fields.get("note") for r in rows)


def test_the_checklist_does_not_leak_into_the_training_corpus():
    path = _checklist()
    report = check_corpus([str(ROOT / "labels" / "corpus"), str(path)])
    assert not [e for e in report.errors if path.name in e]
