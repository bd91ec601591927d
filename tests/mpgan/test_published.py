"""The Table 2 networks against the published modules: every published gluon generator, imported
by ``mpgan.import_published``, gives the published forward pass (restated op for op in
``tests/mpgan/published_networks.py``) on the same noise, in eval and training mode (GraphCNN's
BatchNorm: batch statistics and the running-statistics update); the discriminators, whose
weights were not published, on random weights mapped into the published layout, the MP one in
training mode (dropout) from the same seed; parameter counts as published."""

from __future__ import annotations

import pytest
import torch

from mpgan.import_published import import_published, main
from mpgan.model import MPGANModelOptions
from mpgan.networks import build_discriminator, build_generator
from mpgan.rows import ROWS, row_of
from storage.files import read_state_dict
from tests.mpgan import published_networks as published

GENERATOR_DIRS = [row.directory for row in ROWS if row.directory != "graphcnn"] + ["graphcnn"]


def imported(directory, gluon_file, **changes):
    """The imported generator of ``directory`` and the published state dict."""
    checkpoint = import_published(directory, gluon_file)
    model = {**checkpoint["config"]["model"], **changes}
    generator = build_generator(MPGANModelOptions(**model))
    generator.load_state_dict(checkpoint["models"]["generator"])
    weights = read_state_dict(directory / "G_best_epoch.pt")
    return generator, weights, checkpoint


def published_output(name, weights, generator, z, n):
    """The published module's output for ``name``'s weights on noise z (multiplicities n)."""
    if name in ("fc", "fcmp", "fcpnet"):
        return published.rgan_generator(weights, z)
    if name.startswith("treegan"):
        return published.treegan_generator(weights, z)
    old = not any(k.startswith("mp_layers.") for k in weights)
    masked = generator.masked
    return published.mp_generator(
        weights, z, n if masked else None, old=old, distance=generator.cfg.edge_distance,
        lfc=generator.cfg.generator == "lfc",
    )  # fmt: skip


@pytest.mark.parametrize("name", [d for d in GENERATOR_DIRS if not d.startswith("graphcnn")])
def test_imported_generators_compute_the_published_forward(name, published_models, gluon_file):
    generator, weights, checkpoint = imported(published_models / f"{name}_g", gluon_file)
    assert checkpoint["imported"]["row"] == next(r.name for r in ROWS if r.directory == name)
    torch.manual_seed(0)
    z = generator.noise(16)
    n = torch.randint(1, 31, (16,))
    reference = published_output(name, weights, generator, z, n)
    for mode in (True, False):  # no BatchNorm or dropout in these: the same in both modes
        ours = generator.train(mode)(z, n)
        assert ours.shape[1] == (32 if name.startswith("treegan") else 30)
        torch.testing.assert_close(
            ours[..., : reference.shape[-1]], reference, rtol=1e-5, atol=2e-6
        )
    if not generator.masked:
        assert (ours[..., 3] == 0.5).all()  # every slot a particle


@pytest.mark.parametrize("implementation", ["published", "fast"])
@pytest.mark.parametrize("name", ["graphcnnmp", "graphcnnpnet"])
def test_graphcnn_in_eval_and_training_mode(name, implementation, published_models, gluon_file):
    """BatchNorm: running statistics in eval mode; batch statistics in training mode, and the
    running statistics updated as the published module updates them."""
    generator, weights, _ = imported(
        published_models / f"{name}_g", gluon_file, implementation=implementation
    )
    torch.manual_seed(1)
    z = generator.noise(8)
    reference, _ = published.graphcnn_generator(weights, z, training=False)
    torch.testing.assert_close(generator.eval()(z, None)[..., :3], reference, rtol=1e-4, atol=1e-5)
    reference, stats = published.graphcnn_generator(weights, z, training=True)
    ours = generator.train()(z, None)[..., :3]
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-5)
    for norm, (mean, var) in zip(generator.norms, stats, strict=True):
        torch.testing.assert_close(norm.running_mean, mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(norm.running_var, var, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(generator.eval()(z, None)[..., :3], ours, atol=1e-3)  # modes differ


def test_graphcnn_published_directory_is_graphcnn_mp(published_models, gluon_file):
    """The published graphcnn_g is GraphCNN + MP's generator (the reference's §6.1), said."""
    a = import_published(published_models / "graphcnn_g", gluon_file)
    b = import_published(published_models / "graphcnnmp_g", gluon_file)
    for key, value in a["models"]["generator"].items():
        assert torch.equal(value, b["models"]["generator"][key])
    assert any("GraphCNN + FC generator was never published" in n for n in a["imported"]["notes"])


def mapped(module, renames):
    """``module``'s state dict in the published names: key prefixes renamed, Linear → Conv1d."""
    out = {}
    for key, value in module.state_dict().items():
        for ours, theirs in renames:
            if key.startswith(ours):
                key = theirs + key[len(ours) :]
                if theirs == "sfc." and key.endswith("weight"):
                    value = value.unsqueeze(-1)  # Conv1d(kernel 1)
                break
        out[key] = value
    return out


def jets(count, seed, slots=30):
    generator = torch.Generator().manual_seed(seed)
    n = torch.randint(1, slots + 1, (count,), generator=generator)
    mask = torch.arange(slots) < n[:, None]
    features = torch.rand(count, slots, 3, generator=generator) - 0.5
    return torch.cat([features, mask[..., None].float() - 0.5], -1)


@pytest.mark.parametrize("row", ["fc", "treeganfc"])
def test_fc_discriminator_is_rgand(row):
    defaults = next(r for r in ROWS if r.directory == row).defaults("g")
    cfg = MPGANModelOptions(
        generator="fc", discriminator="fc", particle_mask=False,
        point_layers=defaults["point_layers"], head_layers=defaults["head_layers"],
    )  # fmt: skip
    torch.manual_seed(2)
    d = build_discriminator(cfg)
    x = jets(8, seed=3, slots=32 if row.startswith("tree") else 30)
    weights = mapped(d, [("point_net.", "sfc."), ("head.", "fc.")])
    expected = published.rgan_discriminator(weights, x[..., :3]).squeeze(-1)
    torch.testing.assert_close(d(x), expected, rtol=1e-5, atol=1e-6)
    assert sum(p.numel() for p in d.parameters()) == (280_257 if row == "fc" else 247_169)


@pytest.mark.parametrize("masked", [False, True])
def test_pointnet_mix_discriminator(masked):
    generator = "mp" if masked else "fc"
    cfg = MPGANModelOptions(generator=generator, discriminator="pointnet-mix", particle_mask=masked)
    torch.manual_seed(4)
    d = build_discriminator(cfg)
    x = jets(8, seed=5)
    weights = mapped(d, [("point_net.", "pointfc."), ("head.", "fc.")])
    expected = published.pointnet_mix_discriminator(weights, x, mask=masked).squeeze(-1)
    torch.testing.assert_close(d(x), expected, rtol=1e-5, atol=1e-6)
    assert sum(p.numel() for p in d.parameters()) == 1_190_273
    small = MPGANModelOptions(
        generator="fc", discriminator="pointnet-mix", particle_mask=False, point_layers="64,128",
        head_layers="128",
    )  # fmt: skip
    assert sum(p.numel() for p in build_discriminator(small).parameters()) == 41_601


def test_unmasked_mp_discriminator_in_training_mode_is_graph_gans():
    """FC + MP's discriminator (``Graph_GAN``, dea, no mask, no sigmoid, dropout 0.5 after every
    Linear and on the output) from the same weights and seed, bit for bit."""
    cfg = MPGANModelOptions(
        generator="fc", discriminator="mp", particle_mask=False, loss="wgan-gp",
        implementation="published",
    )  # fmt: skip
    torch.manual_seed(6)
    d = build_discriminator(cfg).train()
    weights = {}
    for key, value in d.state_dict().items():
        parts = key.split(".")
        if parts[0] == "out":
            weights[f"fnd.0.{parts[1]}"] = value
        else:
            kind = "fe" if parts[2] == "edge_mlp" else "fn"
            weights[f"{kind}.{parts[1]}.{int(parts[3]) // 2}.{parts[4]}"] = value
    x = jets(6, seed=7)
    torch.manual_seed(8)
    ours = d(x)
    torch.manual_seed(8)
    assert torch.equal(ours, published.mp_discriminator(weights, x, 0.5).squeeze(-1))
    assert sum(p.numel() for p in d.parameters()) == 355_617
    assert not torch.equal(ours, d(x))  # dropout really on


def test_parameter_counts_of_the_published_generators():
    counts = {
        "fc": 28_186,
        "graphcnn": 151_905,
        "treegan": 757_158 - 6,
        "mp": 361_123,
        "lfc": 484_963,
    }
    for name, count in counts.items():
        mp = name in ("mp", "lfc")
        cfg = MPGANModelOptions(generator=name, particle_mask=mp, discriminator="mp")
        assert sum(p.numel() for p in build_generator(cfg).parameters()) == count
    mppnet = MPGANModelOptions(generator="mp", edge_distance=True, discriminator="pointnet-mix")
    # Graph_GAN's 368 768 less the 29 unused rows of its last layer's 32 outputs (257 each)
    assert sum(p.numel() for p in build_generator(mppnet).parameters()) == 368_768 - 29 * 257


def test_rows_cover_table_2():
    assert len(ROWS) == 13 and len({(r.generator, r.discriminator) for r in ROWS}) == 13
    assert row_of("lfc", "fc").directory == "mpfc"  # the gluon MP + FC run was MP-LFC


def test_import_refuses_what_is_not_a_published_directory(tmp_path, published_models, capsys):
    assert main([str(tmp_path), "--out", str(tmp_path / "x.pt")]) == 2
    assert "no such file" in capsys.readouterr().err
    odd = tmp_path / "nonsense_g"
    odd.mkdir()
    (odd / "args.txt").write_text((published_models / "fc_g" / "args.txt").read_text())
    assert main([str(odd), "--out", str(tmp_path / "x.pt")]) == 2
    assert "expected <row>_<g|q|t>" in capsys.readouterr().err
    damaged = tmp_path / "fc_g"
    damaged.mkdir()
    (damaged / "args.txt").write_text((published_models / "fc_g" / "args.txt").read_text())
    (damaged / "G_best_epoch.pt").write_bytes(b"not a state dict")
    assert main([str(damaged), "--out", str(tmp_path / "x.pt")]) == 2
    assert "G_best_epoch.pt: not a readable checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()


def test_imported_checkpoint_generates_and_reports(tmp_path, published_models, gluon_file):
    """``mpgan.generate`` reads an imported checkpoint: JetNet layout, per-class maxima."""
    from events.jetnet import read_jetnet
    from mpgan.generate import main as generate

    checkpoint = tmp_path / "treeganpnet_g.pt"
    assert main([str(published_models / "treeganpnet_g"), "--out", str(checkpoint), "--data",
                 str(gluon_file)]) == 0  # fmt: skip
    out = tmp_path / "jets.h5"
    assert generate(["--checkpoint", str(checkpoint), "-n", "64", "--out", str(out)]) == 0
    particles, features = read_jetnet(out)
    assert particles.shape == (64, 32, 4) and (particles[..., 3] == 1).all()
    assert (particles[..., 2] >= 0).all() and (features[:, 3] == 32).all()
    state = torch.load(checkpoint, weights_only=False)
    assert state["models"]["generator"]["feature_maxima"].tolist() == pytest.approx(
        [1.4532885551452637, 0.520724892616272, 0.8537549376487732]
    )
    assert state["imported"]["row"] == "TreeGAN + PointNet"
