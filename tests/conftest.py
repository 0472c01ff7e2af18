from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "000_f25933e4e25280a1.txt"


@pytest.fixture
def seed_path() -> Path:
    return SEED
