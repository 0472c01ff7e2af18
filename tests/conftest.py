import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "000_f25933e4e25280a1.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Where the real Gemma conversion is cached, read before the fixture below points FINCARD_HOME at a temporary folder.
USER_FINCARD_HOME = os.environ.get("FINCARD_HOME", str(Path.home() / ".cache" / "fincard"))


@pytest.fixture(scope="session", autouse=True)
def fincard_home(tmp_path_factory):
    """Backbones built by tests (tiny-random) live in a temporary FINCARD_HOME, never in the user's cache."""
    home = tmp_path_factory.mktemp("fincard_home")
    previous = os.environ.get("FINCARD_HOME")
    os.environ["FINCARD_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("FINCARD_HOME", None)
    else:
        os.environ["FINCARD_HOME"] = previous


@pytest.fixture
def seed_path() -> Path:
    return SEED


@pytest.fixture(scope="session")
def labelled_path() -> Path:
    return FIXTURES / "labelled.jsonl"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, labelled_path, fincard_home) -> Path:
    """A tiny-random classifier trained for a few steps on the fixture rows: the real code path, in seconds."""
    from train.args import TrainArguments
    from train.trainer import train

    out = tmp_path_factory.mktemp("models") / "tiny"
    train(TrainArguments(train=labelled_path, dev=labelled_path, out=out, backbone="tiny-random", epochs=2, batch_size=4, max_length=64))
    return out
