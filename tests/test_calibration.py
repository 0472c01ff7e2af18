import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from infer.calibration import Calibration
from infer.classifier import Classifier
from infer.errors import ConfigError
from infer.metrics import expected_calibration_error
from infer.model import ModelConfig

THEMES = ["metals", "tariffs"]


def overconfident(n: int = 2000, seed: int = 0):
    """Scores pushed toward 0 and 1 although a fifth of the confident calls are wrong."""
    rng = np.random.default_rng(seed)
    gold_themes = rng.random((n, 2)) < 0.3
    right = rng.random((n, 2)) < 0.8
    said = np.where(right, gold_themes, ~gold_themes)
    themes = np.where(said, 0.99, 0.01) + rng.normal(0, 0.005, (n, 2))
    gold_stance = rng.integers(0, 3, n)
    picked = np.where(rng.random(n) < 0.7, gold_stance, rng.integers(0, 3, n))
    stance = np.full((n, 3), 0.01)
    stance[np.arange(n), picked] = 0.98
    return np.clip(themes, 0, 1), gold_themes.astype(np.float32), stance, gold_stance


def test_fit_brings_overconfident_scores_to_frequencies_without_changing_rankings():
    themes, theme_gold, stance, stance_gold = overconfident()
    calibration = Calibration.fit(themes, theme_gold, stance, stance_gold, THEMES, "synthetic")
    new_themes, new_stance = calibration.apply(themes, stance, THEMES)
    for k in range(2):
        before = expected_calibration_error(themes[:, k], theme_gold[:, k])
        after = expected_calibration_error(new_themes[:, k], theme_gold[:, k])
        assert before > 0.15 and after < 0.03
        assert (np.argsort(new_themes[:, k], kind="stable") == np.argsort(themes[:, k], kind="stable")).all()
    correct = stance.argmax(1) == stance_gold
    assert expected_calibration_error(stance.max(1), correct) > 0.15  # right 80% of the time, sure 98%
    assert expected_calibration_error(new_stance.max(1), correct) < 0.03
    assert (new_stance.argmax(1) == stance.argmax(1)).all()
    assert np.allclose(new_stance.sum(1), 1.0, atol=1e-5)
    assert calibration.stance_temperature > 1.5


def test_default_is_the_identity_and_survives_the_config_round_trip(tmp_path):
    themes, _, stance, _ = overconfident(20)
    identity = Calibration()
    assert identity.identity
    assert identity.apply(themes, stance, THEMES)[0] is themes
    config = ModelConfig("tiny-random", calibration=Calibration({"metals": [0.5, -1.0]}, 2.0, "dev.jsonl (20 rows)"))
    config.save(tmp_path)
    loaded = ModelConfig.load(tmp_path)
    assert loaded.calibration == config.calibration
    assert ModelConfig(**{k: v for k, v in json.loads((tmp_path / "config.json").read_text()).items() if k != "calibration"}).calibration.identity


@pytest.mark.parametrize("data, problem", [
    ({"stance_temperature": 0}, "stance_temperature must be above 0"),
    ({"themes": {"metals": [-1.0, 0.0]}}, "slope > 0"),
    ({"temperature": 2}, "unexpected keyword"),
])
def test_a_bad_saved_calibration_is_refused_with_what_to_do(data, problem):
    with pytest.raises(ConfigError, match=problem) as caught:
        Calibration.from_dict(data)
    assert "fincard calibrate" in str(caught.value)


def test_the_classifier_serves_calibrated_scores_and_labels_from_them(tiny_model, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    config = ModelConfig.load(folder)
    config.calibration = Calibration(stance_temperature=4.0)
    config.save(folder)
    classifier = Classifier.load(folder)
    texts = ["央行宣布下调存款准备金率0.5个百分点。", "铜价大涨。", ""]
    raw_themes, raw_stance = classifier.raw_scores(texts)
    themes, stance = classifier.scores(texts)
    assert np.allclose(themes, raw_themes)  # no theme maps fitted here
    assert not np.allclose(stance[:2], raw_stance[:2])
    assert (stance[:2].argmax(1) == raw_stance[:2].argmax(1)).all()
    assert stance[:2].max(1).max() < raw_stance[:2].max(1).max() or raw_stance[:2].max() < 0.34
    assert stance[2].tolist() == raw_stance[2].tolist()  # an empty text keeps its neutral stance
    assert [p.stance_scores for p in classifier.predict(texts[:2])] == [
        {s: float(v) for s, v in zip(classifier.schema.stance_ids, row)} for row in stance[:2]]


def test_fincard_calibrate_rewrites_the_config_and_training_fits_one(tiny_model, tmp_path, labelled_path):
    assert ModelConfig.load(tiny_model).calibration.fitted_on.startswith(str(labelled_path))
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    config = ModelConfig.load(folder)
    config.calibration, config.thresholds = Calibration(), {}
    config.save(folder)
    weights = (folder / "heads.safetensors").read_bytes()
    done = subprocess.run([sys.executable, "-m", "infer.cli", "calibrate", "--model", str(folder), "--dev", str(labelled_path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report["after"]) == {"themes_micro_f1", "themes_ece", "stance_macro_f1", "stance_ece"}
    saved = ModelConfig.load(folder)
    assert saved.calibration.fitted_on.startswith(str(labelled_path)) and set(saved.thresholds) == set(Classifier.load(folder).schema.theme_ids)
    assert report["stance_temperature"] == saved.calibration.stance_temperature
    assert (folder / "heads.safetensors").read_bytes() == weights


def test_eval_reports_theme_ece(tiny_model, labelled_path):
    done = subprocess.run([sys.executable, "-m", "infer.cli", "eval", "--model", str(tiny_model), "--data", str(labelled_path), "--json"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert 0.0 <= result["themes"]["ece"] <= 1.0 and 0.0 <= result["stance"]["ece"] <= 1.0
