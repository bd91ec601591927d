"""The field's jet metrics (Kansal et al. 2021, 2023), computed by jetnet 0.2.5 itself.

Jets are physical particle clouds [N, 30, 4] = (ηrel, φrel, pTrel, mask), masked particles zero.
Every number here is jetnet's (``jetnet.evaluation``, the implementation behind the MPGAN and
"Evaluating generative models in HEP" tables), by default with jetnet's protocol
(:class:`MetricSizes`):

- W1M: W1 of the relative jet mass (massless particles), 50 000 jets drawn with replacement,
  5 batches: mean ± std over batches.
- W1P: W1 of each particle feature (η, φ, pT) over real particles, same sampling; the mean over
  the three features ± the root-sum-square of their stds over 3 (jetnet 0.2.5 returns them per
  feature).
- W1EFP: W1 of the 5 EFPs n=4, d=4, p=1 (energyflow, hadronic measure, β = 1), same sampling;
  mean over the EFPs ± root-sum-square of their stds over 5.
- FPD: Fréchet distance of the 36 EFPs with d ≤ 4, each feature divided by its maximum absolute
  value over the real sample, at 10 sizes from 20 000 to 50 000 jets (20 batches each),
  extrapolated linearly in 1/N to N → ∞ with the intercept bounded at ≥ 0: value ± fit error.
- KPD: unbiased MMD² with the kernel (x·y/36 + 1)⁴ on the same features, 10 batches of 5000:
  median ± half the 16–84% spread.
- COV/MMD: energyflow EMDs (its default R) between 100 real and 100 generated jets, 10 batches.

Smaller draws (:meth:`MetricSizes.at_most`) give quicker, noisier numbers with the same
definitions: the published trainer evaluated W1 on 10 000 jets × 5 during training; smoke runs
and tests evaluate a few dozen jets.

What jetnet lacks and this module adds: reproducibility — jetnet draws the W1 and COV/MMD
batches from an unseeded module-level generator; :func:`seeded_jetnet` replaces it for the
duration of a call. (What it also lacks, the real-vs-real baseline — the same metrics between
two samples of real jets — is computed by the callers, which keep it across evaluations.)
Every metric sees jets through :func:`physical_jets`: masked particles zeroed (a file may hold
anything in masked slots; jetnet's own loaders zero them) and pT < 0 (a tanh output of the
MPGAN generator) set to 0, as the published MPGAN trainer does before every metric.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

W1EFP_EFPS = [("n==", 4), ("d==", 4), ("p==", 1)]  # jetnet's default for W1EFP
FPD_EFPS = [("d<=", 4)]  # jetnet.evaluation.get_fpd_kpd_jet_features: the 36 EFPs with d ≤ 4


@dataclass(frozen=True)
class MetricSizes:
    """How many jets each metric draws per batch, and how many batches: jetnet 0.2.5's defaults.

    ``w1_*`` for W1M, W1P and W1EFP (drawn with replacement); ``fpd_jets`` the smallest and
    largest of FPD's ``fpd_points`` sizes; ``kpd_*`` KPD's batches; ``cov_*`` COV/MMD's.
    """

    w1_jets: int = 50_000
    w1_batches: int = 5
    fpd_jets: tuple[int, int] = (20_000, 50_000)
    fpd_batches: int = 20
    fpd_points: int = 10
    kpd_jets: int = 5_000
    kpd_batches: int = 10
    cov_jets: int = 100
    cov_batches: int = 10

    @classmethod
    def at_most(cls, jets: int) -> MetricSizes:
        """jetnet's protocol with no draw larger than ``jets`` (≥ 4); FPD's sizes then run from
        ``jets // 2`` to ``jets``; 0 = jetnet's protocol unchanged.

        Raises:
            ValueError: ``jets`` is 1 to 3 or negative.
        """
        if jets == 0:
            return JETNET_SIZES
        if jets < 4:
            raise ValueError(f"metric draws need at least 4 jets, got {jets}")
        full = JETNET_SIZES
        return cls(
            w1_jets=min(full.w1_jets, jets),
            fpd_jets=(min(full.fpd_jets[0], jets // 2), min(full.fpd_jets[1], jets)),
            kpd_jets=min(full.kpd_jets, jets),
            cov_jets=min(full.cov_jets, jets),
        )

    def __str__(self) -> str:
        """The draws in a line, e.g. for a report's caption."""
        text = (
            f"W1 {self.w1_jets} jets × {self.w1_batches}, FPD {self.fpd_jets[0]}–"
            f"{self.fpd_jets[1]} × {self.fpd_batches} at {self.fpd_points} sizes, KPD "
            f"{self.kpd_jets} × {self.kpd_batches}, COV/MMD {self.cov_jets} × {self.cov_batches}"
        )
        return text + (" (jetnet's protocol)" if self == JETNET_SIZES else "")


JETNET_SIZES = MetricSizes()  # jetnet 0.2.5's protocol


def _jetnet():
    """jetnet's metrics module, imported on first use: the import takes seconds (coffea, numba),
    which every training process would pay at start-up."""
    from jetnet.evaluation import gen_metrics

    return gen_metrics


@contextmanager
def seeded_jetnet(seed: int) -> Iterator[None]:
    """jetnet's module-level generator replaced by ``np.random.default_rng(seed)`` inside the
    block (restored after), and its "fewer than 50 000 jets" warnings silenced."""
    gen_metrics = _jetnet()
    saved = gen_metrics.rng
    gen_metrics.rng = np.random.default_rng(seed)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Recommended number", category=RuntimeWarning)
            yield
    finally:
        gen_metrics.rng = saved


def physical_jets(jets: np.ndarray) -> np.ndarray:
    """A copy of jets [N, P, 3 or 4] as the metrics must see them: with a mask (4th feature > 0
    = real), the masked particles' features zeroed; pT (feature 2) < 0 set to 0."""
    jets = np.array(jets, dtype=np.float32)
    if jets.shape[-1] > 3:
        jets[jets[..., 3] <= 0] = 0.0
    np.clip(jets[..., 2], 0.0, None, out=jets[..., 2])
    return jets


def degenerate_jets(jets: np.ndarray) -> str:
    """Why jetnet's metrics of (or against) ``jets`` [N, P, 3 or 4 (mask)] cannot mean anything,
    in one line; "" when they can.

    - at most half the jets distinct (a file of copies): COV and MMD count matches of copies,
      and a real-vs-real baseline of copies reads as mode collapse;
    - no jet with two particles: every jet mass is 0 and the EFPs are degenerate (their
      covariance singular), so W1M, W1EFP, FPD and KPD measure nothing.
    """
    jets = physical_jets(jets)
    problems = []
    distinct = len(np.unique(jets.reshape(len(jets), -1), axis=0))
    if distinct <= len(jets) // 2:
        problems.append(
            f"only {distinct} of {len(jets)} jets are distinct (COV, MMD and the real-vs-real "
            "baseline count copies)"
        )
    particles = (jets[..., 2] > 0).sum(1)
    if particles.max(initial=0) < 2:
        problems.append(
            "no jet has two particles (every jet mass is 0, the EFPs are degenerate: W1M, W1EFP, "
            "FPD and KPD measure nothing)"
        )
    return "; ".join(problems)


def relative_jet_mass(jets: np.ndarray) -> np.ndarray:
    """Relative jet mass m/pT_jet [N] of massless particles; jets [N, P, 3 or 4 (mask)]."""
    weight = jets[..., 3] if jets.shape[-1] > 3 else 1.0
    eta, phi, pt = (jets[..., i] * weight for i in range(3))
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    energy = pt * np.cosh(eta)
    m2 = energy.sum(1) ** 2 - px.sum(1) ** 2 - py.sum(1) ** 2 - pz.sum(1) ** 2
    return np.sqrt(np.maximum(m2, 0.0))


def efps(jets: np.ndarray, kind: str = "fpd") -> np.ndarray:
    """EFPs per jet as jetnet computes them: [N, 5] for ``kind="w1efp"``, [N, 36] for ``"fpd"``.
    jets: [N, P, 3 or 4]; only (η, φ, pT) are read (jetnet would take a 4th as the mass)."""
    from jetnet.utils import efps as jetnet_efps

    efpset = {"w1efp": W1EFP_EFPS, "fpd": FPD_EFPS}[kind]
    return jetnet_efps(jets[..., :3], efpset_args=efpset, efp_jobs=1)


def _mean_and_error(means: np.ndarray, stds: np.ndarray) -> tuple[float, float]:
    """Average of per-feature W1s and its error, treating the features' errors as independent."""
    return float(np.mean(means)), float(np.sqrt(np.sum(np.square(stds))) / len(stds))


def jet_metrics(
    real: np.ndarray, gen: np.ndarray, seed: int = 0, sizes: MetricSizes = JETNET_SIZES
) -> dict[str, float]:
    """jetnet's metrics of ``gen`` against ``real`` (both [N, 30, 4], physical units, seen
    through :func:`physical_jets`), drawn as ``sizes`` says (default: jetnet's protocol).

    Returns ``w1m``, ``w1p``, ``w1efp``, ``fpd``, ``kpd`` and their ``*_err``, ``cov`` and ``mmd``;
    FPD and KPD are inf when a generated jet's EFPs are not finite (a generator far from jets,
    e.g. an untrained one with unbounded outputs: jetnet's fit of NaNs returns 1).
    The same ``seed`` gives the same numbers: each W1 and COV/MMD call draws its batches from
    ``np.random.default_rng(seed)``, FPD and KPD take it as jetnet's ``seed``.
    """
    gen_metrics = _jetnet()
    real, gen = physical_jets(real), physical_jets(gen)
    real3, gen3 = real[..., :3], gen[..., :3]  # a 4th feature would be read as particle mass
    out: dict[str, float] = {}
    w1 = {"num_eval_samples": sizes.w1_jets, "num_batches": sizes.w1_batches}
    with seeded_jetnet(seed):
        out["w1m"], out["w1m_err"] = map(float, gen_metrics.w1m(real3, gen3, **w1))
    with seeded_jetnet(seed):
        w1p = gen_metrics.w1p(real3, gen3, real[..., 3] > 0, gen[..., 3] > 0, **w1)
    out["w1p"], out["w1p_err"] = _mean_and_error(*w1p)
    with seeded_jetnet(seed):
        w1efp = gen_metrics.w1efp(real3, gen3, efpset_args=W1EFP_EFPS, efp_jobs=1, **w1)
    out["w1efp"], out["w1efp_err"] = _mean_and_error(*w1efp)
    with seeded_jetnet(seed):
        cov_mmd = gen_metrics.cov_mmd(
            real3, gen3, num_eval_samples=sizes.cov_jets, num_batches=sizes.cov_batches,
            use_tqdm=False,
        )  # fmt: skip
    out["cov"], out["mmd"] = map(float, cov_mmd)
    real_efps, gen_efps = efps(real3), efps(gen3)
    if not np.isfinite(gen_efps).all():  # jetnet would fit NaNs and return its start value, 1
        out.update(fpd=math.inf, fpd_err=math.nan, kpd=math.inf, kpd_err=math.nan)
        return out
    fpd_min, fpd_max = sizes.fpd_jets
    with seeded_jetnet(seed):  # FPD and KPD seed themselves; this silences the size warnings
        fpd = gen_metrics.fpd(
            real_efps, gen_efps, min_samples=fpd_min, max_samples=fpd_max,
            num_batches=sizes.fpd_batches, num_points=sizes.fpd_points, seed=seed,
        )  # fmt: skip
        kpd = gen_metrics.kpd(
            real_efps, gen_efps, num_batches=sizes.kpd_batches, batch_size=sizes.kpd_jets,
            seed=seed,
        )  # fmt: skip
    out["fpd"], out["fpd_err"] = map(float, fpd)
    out["kpd"], out["kpd_err"] = map(float, kpd)
    return out
