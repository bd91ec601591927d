"""Data realism report: jet and calorimeter distributions as PNG plus a Markdown table of quantiles.

    python -m events.report --jets data/jets/g.hdf5 data/jets/q.hdf5 data/jets/t.hdf5 \\
        --calorimeter data/calorimeter/top.h5 --out docs/data_report

Each jet file is labelled by its stem (``g``, ``q``, ``t``). Reference medians are the values the
field quotes for JetNet-like jets (``REFERENCE_MASS``); the table puts them next to ours, with
the FPND of each g/q/t sample against the real JetNet statistics (:mod:`evaluation.fpnd`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from evaluation.fpnd import FPND_JETS, fpnd
from events.detector import CHANNELS, DetectorOptions
from events.e2e import read_e2e
from events.jetnet import read_jetnet, read_num_constituents, read_provenance

# Medians quoted for JetNet-like 1 TeV jets with R = 0.8 (../shared/DESIGN.md, "Physics
# settings"): jet mass [GeV] per class, and the gluon-jet multiplicity before the 30-particle cut.
REFERENCE_MASS = {"g": 150.0, "q": 100.0, "t": 190.0}
REFERENCE_MULTIPLICITY = {"g": 90}


def quantiles(values: np.ndarray) -> str:
    """'median [16%, 84%]' of ``values``."""
    q16, q50, q84 = np.percentile(values, [16, 50, 84])
    return f"{q50:.3g} [{q16:.3g}, {q84:.3g}]"


def jet_section(
    samples: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None, dict | None]], out: Path
) -> list[str]:
    """Histogram jet mass, multiplicity and particle features per class; return Markdown lines.

    ``samples`` maps a class name to (particle_features, jet_features, num_constituents or None,
    generator settings or None).
    """
    fig, axes = plt.subplots(1, 6, figsize=(24, 3.6))
    lines = [
        "## Jets (JetNet layout)",
        "",
        "median [16%, 84%]; particle features over genuine particles among the 30; "
        "constituents = multiplicity before the 30-particle cut and R = anti-kT radius "
        "(generated files only). "
        f"FPND: Fréchet ParticleNet Distance to the real JetNet class (first {FPND_JETS} jets; "
        "the MPGAN paper's generator scores about 0.1 on gluons, plain Pythia far more). "
        "The reference medians are those quoted for anti-kT R = 0.8 jets, the cone the MPGAN "
        "paper states; the default samples use R = 0.4, the cone with which Pythia reaches "
        "FPND ≤ 1 (docs/fpnd_scan), so their masses and multiplicities lie below them.",
        "",
        "| class | jets | R | FPND | mass [GeV] | reference mass | constituents | reference "
        "constituents | particles (≤ 30) | pTrel | ηrel | φrel |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, (pf, jf, multiplicity, generator) in samples.items():
        real = pf[..., 3] > 0
        features = {
            "jet mass [GeV]": jf[:, 2],
            "constituents (before the cut)": multiplicity,
            "particles among the 30": jf[:, 3],
            "pTrel": pf[..., 2][real],
            "ηrel": pf[..., 0][real],
            "φrel": pf[..., 1][real],
        }
        for ax, (label, values) in zip(axes, features.items(), strict=True):
            if values is None:
                continue
            log_bins = label == "pTrel"
            bins = np.geomspace(1e-4, 1, 60) if log_bins else 60
            ax.hist(values, bins=bins, histtype="step", density=True, label=name)
            ax.set_xlabel(label)
            ax.set_xscale("log" if log_bins else "linear")
        ref_mass = f"≈ {REFERENCE_MASS[name]:.0f}" if name in REFERENCE_MASS else "—"
        ref_mult = f"≈ {REFERENCE_MULTIPLICITY[name]}" if name in REFERENCE_MULTIPLICITY else "—"
        constituents = "—" if multiplicity is None else quantiles(multiplicity)
        distance = f"{fpnd(pf, name):.2f}" if name in ("g", "q", "t") else "—"
        lines.append(
            f"| {name} | {len(jf)} | {(generator or {}).get('radius', '—')} | {distance} | "
            f"{quantiles(jf[:, 2])} | {ref_mass} | "
            f"{constituents} | {ref_mult} | {quantiles(jf[:, 3])} | "
            f"{quantiles(pf[..., 2][real])} | {quantiles(pf[..., 0][real])} | "
            f"{quantiles(pf[..., 1][real])} |"
        )
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out / "jets.png", dpi=110)
    plt.close(fig)
    return [*lines, "", "![jets](jets.png)", ""]


def calorimeter_section(images: np.ndarray, out: Path) -> list[str]:
    """Per-channel occupancy and summed energy; HCAL counted in towers (stored upsampled)."""
    tower_pixels = DetectorOptions().hcal_tower_cells ** 2
    scale = np.array([1, 1, tower_pixels])  # HCAL pixels repeat each tower's energy
    occupancy = (images > 0).sum(axis=(2, 3)) / scale  # [N, 3] hit cells (towers for HCAL)
    energy = images.sum(axis=(2, 3)) / scale  # [N, 3] GeV
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    mean = images.mean(0)  # [3, H, W], each channel scaled to its maximum, log over 4 decades
    mean = np.log10(mean / np.maximum(mean.max(axis=(1, 2), keepdims=True), 1e-12) + 1e-4)
    axes[0].imshow(np.clip((mean.transpose(1, 2, 0) + 4) / 4, 0, 1))
    axes[0].set_title("mean image (RGB = tracks, ECAL, HCAL; log)")
    for c, name in enumerate(CHANNELS):
        axes[1].hist(occupancy[:, c], bins=50, histtype="step", label=name)
        axes[2].hist(energy[:, c], bins=50, histtype="step", label=name)
    axes[1].set_xlabel("hit cells per event (HCAL: towers)")
    axes[2].set_xlabel("summed pT / energy per event [GeV]")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(out / "calorimeter.png", dpi=110)
    plt.close(fig)
    lines = [
        "## Calorimeter images (CMS E2E layout)",
        "",
        f"{len(images)} events; median [16%, 84%].",
        "",
        "| channel | hit cells per event | summed pT/energy per event [GeV] |",
        "|---|---|---|",
    ]
    for c, name in enumerate(CHANNELS):
        lines.append(f"| {name} | {quantiles(occupancy[:, c])} | {quantiles(energy[:, c])} |")
    return [*lines, "", "![calorimeter](calorimeter.png)", ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m events.report",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--jets", type=Path, nargs="*", default=[], help="JetNet HDF5 files")
    parser.add_argument("--calorimeter", type=Path, default=None, help="E2E parquet/HDF5 file")
    parser.add_argument("--out", type=Path, required=True, help="report directory")
    args = parser.parse_args(argv)
    try:
        if not args.jets and args.calorimeter is None:
            raise ValueError("nothing to report: give --jets and/or --calorimeter")
        samples = {
            path.stem: (*read_jetnet(path), read_num_constituents(path), read_provenance(path))
            for path in args.jets
        }
        images = read_e2e(args.calorimeter)[0] if args.calorimeter else None
    except (ValueError, FileNotFoundError) as err:
        print(f"events.report: error: {err}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    lines = ["# Data realism report", ""]
    if samples:
        lines += jet_section(samples, args.out)
    if images is not None:
        lines += calorimeter_section(images, args.out)
    (args.out / "report.md").write_text("\n".join(lines))
    print(f"report written to {args.out}/report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
