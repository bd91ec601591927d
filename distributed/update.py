"""The distributed update of one model: the phase a task opens per optimizer it steps.

``task.step(batch, phase)`` calls ``with phase(name) as p: ... p.update(loss)``; the
:class:`Updater` is that ``phase``. Per phase, in the order of Horovod's AMP recipe::

    freeze the other models     (their gradient hooks must not fire: a GAN's G loss reaches D)
    zero the gradients
    scale(loss).backward()      (Horovod: allreduces start from the gradient hooks;
                                 torch: DDP allreduces buckets during the backward)
    wait for averaged gradients (Horovod: optimizer.synchronize(); torch: already there)
    unscale, then skip the update if the averaged gradients are not finite — the same
        gradients on every rank, so every rank skips the same update without a collective;
        this test reads one number from the device (a host sync, as GradScaler's own skip)
    clip, step (Horovod: inside skip_synchronize()), scaler.update()

A loss with a gradient in it (WGAN-GP) takes it from ``input_gradient``: ``autograd.grad`` with
``create_graph=True`` w.r.t. the inputs only, so no parameter's gradient hook fires until the
one backward of ``update`` (DDP's reducer and Horovod's hooks see one gradient per parameter).

Used by the loop (:mod:`distributed.loop`), the health check (:mod:`distributed.check`) and
the benchmarks. Distributed lines are tagged ``# distributed:``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any

import torch

from distributed.engine import Engine
from distributed.task import PhaseStep

log = logging.getLogger(__name__)


class Updater:
    """The :data:`~distributed.task.Phase` factory handed to ``task.step``; times communication.

    ``communication`` accumulates, per phase, the time from the last local gradient (a hook on
    every parameter) to the averaged gradients being in place: under Horovod the wait in
    ``synchronize()``, under DDP the end of the backward pass, where it waits for its buckets.
    """

    def __init__(
        self,
        models: Mapping[str, torch.nn.Module],
        step_models: Mapping[str, Any],
        optimizers: Mapping[str, Any],
        engine: Engine,
        dtype: torch.dtype | None,
        clip_grad: float,
    ) -> None:
        self.models, self.step_models, self.optimizers = models, step_models, optimizers
        self.engine, self.clip_grad = engine, clip_grad
        # GradScaler only for fp16 on CUDA; elsewhere a disabled scaler passes everything through.
        self.scalers = {
            name: torch.amp.GradScaler("cuda", enabled=dtype is torch.float16)
            for name in optimizers
        }
        self.batch_index = 0  # set by the loop before each step (distributed.task.Phase)
        self.communication = 0.0
        self.last_gradient = 0.0
        self.skipped = 0  # consecutive updates skipped for non-finite gradients
        self.skipped_total = 0  # all of them, reported at the end of the run
        for model in models.values():
            for p in model.parameters():
                p.register_post_accumulate_grad_hook(self._gradient_ready)

    def _gradient_ready(self, _: torch.Tensor) -> None:
        self.last_gradient = time.perf_counter()

    @contextmanager
    def __call__(self, name: str) -> Iterator[PhaseStep]:
        frozen = [
            p
            for other, m in self.models.items()
            if other != name
            for p in m.parameters()
            if p.requires_grad
        ]
        for p in frozen:  # their gradient hooks must not fire on this phase's backward
            p.requires_grad_(False)
        self.optimizers[name].zero_grad()
        try:  # distributed: the model as the engine runs it (torch: DDP's wrapper)
            yield PhaseStep(
                self.step_models[name],
                partial(self._update, name),
                partial(self._input_gradient, name),
            )
        finally:
            for p in frozen:
                p.requires_grad_(True)

    def _input_gradient(
        self, name: str, outputs: torch.Tensor, inputs: torch.Tensor
    ) -> torch.Tensor:
        """∂(Σ outputs)/∂inputs, differentiable (PyTorch's AMP recipe for a gradient penalty:
        the scaled sum differentiated, the result divided by the scale)."""
        scaler = self.scalers[name]
        (gradient,) = torch.autograd.grad(scaler.scale(outputs.sum()), inputs, create_graph=True)
        return gradient / scaler.get_scale() if scaler.is_enabled() else gradient

    def _update(self, name: str, loss: torch.Tensor) -> None:
        optimizer, scaler = self.optimizers[name], self.scalers[name]
        scaler.scale(loss).backward()  # distributed: averaging starts from the gradient hooks
        self.engine.finish_gradients(optimizer)  # distributed: the averaged gradients are in
        self.communication += time.perf_counter() - self.last_gradient
        scaler.unscale_(optimizer)
        params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        norm = torch.nn.utils.get_total_norm([p.grad for p in params])
        if not torch.isfinite(norm):  # (host sync) the same gradients on every rank: same decision
            self.skipped += 1
            self.skipped_total += 1
            log.warning("non-finite %s gradients: update skipped (%d in a row)", name, self.skipped)
            optimizer.zero_grad()
            scaler.update()
            return
        self.skipped = 0
        if self.clip_grad > 0:
            torch.nn.utils.clip_grads_with_norm_(params, self.clip_grad, norm)
        self.engine.optimizer_step(optimizer, scaler)  # distributed: step on averaged gradients
        scaler.update()
