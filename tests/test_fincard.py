import json
import os
import subprocess
import sys

import pytest

from infer import ConfigError, FinCard, FincardError, ReadError, Summarizer, SummarizerConfig, read_documents
from infer.cli import main
from infer.classifier import Classifier
from infer.pipeline import run


def jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_entry_point_gives_the_same_labels_and_cards(tiny_model, seed_path, tmp_path):
    """fincard run, classify, summarize and the library's FinCard agree on the seed, label for label."""
    model = ["--model", str(tiny_model)]
    assert main(["run", str(seed_path), "-o", str(tmp_path / "run"), *model]) == 0
    assert main(["classify", str(seed_path), "-o", str(tmp_path / "classify.jsonl"), *model]) == 0
    assert main(["summarize", str(seed_path), "-o", str(tmp_path / "cards.jsonl"), *model]) == 0
    results = list(FinCard.load(tiny_model)(read_documents(seed_path)))

    library_rows = [{"labels": (p.themes, p.stance), "scores": p.theme_scores} for r in results for p in r.predictions]
    for rows in (jsonl(tmp_path / "run" / "paragraphs.jsonl"), jsonl(tmp_path / "classify.jsonl")):
        assert [(r["themes"], r["stance"]) for r in rows] == [r["labels"] for r in library_rows]
        assert [r["theme_scores"] for r in rows] == [r["scores"] for r in library_rows]
    library_cards = [r.gist.to_dict() for r in results]
    run_cards = [{k: v for k, v in card.items() if k != "key"} for card in jsonl(tmp_path / "run" / "cards.jsonl")]
    assert run_cards == jsonl(tmp_path / "cards.jsonl") == library_cards
    assert len(library_cards) == 10 and all(card["sections"][0]["heading"] == "核心观点" for card in library_cards)


def test_fincard_takes_strings_and_batches_paragraphs_across_documents(tiny_model):
    fincard = FinCard.load(tiny_model)
    calls = []
    predict = fincard.classifier.predict
    fincard.classifier.predict = lambda texts, **kwargs: calls.append(len(texts)) or predict(texts, **kwargs)
    texts = ["央行宣布降准0.5个百分点。\n铜价创历史新高。", "美国对进口铝加征关税。", "社会消费品零售总额同比增长3%。"]
    results = list(fincard(texts, batch_size=8))
    assert calls == [4]  # one classifier call for the three documents' four paragraphs
    assert [len(r.predictions) for r in results] == [2, 1, 1]
    assert [r.document.paragraphs[0].text for r in results] == [t.split("\n")[0] for t in texts]
    assert all(r.gist.headline.citations for r in results)
    assert [r.gist for r in fincard(texts, gists=False)] == [None] * 3
    with pytest.raises(TypeError, match="Document objects or strings"):
        list(fincard([42]))


def test_summarizer_without_predictions_labels_paragraphs_as_fincard_does(tiny_model, seed_path):
    """The library's Summarizer with a classifier gives the card FinCard gives: paragraph labels, shipped ranker."""
    classifier = Classifier.load(tiny_model)
    doc = next(iter(read_documents(seed_path)))
    alone = Summarizer(classifier).summarize(doc)
    assert alone.to_dict() == next(iter(FinCard.load(tiny_model)([doc]))).gist.to_dict()


def test_library_defaults_are_the_command_line_defaults():
    assert Summarizer().headline is not None  # the shipped 核心观点 ranker, as the commands load it
    assert Summarizer(headline=None).headline is None
    assert FinCard.load(model=None).max_bullets == 25


def test_errors_are_one_hierarchy():
    assert issubclass(ReadError, FincardError) and issubclass(ConfigError, FincardError)
    with pytest.raises(ReadError) as caught:
        list(read_documents("no/such/file.txt"))
    assert caught.value.file == "no/such/file.txt"
    with pytest.raises(ConfigError, match="max_chars"):
        SummarizerConfig(min_chars=90, max_chars=80)
    with pytest.raises(ConfigError, match="max_bullets"):
        FinCard.load(model=None, max_bullets=-1)
    with pytest.raises(ConfigError, match="give FinCard a classifier"):
        run(["x.txt"], "out", FinCard.load(model=None))


def test_importing_infer_changes_no_process_state():
    code = ("import os, sys, torch; threads = torch.get_num_threads(); import infer, infer.cli, infer.fincard; "
            "print(os.environ.get('HF_HUB_OFFLINE'), 'transformers' in sys.modules, torch.get_num_threads() == threads)")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout.split()
    assert out == ["None", "False", "True"]


def test_loading_a_model_can_leave_torch_threads_alone(tiny_model):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        Classifier.load(tiny_model, threads=None)
        assert torch.get_num_threads() == 1
        Classifier.load(tiny_model, threads=2)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_run_and_classify_write_parquet_with_the_jsonl_fields(tiny_model, seed_path, tmp_path):
    from infer.render import read_records

    model = ["--model", str(tiny_model)]
    assert main(["run", str(seed_path), "-o", str(tmp_path / "jsonl"), *model]) == 0
    assert main(["run", str(seed_path), "-o", str(tmp_path / "parquet"), "--output-format", "parquet", *model]) == 0
    assert sorted(p.name for p in (tmp_path / "parquet").iterdir()) == ["cards.md", "cards.parquet", "paragraphs.parquet"]
    for name in ("paragraphs", "cards"):
        assert list(read_records(tmp_path / "parquet" / f"{name}.parquet")) == jsonl(tmp_path / "jsonl" / f"{name}.jsonl")
    # A finished Parquet run resumes like a JSONL one: nothing is redone or duplicated.
    assert main(["run", str(seed_path), "-o", str(tmp_path / "parquet"), "--output-format", "parquet", "--resume", *model]) == 0
    assert len(list(read_records(tmp_path / "parquet" / "cards.parquet"))) == 10
    assert main(["classify", str(seed_path), "-o", str(tmp_path / "paragraphs.parquet"), *model]) == 0
    rows = jsonl(tmp_path / "jsonl" / "paragraphs.jsonl")
    assert list(read_records(tmp_path / "paragraphs.parquet")) == [{k: v for k, v in r.items() if k != "key"} for r in rows]
