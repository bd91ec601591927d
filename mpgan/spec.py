"""The MPGAN as the trainer sees it: ``python -m distributed.train mpgan`` (message-passing GAN
for jets in the JetNet layout; see ``gvae/spec.py`` for what a spec module holds).
"""

from __future__ import annotations

from mpgan import presets
from mpgan.model import MODEL_VERSION as MODEL_VERSION  # (see gvae/model.py)
from mpgan.model import MPGANModelOptions
from mpgan.rows import row_defaults
from mpgan.task import MPGANOptions, MPGANTask

HELP = "message-passing GAN and the MPGAN paper's Table 2 GANs for jets (JetNet layout)"
OPTIONS = (("data", MPGANOptions), ("model", MPGANModelOptions))
TASK = MPGANTask
# The paper's batch of 256 jets per optimizer step, split over the ranks. --amp auto: bf16 where
# the device runs it natively (7x the published formulation on an AVX512-BF16 CPU), fp32 on
# AVX2-only CPUs, where bf16 is emulated (docs/benchmarks.md).
DEFAULTS = {"global_batch_size": 256, "epochs": 5}
# --generator × --discriminator: the Table 2 row's procedure (loss, optimizer, critic steps,
# batch, masks, widths) as defaults; flags, --config and presets win (mpgan/rows.py).
DEPENDENT_DEFAULTS = row_defaults
PRESETS = presets.PRESETS  # --preset paper: the published runs (mpgan/presets.py)
# A resume may change these (the optimisation, the evaluation, the same maths computed another
# way); the other options set the parameters, the data or the model being trained: refused.
RESUMABLE = frozenset(
    {
        "lr_generator",
        "lr_discriminator",
        "eval_samples",
        "metric_jets",
        "selection_metric",
        "implementation",
    }
)
PRESET_HELP = (
    "paper: the published run of the --generator x --discriminator row for --jet-type (fp32, "
    "the row's batch, epochs and procedure, 70/30 split, evaluation every 5 epochs on 50 000 "
    "jets, best by W1M, per-class maxima; mpgan/presets.py)"
)
