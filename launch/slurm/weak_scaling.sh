#!/usr/bin/env bash
# Submit a weak-scaling study of MODEL on NODES DGX nodes (8 GPUs each): one Slurm job that runs
# `python -m launch.scaling --mode weak --launcher mpirun` over 1, 2, 4, 8 GPUs and then every
# multiple of 8 up to 8·NODES; the study lands in scaling_reports/ as on a workstation. Without
# the machine-bound runs (--no-bound): their independent processes would all start on the
# batch host instead of spreading over the nodes.
#
#   launch/slurm/weak_scaling.sh gvae 4                       # 1 … 32 GPUs
#   launch/slurm/weak_scaling.sh mpgan 2 --steps 200 -- --batch-size 256
#   launch/slurm/weak_scaling.sh --dry-run gvae 2             # print the sbatch command only
#
# Arguments after NODES go to launch.scaling (and after its --, to distributed.train).
set -euo pipefail

dry_run=0
if [[ "${1:-}" == "--dry-run" ]]; then
  dry_run=1
  shift
fi
models="$(python -m distributed.train --models | paste -sd '|')"
if [[ $# -lt 2 || ! "$1" =~ ^($models)$ || ! "$2" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: launch/slurm/weak_scaling.sh [--dry-run] $models NODES [launch.scaling args...]" >&2
  exit 2
fi
model="$1"
nodes="$2"
shift 2

gpus=(1 2 4 8)
for ((n = 2; n <= nodes; n++)); do gpus+=($((8 * n))); done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cmd=(sbatch --nodes="$nodes" --job-name="weak-$model" "$here/train.sbatch"
  python -m launch.scaling --model "$model" --mode weak --launcher mpirun --no-bound
  --np "${gpus[@]}" "$@")

if [[ "$dry_run" == 1 ]]; then
  printf '%q ' "${cmd[@]}"
  echo
else
  "${cmd[@]}"
fi
