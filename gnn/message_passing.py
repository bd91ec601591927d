"""Fully connected, masked message passing (the layer of MPGAN, Kansal et al. 2021,
arXiv:2106.11535).

For a particle cloud h: [B, N, F_in] with mask m: [B, N] (1 = real particle), one layer is

    e_ij = φ_e([h_i ‖ h_j])            edge MLP, receiver i first, self-pairs included
    m_i  = Σ_j m_j · e_ij               messages from masked senders are zeroed, then summed
    h_i' = φ_n([m_i ‖ h_i])             node MLP, aggregated message first

with φ_e: Linear(2F_in→96) → … → Linear(→192), each followed by LeakyReLU(0.2), and φ_n:
Linear(192+F_in→256) → Linear(256→256) → Linear(256→F_out), LeakyReLU between, last linear;
dropout (if any) after every Linear, the node MLP's last one included, as the published code's
``LinearNet`` does (:func:`gnn.mlp.mlp`). With ``label_features`` L > 0 (a conditional GAN, as
the MPGAN code's ``clabels``) every jet's labels c: [B, L] are appended to the input of both
MLPs: φ_e([h_i ‖ h_j ‖ c]) and φ_n([m_i ‖ h_i ‖ c]); with L = 0 the layer is the one above,
parameter for parameter. With ``distance_features`` d > 0 the edge MLP also reads the distance
of the pair's first d features, r_ij = ‖h_j[:d] − h_i[:d] + 10⁻¹²‖₂: φ_e([h_i ‖ h_j ‖ r_ij])
(the 10⁻¹² keeps the self-pair's gradient finite) — all F_in of them in the older MPGAN
generator of the paper's MP + PointNet row (``Graph_GAN`` with ``pos_diffs``/``deltar``/
``all_ef``), the positions (x, y) in the 2020 graph GAN (rkansal47/graph-gan
``mnist/model.py``). Without a mask every sender counts (the paper's WGAN rows, the graph GAN).

Two implementations of the same maths, with the same parameters:

- ``"published"``: as the MPGAN code computes it — the [B, N, N, 2F_in] pair tensor, the mask
  multiplied in over [B, N, N, E], PyTorch's LeakyReLU and dropout;
- ``"fast"`` (default): the first edge layer factorised, W[h_i ‖ h_j ‖ c] + b = (W_a h_i + W_c c
  + b) + W_b h_j (+ w_d d_ij) broadcast over (i, j), so the pair tensor is never built; the
  masked sum as one batched product Σ_j m_j e_ij = [m_1 … m_N] · e_i (a row vector times the
  [N, E] slab of receiver i, no [B, N, N, E] temporary); LeakyReLU and dropout fused into one
  CPU kernel with counter-based masks (:class:`gnn.leaky_dropout.LeakyReLUDropout`).

With ``fp32_output`` the last Linear runs in float32 even under autocast: MPGAN's generator
writes particle features through it, and bfloat16 (8 mantissa bits) would quantise a soft
particle's pTrel.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from gnn.mlp import mlp

IMPLEMENTATIONS = ("fast", "published")


class FullyConnectedMessagePassing(nn.Module):
    """One MPGAN message-passing layer (see module docstring).

    Args:
        in_features, out_features: node features F_in in and F_out out.
        edge_hidden: the edge MLP's widths (default the paper's 96, 160, 192).
        node_hidden: the node MLP's hidden widths (default 256, 256); its output is F_out.
        negative_slope: LeakyReLU slope (default 0.2).
        dropout: dropout after every Linear in training (default 0; MPGAN's D: 0.5).
        implementation: ``"fast"`` (default) or ``"published"`` (see module docstring).
        fp32_output: run the last Linear in float32 under autocast (default False).
        label_features: L conditioning labels per jet (default 0: unconditional).
        distance_features: d, the pair distance of the first d features as an edge-MLP input
            (default 0: none).

    Shapes: h [B, N, F_in], mask [B, N] bool (optional), labels [B, L] → [B, N, F_out].

    Parameters are registered edge MLP first, then node MLP, so a layer's ``state_dict`` is
    ``edge_mlp.{0,2,4}.*`` then ``node_mlp.{0,2,4}.*``, whatever the implementation.

    Raises:
        ValueError: an unknown implementation or ``distance_features``; labels given to a layer
            without label features or missing from one with them.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        edge_hidden: Sequence[int] = (96, 160, 192),
        node_hidden: Sequence[int] = (256, 256),
        negative_slope: float = 0.2,
        dropout: float = 0.0,
        implementation: str = "fast",
        fp32_output: bool = False,
        label_features: int = 0,
        distance_features: int = 0,
    ) -> None:
        super().__init__()
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}"
            )
        self.in_features, self.label_features = in_features, label_features
        self.implementation = implementation
        if not 0 <= distance_features <= in_features:
            raise ValueError(f"distance_features must be in 0…{in_features}: {distance_features}")
        self.fp32_output, self.distance_features = fp32_output, distance_features
        fused = implementation == "fast"
        edge_in = 2 * in_features + int(distance_features > 0) + label_features
        self.edge_mlp = mlp([edge_in, *edge_hidden], negative_slope, True, dropout, fused)
        self.node_mlp = mlp(
            [edge_hidden[-1] + in_features + label_features, *node_hidden, out_features],
            negative_slope,
            False,
            dropout,
            fused,
        )

    def edges(self, h: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Edge MLP output for every (receiver i, sender j) pair: [B, N, N, E]."""
        n = h.size(1)
        distance = None
        if self.distance_features:  # [B, N(i), N(j), 1]
            position = h[..., : self.distance_features]
            pairs = position.unsqueeze(1) - position.unsqueeze(2)  # h_j − h_i
            distance = torch.linalg.vector_norm(pairs + 1e-12, dim=-1, keepdim=True)
        if self.implementation == "published":
            parts = [h.unsqueeze(2).expand(-1, -1, n, -1), h.unsqueeze(1).expand(-1, n, -1, -1)]
            if distance is not None:
                parts.append(distance)
            if labels is not None:
                parts.append(labels[:, None, None, :].expand(-1, n, n, -1))
            return self.edge_mlp(torch.cat(parts, dim=-1))  # [B, N(i), N(j), 2F (+1) + L]
        first = self.edge_mlp[0]
        w_receiver, w_sender, w_distance, w_labels = first.weight.split(
            [self.in_features, self.in_features, int(distance is not None), self.label_features],
            dim=1,
        )
        receiver = nn.functional.linear(h, w_receiver, first.bias)  # [B, N, H]
        if labels is not None:
            receiver = receiver + nn.functional.linear(labels, w_labels).unsqueeze(1)
        sender = nn.functional.linear(h, w_sender)  # [B, N, H]
        pre = receiver.unsqueeze(2) + sender.unsqueeze(1)
        if distance is not None:
            pre = pre + distance * w_distance.squeeze(1)
        return self.edge_mlp[1:](pre)

    def forward(
        self, h: torch.Tensor, mask: torch.Tensor | None = None, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        if (labels is None) != (self.label_features == 0):
            raise ValueError(f"this layer takes {self.label_features} label features per jet")
        e = self.edges(h, labels)  # [B, N(i), N(j), E]
        if mask is None:
            messages = e.sum(dim=2)
        elif self.implementation == "published":
            messages = (e * mask[:, None, :, None].to(e.dtype)).sum(dim=2)
        else:  # per receiver i: [1, N(j)] · [N(j), E], on contiguous slabs of e
            messages = torch.matmul(mask[:, None, None, :].to(e.dtype), e).squeeze(2)  # [B, N, E]
        parts = [messages, h.to(messages.dtype)]
        if labels is not None:
            parts.append(labels[:, None, :].expand(-1, h.size(1), -1).to(messages.dtype))
        x = torch.cat(parts, dim=-1)
        if not self.fp32_output:
            return self.node_mlp(x)
        last = max(i for i, m in enumerate(self.node_mlp) if isinstance(m, nn.Linear))
        hidden = self.node_mlp[:last](x)
        with torch.autocast(hidden.device.type, enabled=False):
            full = torch.promote_types(hidden.dtype, torch.float32)  # (float64 stays)
            return self.node_mlp[last:](hidden.to(full))  # the last Linear (and its dropout)

    def extra_repr(self) -> str:
        return (
            f"implementation={self.implementation!r}, fp32_output={self.fp32_output}, "
            f"label_features={self.label_features}, distance_features={self.distance_features}"
        )
