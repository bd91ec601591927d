"""The generators and discriminators the MPGAN task can train, by name (``--generator``,
``--discriminator``): the networks of the MPGAN paper's Table 2 (Kansal et al., NeurIPS 2021,
arXiv:2106.11535). A new network (GAPT, iGAPT, a 150-particle variant) is one module with a
class taking :class:`mpgan.model.MPGANModelOptions`, and one line here.

Each module is imported when its network is built: a run pays only for its own (GraphCNN's
PyG import costs ~2 s per process).

Generators (:class:`mpgan.generator.JetGenerator`): ``forward(z, n, labels)`` → jets [B, P, 4].
Discriminators: ``forward(x [B, P, 4], labels)`` → score [B].
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from torch import nn

if TYPE_CHECKING:
    from mpgan.generator import JetGenerator
    from mpgan.model import MPGANModelOptions

GENERATORS = {
    "mp": "mpgan.model:MPGenerator",
    "lfc": "mpgan.model:MPGenerator",
    "fc": "mpgan.fc_generator:FCGenerator",
    "graphcnn": "mpgan.graphcnn_generator:GraphCNNGenerator",
    "treegan": "mpgan.treegan_generator:TreeGANGenerator",
}
DISCRIMINATORS = {
    "mp": "mpgan.model:MPDiscriminator",
    "fc": "mpgan.fc_discriminator:FCDiscriminator",
    "pointnet-mix": "mpgan.pointnet_discriminator:PointNetMixDiscriminator",
}


def _load(path: str) -> type:
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def build_generator(cfg: MPGANModelOptions) -> JetGenerator:
    """The generator ``cfg.generator`` names, freshly initialised."""
    return _load(GENERATORS[cfg.generator])(cfg)


def build_discriminator(cfg: MPGANModelOptions) -> nn.Module:
    """The discriminator ``cfg.discriminator`` names, freshly initialised."""
    return _load(DISCRIMINATORS[cfg.discriminator])(cfg)
