"""Batches on their way to the step: collated by the DataLoader (on-the-fly batching, in
worker processes or a prefetch thread), then moved to the device.

- :func:`data_loader`: this rank's DataLoader over the task's training set and the sharded
  sampler (:mod:`distributed.sampler`), collated by the task; its workers end with the rank
  (:func:`exit_with`).
- :class:`Prefetcher`: without loader processes, a thread collates the next batch while the step
  runs (its kernels release the GIL) — only worth it when the rank has a core to spare.
- :func:`move`: a tensor, PyG batch or nested tuple/list/dict of them to the device.
"""

from __future__ import annotations

import functools
import os
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import psutil
import torch
from torch.utils.data import DataLoader

from distributed.sampler import ShardedSampler
from distributed.task import Task


def data_loader(task: Task, sampler: ShardedSampler, workers: int, seed: int) -> DataLoader:
    """This rank's batches of ``sampler.batch_size``: ``workers`` loader processes (forkserver,
    persistent; each ends when this process ends) or none; the loader's own generator is seeded
    ``seed`` (not the global stream).
    """
    return DataLoader(
        task.train_set,
        batch_size=sampler.batch_size,
        sampler=sampler,
        collate_fn=task.collate,
        num_workers=workers,
        drop_last=True,
        persistent_workers=workers > 0,
        multiprocessing_context="forkserver" if workers else None,
        generator=torch.Generator().manual_seed(seed),
        worker_init_fn=functools.partial(exit_with, os.getpid()) if workers else None,
    )


def exit_with(pid: int, worker_id: int, poll_s: float = 1.0) -> None:
    """In a loader worker as it starts: a daemon thread ends the worker within ``poll_s`` once
    process ``pid`` (the rank that made it) has ended, however it ended.

    A forkserver worker's parent is the forkserver, and PyTorch's worker watchdog watches the
    parent; the forkserver lives while any worker holds its pipe, and the resource tracker while
    either does. A rank killed by SIGKILL or the out-of-memory killer (which no handler sees)
    left all three running (issue 33). The worker ending first lets the other two end.
    """
    try:
        rank = psutil.Process(pid)  # (its start time guards against a reused pid)
    except psutil.NoSuchProcess:
        os._exit(1)

    def watch() -> None:
        try:
            while rank.is_running() and rank.status() != psutil.STATUS_ZOMBIE:
                time.sleep(poll_s)
        except psutil.NoSuchProcess:
            pass
        os._exit(1)

    threading.Thread(target=watch, name=f"exit-with-{pid}", daemon=True).start()


def move(batch: Any, device: torch.device) -> Any:
    """Move a tensor, PyG batch or (nested) tuple/list/dict of them to ``device``."""
    if isinstance(batch, tuple | list):
        return type(batch)(move(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: move(v, device) for k, v in batch.items()}
    return batch.to(device) if hasattr(batch, "to") else batch


class Prefetcher:
    """Iterates ``iterable`` in a background thread, up to ``depth`` items ahead: with no loader
    processes, the next batch is collated while the step runs (its kernels release the GIL).
    A context manager; leaving it stops the thread."""

    _END = object()

    def __init__(self, iterable: Any, depth: int = 2) -> None:
        self.queue: queue.Queue = queue.Queue(depth)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._fill, args=(iter(iterable),), daemon=True)
        self.thread.start()

    def _fill(self, items: Iterator) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
            self._put(self._END)
        except Exception as err:  # re-raised in the training thread
            self._put(err)

    def _put(self, item: Any) -> bool:
        """Queue ``item`` unless told to stop first; False when stopped."""
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __next__(self) -> Any:
        item = self.queue.get()
        if item is self._END:
            raise StopIteration
        if isinstance(item, Exception):
            raise item
        return item

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
