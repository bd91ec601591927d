"""The published MPGAN runs as presets: ``--preset paper`` trains as the paper's code did.

``paper`` is the run of the published argument files (rkansal47/MPGAN
``trained_models/<row>_{g,q,t}/args.txt``, Kansal et al., NeurIPS 2021, arXiv:2106.11535) for
the chosen ``--generator`` × ``--discriminator`` (MP + MP by default) and ``--jet-type``:

- fp32 (``amp off``); the row's batch of jets per optimizer step in total (256; 50 for the FC
  discriminator's WGAN rows with the FC or TreeGAN generator and for GraphCNN + FC), split over
  the ranks (``--global-batch-size``);
- the row's epochs for the class (MP + MP: 3000; mpgan/rows.py); the first 70 % of the file
  trained on, the last 30 % held out (``ttsplit 0.7``);
- an evaluation every 5 epochs of 50 000 generated jets against 50 000 held-out ones
  (``save_epochs 5``, ``eval_tot_samples 50000``), ``best.pt`` by the lowest W1M;
- particle features normalised by the class's own maxima (the paper-era data code);
- the row's procedure (loss, optimizer, learning rates for the class, critic steps, masks,
  widths; :func:`mpgan.rows.row_defaults`), noise N(0, 0.2²), MP discriminator dropout 0.5;
  no warm-up, decay, clipping or learning-rate scaling.

Flags and ``--config`` values override a preset's. What still differs from the published
training is listed in ``docs/mpgan_training/README.md`` and ``docs/table2/README.md``.
"""

from __future__ import annotations

from mpgan.rows import row_of

JET_TYPES = ("g", "q", "t")


def paper(options: dict) -> dict[str, object]:
    """``--preset paper`` for ``options``' generator, discriminator and jet type."""
    row = row_of(options["generator"], options["discriminator"])
    return {
        # training loop
        "amp": "off",
        "batch_size": 0,
        "epochs": row.epochs[JET_TYPES.index(options["jet_type"])],
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
        "lr_discriminator": 0.0,
        # model
        "latent": 32,
        "noise_std": 0.2,
        "dropout": 0.5,
        "condition": "",
        # the row's procedure
        **row.defaults(options["jet_type"]),
    }


PRESETS = {"paper": paper}
