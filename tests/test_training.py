import pickle

import numpy as np
import pytest

from infer.backbones import backbone_folder
from infer.classifier import Classifier
from infer.engine import WindowTokenizer, encode_chunks
from infer.errors import FincardError
from infer.evaluate import LabelledParagraph, stance_vector, theme_matrix
from infer.model import TfidfBaseline
from infer.schema import Schema
from train.args import TrainArguments
from train.data import encode, load_split
from train.trainer import train

PROBES = ["央行宣布降准0.5个百分点", "铜价创历史新高", "unseen ascii text", "油"]


@pytest.mark.filterwarnings("ignore:Label not 1 is present in all training examples")
@pytest.mark.parametrize("stance_classes", [3, 2], ids=["multinomial-stance", "binary-stance"])
def test_tfidf_round_trip_scores_like_sklearn(tmp_path, labelled_path, stance_classes):
    schema = Schema.load()
    rows = load_split(labelled_path, schema)
    texts = [r.text for r in rows]
    themes, stances = theme_matrix(rows, schema), stance_vector(rows, schema)
    themes[:, 1] = 0  # a theme without positive rows: OneVsRest fits a constant predictor for it
    if stance_classes == 2:
        stances[stances == 1] = 0
    vectorizer, theme_model, stance_model = TfidfBaseline.fit_sklearn(texts, themes, stances)
    assert not hasattr(theme_model.estimators_[1], "coef_") and len(stance_model.classes_) == stance_classes

    TfidfBaseline.from_sklearn(vectorizer, theme_model, stance_model).save(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"tfidf.json", "tfidf.safetensors"}
    loaded_themes, loaded_stances = TfidfBaseline.load(tmp_path).scores(texts + PROBES)

    features = vectorizer.transform(texts + PROBES)
    np.testing.assert_allclose(loaded_themes, theme_model.predict_proba(features), rtol=1e-10, atol=1e-15)
    assert (loaded_themes[:, 1] == 0).all()
    expected_stances = np.zeros_like(loaded_stances)
    expected_stances[:, stance_model.classes_] = stance_model.predict_proba(features)
    np.testing.assert_allclose(loaded_stances, expected_stances, rtol=1e-10, atol=1e-15)


def test_tfidf_folder_holds_no_pickle_and_refuses_an_old_one(tmp_path, labelled_path):
    out = tmp_path / "tfidf"
    train(TrainArguments(train=labelled_path, dev=labelled_path, out=out, backbone="tfidf"))
    assert {p.suffix for p in out.iterdir()} <= {".json", ".safetensors", ".md"}
    expected = Classifier.load(out).scores(PROBES)

    old = tmp_path / "old"
    old.mkdir()
    for name in ("config.json", "schema.json"):
        (old / name).write_bytes((out / name).read_bytes())
    marker = tmp_path / "unpickled"

    class CreatesMarkerWhenUnpickled:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (old / "tfidf.joblib").write_bytes(pickle.dumps(CreatesMarkerWhenUnpickled()))
    with pytest.raises(FincardError, match="retrain with `fincard train --backbone tfidf`"):
        Classifier.load(old)
    assert not marker.exists()

    (out / "tfidf.safetensors").rename(tmp_path / "weights")
    with pytest.raises(FincardError, match="missing") as missing:
        Classifier.load(out)
    assert str(out) in str(missing.value)
    (out / "tfidf.safetensors").write_bytes(b"garbage")
    with pytest.raises(FincardError, match="corrupt"):
        Classifier.load(out)
    (tmp_path / "weights").replace(out / "tfidf.safetensors")
    vocabulary = (out / "tfidf.json").read_text(encoding="utf-8")
    (out / "tfidf.json").write_text(vocabulary[:len(vocabulary) // 2], encoding="utf-8")
    with pytest.raises(FincardError, match="corrupt") as corrupt:
        Classifier.load(out)
    assert str(out) in str(corrupt.value)
    (out / "tfidf.json").write_text(vocabulary, encoding="utf-8")
    np.testing.assert_array_equal(Classifier.load(out).scores(PROBES)[0], expected[0])


def test_dataset_encoding_matches_the_tokenizer_and_is_cached(labelled_path, fincard_home):
    schema = Schema.load()
    unlabelled = [LabelledParagraph("只有文本，没有标签", None, None), LabelledParagraph("", ["metals"], None)]
    rows = load_split(labelled_path, schema) + unlabelled
    folder = backbone_folder("tiny-random")
    tokenizer = WindowTokenizer(folder)
    # What training read before the Dataset route: each text's first window.
    expected_ids = [windows[0] for windows in encode_chunks(tokenizer, [r.text for r in rows], 32)]
    cache = fincard_home / "datasets"
    cached_before = set(cache.glob("*.arrow")) if cache.exists() else set()

    data = encode(rows, tokenizer, schema, 32, folder / "tokenizer.json")
    assert data.ids == expected_ids
    np.testing.assert_array_equal(data.themes, theme_matrix(rows, schema))
    np.testing.assert_array_equal(data.theme_mask, [1.0] * 12 + [0.0, 1.0])
    np.testing.assert_array_equal(data.stances, list(stance_vector(rows[:12], schema)) + [-100, -100])
    assert data.themes.dtype == np.float32 and data.theme_mask.dtype == np.float32 and data.stances.dtype == np.int64
    assert len(set(cache.glob("*.arrow")) - cached_before) == 1

    def no_tokenising(texts):
        raise AssertionError("a cached encoding was tokenised again")

    tokenizer.ids = no_tokenising
    assert encode(rows, tokenizer, schema, 32, folder / "tokenizer.json").ids == expected_ids
    with pytest.raises(AssertionError, match="tokenised again"):  # another max_length is another cache entry
        encode(rows, tokenizer, schema, 48, folder / "tokenizer.json")
    tokenizer = WindowTokenizer(folder)
    assert encode(rows, tokenizer, schema, 32).ids == expected_ids  # without the file: in memory, nothing cached
    assert len(set(cache.glob("*.arrow")) - cached_before) == 1


def test_checkpoint_loads_weights_only_and_resumes(tmp_path, labelled_path, monkeypatch):
    import torch

    import train.trainer as trainer

    out = tmp_path / "m"
    args = dict(train=labelled_path, dev=labelled_path, out=out, backbone="tiny-random", epochs=2, batch_size=4, max_length=32,
                max_steps=5)
    original = trainer.bucketed_batches
    epochs_started = []

    def interrupt_second_epoch(lengths, batch_size, seed):
        epochs_started.append(seed)
        if len(epochs_started) == 2:
            raise KeyboardInterrupt
        return original(lengths, batch_size, seed)

    monkeypatch.setattr(trainer, "bucketed_batches", interrupt_second_epoch)
    with pytest.raises(trainer.Interrupted):
        train(TrainArguments(**args))
    saved = torch.load(out / "checkpoint" / "trainer_state.pt", weights_only=True)
    state = saved["state"]
    assert state["epoch"] == 1 and state["global_step"] == 3  # 12 rows in batches of 4
    assert state["best_dev"]["themes"]["macro_f1"] >= 0 and type(state["history"][0]["selection"]) is float

    monkeypatch.setattr(trainer, "bucketed_batches", original)
    metrics = train(TrainArguments(**args, resume=True))
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert not (out / "checkpoint").exists()
