"""Graph Fréchet distance (GFD; Kansal et al. 2020, arXiv:2012.00173 §4.1, eq. 3): the Fréchet
distance between Gaussians fitted to a MoNet classifier's fc1 features (:mod:`graphgan.monet`)
of real and of generated graphs,

    GFD = ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^½),

as graph-gan computes it: the real statistics from every graph of the class, the generated ones from
8 192 graphs, unbiased covariances in float64, pytorch-fid's square root
(:func:`evaluation.fpnd.gaussian_frechet_distance`: 10⁻⁶ added to both diagonals when its square
root comes back non-finite). Graclus pooling draws random colours: seeded here, so that the same
graphs give the same GFD. The floor (``real_gfd``) is the GFD between two random halves of the
class's real graphs: what a perfect generator would be told, at half the real sample size (so
somewhat higher than the floor at 8 192 against all).

The classifier is the project's, one per variant, trained by :mod:`graphgan.classifier` and
committed in ``graphgan/classifiers/`` (its test accuracy inside); a user with graph-gan's
published classifier (``C_sm_nh_100_state_dict.pt``, ``C_state_dict.pt``: PyG 1.x keys) passes
it as ``--gfd-classifier FILE`` (read through :func:`graphgan.monet.load_legacy`), with its
real statistics as ``--gfd-statistics PREFIX`` (:func:`read_statistics`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from evaluation.fpnd import gaussian_frechet_distance
from graphgan.monet import FEATURES, MoNet, load_legacy
from storage.files import read_torch_file

GENERATED = 8192  # graphs per GFD (graph-gan's fid_eval_size)
BATCH = 64


def load_classifier(path: Path) -> tuple[MoNet, dict]:
    """(MoNet in eval mode, what the file says of it) of a file written by
    :mod:`graphgan.classifier` or a published PyG 1.x state dict.

    Raises:
        FileNotFoundError: no such file (the message names the command that makes one).
        ValueError: a file that holds no MoNet.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no classifier; `python -m graphgan.classifier --dataset …` trains one"
        )
    content = read_torch_file(path, kind="classifier")
    if not isinstance(content, dict):
        raise ValueError(f"{path}: not a MoNet classifier (a {type(content).__name__})")
    state = content.get("state_dict", content)
    info = {k: v for k, v in content.items() if k != "state_dict"} if state is not content else {}
    model = MoNet()
    try:
        model.load_state_dict(load_legacy(state))
    except (RuntimeError, KeyError, AttributeError) as err:
        raise ValueError(f"{path}: not a MoNet classifier ({str(err).splitlines()[0]})") from None
    return model.eval(), info


@torch.no_grad()
def features(
    classifier: MoNet, graphs: np.ndarray | torch.Tensor, seed: int = 0, progress: bool = False
) -> np.ndarray:
    """fc1 features [M, 128] float64 of graphs [M, N, 3] (graclus seeded by ``seed``)."""
    graphs = torch.as_tensor(graphs, dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed)
    starts = range(0, len(graphs), BATCH)
    if progress:
        starts = tqdm(starts, desc="GFD", unit="batch", leave=False)
    parts = [classifier(graphs[s : s + BATCH], generator).double().numpy() for s in starts]
    return np.concatenate(parts)


def fit(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean [d], unbiased covariance [d, d]) of ``values`` [M, d], float64."""
    return values.mean(0), np.cov(values, rowvar=False)


def read_statistics(prefix: Path) -> tuple[np.ndarray, np.ndarray]:
    """(μ [128], Σ [128, 128]) of graph-gan's ``<prefix>mu2.txt`` and ``<prefix>sigma2.txt``
    (e.g. ``evaluation/3_sm_2_nh_100_``).

    Raises:
        FileNotFoundError: either file missing.
        ValueError: not a 128-vector and a 128 × 128 matrix.
    """
    files = [Path(f"{prefix}{name}2.txt") for name in ("mu", "sigma")]
    for file in files:
        if not file.is_file():
            raise FileNotFoundError(f"{file}: no such statistics file")
    mu, sigma = np.loadtxt(files[0]), np.loadtxt(files[1])
    if mu.shape != (FEATURES,) or sigma.shape != (FEATURES, FEATURES):
        raise ValueError(
            f"{prefix}: expected μ [128] and Σ [128, 128], got {mu.shape}, {sigma.shape}"
        )
    return mu, sigma


class GraphFrechetDistance:
    """GFD against one class's real graphs.

    Args:
        classifier: the MoNet whose fc1 features are compared.
        real: every real graph of the class [M, N, 3].
        seed: graclus's colours and the floor's split.
        statistics: (μ [128], Σ [128, 128]) of the real graphs to use instead of ``real``'s
            (graph-gan's published ``{class}_sm_2_nh_100_`` / ``{class}_sp_`` files, with its
            classifier: :func:`read_statistics`); the floor still comes from ``real``.

    ``gfd(generated)`` → float; ``floor`` → the real-vs-real GFD (module docstring).

    Raises:
        ValueError: fewer than 4 real graphs (no covariance of two halves).
    """

    def __init__(
        self,
        classifier: MoNet,
        real: np.ndarray,
        seed: int = 0,
        statistics: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        if len(real) < 4:
            raise ValueError(f"GFD needs at least 4 real graphs, got {len(real)}")
        self.classifier, self.seed = classifier, seed
        real_features = features(classifier, real, seed)
        self.mu, self.sigma = statistics or fit(real_features)
        order = np.random.default_rng(seed).permutation(len(real))
        first, second = order[: len(real) // 2], order[len(real) // 2 :]
        self.floor = gaussian_frechet_distance(
            *fit(real_features[first]), *fit(real_features[second])
        )

    def __call__(self, generated: np.ndarray | torch.Tensor) -> float:
        """GFD of ``generated`` graphs [M, N, 3] (8 192 in the paper's protocol)."""
        if len(generated) < 2:
            raise ValueError(f"GFD needs at least 2 generated graphs, got {len(generated)}")
        values = features(self.classifier, generated, self.seed)
        if not np.isfinite(values).all():
            return float("inf")
        return gaussian_frechet_distance(*fit(values), self.mu, self.sigma)
