"""The GVAE as the trainer sees it: ``python -m distributed.train gvae`` (graph VAE on tracker,
ECAL and HCAL hits).

A model package's ``spec`` module is all the trainer reads (``distributed/train.py``): its option
groups, its task, its defaults and the options a resumed run may change. It is registered under
the ``lhc_graph_gen.models`` entry points in ``pyproject.toml``, so a GVAE run imports only this
package.
"""

from __future__ import annotations

from gvae.hits import HitGraphOptions
from gvae.loss import LossWeights
from gvae.model import MODEL_VERSION as MODEL_VERSION  # (see gvae/model.py)
from gvae.model import GVAEModelOptions
from gvae.task import GVAEOptions, GVAETask

HELP = "graph VAE on tracker/ECAL/HCAL hits"
OPTIONS = (
    ("data", GVAEOptions),
    ("graphs", HitGraphOptions),
    ("model", GVAEModelOptions),
    ("loss", LossWeights),
)
TASK = GVAETask
# About 7 minutes on one CPU core with the default data. The cosine decay settles the model: at a
# constant lr the loss still jumps late in training (median EMD 31 or 113 GeV in two runs,
# depending on where the last step lands). Event graphs are cached, so batching in the step costs
# less than handing batches over from a loader process (launch/bench_gvae.py): no loader workers.
# The global batch of 32 is split over the ranks (scaling_reports/20261129-gvae-quality-*).
DEFAULTS = {"epochs": 30, "lr_decay": "cosine", "loader_workers": 0, "global_batch_size": 32}
PRESETS: dict[str, dict] = {}
# A resume may change these (the optimisation, the loss weights, how graphs are kept, what an
# evaluation reports); every other option of the groups above sets the parameters' shapes, the
# data the checkpoint's position counts in, or the model being trained, and is refused.
RESUMABLE = frozenset(
    {"lr", "emd_events", "cache", "beta", "linear_energy_weight", "mincut_weight", "ortho_weight"}
)
