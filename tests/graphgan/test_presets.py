"""Table 1 as the defaults of ``python -m distributed.train graphgan`` and ``--preset paper``,
resolved as the trainer resolves them."""

from __future__ import annotations

import pytest

from distributed.train import parse


@pytest.mark.parametrize(
    "argv, layers, edge, lr_g",
    [
        ([], 1, "64,128", 3e-5),  # sparse, class 3
        (["--class", "0"], 1, "96,160,192", 3e-5),
        (["--class", "7"], 1, "64,128", 3e-5),
        (["--dataset", "superpixels", "--class", "8"], 2, "64,128", 3e-5),
        (["--dataset", "superpixels", "--class", "4"], 2, "64,128", 1e-5),
    ],
)
def test_table_1_per_variant_and_class(argv, layers, edge, lr_g):
    _, args = parse(["graphgan", *argv])
    assert (args.layers, args.edge_hidden, args.lr_generator) == (layers, edge, lr_g)
    assert args.lr_discriminator == 1e-5


def test_preset_paper_and_flags_over_it():
    _, args = parse(["graphgan", "--preset", "paper", "--dataset", "superpixels", "--class", "9"])
    assert (args.global_batch_size, args.epochs, args.eval_every, args.amp) == (
        10,
        2000,
        "1ep",
        "off",
    )
    assert (args.layers, args.lr_generator) == (2, 1e-5)
    _, args = parse(["graphgan", "--preset", "paper", "--edge-hidden", "32,64", "--epochs", "3"])
    assert (args.edge_hidden, args.epochs) == ("32,64", 3)


def test_bad_options_fail_in_one_line():
    from graphgan.task import GraphGANModelOptions, GraphGANOptions

    with pytest.raises(ValueError, match="--class in 0-9"):
        GraphGANOptions(class_label=10)
    with pytest.raises(ValueError, match="--edge-hidden"):
        GraphGANModelOptions(edge_hidden="64,x")
