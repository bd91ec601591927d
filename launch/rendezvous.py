"""torchrun's c10d rendezvous with its endpoint checked first: ``--rdzv-backend c10d-checked``.

Given an endpoint whose port another program holds (a listener that accepts and never answers),
torchrun's own ``c10d`` backend waits minutes in silence (pytorch/pytorch#126510). This backend
first connects to the endpoint:

- nothing listens (this node is to host the store, or its host has not started yet), or a torch
  store answers (another node hosts it): torchrun's c10d rendezvous, unchanged;
- something accepts but does not answer as a torch store within ``probe_timeout`` seconds
  (``--rdzv-conf probe_timeout=N``, default 10): one line naming the endpoint, exit 2.

torchrun finds it through the ``torchrun.handlers`` entry points (``pyproject.toml``).
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (torch's rendezvous package imports this module: no import of it here)
    from torch.distributed.elastic.rendezvous import RendezvousHandler, RendezvousParameters

DEFAULT_PORT = 29400  # torchrun's c10d default


def endpoint_problem(host: str, port: int, timeout: float) -> str:
    """Why ``host:port`` cannot be a torch rendezvous store ("" if it can: nothing listening
    yet, or a store that answers within ``timeout`` seconds)."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:  # refused or unreachable: torchrun hosts the store or waits for its host
        return ""
    # The store's client waits for ever on a listener that never answers (its timeout does not
    # apply to the handshake), so it tries in a thread that is given up after ``timeout``.
    answered = threading.Event()

    def handshake() -> None:
        from torch.distributed import TCPStore

        try:
            TCPStore(host, port, is_master=False, timeout=timedelta(seconds=timeout))
            answered.set()
        except (RuntimeError, TimeoutError, ValueError):
            pass

    threading.Thread(target=handshake, name="rendezvous-probe", daemon=True).start()
    if answered.wait(timeout):
        return ""
    return (
        f"the rendezvous endpoint {host}:{port} accepts connections but does not answer as a "
        f"torch rendezvous store within {timeout:g} s: another program holds the port; give "
        "--rdzv-endpoint another port"
    )


def create_checked_handler(params: RendezvousParameters) -> RendezvousHandler:
    """torchrun's c10d handler for ``params``, after :func:`endpoint_problem`; exits with one
    line (status 2) when the endpoint is held by something else."""
    from torch.distributed.elastic.rendezvous import c10d_rendezvous_backend as c10d
    from torch.distributed.elastic.rendezvous.dynamic_rendezvous import create_handler
    from torch.distributed.elastic.rendezvous.utils import parse_rendezvous_endpoint

    host, port = parse_rendezvous_endpoint(params.endpoint, default_port=DEFAULT_PORT)
    problem = endpoint_problem(host, port, float(params.get("probe_timeout", 10)))
    if problem:
        print(f"torchrun: error: {problem}", file=sys.stderr)
        raise SystemExit(2)

    class Checked(c10d.C10dRendezvousBackend):  # torchrun checks the handler's backend name
        @property
        def name(self) -> str:
            return params.backend

    _, store = c10d.create_backend(params)
    return create_handler(store, Checked(store, params.run_id), params)


def handler() -> Callable[[RendezvousParameters], RendezvousHandler]:
    """The ``torchrun.handlers`` entry point: torchrun calls it for the handler's creator."""
    return create_checked_handler
