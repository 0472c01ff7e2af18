import json

import numpy as np
import pytest

from infer import FinCard, read_documents
from infer.bench import PlainTransformers, bench_texts
from infer.classifier import Classifier
from infer.cli import main
from infer.engine import TransformerEngine
from infer.errors import FincardError
from infer.pipeline import run
from infer.summarize import Summarizer


def outputs(folder):
    return {name: (folder / name).read_text(encoding="utf-8") for name in ("paragraphs.jsonl", "cards.jsonl", "cards.md")}


@pytest.fixture
def inputs(tmp_path, seed_path):
    bad = tmp_path / "extra.jsonl"
    bad.write_text('{"id": "ok", "text": "央行降准。\\n铜价上涨。"}\n{broken\n{"id": "empty", "text": " "}\n', encoding="utf-8")
    return [str(seed_path), str(bad)]


def test_run_writes_valid_outputs_and_error_rows(tiny_model, inputs, tmp_path):
    out = tmp_path / "out"
    summary = run(inputs, out, FinCard.load(tiny_model, max_bullets=3))
    assert summary.documents == 11 and summary.errors == 2
    paragraphs = [json.loads(line) for line in (out / "paragraphs.jsonl").read_text(encoding="utf-8").splitlines()]
    cards = [json.loads(line) for line in (out / "cards.jsonl").read_text(encoding="utf-8").splitlines()]
    docs = list(read_documents(inputs, on_error=lambda e: None))
    assert len(paragraphs) == sum(len(d.paragraphs) for d in docs) == summary.paragraphs
    assert [c["id"] for c in cards] == [d.id for d in docs]
    assert all(1 <= sum(len(s["bullets"]) for s in c["sections"]) <= 3 for c in cards)
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [e["line"] for e in errors] == [2, 3]
    # cards.md is seed-style: it reads back as search-page cards (the undated one has no source line date).
    back = list(read_documents(out / "cards.md", format="search", on_error=lambda e: None))
    assert [d.title for d in back] == [d.title for d in docs if d.published]
    assert not list(out.glob("*.part"))


def test_resume_after_crash_equals_uninterrupted_run(tiny_model, inputs, tmp_path, monkeypatch):
    clf = FinCard.load(tiny_model)
    run(inputs, tmp_path / "clean", clf)
    calls = {"n": 0}
    original = Summarizer.summarize

    def crash_on_fifth(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Summarizer, "summarize", crash_on_fifth)
    with pytest.raises(KeyboardInterrupt):
        run(inputs, tmp_path / "crashed", clf)
    assert (tmp_path / "crashed" / "cards.jsonl.part").exists()
    with pytest.raises(FincardError, match="--resume"):
        run(inputs, tmp_path / "crashed", clf)
    monkeypatch.setattr(Summarizer, "summarize", original)
    summary = run(inputs, tmp_path / "crashed", clf, resume=True)
    assert summary.skipped == 4 and summary.documents == 7
    resumed, clean = outputs(tmp_path / "crashed"), outputs(tmp_path / "clean")
    assert resumed["cards.jsonl"] == clean["cards.jsonl"] and resumed["cards.md"] == clean["cards.md"]
    # Paragraph rows: identical but for bf16 rounding noise in the scores (batch-mates differ after a resume).
    rows = [[json.loads(line) for line in text.splitlines()] for text in (resumed["paragraphs.jsonl"], clean["paragraphs.jsonl"])]
    assert len(rows[0]) == len(rows[1])
    for a, b in zip(*rows):
        scores = ("theme_scores", "stance_scores")
        assert {k: v for k, v in a.items() if k not in scores} == {k: v for k, v in b.items() if k not in scores}
        for key in scores:
            assert a[key] == pytest.approx(b[key], abs=2e-2)


def test_cli_run_exit_codes(tiny_model, seed_path, tmp_path, capsys):
    assert main(["run", str(seed_path), "-o", str(tmp_path / "o"), "--model", str(tiny_model)]) == 0
    assert "documents 10" in capsys.readouterr().out
    assert main(["run", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "o2"), "--model", str(tiny_model)]) == 1


def test_engine_equals_plain_transformers_in_fp32(tiny_model):
    clf = Classifier.load(tiny_model)
    engine = TransformerEngine.load(clf.folder, clf.config, clf.schema, dtype="float32")
    # Texts within the model window: longer ones are chunked by the engine and truncated by plain transformers.
    texts = [t[:18] for t in bench_texts(40)]
    fast = engine.scores(texts, batch_size=8)
    plain = PlainTransformers(clf).scores(texts, batch_size=8)
    np.testing.assert_allclose(fast[0], plain[0], atol=1e-4)
    np.testing.assert_allclose(fast[1], plain[1], atol=1e-4)


def test_bench_small_run(tiny_model, capsys):
    assert main(["bench", "--model", str(tiny_model), "--n", "50", "--repeats", "1", "--json", "--int8", "--run-articles", "3"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["paragraphs"] == 50
    assert {"baseline_pps", "fincard_pps", "speedup", "agreement", "peak_rss_mb", "cold_start_s"} <= set(result)
    assert result["baseline_pps"] > 0 and result["fincard_pps"] > 0 and result["cold_start_s"] > 0
    assert result["speedup"] == pytest.approx(result["fincard_pps"] / result["baseline_pps"], rel=0.02)
    assert all(0.0 <= v <= 1.0 for v in [*result["agreement"].values(), *result["int8_agreement"].values()])
    assert result["int8_pps"] > 0
    assert result["engine_gflops"] > 0 and result["tokens_per_paragraph"] > 1
    assert result["matmul_gflops"]["bfloat16"] > 0 and result["matmul_gflops"]["float32"] > 0
    assert (result["run_articles"], result["run_paragraphs"]) == (3, 24) and result["run_pps"] > 0


def test_bench_texts_are_paragraphs_not_whole_items():
    from infer.bench import bench_texts

    texts = bench_texts(2000)
    assert len(texts) == 2000
    assert not any("\n" in text for text in texts)  # the test split's whole items (guide E14) are not paragraphs
