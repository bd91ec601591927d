"""One run directory, one live run: the lock rank 0 holds on ``RUN/run.lock`` while it trains.

Two jobs given the same ``--out`` would interleave their metrics, checkpoints and config history
(deepinv/deepinv#525, meta-pytorch/torchtune#481). Rank 0 takes an exclusive ``flock`` on
``run.lock`` before it writes anything. The kernel releases it when the process ends, however
it ends (SIGKILL and the out-of-memory killer included), so a lock is never stale: a resume, a
torchrun restart or a requeued job takes it again. The file names the holder (host, pid, start)
for the line that refuses a second run.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path
from typing import IO


def claim_run_dir(out: Path) -> IO[str]:
    """Create ``out`` if needed and lock it for this process; keep the returned file open for
    as long as the run writes there (closing it, or the process ending, releases the lock).

    Raises:
        ValueError: another live process holds the lock (the line names its host and pid).
        OSError: the directory or the lock file cannot be written (no space, read-only).
    """
    out.mkdir(parents=True, exist_ok=True)
    handle = (out / "run.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ValueError(
            f"{out} is in use by a live run ({holder}): wait for it to end (it resumes from "
            "there), or give this run another --out"
        ) from None
    handle.seek(0)
    handle.truncate()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    handle.write(f"host {socket.gethostname()}, pid {os.getpid()}, since {started}\n")
    handle.flush()
    return handle
