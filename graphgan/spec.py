"""The 2020 graph GAN as the trainer sees it: ``python -m distributed.train graphgan`` (one class of
sparse images or superpixels; see ``gvae/spec.py`` for what a spec module holds).
"""

from __future__ import annotations

from graphgan import presets
from graphgan.task import GraphGANModelOptions, GraphGANOptions, GraphGANTask

HELP = "2020 graph GAN on sparse images and superpixels, one class, judged by GFD"
OPTIONS = (("data", GraphGANOptions), ("model", GraphGANModelOptions))
TASK = GraphGANTask
MODEL_VERSION = 1  # of what a checkpoint's parameters compute (see gvae/model.py)
# One class: 7 000 graphs. Batches of 32 graphs in total (the published 10 is --preset paper),
# a GFD every epoch. Graphs are small and in memory: no loader workers.
DEFAULTS = {"global_batch_size": 32, "epochs": 5, "eval_every": "1ep", "loader_workers": 0}
# Table 1: the architecture and learning rates of --dataset and --class (graphgan/presets.py).
DEPENDENT_DEFAULTS = presets.table1
PRESETS = presets.PRESETS
PRESET_HELP = (
    "paper: Table 1 and graph-gan's loop (batches of 10, 2000 epochs, fp32, GFD of 8192 graphs "
    "every epoch; graphgan/presets.py)"
)
# A resume may change the optimisation and the evaluation; the rest sets the parameters or data.
RESUMABLE = frozenset({"lr_generator", "lr_discriminator", "eval_graphs", "implementation"})
