"""Conditional MPGAN: labels enter every layer of both networks and change their outputs, the
symmetries hold with labels, the unconditional model is the published one; a conditional run
trains, resumes, generates from each label source and reports per region."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

from events.jetnet import read_jetnet, read_provenance
from mpgan.generate import main as generate_main
from mpgan.model import MPDiscriminator, MPGANModelOptions, MPGenerator
from mpgan.report import main as report_main


def test_unconditional_model_is_the_published_layout():
    plain, empty = MPGenerator(MPGANModelOptions()), MPGenerator(MPGANModelOptions(condition=""))
    assert list(plain.state_dict()) == list(empty.state_dict())
    assert not any(k.startswith("labels.") for k in plain.state_dict())
    assert plain.layers[0].edge_mlp[0].weight.shape == (96, 64)
    with pytest.raises(ValueError, match="distinct jet features out of pt, eta, mass"):
        MPGANModelOptions(condition="pt,ptt")


@pytest.mark.parametrize("implementation", ["fast", "published"])
def test_labels_change_outputs_and_keep_the_symmetries(implementation):
    torch.manual_seed(0)
    cfg = MPGANModelOptions(condition="pt,mass", implementation=implementation)
    generator, discriminator = MPGenerator(cfg), MPDiscriminator(cfg).eval()
    # [h_i ‖ h_j ‖ c] into every edge MLP, [m_i ‖ h_i ‖ c] into every node MLP, G and D.
    assert generator.layers[0].edge_mlp[0].weight.shape == (96, 2 * 32 + 2)
    assert generator.layers[1].node_mlp[0].weight.shape == (256, 192 + 32 + 2)
    assert discriminator.layers[0].edge_mlp[0].weight.shape == (96, 2 * 3 + 2)
    z, n = generator.noise(4), torch.tensor([3, 10, 29, 30])
    c, other = torch.randn(4, 2), torch.randn(4, 2)
    jets = generator(z, n, c)
    assert not torch.allclose(generator(z, n, other), jets)
    score = discriminator(jets, c)
    assert not torch.allclose(discriminator(jets, other), score)
    perm = torch.randperm(30)
    assert torch.allclose(generator(z[:, perm], n, c), jets[:, perm], atol=1e-5)
    assert torch.allclose(discriminator(jets[:, perm], c), score, atol=1e-5)
    noisy = jets.clone()
    masked = noisy[..., 3] < 0
    noisy[..., :3][masked] = torch.randn(int(masked.sum()), 3)
    assert torch.allclose(discriminator(noisy, c), score, atol=1e-5)
    with pytest.raises(ValueError, match="takes 2 label features"):
        discriminator(jets)


def test_fast_and_published_agree_with_labels():
    torch.manual_seed(1)
    published = MPGenerator(MPGANModelOptions(condition="eta", implementation="published"))
    fast = MPGenerator(MPGANModelOptions(condition="eta"))
    fast.load_state_dict(published.state_dict())
    z, n, c = published.noise(6), torch.randint(1, 31, (6,)), torch.randn(6, 1)
    assert torch.allclose(fast(z, n, c), published(z, n, c), atol=1e-5)


@pytest.mark.slow
def test_conditional_run_trains_resumes_generates_and_reports(launch, tmp_path, gluon_file, capsys):
    run = tmp_path / "run"
    common = (
        f"python -m distributed.train mpgan --data {gluon_file} --eval-jets 60 --batch-size 4 "
        f"--condition pt,mass --log-every 1 --metric-jets 10 --out {run}"
    )
    proc = launch(f"{common} --steps 2 --no-evaluate", timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = launch(f"{common} --steps 4", timeout=400)  # resumed; evaluation and report
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resuming after step 2" in proc.stderr
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    _, features = read_jetnet(gluon_file)
    mean = state["models"]["generator"]["labels.mean"]
    assert torch.allclose(mean, torch.tensor(features[:60, [0, 2]].mean(0)), rtol=1e-4)
    regions = (run / "regions" / "regions.md").read_text()
    assert "terciles of pt" in regions and regions.count("\n| 1 |") == 1
    assert "(real " in regions and (run / "regions" / "regions.png").stat().st_size > 0
    assert "W1 10 jets × 5, FPD 5–10" in regions  # --metric-jets 10: the draws it caps

    # Generation from each label source, in this process (the tool's own tests launch it).
    fixed, from_file, default = (tmp_path / f"{name}.h5" for name in ("fixed", "file", "default"))
    generate = ["--checkpoint", str(run / "checkpoint.pt"), "-n", "30", "--out"]
    for options, out in (
        (["--condition", "pt=1300,mass=90"], fixed),
        (["--conditions", str(gluon_file)], from_file),
        ([], default),
    ):
        assert generate_main([*generate, str(out), *options]) == 0
    with h5py.File(fixed) as f:
        assert np.allclose(f["conditions"][:], [1300, 90]) and f["jet_features"][0, 0] == 1300
    with h5py.File(from_file) as f:
        assert np.allclose(f["conditions"][:], features[:30, [0, 2]])
    assert read_provenance(default)["labels"] == "training jets"
    assert read_provenance(fixed)["condition"] == ["pt", "mass"]
    capsys.readouterr()
    bad = generate_main([*generate, str(tmp_path / "bad.h5"), "--condition", "eta=0"])
    assert bad == 2 and "conditioned on pt, mass" in capsys.readouterr().err
    assert not (tmp_path / "bad.h5").exists()
    json.loads((run / "evaluation.json").read_text())  # the run's end evaluation was written

    # The report tool on the checkpoint (in this process), its metric draws set again.
    report = ["--checkpoint", str(run / "checkpoint.pt"), "--out", str(tmp_path / "report")]
    assert report_main([*report, "--metric-jets", "2"]) == 2
    assert "at least 4 jets" in capsys.readouterr().err and not (tmp_path / "report").exists()
    assert report_main([*report, "--metric-jets", "8", "--feature", "mass"]) == 0
    regions = (tmp_path / "report" / "regions" / "regions.md").read_text()
    assert "terciles of mass" in regions and "W1 8 jets × 5, FPD 4–8" in regions
