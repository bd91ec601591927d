"""``--preset paper``: the published runs' argument files, resolved as options, and a run under
it (per-class maxima, the 70/30 split, evaluations by epoch, flags winning)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from distributed.train import load_spec, model_parser, parse
from events.jetnet import read_jetnet
from mpgan.data import feature_maxima
from mpgan.presets import PRESETS

# rkansal47/MPGAN trained_models/mp_g/args.txt (mp_q, mp_t: the same but the rates), as
# (our option, the published value): batch_size 256, num_epochs 3000, ttsplit 0.7, save_epochs 5,
# eval_tot_samples 50000, disc_dropout 0.5, sd 0.2, latent_node_size 32, lfc False, clabels 0;
# fp32; the best model by w1m; per-class maxima (the data code of the paper's era).
ARGS_TXT = {
    "global_batch_size": 256,
    "epochs": 3000,
    "train_fraction": 0.7,
    "eval_every": "5ep",
    "eval_samples": 50_000,
    "dropout": 0.5,
    "noise_std": 0.2,
    "latent": 32,
    "generator": "mp",
    "condition": "",
    "amp": "off",
    "selection_metric": "w1m",
    "normalisation": "per-class",
}


def test_paper_preset_is_the_published_argument_files(tmp_path):
    _, args = parse(["mpgan", "--preset", "paper"])
    assert {k: getattr(args, k) for k in ARGS_TXT} == ARGS_TXT
    assert args.batch_size == 0 and args.lr_generator == 0.0  # 256 in total; the class's rates
    assert load_spec("mpgan").presets["paper"] == PRESETS["paper"]
    config = tmp_path / "run.toml"
    config.write_text("epochs = 10\n")
    _, args = parse(["mpgan", "--preset", "paper", "--config", str(config), "--amp", "bf16"])
    assert (args.epochs, args.amp, args.global_batch_size) == (10, "bf16", 256)  # file, flag
    gvae = model_parser(load_spec("gvae"))
    assert "--preset" not in gvae.format_help()  # the GVAE has no published run to preset


@pytest.mark.slow
def test_a_run_under_the_paper_preset(launch, tmp_path, gluon_file):
    """120 jets: 84 trained on (70 %), 36 held out, per-class maxima in the generator, an
    evaluation after each epoch (--eval-every 1ep here) and at the end; flags win."""
    out = tmp_path / "run"
    proc = launch(
        f"python -m distributed.train mpgan --preset paper --data {gluon_file} "
        f"--global-batch-size 8 --steps 12 --eval-every 1ep --metric-jets 36 --out {out}",
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = (out / "train.log").read_text()
    assert "--preset paper set amp=off" in log and "epochs=3000" in log
    replaced = next(line for line in log.splitlines() if "--preset paper set" in line)
    assert "replaced by flags, --config or a preset: eval_every=1ep, global_batch_size=8" in (
        replaced
    )
    assert "global batch 8 = 8 per rank × 1 rank(s); 10 optimizer steps per epoch" in log
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["train_fraction"] == 0.7 and config["training"]["amp"] == "off"
    evaluations = list(csv.DictReader((out / "evaluations.csv").open()))
    assert [int(e["step"]) for e in evaluations] == [10, 12]  # epoch 1, then the end
    assert {int(float(e["eval_samples"])) for e in evaluations} == {36}  # all held out (< 50 000)
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    maxima = state["models"]["generator"]["feature_maxima"].numpy()
    particles, _ = read_jetnet(gluon_file)
    np.testing.assert_array_equal(maxima, feature_maxima(particles, "per-class"))
    assert not np.allclose(maxima, feature_maxima(particles, "jetnet"))


def test_a_generator_discriminator_pair_takes_its_rows_procedure(tmp_path):
    """--generator × --discriminator: the Table 2 row's published procedure as defaults; flags,
    --config and presets win; --preset paper follows the row and the class."""
    _, args = parse(["mpgan", "--generator", "fc", "--discriminator", "fc"])
    assert (args.loss, args.gradient_penalty, args.critic_steps) == ("wgan-gp", 10.0, 5)
    assert (args.optimizer, args.betas, args.weight_decay) == ("adam", "0.5,0.999", 5e-4)
    assert (args.global_batch_size, args.particle_mask) == (50, False)
    assert (args.point_layers, args.head_layers) == ("64,128,256,256,512", "64,128")
    _, args = parse(
        ["mpgan", "--generator", "treegan", "--discriminator", "mp", "--critic-steps", "2"]
    )
    assert (args.betas, args.critic_steps, args.global_batch_size) == ("0.0,0.99", 2, 256)
    config = tmp_path / "row.yaml"
    config.write_text("generator: graphcnn\ndiscriminator: pointnet-mix\njet_type: t\n")
    _, args = parse(["mpgan", "--config", str(config), "--preset", "paper"])
    assert (args.optimizer, args.epochs, args.amp) == ("rmsprop", 2000, "off")
    assert (args.point_layers, args.head_layers) == ("64,128", "128")  # q and t: a small PointNet
    _, args = parse(["mpgan", "--preset", "paper", "--generator", "mp", "--discriminator", "fc",
                     "--jet-type", "q"])  # fmt: skip
    assert (args.loss, args.epochs, args.particle_mask, args.edge_distance) == (
        "ls",
        2500,
        False,
        False,
    )
    _, args = parse(["mpgan", "--generator", "mp", "--discriminator", "pointnet-mix"])
    assert (args.particle_mask, args.edge_distance, args.optimizer) == (True, True, "rmsprop")
    _, args = parse(["mpgan"])  # MP + MP: what it always was
    assert (args.loss, args.optimizer, args.critic_steps, args.global_batch_size) == (
        "ls",
        "rmsprop",
        1,
        256,
    )


def test_a_pair_that_cannot_be_built_is_one_line(gluon_file):
    from mpgan.model import MPGANModelOptions

    with pytest.raises(ValueError, match="--generator fc writes every particle slot"):
        MPGANModelOptions(generator="fc", discriminator="mp", particle_mask=True)
    with pytest.raises(ValueError, match="--discriminator fc reads no mask"):
        MPGANModelOptions(generator="mp", discriminator="fc", particle_mask=True)
    with pytest.raises(ValueError, match="--condition needs the MP generator"):
        MPGANModelOptions(generator="treegan", particle_mask=False, condition="pt")
    with pytest.raises(ValueError, match="--point-layers '64,x'"):
        MPGANModelOptions(point_layers="64,x")
