"""The 2020 graph GAN's published settings (Kansal et al. 2020, arXiv:2012.00173, Table 1 and §4):
the architecture and learning rates of each variant and class as defaults, and the paper's run
as ``--preset paper``.

Table 1 and §4 (rkansal47/graph-gan ``mnist/main.py`` with the paper's flags):

| variant | classes | T (G, D) | edge MLP | lr G / D |
|---|---|---|---|---|
| sparse | 2 3 4 5 7 | 1 | 64, 128 | 3e-5 / 1e-5 |
| sparse | 0 1 6 8 9 | 1 | 96, 160, 192 | 3e-5 / 1e-5 |
| superpixels | 0 1 3 5 6 7 8 | 2 | 64, 128 | 3e-5 / 1e-5 |
| superpixels | 2 4 9 | 2 | 64, 128 | 1e-5 / 1e-5 |

Node MLP 256, 256; hidden 32; noise N(0, 0.2²); D dropout 0.5; least squares; RMSprop. The
paper states D 1e-5 and G 3e-5; every code default of the MPGAN family has the opposite order
(D = 3 × G): the paper's text is followed.

``--preset paper`` adds graph-gan's training loop defaults, which the paper keeps: batches of
10 graphs (the paper states none), 2000 epochs, fp32, a GFD after every epoch on 8 192 generated
graphs (the best epoch by GFD is the paper's number).
"""

from __future__ import annotations

WIDE_SPARSE_CLASSES = frozenset({0, 1, 6, 8, 9})  # sparse: the edge MLP 96, 160, 192
SLOW_SUPERPIXEL_CLASSES = frozenset({2, 4, 9})  # superpixels: lr G 1e-5


def table1(options: dict) -> dict[str, object]:
    """The variant's and class's Table 1 architecture and §4 learning rates (module docstring),
    the defaults of ``python -m distributed.train graphgan``; flags, presets and files win."""
    superpixels = options["dataset"] == "superpixels"
    label = options["class_label"]
    wide = not superpixels and label in WIDE_SPARSE_CLASSES
    slow = superpixels and label in SLOW_SUPERPIXEL_CLASSES
    return {
        "layers": 2 if superpixels else 1,
        "edge_hidden": "96,160,192" if wide else "64,128",
        "lr_generator": 1e-5 if slow else 3e-5,
        "lr_discriminator": 1e-5,
    }


def paper(options: dict) -> dict[str, object]:
    """``--preset paper``: Table 1 and graph-gan's loop (module docstring)."""
    return {
        **table1(options),
        "amp": "off",
        "global_batch_size": 10,
        "batch_size": 0,
        "epochs": 2000,
        "eval_every": "1ep",
        "eval_graphs": 8192,
        "noise_std": 0.2,
        "dropout": 0.5,
        "scale_lr": "none",
        "warmup_steps": 0,
        "lr_decay": "constant",
        "clip_grad": 0.0,
    }


PRESETS = {"paper": paper}
