"""Fréchet ParticleNet Distance (FPND, Kansal et al. 2021) against the real JetNet statistics.

FPND = ‖μ_real − μ_gen‖² + Tr(Σ_real + Σ_gen − 2 (Σ_real Σ_gen)^½) of the 256 ParticleNet
activations (:class:`evaluation.particlenet.ParticleNet`), with μ_real, Σ_real the statistics of
real JetNet jets of the class. The pretrained ParticleNet and those statistics (gluon, light
quark, top; 30 particles) ship inside the installed jetnet 0.2.5 package; jetnet's own ``fpnd``
cannot run here (its ParticleNet needs torch-cluster), so this module runs the same network on
the same inputs: jets normalised as jetnet's ``JetNet.fpnd_norm`` does (each feature divided by
its JetNet maximum, pT then shifted by −0.5), masked particles zero before that. jetnet itself is
not imported (its import costs seconds in every training process); tests check the constants and
the network against it.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from scipy.linalg import sqrtm

from evaluation.jet_metrics import physical_jets
from evaluation.jetnet import normalise_features

if TYPE_CHECKING:
    from evaluation.particlenet import ParticleNet

_JETNET = Path(importlib.util.find_spec("jetnet").submodule_search_locations[0])
RESOURCES = _JETNET / "evaluation" / "fpnd_resources" / "jetnet" / "30_particles"
FPND_JETS = 50_000  # the paper's sample size; fewer bias FPND upwards


def gaussian_frechet_distance(
    mu_x: np.ndarray, cov_x: np.ndarray, mu_y: np.ndarray, cov_y: np.ndarray
) -> float:
    """‖μx − μy‖² + Tr(Σx + Σy − 2 (Σx Σy)^½) of two Gaussians (means [d], covariances [d, d]),
    as pytorch-fid (and jetnet, graph-gan) compute it: where the square root of the product
    comes back non-finite, 10⁻⁶ is added to both diagonals; the real part is taken (pytorch-fid
    raises when the diagonal's imaginary part exceeds 10⁻³; here it is dropped silently)."""
    root = sqrtm(cov_x @ cov_y)
    if not np.isfinite(root).all():
        offset = 1e-6 * np.eye(len(cov_x))
        root = sqrtm((cov_x + offset) @ (cov_y + offset))
    return float(np.sum((mu_x - mu_y) ** 2) + np.trace(cov_x + cov_y - 2 * np.real(root)))


def fpnd_inputs(jets: np.ndarray) -> torch.Tensor:
    """JetNet-unit jets [N, 30, 3 or 4 (with mask)] → ParticleNet inputs [N, 30, 3] (masked
    particles and pT < 0 zeroed first: :func:`evaluation.jet_metrics.physical_jets`)."""
    return torch.from_numpy(normalise_features(physical_jets(jets)))


@cache
def pretrained(resources: Path = RESOURCES) -> ParticleNet:
    """The shipped ParticleNet, eval mode (strict state-dict load)."""
    # Imported here: PyG's import (1.4 s) would otherwise be paid by every MPGAN training
    # process, though only the evaluating rank runs FPND.
    from evaluation.particlenet import ParticleNet

    path = resources / "pnet_state_dict.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; `make env` installs jetnet==0.2.5")
    model = ParticleNet()
    model.load_state_dict(torch.load(path, map_location="cpu"), strict=True)
    return model.eval()


@torch.no_grad()
def particlenet_activations(jets: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Activations [N, 256] of JetNet-unit jets [N, 30, 3|4]."""
    model, x = pretrained(), fpnd_inputs(jets)
    return torch.cat(
        [model.activations(x[s : s + batch_size]) for s in range(0, len(x), batch_size)]
    ).numpy()


def fpnd(jets: np.ndarray, jet_type: str, max_jets: int = FPND_JETS) -> float:
    """FPND of jets [N, 30, 3|4] (JetNet units) against the real JetNet ``jet_type`` statistics
    (the first ``max_jets`` jets, as jetnet)."""
    if jet_type not in ("g", "q", "t"):
        raise ValueError(f"FPND statistics exist for g, q and t jets, not {jet_type!r}")
    mu = np.loadtxt(RESOURCES / f"{jet_type}_mu.txt")
    sigma = np.loadtxt(RESOURCES / f"{jet_type}_sigma.txt")
    act = particlenet_activations(jets[:max_jets])
    return gaussian_frechet_distance(mu, sigma, act.mean(0), np.cov(act, rowvar=False))
