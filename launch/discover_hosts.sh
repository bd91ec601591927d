#!/usr/bin/env bash
# Host discovery for Horovod elastic training: prints the hosts available now, one "host:slots"
# per line. horovodrun calls it every few seconds; a host that disappears from the list (or
# whose worker dies) is dropped, one that appears is added, between --min-np and --max-np.
#
#   horovodrun -np 4 --min-np 2 --max-np 8 --host-discovery-script launch/discover_hosts.sh \
#       python -m distributed.train gvae --elastic --out runs/elastic
#
# Sources, first match wins:
#   $ELASTIC_HOSTS    a file of "host:slots" lines, edited while the job runs to add or remove
#                     hosts (a copy of it can live on a shared file system)
#   $SLURM_JOB_NODELIST the nodes of this Slurm allocation, $SLURM_NTASKS_PER_NODE slots each
#   otherwise         this host with one slot per core
set -euo pipefail
if [[ -n "${ELASTIC_HOSTS:-}" ]]; then
  grep -v '^[[:space:]]*\(#\|$\)' "$ELASTIC_HOSTS"
elif [[ -n "${SLURM_JOB_NODELIST:-}" ]]; then
  scontrol show hostnames "$SLURM_JOB_NODELIST" | sed "s/\$/:${SLURM_NTASKS_PER_NODE:-1}/"
else
  echo "localhost:$(nproc)"
fi
