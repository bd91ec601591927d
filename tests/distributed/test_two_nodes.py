"""Two nodes for real, on one machine: two Linux network namespaces joined by a veth pair
(addresses private to the test), and the README's multi-node commands run across them —
torchrun with a c10d rendezvous on each "node", and Horovod through ``mpirun`` whose remote
shell enters the other namespace (Open MPI's ``plm_rsh_agent``). Each trains the GVAE for a few
steps; both nodes must end with identical parameters. The namespaces are removed whatever
happens. Needs root (CI runs as root)."""

from __future__ import annotations

import json
import subprocess

import pytest

from launch.environment import horovod_env
from tests.conftest import ROOT, readme_command

pytestmark = pytest.mark.slow

NODES = ("10.77.0.1", "10.77.0.2")  # host1, host2 of the README's commands
INTERFACE = "lhcnet"  # the veth end in each namespace (the README's eth0)
AGENT = ROOT / "tests" / "distributed" / "netns_rsh.sh"
TRAIN = "--eval-events 8 --steps 6 --global-batch-size 4 --log-every 1 --no-evaluate"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def namespace(node: str) -> str:
    return f"lhc-{node}"  # what netns_rsh.sh enters for host ``node``


def remove_cluster() -> None:
    for node in NODES:
        pids = subprocess.run(
            ["ip", "netns", "pids", namespace(node)], capture_output=True, text=True
        ).stdout.split()
        if pids:
            subprocess.run(["kill", "-9", *pids], capture_output=True)
        subprocess.run(["ip", "netns", "del", namespace(node)], capture_output=True)


@pytest.fixture
def two_nodes():
    """Namespaces lhc-10.77.0.1 and lhc-10.77.0.2, each with loopback and one veth end named
    lhcnet (10.77.0.x/24); nothing else is reachable from them."""
    remove_cluster()  # a run killed before its clean-up
    try:
        for node in NODES:
            ip("netns", "add", namespace(node))
        ip("link", "add", "lhcveth1", "type", "veth", "peer", "name", "lhcveth2")
        for end, node in zip(("lhcveth1", "lhcveth2"), NODES, strict=True):
            ip("link", "set", end, "netns", namespace(node))
            inside = ("-n", namespace(node))
            ip(*inside, "link", "set", end, "name", INTERFACE)
            ip(*inside, "addr", "add", f"{node}/24", "dev", INTERFACE)
            ip(*inside, "link", "set", INTERFACE, "up")
            ip(*inside, "link", "set", "lo", "up")
        yield NODES
    finally:
        remove_cluster()


def on(node: str, command: str, log) -> subprocess.Popen:
    """``command`` started inside ``node``'s namespace, from the repository root, with the
    node's address as its host name (its own UTS namespace), as each node of a cluster has its
    own name: torchrun's c10d rendezvous picks the node that serves the store by comparing
    the endpoint with the host name."""
    named = f"hostname {node} && {command}"
    return subprocess.Popen(
        ["ip", "netns", "exec", namespace(node), "unshare", "--uts", "bash", "-c", named],
        cwd=ROOT, env=horovod_env(), stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def for_nodes(command: str) -> str:
    """A README cluster command on this test cluster: host1/host2 → the namespaces' addresses,
    eth0 → their interface, 4 processes per node → 1 (``python`` is this environment's: its
    bin comes first on PATH)."""
    command = command.replace("host1", NODES[0]).replace("host2", NODES[1])
    command = command.replace("eth0", INTERFACE).replace("--nproc-per-node 4", "--nproc-per-node 1")
    return command.replace(":4", ":1").replace("-np 8", "-np 2")


def check_run(out, logs) -> None:
    result = json.loads((out / "evaluation.json").read_text())
    world = json.loads((out / "config.json").read_text())["world"]
    assert world["size"] == 2, "".join(log.read_text()[-2000:] for log in logs)
    assert result["steps"] == 6 and result["param_spread_between_ranks"] == 0.0


def test_torchrun_on_two_nodes(two_nodes, tmp_path, calorimeter_file):
    command = for_nodes(readme_command("GLOO_SOCKET_IFNAME=eth0 torchrun --nnodes 2"))
    out = tmp_path / "run"
    command = command.replace("--out runs/gvae-2n", f"--out {out}")
    command += f" --data {calorimeter_file} {TRAIN}"
    logs = [tmp_path / f"node{i}.log" for i in (1, 2)]
    procs = [on(node, command, log.open("w")) for node, log in zip(two_nodes, logs, strict=True)]
    try:
        codes = [proc.wait(timeout=300) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
    assert codes == [0, 0], "".join(log.read_text()[-3000:] for log in logs)
    check_run(out, logs)


def test_horovod_over_mpi_on_two_nodes(two_nodes, tmp_path, calorimeter_file):
    command = for_nodes(readme_command("mpirun -np 8 -H host1:4,host2:4"))
    out = tmp_path / "run"
    command = command.replace("mpirun ", f"mpirun --mca plm_rsh_agent {AGENT} ", 1)
    command = command.replace("--out runs/gvae-2n", f"--out {out}")
    command += f" --data {calorimeter_file} {TRAIN}"
    log = tmp_path / "mpirun.log"
    proc = on(two_nodes[0], command, log.open("w"))
    try:
        code = proc.wait(timeout=300)
    finally:
        proc.kill()
    assert code == 0, log.read_text()[-3000:]
    check_run(out, [log])
    assert json.loads((out / "config.json").read_text())["world"]["controller"] == "mpi"
