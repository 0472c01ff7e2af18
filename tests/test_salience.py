import json

import numpy as np
import pytest

from conftest import ROOT
from infer import ConfigError, Document, FinCard, FincardError, Summarizer
from infer.classifier import Classifier
from infer.cli import main
from infer.salience import TEXT_FEATURES, SalienceModel


@pytest.fixture(scope="module")
def articles(tmp_path_factory):
    """Twelve team-written articles with their editors' picks."""
    rows = [json.loads(line) for line in (ROOT / "labels" / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    path = tmp_path_factory.mktemp("salience") / "articles.jsonl"
    path.write_text("".join(json.dumps({**row, "split": "tune"}, ensure_ascii=False) + "\n" for row in rows[:12]), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def salience_model(articles, tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("salience") / "model"
    assert main(["train-salience", "--data", str(articles), "--out", str(out), "--model", str(tiny_model), "--folds", "3"]) == 0
    return out


def test_hidden_states_at_marks_are_read_in_the_classification_pass(tiny_model):
    classifier = Classifier.load(tiny_model)
    texts = ["铜价上涨。库存下降。", "央行降准。"]
    predictions, states = classifier.read(texts, [[5, 10], [5]])
    assert [(p.themes, p.stance) for p in predictions] == [(p.themes, p.stance) for p in classifier.predict(texts)]
    assert [s.shape for s in states] == [(2, 32), (1, 32)]
    # A causal model: the state at the first sentence's end is the state at the end of that sentence read alone.
    _, (alone,) = classifier.read(["铜价上涨。"], [[5]])
    np.testing.assert_allclose(states[0][0], alone[0], atol=0.05)
    assert not np.allclose(states[0][0], states[0][1], atol=0.05)


def test_train_salience_writes_a_model_bound_to_its_classifier(salience_model, tiny_model, tmp_path):
    model = SalienceModel.load(salience_model)
    assert model.hidden_size == 32 and model.fits(Classifier.load(tiny_model))
    card = (salience_model / "README.md").read_text(encoding="utf-8")
    assert "fincard train-salience" in card and model.card["tune_articles"] == 12
    model.save(tmp_path)
    assert json.loads((tmp_path / "salience.json").read_text()) == json.loads((salience_model / "salience.json").read_text())
    (tmp_path / "salience.json").write_text('{"text_features": ["position"]}', encoding="utf-8")
    with pytest.raises(FincardError, match="other features"):
        SalienceModel.load(tmp_path)


def test_the_summarizer_ranks_by_salience_and_fincard_reads_states_once(salience_model, tiny_model):
    classifier = Classifier.load(tiny_model)
    model = SalienceModel.load(salience_model)
    doc = Document.from_paragraphs(["今天天气晴朗，市场情绪平稳。", "铜价大涨3%，创历史新高。", "央行宣布降准0.5个百分点。", "周末电影票房创下新纪录。"])
    seen = []

    def favour_the_third(states, features):  # a stand-in model that wants the central-bank sentence
        seen.append((states.shape, sorted(features)))
        return np.array([0.1, 0.2, 0.9, 0.1])

    model.scores = favour_the_third
    gist = Summarizer(classifier, headline=None, salience=model).summarize(doc, max_bullets=1)
    assert gist.headline.text == "央行宣布降准0.5个百分点。"
    assert seen == [((4, 32), sorted({*TEXT_FEATURES, "names"}))]

    calls = []
    read = classifier.read
    classifier.read = lambda *args, **kwargs: calls.append(1) or read(*args, **kwargs)
    fincard = FinCard(classifier, Summarizer(classifier, headline=None, salience=model), max_bullets=1)
    assert next(iter(fincard([doc]))).gist.headline.text == "央行宣布降准0.5个百分点。"
    assert calls == [1]  # labels and states in one pass
    assert [r.gist for r in fincard([doc], gists=False)] == [None] and calls == [1]  # classify only: no states


def test_a_salience_model_of_another_classifier_is_refused_or_left_out(salience_model, tiny_model):
    model = SalienceModel.load(salience_model)
    model.classifier = "someone-else"
    classifier = Classifier.load(tiny_model)
    with pytest.raises(ConfigError, match="another classifier"):
        Summarizer(classifier, salience=model)
    assert Summarizer(classifier).salience is None  # the shipped model belongs to the shipped classifier
    assert Summarizer(None, salience=model).salience is None  # no classifier, no hidden states
