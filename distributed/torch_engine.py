"""The torch.distributed engine: ``torchrun`` worlds, gradients averaged by DistributedDataParallel.

    torchrun --nproc-per-node 4 -m distributed.train gvae

The process group comes from torchrun's environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``/``MASTER_PORT``): Gloo on CPU, NCCL on GPU. Without torchrun one process forms a
world of one. Each model is wrapped in ``DistributedDataParallel``, which allreduces gradient
buckets while the backward pass runs; a training step calls the model it trains through that
wrapper and every other model as it is — DDP's hooks only act after a forward through the
wrapper, so a frozen model's forward neither averages nor applies anything. Checkpoints hold the
models' own state dicts, the same as under Horovod.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from typing import Any

import torch
import torch.distributed as dist
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
from torch.nn.parallel import DistributedDataParallel

OPS = {"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX, "min": dist.ReduceOp.MIN}


class TorchEngine:
    """A ``torch.distributed`` process group (``device_type`` picks Gloo or NCCL)."""

    name = "torch"

    def __init__(self, device_type: str) -> None:
        self.controller = "nccl" if device_type == "cuda" else "gloo"
        # With CUDA, Gloo stays for the loop's few collectives on CPU tensors (metric averages,
        # the health check); NCCL carries the gradients.
        backend = "cpu:gloo,cuda:nccl" if device_type == "cuda" else "gloo"
        timeout = datetime.timedelta(minutes=30)
        env = os.environ
        if env.get("TORCHELASTIC_USE_AGENT_STORE") == "True":  # torchrun: its agent's store
            # Each restart gets its own key prefix: without it a restarted Gloo group read the
            # failed attempt's peer addresses from the store and could not connect (torch 2.13).
            store = dist.TCPStore(
                env["MASTER_ADDR"], int(env["MASTER_PORT"]), is_master=False, timeout=timeout
            )
            dist.init_process_group(
                backend,
                store=dist.PrefixStore(f"restart{env['TORCHELASTIC_RESTART_COUNT']}", store),
                rank=int(env["RANK"]),
                world_size=int(env["WORLD_SIZE"]),
                timeout=timeout,
            )
        elif "WORLD_SIZE" in env:  # another launcher setting the env:// variables
            dist.init_process_group(backend, timeout=timeout)
        else:  # one process
            dist.init_process_group(
                backend, store=dist.HashStore(), rank=0, world_size=1, timeout=timeout
            )
        self.local_rank = int(os.environ.get("LOCAL_RANK", 0))
        self.local_size = int(os.environ.get("LOCAL_WORLD_SIZE", 1))

    @property
    def rank(self) -> int:
        return dist.get_rank()

    @property
    def size(self) -> int:
        return dist.get_world_size()

    def distributed(
        self,
        models: Mapping[str, torch.nn.Module],
        optimizers: Mapping[str, torch.optim.Optimizer],
        compression: str,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        wrapped = {}
        for name, model in models.items():
            # torch: DDP averages the gradients of a backward through the wrapper (buckets
            # allreduced while the backward runs). Buffers (a conditional generator's label
            # statistics) are fitted alike on every rank and broadcast with the parameters.
            wrapped[name] = DistributedDataParallel(model, forward_sync_buffers=False)
            if compression == "fp16":
                wrapped[name].register_comm_hook(None, default_hooks.fp16_compress_hook)
        return wrapped, dict(optimizers)

    def finish_gradients(self, optimizer: Any) -> None:
        """Nothing to wait for: DDP's backward returns with the averaged gradients."""

    def optimizer_step(self, optimizer: Any, scaler: torch.amp.GradScaler) -> None:
        scaler.step(optimizer)

    def broadcast_state(
        self, models: Mapping[str, torch.nn.Module], optimizers: Mapping[str, Any]
    ) -> None:
        for model in models.values():
            for tensor in model.state_dict().values():
                dist.broadcast(tensor, src=0)
        states = self.broadcast_object({k: o.state_dict() for k, o in optimizers.items()})
        for name, optimizer in optimizers.items():
            optimizer.load_state_dict(states[name])

    def allreduce(self, tensor: torch.Tensor, op: str = "mean") -> torch.Tensor:
        out = tensor.clone()
        dist.all_reduce(out, op=OPS["sum" if op == "mean" else op])
        return out / self.size if op == "mean" else out

    def broadcast_object(self, obj: Any) -> Any:
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def allgather_object(self, obj: Any) -> list:
        gathered: list[Any] = [None] * self.size
        dist.all_gather_object(gathered, obj)
        return gathered

    def run_elastic(self, body, models, optimizers, on_reset, **values) -> Any:
        """torch.distributed has no in-process elastic world: ``torchrun --max-restarts``
        restarts the workers, which resume from the last checkpoint instead."""
        raise ValueError("--elastic needs Horovod (horovodrun); torchrun restarts instead")
