"""``python -m distributed.train graphgan`` as users run it — one process, ``horovodrun -np 2``,
``torchrun`` — on a small folder of real Fashion-MNIST images (written here from Debian's
``dataset-fashion-mnist``, which ``make test`` installs): a report with pictures and GFD from the
committed classifiers, and an exact resume."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest
import torch

from graphgan.images import FASHION_MNIST, read_images

DRESS = 3  # Fashion-MNIST class 3


def write_idx(path, array, magic):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes()))


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """400 training and 100 test images of Fashion-MNIST (≈ 50 dresses), as IDX files."""
    folder = tmp_path_factory.mktemp("images")
    for split, prefix, count in (("train", "train", 400), ("test", "t10k", 100)):
        x, y = read_images(FASHION_MNIST, split)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", x[:count], 0x00000803)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", y[:count].astype("uint8"), 0x801)
    return folder


def command(images, tmp_path, extra=""):
    return (
        f"python -m distributed.train graphgan --class {DRESS} --images {images} "
        f"--graph-cache {tmp_path / 'cache'} --global-batch-size 8 --eval-graphs 64 {extra}"
    )


def test_one_process_reports_gfd_and_pictures_and_resumes_exactly(launch, images, tmp_path):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    proc = launch(command(images, tmp_path, f"--engine torch --steps 8 --out {whole}"), 600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((whole / "evaluation.json").read_text())
    assert 0 < result["real_gfd"] < result["gfd"] < float("inf")
    assert result["classifier_accuracy"] > 0.5  # the committed classifier's record
    assert result["eval_graphs"] == 64
    evaluations = pd.read_csv(whole / "evaluations.csv")
    assert evaluations["step"].tolist() == [6, 8]  # every epoch (6 steps) and at the end
    for picture in ("samples.png", "training.png", "gfd.png"):
        assert (whole / picture).stat().st_size > 5_000, picture
    for steps in (3, 8):  # stopped after 3 steps, resumed to 8
        proc = launch(command(images, tmp_path, f"--engine torch --steps {steps} --out {parts}"))
        assert proc.returncode == 0, proc.stderr[-3000:]
    a = torch.load(whole / "checkpoint.pt", weights_only=False)
    b = torch.load(parts / "checkpoint.pt", weights_only=False)
    for name in ("generator", "discriminator"):
        for key, value in a["models"][name].items():
            assert torch.equal(value, b["models"][name][key]), (name, key)


@pytest.mark.parametrize(
    "launcher, dataset",
    [
        ("horovod", "superpixels"),
        ("torchrun", "sparse"),
    ],
)
def test_two_ranks_train_both_variants(launch, images, tmp_path, launcher, dataset):
    prefix = {
        "horovod": "horovodrun -np 2 -H localhost:2 --gloo python -m",
        "torchrun": "torchrun --standalone --nproc-per-node 2 -m",
    }[launcher]
    train = command(images, tmp_path, f"--dataset {dataset} --steps 4 --out {tmp_path / 'run'}")
    train = train.replace("python -m", prefix, 1)
    proc = launch(train, 600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["world"]["size"] == 2
    assert config["model"]["layers"] == (2 if dataset == "superpixels" else 1)  # Table 1
    result = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    assert result["param_spread_between_ranks"] == 0
    assert 0 < result["real_gfd"] < result["gfd"] < float("inf")
