"""The graph variational autoencoder: GraphSAGE + MinCut pooling down, unpooling with S up.

Shapes for a batch of B events with at most N hits (node features F = 6), K1 and K2 clusters,
hidden width H and latent size D::

    encoder  x [ΣN, F] ──SAGEConv×2 (sparse kNN graph)──▶ [ΣN, H] ──dense──▶ X0 [B, N, H], A0
             MinCutPool(K1): X1 [B, K1, H], A1, S1 [B, N, K1]
             DenseGraphConv×1 on A1 ──▶ MinCutPool(K2): X2 [B, K2, H], A2, S2 [B, K1, K2]
             μ = W_μ X2,  log σ² = W_σ X2          [B, K2, D]   (two separate heads)
             z = μ + σ ⊙ ε,  ε ~ N(0, 1)
    decoder  z ──DenseGraphConv on A2──▶ [B, K2, H] ──unpool S2──▶ [B, K1, H], S2 A2 S2ᵀ
             ──DenseGraphConv──▶ unpool S1 ──▶ [B, N, H], S1 A1' S1ᵀ ──concat S1 [B, N, K1]──▶
             DenseGraphConv ──▶ Linear ──▶ [B, N, 6] = (η/s, φ/s, log10 E, 3 channel scores)

Unpooling alone gives every hit of a cluster the same features; concatenating each hit's
assignment row S1_i (``assignment_skip``, on by default) lets it tell the hits of a cluster
apart. Note what this means: S1 and S2 are computed by the encoder from the event, so — as in
the seed GVAE, whose decoder unpools with the encoder's S — information reaches the decoder
outside the latent z, and S1 carries K1 numbers per hit. Reconstruction quality therefore
measures the whole autoencoder, not the latent bottleneck alone.

The decoder needs the event's assignments S1, S2 and pooled adjacency A2: for reconstruction
they come from the encoder. For generation (fast simulation), :meth:`GVAE.generate` takes them
from a *template* event and decodes latents drawn from the prior, so generated events have the
template's number of hits and cluster structure (how hits group into clusters) while the hit
positions, energies and channels come from the sampled latents. That is the limitation: the
hit multiplicity and clustering are not sampled; a learned decoder for S would be needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import nn
from torch_geometric.data import Batch

from events.detector import CHANNELS
from gnn.dense_graph_stack import DenseGraphStack
from gnn.graph import to_dense
from gnn.mincut import MinCutPool, unpool
from gnn.sage_stack import SAGEStack
from gvae.hits import N_FEATURES

# log σ² is soft-clamped to (−10, 10): pooled features are sums over clusters, so early in
# training the head can emit values whose exp() overflows the reparameterisation.
LOGVAR_BOUND = 10.0
# Bumped when a change alters what a checkpoint's parameters compute (a layer, an activation,
# dropout, a normalisation): the trainer refuses to resume a checkpoint of another version
# (gvae/spec.py hands it on), gvae.report refuses to read one.
MODEL_VERSION = 1


@dataclass
class GVAEModelOptions:
    """GVAE architecture."""

    hidden: int = field(default=64, metadata={"help": "hidden width of every graph layer"})
    latent: int = field(default=16, metadata={"help": "latent size per cluster"})
    clusters1: int = field(default=32, metadata={"help": "clusters after the first MinCut"})
    clusters2: int = field(default=8, metadata={"help": "clusters after the second MinCut"})
    assignment_skip: bool = field(
        default=True,
        metadata={"help": "the last decoder layer also sees each hit's assignment row S1_i"},
    )
    temperature: float = field(
        default=0.3, metadata={"help": "MinCut assignment softmax temperature (< 1 sharpens S)"}
    )


class Encoding(NamedTuple):
    """What the encoder hands to the decoder and the loss."""

    mu: torch.Tensor  # [B, K2, D]
    logvar: torch.Tensor  # [B, K2, D]
    s1: torch.Tensor  # [B, N, K1]
    s2: torch.Tensor  # [B, K1, K2]
    adj2: torch.Tensor  # [B, K2, K2]
    mask: torch.Tensor  # [B, N] real hits
    mincut_loss: torch.Tensor  # sum over both poolings
    ortho_loss: torch.Tensor  # sum over both poolings


class GVAE(nn.Module):
    """Hit graphs → latent clusters → hit graphs (see the module docstring for the shapes)."""

    def __init__(self, cfg: GVAEModelOptions | None = None) -> None:
        super().__init__()
        cfg = cfg or GVAEModelOptions()
        h = cfg.hidden
        self.cfg = cfg
        self.encode_hits = SAGEStack([N_FEATURES, h, h])
        self.pool1 = MinCutPool(h, cfg.clusters1, cfg.temperature)
        self.encode_clusters = DenseGraphStack([h, h])
        self.pool2 = MinCutPool(h, cfg.clusters2, cfg.temperature)
        self.mu = nn.Linear(h, cfg.latent)
        self.logvar = nn.Linear(h, cfg.latent)
        self.decode_latent = DenseGraphStack([cfg.latent, h])
        self.decode_clusters = DenseGraphStack([h, h])
        self.decode_hits = DenseGraphStack([h + cfg.clusters1 * cfg.assignment_skip, h])
        self.out = nn.Linear(h, 3 + len(CHANNELS))

    def encode(self, batch: Batch) -> Encoding:
        h = self.encode_hits(batch.x, batch.edge_index)
        x0, adj0, mask = to_dense(h, batch.edge_index, batch.batch, batch_size=batch.num_graphs)
        p1 = self.pool1(x0, adj0, mask)
        p2 = self.pool2(self.encode_clusters(p1.x, p1.adj), p1.adj)
        return Encoding(
            mu=self.mu(p2.x),
            logvar=LOGVAR_BOUND * torch.tanh(self.logvar(p2.x) / LOGVAR_BOUND),
            s1=p1.assignment,
            s2=p2.assignment,
            adj2=p2.adj,
            mask=mask,
            mincut_loss=p1.mincut_loss + p2.mincut_loss,
            ortho_loss=p1.ortho_loss + p2.ortho_loss,
        )

    def decode(
        self, z: torch.Tensor, adj2: torch.Tensor, s2: torch.Tensor, s1: torch.Tensor
    ) -> torch.Tensor:
        """z [B, K2, D] → node outputs [B, N, 6] through the assignments S2, S1."""
        h = self.decode_latent(z, adj2)
        h, adj1 = unpool(h, adj2, s2)
        h = self.decode_clusters(h, adj1)
        h, adj0 = unpool(h, adj1, s1)
        if self.cfg.assignment_skip:  # each hit's own assignment row tells it from its cluster
            h = torch.cat([h, s1], dim=-1)
        return self.out(self.decode_hits(h, adj0))

    def forward(self, batch: Batch) -> tuple[torch.Tensor, Encoding]:
        """Reconstruct a batch: node outputs [B, N, 6] (use ``Encoding.mask``) and the encoding."""
        enc = self.encode(batch)
        z = enc.mu
        if self.training:
            z = enc.mu + torch.randn_like(enc.mu) * torch.exp(0.5 * enc.logvar)
        return self.decode(z, enc.adj2, enc.s2, enc.s1), enc

    @torch.no_grad()
    def generate(self, template: Batch, samples: int) -> torch.Tensor:
        """Decode ``samples`` prior draws z ~ N(0, 1) on the structure of a one-event template.

        Returns [samples, N, 6] outputs for the template's N hits.
        """
        enc = self.encode(template)
        z = torch.randn(samples, *enc.mu.shape[1:], device=enc.mu.device, dtype=enc.mu.dtype)
        expand = [t.expand(samples, -1, -1) for t in (enc.adj2, enc.s2, enc.s1)]
        return self.decode(z, *expand)
