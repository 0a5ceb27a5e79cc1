"""The ``coach`` command itself: its version."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import version

import pytest

from tests.test_e2e import ROOT


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_coach_prints_its_version(flag: str) -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version("seller-coach") == declared  # the installed metadata is this source's

    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", flag],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"coach {declared}\n"
