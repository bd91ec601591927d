"""The set-up script is idempotent: on a set-up checkout it verifies the build and does nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_setup_rerun_is_a_no_op():
    proc = subprocess.run(
        ["bash", "launch/setup.sh"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "VENV": sys.prefix},
    )
    assert proc.returncode == 0, proc.stderr
    assert "already set up" in proc.stdout
    assert "building horovod" not in proc.stdout
