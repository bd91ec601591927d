"""Fully connected, masked message passing (the layer of MPGAN, Kansal et al. 2021).

For a particle cloud h: [B, N, F_in] with mask m: [B, N] (1 = real particle), one layer is

    e_ij = φ_e([h_i ‖ h_j])            edge MLP, receiver i first, self-pairs included
    m_i  = Σ_j m_j · e_ij               messages from masked senders are zeroed, then summed
    h_i' = φ_n([m_i ‖ h_i])             node MLP, aggregated message first

with φ_e: Linear(2F_in→96) → … → Linear(→192), each followed by LeakyReLU(0.2), and φ_n:
Linear(192+F_in→256) → Linear(256→256) → Linear(256→F_out), LeakyReLU between, last linear.

``pairwise="factorised"`` computes the first edge layer without building the [B, N, N, 2F_in]
pair tensor: W[h_i ‖ h_j] + b = (W_a h_i + b) + W_b h_j with W = [W_a | W_b], broadcast over
(i, j). Same parameters, same result up to float rounding; only speed and memory differ.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from gnn.mlp import mlp


class FullyConnectedMessagePassing(nn.Module):
    """One MPGAN message-passing layer: h [B, N, F_in], mask [B, N] → [B, N, F_out].

    Parameters are registered edge MLP first, then node MLP, so a layer's ``state_dict`` is
    ``edge_mlp.{0,2,4}.*`` then ``node_mlp.{0,2,4}.*`` (dropout layers shift the indices).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        edge_hidden: Sequence[int] = (96, 160, 192),
        node_hidden: Sequence[int] = (256, 256),
        negative_slope: float = 0.2,
        dropout: float = 0.0,
        pairwise: str = "concat",
    ) -> None:
        super().__init__()
        if pairwise not in ("concat", "factorised"):
            raise ValueError(f"pairwise must be 'concat' or 'factorised', got {pairwise!r}")
        self.in_features = in_features
        self.pairwise = pairwise
        self.edge_mlp = mlp([2 * in_features, *edge_hidden], negative_slope, True, dropout)
        self.node_mlp = mlp(
            [edge_hidden[-1] + in_features, *node_hidden, out_features],
            negative_slope,
            False,
            dropout,
        )

    def edges(self, h: torch.Tensor) -> torch.Tensor:
        """Edge MLP output for every (receiver i, sender j) pair: [B, N, N, E]."""
        n = h.size(1)
        if self.pairwise == "concat":
            pairs = torch.cat(
                [h.unsqueeze(2).expand(-1, -1, n, -1), h.unsqueeze(1).expand(-1, n, -1, -1)],
                dim=-1,
            )  # [B, N(i), N(j), 2F]
            return self.edge_mlp(pairs)
        first = self.edge_mlp[0]
        w_receiver, w_sender = first.weight.split(self.in_features, dim=1)
        receiver = nn.functional.linear(h, w_receiver, first.bias)  # [B, N, H]
        sender = nn.functional.linear(h, w_sender)  # [B, N, H]
        return self.edge_mlp[1:](receiver.unsqueeze(2) + sender.unsqueeze(1))

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        e = self.edges(h)  # [B, N, N, E]
        if mask is not None:
            e = e * mask[:, None, :, None].to(e.dtype)  # zero messages from masked senders j
        messages = e.sum(dim=2)  # [B, N, E]
        return self.node_mlp(torch.cat([messages, h], dim=-1))
