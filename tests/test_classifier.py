import json
import shutil

import numpy as np
import pytest

from infer.backbones import assemble_gguf
from infer.classifier import Classifier
from infer.engine import encode_chunks
from infer.cli import main
from infer.errors import FincardError
from infer.metrics import best_thresholds, expected_calibration_error, stance_metrics, theme_metrics
from infer.schema import Schema
from train.args import TrainArguments
from train.trainer import train


def test_train_save_load_predict(tiny_model):
    files = {p.name for p in tiny_model.iterdir()}
    assert {"config.json", "schema.json", "adapter_model.safetensors", "heads.safetensors", "metrics.json", "README.md", "training_args.json"} <= files
    assert "checkpoint" not in files
    clf = Classifier.load(tiny_model)
    texts = ["央行宣布降准0.5个百分点", "铜价创历史新高", ""]
    preds = clf.predict(texts, batch_size=2)
    assert len(preds) == 3
    for p in preds:
        assert set(p.theme_scores) == set(clf.schema.theme_ids)
        assert p.stance in clf.schema.stance_ids
        assert abs(sum(p.stance_scores.values()) - 1) < 1e-5
    assert preds[2].themes == [] and preds[2].stance == "neutral"
    # The same text always gets the same scores, alone or in a batch.
    alone = clf.predict(["铜价创历史新高"])[0]
    assert alone.theme_scores == pytest.approx(preds[1].theme_scores, abs=2e-2)


def test_thresholds_are_applied(tiny_model):
    clf = Classifier.load(tiny_model)
    scores = clf.predict(["铜价创历史新高"])[0].theme_scores
    clf.config.thresholds = {t: (0.0 if i % 2 == 0 else 1.01) for i, t in enumerate(clf.schema.theme_ids)}
    assert clf.predict(["铜价创历史新高"])[0].themes == clf.schema.theme_ids[::2]
    clf.config.thresholds = {t: s for t, s in scores.items()}  # a cut equal to the score keeps the theme
    assert clf.predict(["铜价创历史新高"])[0].themes == clf.schema.theme_ids


def test_long_text_is_chunked(tiny_model):
    clf = Classifier.load(tiny_model)
    clf.config.max_length = 16
    engine = clf.scorer
    long_text = "铜价上涨。" * 40 + "央行降息。" * 40
    windows = encode_chunks(engine.tokenizer, [long_text], 16)[0]
    chunks = [engine.tokenizer.decode(c[1:]) for c in windows]  # each window starts with the start token
    assert len(chunks) > 10
    themes, _ = clf.raw_scores([long_text])
    per_chunk, _ = engine.scores(chunks)
    assert themes[0] == pytest.approx(per_chunk.max(0), abs=2e-2)


def test_predict_streams_many_texts(tiny_model):
    clf = Classifier.load(tiny_model)
    stream = clf.predict_iter(("第%d段：铜价上涨" % i for i in range(50)), batch_size=8, chunk=16)
    assert sum(1 for _ in stream) == 50
    with pytest.raises(TypeError):
        clf.predict("one string")


def test_other_schema_trains_and_predicts(tmp_path):
    schema = {"name": "mini", "themes": [{"id": "oil", "name": "原油"}, {"id": "fx", "name": "汇率"}],
              "stances": [{"id": "up", "name": "涨"}, {"id": "down", "name": "跌"}]}
    (tmp_path / "schema.json").write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    rows = [{"text": "油价上涨", "themes": ["oil"], "stance": "up"}, {"text": "人民币贬值", "themes": ["fx"], "stance": "down"},
            {"text": "原油库存下降", "themes": ["oil"], "stance": "up"}, {"text": "美元走弱", "themes": ["fx"], "stance": "up"}]
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = tmp_path / "model"
    train(TrainArguments(train=tmp_path / "train.jsonl", dev=tmp_path / "train.jsonl", schema=tmp_path / "schema.json",
                         out=out, backbone="tiny-random", epochs=1, batch_size=2, max_length=32))
    clf = Classifier.load(out)
    assert clf.schema.theme_ids == ["oil", "fx"]
    p = clf.predict(["油价大涨", ""])
    assert set(p[0].theme_scores) == {"oil", "fx"} and p[0].stance in {"up", "down"}
    assert p[1].stance == "down"  # no 'neutral' in this schema: the last stance stands in for empty text


def test_tfidf_baseline_same_interface(tmp_path, labelled_path):
    out = tmp_path / "tfidf"
    train(TrainArguments(train=labelled_path, dev=labelled_path, out=out, backbone="tfidf"))
    clf = Classifier.load(out)
    preds = clf.predict(["央行宣布降准", ""])
    assert preds[1].themes == [] and preds[1].stance == "neutral"
    assert set(preds[0].theme_scores) == set(clf.schema.theme_ids)


def test_resume_from_checkpoint(tmp_path, labelled_path, monkeypatch):
    out = tmp_path / "m"
    args = dict(train=labelled_path, out=out, backbone="tiny-random", epochs=2, batch_size=4, max_length=32)
    import train.trainer as trainer

    calls = {"n": 0}
    original = trainer.bucketed_batches

    def interrupt_second_epoch(lengths, batch_size, seed):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(lengths, batch_size, seed)

    monkeypatch.setattr(trainer, "bucketed_batches", interrupt_second_epoch)
    with pytest.raises(trainer.Interrupted):
        train(TrainArguments(**args))
    assert (out / "checkpoint" / "trainer_state.pt").exists()
    monkeypatch.setattr(trainer, "bucketed_batches", original)
    metrics = train(TrainArguments(**args, resume=True))
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert not (out / "checkpoint").exists()


def test_micro_batches_bound_padded_tokens():
    from train.data import micro_batches

    lengths = [10, 10, 20, 40, 40, 100]
    pieces = micro_batches(list(range(6)), lengths, max_tokens=80)
    assert [i for piece in pieces for i in piece] == list(range(6))  # every row once, order kept
    assert pieces == [[0, 1, 2], [3, 4], [5]]  # 3x20 and 2x40 fit; 100 alone exceeds and stands alone
    assert micro_batches([0, 1, 2], lengths, max_tokens=1000) == [[0, 1, 2]]


def test_split_batches_accumulate_the_whole_batch_gradient(labelled_path):
    """Pieces of a batch, each backpropagated on its own, add up to the gradient of the batch's mean loss."""
    import torch

    from infer.backbones import backbone_folder
    from infer.engine import WindowTokenizer
    from infer.model import ModelConfig, build_transformer
    from train.data import encode, load_split
    from train.trainer import backward_batch

    schema = Schema.load()
    config = ModelConfig("tiny-random", "last", 32)
    torch.manual_seed(0)
    module = build_transformer(config, schema, backbone_folder("tiny-random")).eval()  # eval: no dropout noise
    data = encode(load_split(labelled_path, schema), WindowTokenizer(backbone_folder("tiny-random")), schema, 32)
    data.stances[1] = -100  # a row without a stance label must not count in the stance mean
    batch = list(range(8))
    weights = (torch.ones(len(schema.theme_ids)) * 2, torch.tensor([1.0, 2.0, 0.5]))

    def gradients(max_tokens):
        module.zero_grad()
        loss = backward_batch(module, data, batch, max_tokens, 0, *weights)
        return loss, [p.grad.clone() for p in module.parameters() if p.requires_grad]

    whole_loss, whole = gradients(10_000)
    split_loss, split = gradients(32)  # one row per forward pass
    assert abs(whole_loss - split_loss) < 1e-4 * abs(whole_loss)
    for g_whole, g_split in zip(whole, split):  # bf16 autocast: padding widths differ, so ~0.3% noise, not 0
        assert (g_whole - g_split).norm() <= 0.01 * g_whole.norm() + 1e-8
    with pytest.raises(FincardError, match="--max-batch-tokens"):
        TrainArguments(train=labelled_path, out="unused", max_length=32, max_batch_tokens=16)


def test_missing_or_corrupt_model_folder(tmp_path, tiny_model):
    with pytest.raises(FincardError, match="does not exist"):
        Classifier.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FincardError, match="no config.json"):
        Classifier.load(tmp_path / "empty")
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    (broken / "heads.safetensors").write_bytes(b"garbage")
    with pytest.raises(FincardError, match="corrupt"):
        Classifier.load(broken)
    (broken / "config.json").write_text("{", encoding="utf-8")
    with pytest.raises(FincardError, match="corrupt"):
        Classifier.load(broken)


def test_cli_model_errors_exit_2(tmp_path, capsys, labelled_path):
    assert main(["eval", "--model", str(tmp_path / "none"), "--data", str(labelled_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "--train", str(tmp_path / "no.jsonl"), "--out", str(tmp_path / "m")]) == 2


def test_cli_classify_and_eval(tiny_model, seed_path, tmp_path, labelled_path, capsys):
    out = tmp_path / "paragraphs.jsonl"
    assert main(["classify", str(seed_path), "--model", str(tiny_model), "-o", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    docs = list(__import__("infer").read_documents(seed_path))
    assert len(rows) == sum(len(d.paragraphs) for d in docs)
    assert {"doc_id", "paragraph", "section", "text", "themes", "theme_scores", "stance", "stance_scores"} <= set(rows[0])
    assert main(["eval", "--model", str(tiny_model), "--data", str(labelled_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"micro_f1", "macro_f1"} <= set(result["themes"]) and {"macro_f1", "accuracy"} <= set(result["stance"])


def test_gguf_assembly_refuses_wrong_sha256(tmp_path):
    chunks = []
    for i in range(2):
        chunks.append(tmp_path / f"part{i}")
        chunks[-1].write_bytes(bytes([i]) * 10)
    with pytest.raises(FincardError, match="sha256"):
        assemble_gguf(chunks, tmp_path / "model.gguf", expected_sha256="0" * 64)
    assert not (tmp_path / "model.gguf").exists()
    import hashlib

    good = hashlib.sha256(b"\x00" * 10 + b"\x01" * 10).hexdigest()
    assert assemble_gguf(chunks, tmp_path / "model.gguf", expected_sha256=good).read_bytes() == b"\x00" * 10 + b"\x01" * 10


def test_theme_metrics_hand_computed():
    gold = np.array([[1, 0], [1, 1], [0, 0], [0, 1]])
    pred = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    m = theme_metrics(gold, pred, ["a", "b"])
    # a: tp1 fp1 fn1 -> P .5 R .5 F1 .5; b: tp2 fp0 fn0 -> F1 1; micro: tp3 fp1 fn1 -> .75
    assert m["per_theme"]["a"]["f1"] == pytest.approx(0.5)
    assert m["per_theme"]["b"]["f1"] == pytest.approx(1.0)
    assert m["micro_f1"] == pytest.approx(0.75)
    assert m["macro_f1"] == pytest.approx(0.75)


def test_stance_metrics_hand_computed():
    gold = np.array([0, 0, 1, 2])
    probs = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    m = stance_metrics(gold, probs, ["bullish", "bearish", "neutral"])
    # bullish P1 R.5 F.667; bearish P.5 R1 F.667; neutral F1 1
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["confusion"]["matrix"] == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert expected_calibration_error(np.array([0.9, 0.9]), np.array([True, False])) == pytest.approx(0.4)


def test_best_thresholds_maximise_f1():
    gold = np.array([[1], [1], [0], [0]])
    scores = np.array([[0.9], [0.35], [0.3], [0.1]])
    cut = best_thresholds(gold, scores, ["a"])["a"]
    assert 0.3 < cut <= 0.35
    # A plateau: F1 is 1.0 for every cut in (0.2, 0.8]; the cut nearest 0.5 is kept, not the plateau's edge.
    assert best_thresholds(gold, np.array([[0.9], [0.8], [0.2], [0.1]]), ["a"])["a"] == 0.5
    # Within the tolerance a slightly lower F1 nearer 0.5 wins over the exact best far from it.
    # (200 positives at 0.97; negatives at 0.55 and 0.6 cost F1 0.995 below 0.55, 0.9975 at 0.575-0.6, none above.)
    many_gold = np.array([[1]] * 200 + [[0]] * 200)
    many_scores = np.array([[0.97]] * 200 + [[0.1]] * 198 + [[0.55], [0.6]])
    assert best_thresholds(many_gold, many_scores, ["a"], tolerance=0.0)["a"] == 0.625
    assert best_thresholds(many_gold, many_scores, ["a"], tolerance=0.01)["a"] == 0.5


def test_schema_validation(tmp_path):
    with pytest.raises(FincardError, match="unique"):
        Schema.from_dict({"themes": ["a", "a"], "stances": ["x", "y"]})
    with pytest.raises(FincardError, match="at least 2 stances"):
        Schema.from_dict({"themes": ["a"], "stances": ["x"]})
    assert Schema.load().theme_name(None) == "其他"


def test_embed_gives_one_vector_per_text(tiny_model):
    clf = Classifier.load(tiny_model)
    vectors = clf.embed(["铜价上涨", "央行降息。" * 60])
    assert vectors.shape == (2, 32) and np.isfinite(vectors).all()
    np.testing.assert_allclose(clf.embed(["铜价上涨"])[0], vectors[0], atol=2e-2)
