"""Multilayer perceptrons: the one place both models build their fully connected stacks."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from gnn.leaky_dropout import LeakyReLUDropout


def mlp(
    sizes: Sequence[int],
    negative_slope: float = 0.2,
    final_activation: bool = True,
    dropout: float = 0.0,
    fused: bool = True,
) -> nn.Sequential:
    """Linear layers ``sizes[0] → sizes[1] → … → sizes[-1]``, each followed by LeakyReLU (the
    last one only with ``final_activation``) and dropout after **every** Linear, the last one
    included: the published MPGAN's ``LinearNet`` (rkansal47/MPGAN ``mpgan/model.py``,
    arXiv:2106.11535), whose forward drops out after each layer whether or not it is activated.

    Args:
        sizes: layer widths including input and output, at least two entries.
        negative_slope: LeakyReLU slope.
        final_activation: whether the last Linear is followed by the activation too.
        dropout: dropout probability after every Linear (0 = none; training mode only).
        fused: LeakyReLU and dropout in one CPU kernel (False: PyTorch's ops), see
            :class:`gnn.leaky_dropout.LeakyReLUDropout`.

    Raises:
        ValueError: fewer than two sizes.

    Linear layers sit at the even indices, so ``state_dict`` keys are ``0.weight``, ``0.bias``,
    ``2.weight``, …; the activations and dropouts in between hold no state.
    """
    if len(sizes) < 2:
        raise ValueError(f"an MLP needs input and output sizes, got {list(sizes)}")
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2 or final_activation:
            layers.append(LeakyReLUDropout(negative_slope, dropout, fused))
        elif dropout > 0:  # a final linear layer: dropout without the activation
            layers.append(LeakyReLUDropout(None, dropout, fused))
    return nn.Sequential(*layers)
