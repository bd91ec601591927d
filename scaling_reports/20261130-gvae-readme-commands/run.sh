#!/usr/bin/env bash
# Issue 26 acceptance: the README's commands as written (GVAE defaults, 30 epochs), one process
# then two Horovod ranks, each timed; run from the repository root. 8.5 min on 2 Zen 3 cores.
set -uo pipefail
source launch/env.sh
/usr/bin/time -f "%e s wall" python -m distributed.train gvae --out runs/accept-np1
/usr/bin/time -f "%e s wall" horovodrun -np 2 -H localhost:2 python -m distributed.train gvae \
    --out runs/accept-np2
