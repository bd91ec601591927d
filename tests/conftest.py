"""Shared fixtures: launching real Horovod jobs from tests."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from launch.environment import horovod_env

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def launch():
    """Run a command from the repository root with the Horovod environment.

    The command is a list or a string (split as a shell would).
    Returns the CompletedProcess; stdout and stderr are captured as text. ``python`` in the
    command is replaced by this interpreter so every rank runs in the same environment.
    """

    def run(cmd: str | list[str], timeout: float = 180) -> subprocess.CompletedProcess:
        parts = shlex.split(cmd) if isinstance(cmd, str) else cmd
        cmd = [sys.executable if part == "python" else part for part in parts]
        return subprocess.run(
            cmd, cwd=ROOT, env=horovod_env(), capture_output=True, text=True, timeout=timeout
        )

    return run
