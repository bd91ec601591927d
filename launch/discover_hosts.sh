#!/usr/bin/env bash
# Host discovery for Horovod elastic training: prints the hosts available now, one "host:slots"
# per line. horovodrun calls it every few seconds; a host that disappears from the list (or
# whose worker dies) is dropped, one that appears is added, between --min-np and --max-np.
#
#   horovodrun -np 2 --min-np 1 --max-np 2 --network-interface lo \
#       --host-discovery-script launch/discover_hosts.sh \
#       python -m distributed.train gvae --elastic --out runs/elastic          # one machine
#
# Sources, first match wins:
#   $ELASTIC_HOSTS      a file of "host:slots" lines, edited while the job runs to add or remove
#                       hosts (a copy of it can live on a shared file system)
#   $SLURM_JOB_NODELIST the nodes of this Slurm allocation, $SLURM_NTASKS_PER_NODE slots each
#   otherwise           this machine, under each of its local names (localhost, 127.0.0.1, the
#                       host name, its IPv4 addresses), its cores shared out among them
#
# Why several names for one machine: when a worker dies Horovod blacklists its whole *host*,
# and with a single "localhost:N" line that is every slot, so the job stops instead of
# continuing on the survivors. Horovod runs a host locally (no ssh) when its name resolves to
# an address of this machine, so each local name is a pseudo-host of its own: a lost worker
# costs only its name's slots. One machine has a handful of such names; beyond them slots share
# the last one.
set -euo pipefail
if [[ -n "${ELASTIC_HOSTS:-}" ]]; then
  grep -v '^[[:space:]]*\(#\|$\)' "$ELASTIC_HOSTS"
elif [[ -n "${SLURM_JOB_NODELIST:-}" ]]; then
  scontrol show hostnames "$SLURM_JOB_NODELIST" | sed "s/\$/:${SLURM_NTASKS_PER_NODE:-1}/"
else
  cores=$(nproc)
  mapfile -t names < <(
    { printf '%s\n' localhost 127.0.0.1 "$(hostname)"; hostname -I 2>/dev/null | tr ' ' '\n'; } |
      grep -E '^[[:alnum:]._-]+$' | grep -v ':' | awk '!seen[$0]++'
  )
  count=$((cores < ${#names[@]} ? cores : ${#names[@]}))
  for ((i = 0; i < count; i++)); do
    slots=1
    ((i == count - 1)) && slots=$((cores - count + 1))
    echo "${names[i]}:${slots}"
  done
fi
