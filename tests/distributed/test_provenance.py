"""The code version a run records, and what a resume with other code does."""

from __future__ import annotations

import subprocess
from pathlib import Path

from distributed.provenance import code_version, git_commit, resume_note
from tests.conftest import ROOT


def test_the_commit_is_the_checkouts_and_none_outside_one(tmp_path):
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert git_commit().removesuffix("+dirty") == head
    assert git_commit(tmp_path) is None
    now = code_version(3)
    assert now["model_version"] == 3 and now["package"] == "0.1.0"


def test_a_resume_with_other_code_is_said():
    checkpoint = Path("RUN/checkpoint.pt")
    now = {"commit": "b" * 40, "package": "0.1.0", "model_version": 2}
    assert resume_note(dict(now), now, checkpoint) == ""
    older = {**now, "commit": "a" * 40}
    note = resume_note(older, now, checkpoint)
    a, b = "a" * 40, "b" * 40
    assert note == (
        f"RUN/checkpoint.pt was written by commit {a} (package 0.1.0), resumed by commit {b} "
        "(package 0.1.0)"
    )
    assert "records no code version" in resume_note(None, now, checkpoint)
