"""Which code wrote a run: the git commit, the package version and the model's definition version,
recorded in ``config.json`` and every checkpoint, and compared when a run is resumed.

A resume with other code is said in one line and recorded. A resume across a change of the
model's definition (a spec's ``MODEL_VERSION``: what the parameters compute) is refused where
every tool reads a checkpoint (:func:`storage.files.read_checkpoint`), as a checkpoint of the old
definition would silently train as the new one (metatensor/metatrain#351).
"""

from __future__ import annotations

import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGE = "lhc-graph-gen"
ROOT = Path(__file__).resolve().parents[1]


def git_commit(root: Path = ROOT) -> str | None:
    """The commit checked out at ``root``, with ``+dirty`` when tracked files differ from it;
    None outside a git checkout (an installed package) or without git."""
    try:
        head, dirty = (
            subprocess.run(
                ["git", "-C", str(root), *cmd], capture_output=True, text=True, timeout=20,
                check=True,
            ).stdout.strip()
            for cmd in (["rev-parse", "HEAD"], ["status", "--porcelain", "--untracked-files=no"])
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def code_version(model_version: int) -> dict:
    """``{"commit", "package", "model_version"}`` of the code running now (commit and package
    None where unknown)."""
    try:
        package = version(PACKAGE)
    except PackageNotFoundError:
        package = None
    return {"commit": git_commit(), "package": package, "model_version": model_version}


def describe(code: dict) -> str:
    return f"commit {code['commit'] or '?'} (package {code['package'] or '?'})"


def resume_note(saved: dict | None, now: dict, checkpoint: Path) -> str:
    """The line to log and record when the checkpoint's code is not this code ("" when it is).

    Args:
        saved: the checkpoint's ``config["code"]`` (None: written before versions were kept),
            of this model definition (read by ``read_checkpoint(path, model_version)``).
        now: :func:`code_version` of this process.
    """
    if saved is None:
        return (
            f"{checkpoint} records no code version (written before 2026-12-06): resumed with "
            f"{describe(now)}; the model's definition may have changed since"
        )
    if (saved.get("commit"), saved.get("package")) != (now["commit"], now["package"]):
        return f"{checkpoint} was written by {describe(saved)}, resumed by {describe(now)}"
    return ""
