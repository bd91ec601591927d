"""Set-up, launch helpers, scaling sweeps and benchmarks."""
