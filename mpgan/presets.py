"""The published MPGAN runs as presets: ``--preset paper`` trains as the paper's code did.

``paper`` is the configuration in the argument files of the published models
(rkansal47/MPGAN ``trained_models/mp_{g,q,t}/args.txt``, Kansal et al., NeurIPS 2021,
arXiv:2106.11535), for every class; ``--jet-type`` picks the class's RMSprop rates (g 1e-5,
q 0.5e-5, t 2e-5 for the generator, three times that for the discriminator):

- fp32 (``amp off``); a batch of 256 jets per optimizer step in total (``--global-batch-size
  256``: 256/R per rank on R ranks, R a divisor of 256);
- 3000 epochs; the first 70 % of the file trained on, the last 30 % held out (``ttsplit 0.7``);
- an evaluation every 5 epochs of 50 000 generated jets against 50 000 held-out ones
  (``save_epochs 5``, ``eval_tot_samples 50000``), ``best.pt`` by the lowest W1M;
- particle features normalised by the class's own maxima (the paper-era data code);
- the published architecture: MP generator, noise N(0, 0.2²) of size 32 per particle,
  discriminator dropout 0.5; no warm-up, decay, clipping or learning-rate scaling.

Flags and ``--config`` values override a preset's. What still differs from the published
training is listed in ``docs/mpgan_training/README.md``.
"""

from __future__ import annotations

PRESETS: dict[str, dict[str, object]] = {
    "paper": {
        # training loop
        "amp": "off",
        "global_batch_size": 256,
        "batch_size": 0,
        "epochs": 3000,
        "eval_every": "5ep",
        "scale_lr": "none",
        "warmup_steps": 0,
        "lr_decay": "constant",
        "clip_grad": 0.0,
        # data and evaluation
        "train_fraction": 0.7,
        "eval_samples": 50_000,
        "selection_metric": "w1m",
        "normalisation": "per-class",
        "lr_generator": 0.0,
        # model
        "generator": "mp",
        "latent": 32,
        "noise_std": 0.2,
        "dropout": 0.5,
        "condition": "",
    },
}
