"""Import a published MPGAN-paper generator as a checkpoint of this project.

    python -m mpgan.import_published trained_models/fcpnet_g --out fcpnet_g.pt
    python -m mpgan.generate --checkpoint fcpnet_g.pt -n 50000 --out fcpnet_g.h5
    python -m mpgan.report --checkpoint fcpnet_g.pt --out report/

DIR is a ``trained_models/<row>_<class>`` directory of rkansal47/MPGAN (Kansal et al., NeurIPS
2021, arXiv:2106.11535; MIT licence): ``G_best_epoch.pt`` (the generator's state dict) and
``args.txt`` (its arguments, a Python dict literal). The row comes from the directory name (its
Table 2 procedure, :mod:`mpgan.rows`) and the architecture from the arguments; the weights are
mapped onto this project's networks, which compute the published modules' forward passes
(``tests/mpgan/test_published.py``). Each published quirk is handled and said in one line:

- per-class maxima: the published weights produce jets normalised by the class's own maxima over
  the JetNet file (``gen.py``'s ``feature_maxes``), kept in the generator;
- GraphCNN (PyG 1.x): ``root`` [in, out] becomes ``NNConv.lin.weight`` [out, in]; the duplicated
  edge networks (``edge_weights.*`` = ``layers.*.nn``) are checked equal and read once;
- the old MP layout (``Graph_GAN``: ``fe.i.j``, ``fn.i.j``, the last layer's 32 outputs of which
  the forward keeps the first 3) becomes ``MPGenerator``'s, the last layer's rows [:3];
- ``mplfc``: its ``args.txt`` names ``old_mpgan`` but the weights are ``MPGenerator``'s (the
  published ``gen.py`` fails on it); the layout is read from the weights;
- TreeGAN: the bias its last layer allocates but never adds is dropped;
- ``graphcnn_<class>`` holds GraphCNN + MP's generator (byte-identical to ``graphcnnmp_<class>``):
  the GraphCNN + FC weights were never published.

The checkpoint holds the generator only (no discriminator was published) with the options of the
row's procedure and the last 30 % of ``--data`` held out, as the published runs, so that
``mpgan.generate`` and ``mpgan.report`` read it; ``--data`` is the JetNet file they take held-out
jets from and, for the masked generators (MP + MP, MP-LFC + MP, MP + PointNet), multiplicities
(the published ``gen.py`` drew them from JetNet's test split).
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
import re
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from mpgan.model import MPGANModelOptions
from mpgan.networks import build_generator
from mpgan.rows import BY_DIRECTORY, Row
from mpgan.task import DEFAULT_DATA, MPGANOptions
from storage.files import atomic_write, read_state_dict

log = logging.getLogger("mpgan.import_published")

# gen.py's feature_maxes: the per-class maxima of (η, φ, pT) over the JetNet 30-particle files,
# the units the published generators write (rkansal47/MPGAN gen.py:10-14).
PUBLISHED_MAXIMA = {
    "g": (1.4532885551452637, 0.520724892616272, 0.8537549376487732),
    "q": (1.6211985349655151, 0.4568111002445221, 0.8896132111549377),
    "t": (1.4242753982543945, 0.4949831962585449, 0.8774275183677673),
}
MODELS = {"rgan": "fc", "graphcnngan": "graphcnn", "treegan": "treegan"}


def read_args(directory: Path) -> dict:
    """The run's ``args.txt`` as a dict. Raises ValueError/FileNotFoundError naming the file."""
    path = directory / "args.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (a trained_models/<row>_<class> directory?)")
    try:
        args = ast.literal_eval(path.read_text())
    except (ValueError, SyntaxError) as err:
        raise ValueError(f"{path}: not a Python dict literal ({err})") from None
    if not isinstance(args, dict) or "jets" not in args:
        raise ValueError(f"{path}: not a published MPGAN argument file")
    return args


def row_and_class(directory: Path, args: dict) -> tuple[Row, str]:
    """The Table 2 row and jet class of ``trained_models/<row>_<class>``."""
    match = re.fullmatch(r"([a-z]+)_([gqt])", directory.resolve().name)
    if not match or match.group(1) not in BY_DIRECTORY:
        rows = ", ".join(BY_DIRECTORY)
        raise ValueError(f"{directory}: expected <row>_<g|q|t>, the row one of {rows}")
    if args["jets"] != match.group(2):
        raise ValueError(f"{directory}: args.txt is for {args['jets']!r} jets")
    return BY_DIRECTORY[match.group(1)], match.group(2)


def model_options(row: Row, jet_type: str, args: dict, weights: dict) -> tuple[dict, list[str]]:
    """The project's model options for a published generator, and the notes on its quirks."""
    notes = []
    new_mp = any(k.startswith("mp_layers.") for k in weights)
    if new_mp or args["model"] in ("mpgan", "old_mpgan"):
        generator = "lfc" if args["lfc"] else "mp"
        if new_mp and args["model"] == "old_mpgan":
            notes.append(
                "args.txt names model 'old_mpgan' but the weights are MPGenerator's (mp_layers.*): "
                "built from the weights (the published gen.py fails on this directory)"
            )
    else:
        generator = MODELS[args["model"]]
    _, model = row.task_options(jet_type)
    model["generator"] = generator
    mp = generator in ("mp", "lfc")
    model["particle_mask"] = mp and bool(args.get("mask_c"))
    model["edge_distance"] = (
        mp
        and not new_mp
        and bool(args.get("pos_diffs") and args.get("deltar") and args.get("all_ef"))
    )
    if row.directory == "graphcnn":
        notes.append(
            "graphcnn: these are GraphCNN + MP's weights (byte-identical to graphcnnmp); the "
            "GraphCNN + FC generator was never published, and Table 2's row shows this one"
        )
    return model, notes


def convert(weights: dict, model: dict, notes: list[str]) -> dict[str, torch.Tensor]:
    """The published state dict in this project's layout (see module docstring)."""
    out: dict[str, torch.Tensor] = {}
    generator = model["generator"]
    if generator == "fc":
        return {k.replace("model.", "net.", 1): v for k, v in weights.items()}
    if generator == "treegan":
        for key, value in weights.items():
            layer, name = re.fullmatch(r"gcn\.TreeGCN_(\d)\.(.+)", key).groups()
            if layer == "4" and name == "bias":
                continue
            name = name.replace("W_root", "root").replace("W_branch", "branch")
            out[f"layers.{layer}.{name.replace('W_loop', 'loop')}"] = value
        notes.append("TreeGAN: the bias the published last layer never adds is dropped")
        return out
    if generator == "graphcnn":
        for key, value in weights.items():
            if key.startswith("edge_weights."):
                i, name = key.split(".")[1], key.split(".", 2)[2]
                if not torch.equal(value, weights[f"layers.{i}.nn.{name}"]):
                    raise ValueError(f"{key} differs from layers.{i}.nn.{name}")
                continue
            if key.startswith("layers."):
                _, i, name = key.split(".", 2)
                if name == "root":
                    out[f"convs.{i}.conv.lin.weight"] = value.t().contiguous()
                else:
                    out[f"convs.{i}.conv.{name}"] = value
            elif key.startswith("bn_layers."):
                out[key.replace("bn_layers.", "norms.").replace(".module.", ".")] = value
            else:
                out[key] = value
        notes.append(
            "GraphCNN: PyG 1.x NNConv root [in, out] read as lin.weight [out, in]; the duplicated "
            "edge networks (edge_weights = layers.*.nn) checked equal and read once"
        )
        return out
    if any(k.startswith("mp_layers.") for k in weights):  # MPGenerator (mpgan/model.py)
        for key, value in weights.items():
            if key.startswith("lfc_layer."):
                out[key.replace("lfc_layer.", "lfc.")] = value
                continue
            i, net, j, name = re.fullmatch(
                r"mp_layers\.(\d)\.(fe|fn)\.net\.(\d)\.(.+)", key
            ).groups()
            mlp = "edge_mlp" if net == "fe" else "node_mlp"
            out[f"layers.{i}.{mlp}.{2 * int(j)}.{name}"] = value
        return out
    # the old Graph_GAN layout: fe.<iteration>.<layer>, fn.<iteration>.<layer>, lfc
    last = max(int(k.split(".")[1]) for k in weights if k.startswith("fn."))
    final = max(int(k.split(".")[2]) for k in weights if k.startswith(f"fn.{last}."))
    for key, value in weights.items():
        if key.startswith("lfc."):
            out[key] = value
            continue
        net, i, j, name = key.split(".")
        if (net, int(i), int(j)) == ("fn", last, final):
            value = value[:3]  # the forward keeps tanh of the first 3 of 32 outputs
        mlp = "edge_mlp" if net == "fe" else "node_mlp"
        out[f"layers.{i}.{mlp}.{2 * int(j)}.{name}"] = value
    notes.append(
        "old MP layout (Graph_GAN): fe/fn mapped onto MPGenerator's layers, the last node "
        "network's rows [:3] kept (the published forward's tanh(x[..., :3]))"
    )
    return out


def import_published(directory: Path, data: Path = DEFAULT_DATA) -> dict:
    """The checkpoint (a dict for ``torch.save``) of the published generator in ``directory``.

    Raises:
        FileNotFoundError: no ``args.txt`` or ``G_best_epoch.pt``.
        ValueError: not a ``<row>_<class>`` directory, damaged files, or weights that do not fit.
    """
    directory = Path(directory)
    args = read_args(directory)
    row, jet_type = row_and_class(directory, args)
    weights = read_state_dict(directory / "G_best_epoch.pt")
    model, notes = model_options(row, jet_type, args, weights)
    cfg = MPGANModelOptions(**model)
    generator = build_generator(cfg)
    state = convert(weights, model, notes)
    maxima = np.array(PUBLISHED_MAXIMA[jet_type], dtype=np.float32)
    state["feature_maxima"] = torch.from_numpy(maxima)
    notes.insert(0, f"per-class maxima of the published {jet_type} generators: {maxima.tolist()}")
    try:
        generator.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"{directory}: the weights do not fit {model} ({err})") from None
    procedure, _ = row.task_options(jet_type)
    options = MPGANOptions(
        data=Path(data), train_fraction=0.7, normalisation="per-class", **procedure
    )  # the held-out 30 % of the file, as the published runs
    data_record = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()}
    return {
        "models": {"generator": generator.state_dict()},
        "config": {"task": "mpgan", "data": data_record, "model": asdict(cfg)},
        "imported": {
            "directory": str(directory),
            "row": row.name,
            "run": args.get("name"),
            "jet_type": jet_type,
            "notes": notes,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mpgan.import_published",
        description=__doc__.split("\n\n")[0],
        epilog="Then: python -m mpgan.generate --checkpoint OUT -n 50000 --out jets.h5",
    )
    parser.add_argument("directory", type=Path, help="trained_models/<row>_<class> directory")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint to write (.pt)")
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="JetNet file for generation and reports: held-out jets, and multiplicities for "
        "masked generators (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        checkpoint = import_published(args.directory, args.data)
    except (ValueError, FileNotFoundError) as err:
        print(f"mpgan.import_published: error: {err}", file=sys.stderr)
        return 2
    for note in checkpoint["imported"]["notes"]:
        log.info("%s", note)
    atomic_write(args.out, lambda f: torch.save(checkpoint, f))
    model = checkpoint["config"]["model"]
    print(
        f"{checkpoint['imported']['row']} ({checkpoint['imported']['jet_type']}): "
        f"--generator {model['generator']} --discriminator {model['discriminator']} -> {args.out}"
    )
    print(json.dumps({k: model[k] for k in ("loss", "particle_mask", "edge_distance")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
