"""The field's jet metrics (Kansal et al. 2021, 2023), pure functions over numpy arrays.

Jets are physical particle clouds [N, 30, 4] = (ηrel, φrel, pTrel, mask). Each metric compares
a real and a generated sample; :func:`evaluate_jets` also returns the real-vs-real baseline.

- W1M: 1-Wasserstein distance (scipy) of the relative jet mass m/pT_jet (massless particles).
- W1P: W1 of each particle feature over real particles, averaged over η, φ, pT.
- W1EFP: W1 of the 5 EFPs n=4, d=4, p=1 (energyflow ``EFPSet``, hadronic measure, β = 1),
  averaged over the EFPs.
- FPD: Fréchet distance of the 36 EFPs with d ≤ 4 (each scaled by the real sample's standard
  deviation), computed at several sample sizes and extrapolated linearly in 1/N to N → ∞.
- KPD: unbiased MMD² with the cubic polynomial kernel k(x, y) = (x·y/d + 1)³ on the same
  features, median over batches.
- COV/MMD: from EMDs (energyflow, R = 0.8, pT-weighted) between 100 real and 100 generated
  jets, over 10 batches: COV = fraction of real jets that are the nearest real jet of some
  generated one; MMD = mean over real jets of the EMD to the nearest generated jet.
W1s are averaged over ``batches`` random half-samples (mean and standard deviation).
"""

from __future__ import annotations

from functools import cache

import energyflow as ef
import numpy as np
from scipy.linalg import sqrtm
from scipy.stats import wasserstein_distance


def jet_mass(jets: np.ndarray) -> np.ndarray:
    """Relative jet mass m/pT_jet [N] of massless particles (η, φ, pT) with mask."""
    eta, phi, pt = (jets[..., i] * jets[..., 3] for i in range(3))
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    energy = pt * np.cosh(eta)
    m2 = energy.sum(1) ** 2 - px.sum(1) ** 2 - py.sum(1) ** 2 - pz.sum(1) ** 2
    return np.sqrt(np.maximum(m2, 0.0))


def _ptyphim(jets: np.ndarray) -> list[np.ndarray]:
    """Per-jet (pT, η, φ, m = 0) arrays of the real particles, as energyflow expects.

    A generator can emit a negative pT (tanh output); it is clipped to 0, as the EMD is undefined
    for negative weights (energyflow raises).
    """
    out = []
    for jet in jets:
        real = jet[jet[:, 3] > 0]
        pt = np.clip(real[:, 2], 0.0, None)
        out.append(np.stack([pt, real[:, 0], real[:, 1], np.zeros(len(real))], 1))
    return out


@cache
def _efpset(kind: str) -> ef.EFPSet:
    if kind == "w1efp":
        return ef.EFPSet(
            ("n==", 4),
            ("d==", 4),
            ("p==", 1),
            measure="hadr",
            beta=1,
            normed=None,
            coords="ptyphim",
        )
    return ef.EFPSet("d<=4", measure="hadr", beta=1, normed=None, coords="ptyphim")


def efps(jets: np.ndarray, kind: str = "fpd") -> np.ndarray:
    """EFPs per jet: [N, 5] for ``kind="w1efp"``, [N, 36] (d ≤ 4) for ``"fpd"``."""
    return np.asarray(_efpset(kind).batch_compute(_ptyphim(jets), n_jobs=1))


def w1(real: np.ndarray, gen: np.ndarray, batches: int = 5, seed: int = 0) -> tuple[float, float]:
    """Mean and std over ``batches`` of W1 between random halves of two 1-d samples."""
    rng = np.random.default_rng(seed)
    size = min(len(real), len(gen)) // 2
    values = [
        wasserstein_distance(
            rng.choice(real, size, replace=False), rng.choice(gen, size, replace=False)
        )
        for _ in range(batches)
    ]
    return float(np.mean(values)), float(np.std(values))


def gaussian_frechet_distance(
    mu_x: np.ndarray, cov_x: np.ndarray, mu_y: np.ndarray, cov_y: np.ndarray
) -> float:
    """‖μx − μy‖² + Tr(Σx + Σy − 2 (Σx Σy)^½) of two Gaussians (means [d], covariances [d, d])."""
    root = sqrtm(cov_x @ cov_y)
    return float(np.sum((mu_x - mu_y) ** 2) + np.trace(cov_x + cov_y - 2 * np.real(root)))


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to two samples [N, d]."""
    return gaussian_frechet_distance(
        x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False)
    )


def fpd(real: np.ndarray, gen: np.ndarray, points: int = 5, seed: int = 0) -> float:
    """Fréchet distance extrapolated to infinite samples: FD(N) at ``points`` sizes from N/5 to
    N, fitted linearly in 1/N, intercept returned. Inputs: features [N, d]."""
    rng = np.random.default_rng(seed)
    n = min(len(real), len(gen))
    sizes = np.linspace(n // 5, n, points).astype(int)
    values = [
        frechet_distance(
            real[rng.choice(len(real), s, replace=False)],
            gen[rng.choice(len(gen), s, replace=False)],
        )
        for s in sizes
    ]
    slope, intercept = np.polyfit(1.0 / sizes, values, 1)
    return float(intercept)


def kpd(real: np.ndarray, gen: np.ndarray, batches: int = 10, seed: int = 0) -> float:
    """Median over batches of the unbiased MMD² with k(x, y) = (x·y/d + 1)³."""
    rng = np.random.default_rng(seed)
    size = min(len(real), len(gen)) // 2
    d = real.shape[1]
    values = []
    for _ in range(batches):
        x = real[rng.choice(len(real), size, replace=False)]
        y = gen[rng.choice(len(gen), size, replace=False)]
        kxx, kyy, kxy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        off = size * (size - 1)
        values.append(
            (kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off - 2 * kxy.mean()
        )
    return float(np.median(values))


def coverage_mmd(
    real: np.ndarray, gen: np.ndarray, size: int = 100, batches: int = 10, seed: int = 0
) -> tuple[float, float]:
    """COV and MMD from EMDs between ``size`` real and generated jets, averaged over batches."""
    rng = np.random.default_rng(seed)
    size = min(size, len(real), len(gen))
    covs, mmds = [], []
    for _ in range(batches):
        r = _ptyphim(real[rng.choice(len(real), size, replace=False)])
        g = _ptyphim(gen[rng.choice(len(gen), size, replace=False)])
        dists = ef.emd.emds(
            [e[:, :3] for e in g], [e[:, :3] for e in r], R=0.8, n_jobs=1, verbose=0
        )  # [gen, real]
        covs.append(len(np.unique(dists.argmin(1))) / size)
        mmds.append(float(dists.min(0).mean()))
    return float(np.mean(covs)), float(np.mean(mmds))


def evaluate_jets(real: np.ndarray, gen: np.ndarray, seed: int = 0) -> dict[str, float]:
    """All metrics of ``gen`` against ``real`` and the real-vs-real baseline (two halves of real).

    Keys: ``w1m``, ``w1p``, ``w1efp``, ``fpd``, ``kpd``, ``cov``, ``mmd`` (generated vs the first
    real half), the same with prefix ``real_`` (second real half vs first), and ``*_std``.
    """
    half = len(real) // 2
    ref, other = real[:half], real[half:]
    ref_efp5, ref_efp36 = efps(ref, "w1efp"), efps(ref, "fpd")
    scale = ref_efp36.std(0) + 1e-12
    out: dict[str, float] = {}
    for prefix, sample in (("", gen[:half]), ("real_", other)):
        real_mask, gen_mask = ref[..., 3] > 0, sample[..., 3] > 0
        out[f"{prefix}w1m"], out[f"{prefix}w1m_std"] = w1(
            jet_mass(ref), jet_mass(sample), seed=seed
        )
        w1ps = [w1(ref[..., i][real_mask], sample[..., i][gen_mask], seed=seed) for i in range(3)]
        out[f"{prefix}w1p"] = float(np.mean([m for m, _ in w1ps]))
        out[f"{prefix}w1p_std"] = float(np.mean([s for _, s in w1ps]))
        efp5 = efps(sample, "w1efp")
        w1efps = [w1(ref_efp5[:, i], efp5[:, i], seed=seed) for i in range(efp5.shape[1])]
        out[f"{prefix}w1efp"] = float(np.mean([m for m, _ in w1efps]))
        out[f"{prefix}w1efp_std"] = float(np.mean([s for _, s in w1efps]))
        efp36 = efps(sample, "fpd") / scale
        out[f"{prefix}fpd"] = fpd(ref_efp36 / scale, efp36, seed=seed)
        out[f"{prefix}kpd"] = kpd(ref_efp36 / scale, efp36, seed=seed)
        out[f"{prefix}cov"], out[f"{prefix}mmd"] = coverage_mmd(ref, sample, seed=seed)
    return out
