"""The installed package, not the checkout: build the wheel, install it alone into a folder, and run the shipped
models from somewhere else. This is what a server, a container or a Ray worker gets."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, SEED, USER_FINCARD_HOME


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel installed with --no-deps into a target folder (the dependencies come from this environment)."""
    pytest.importorskip("setuptools", reason="building the wheel here needs setuptools (the test extra installs it)")
    folder = tmp_path_factory.mktemp("wheel")
    build = [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(folder / "dist")]
    subprocess.run(build, check=True, cwd=folder)
    wheel = next((folder / "dist").glob("fincard-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in ("infer/models/fincard-zh-v1/adapter_model.safetensors", "infer/models/fincard-zh-v1/GEMMA_TERMS.html",
                    "infer/models/fincard-headline-v1/headline.json", "infer/labels/schema.json"):
        assert shipped in names
    assert not any(name.startswith("infer/labels/corpus") for name in names)  # training data stays in the repository
    target = folder / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True)
    return target


def outside(target: Path, tmp_path: Path, *command: str) -> subprocess.CompletedProcess:
    # The Gemma conversion cache is the user's (or CI's) shared one, not the tests' temporary FINCARD_HOME.
    env = {**os.environ, "PYTHONPATH": str(target), "FINCARD_HOME": USER_FINCARD_HOME}
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)


def test_installed_wheel_runs_the_shipped_models_from_any_folder(installed, tmp_path):
    code = ("import infer; from infer import FinCard; r = next(iter(FinCard.load()(['央行宣布降准0.5个百分点。']))); "
            "print(json.dumps([infer.__file__, r.predictions[0].themes, r.gist.headline.text], ensure_ascii=False))")
    shown = outside(installed, tmp_path, sys.executable, "-c", "import json; " + code)
    assert shown.returncode == 0, shown.stderr
    where, themes, headline = json.loads(shown.stdout.strip().splitlines()[-1])
    assert Path(where).is_relative_to(installed)  # the wheel's code, not the checkout's
    assert "central_banks" in themes and headline.startswith("央行宣布降准0.5个百分点")

    done = outside(installed, tmp_path, sys.executable, "-m", "infer.cli", "run", str(SEED), "-o", "out")
    assert done.returncode == 0, done.stderr
    assert "documents 10" in done.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["cards.jsonl", "cards.md", "paragraphs.jsonl"]
