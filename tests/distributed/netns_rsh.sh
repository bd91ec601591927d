#!/usr/bin/env bash
# Open MPI's remote-shell agent for the two-namespace test cluster (test_two_nodes.py): where
# ssh would log into HOST, enter the network namespace named "lhc-HOST" and run the command
# there under the host name HOST (same machine, same files, same environment).   usage: netns_rsh.sh HOST COMMAND...
set -euo pipefail
host=$1
shift
exec ip netns exec "lhc-${host}" unshare --uts bash -c "hostname ${host} && $*"
