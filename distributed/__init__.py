"""Distributed training layer: Horovod runtime, the shared training loop and the health check."""
