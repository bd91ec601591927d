"""The MPGAN paper's Table 2 (Kansal et al., NeurIPS 2021, arXiv:2106.11535): every generator ×
discriminator row, the procedure its published run trained with, and its published numbers.

Sources (rkansal47/MPGAN; ``../shared/references/mpgan_table2.md`` cites every line):
``setup_training.py`` (the settings each model forces), ``trained_models/<dir>/args.txt`` (the
runs' arguments), ``train.py`` (the loop), ``final_evaluation.py`` and the author's
dissertation tables (the numbers).

Every row trains with its own procedure:

| row (G + D) | dir | loss | GP λ | optimizer | critic steps | batch | epochs g/q/t |
|---|---|---|---|---|---|---|---|
| FC + FC | fc | WGAN-GP | 10 | Adam 1e-4 (0.5, 0.999) | 5 | 50 | 2000 |
| GraphCNN + FC | graphcnn | WGAN-GP | 10 | RMSprop 1e-4 | 5 | 50 | 1000 |
| TreeGAN + FC | treeganfc | WGAN-GP | 10 | Adam 1e-4 (0, 0.99) | 5 | 50 | 1000 |
| FC + PointNet | fcpnet | WGAN-GP | 10 | Adam 1e-4 (0.5, 0.999) | 5 | 256 | 2000 |
| GraphCNN + PointNet | graphcnnpnet | WGAN-GP | 10 | RMSprop 1e-4 | 5 | 256 | 2000 |
| TreeGAN + PointNet | treeganpnet | WGAN-GP | 10 | Adam 1e-4 (0, 0.99) | 5 | 256 | 2000 |
| MP + MP, MP-LFC + MP | mp, mplfc | LS | – | RMSprop G 1e-5/5e-6/2e-5, D 3× | 1 | 256 | 3000 |
| FC + MP | fcmp | WGAN-GP | 10 | Adam 1e-4 (0.5, 0.999) | 5 | 256 | 2000/2500/2000 |
| GraphCNN + MP | graphcnnmp | WGAN-GP | 10 | RMSprop 1e-4 | 5 | 256 | 2000/2500/2000 |
| TreeGAN + MP | treeganmp | WGAN-GP | 10 | Adam 1e-4 (0, 0.99) | 5 | 256 | 2000 |
| MP + FC | mpfc | LS | – | as MP + MP | 1 | 256 | 2000/2500/2000 |
| MP + PointNet | mppnet | LS | – | as MP + MP | 1 | 256 | 2000/2500/2000 |

Adam has coupled L2 weight decay 5·10⁻⁴ on both networks (``torch.optim.Adam(weight_decay=
5e-4)``, not AdamW); RMSprop PyTorch's defaults. Only MP + MP, MP-LFC + MP and MP + PointNet
have masked jets; MP + PointNet's generator also reads pair distances. The FC discriminator of
FC + FC is wider (point 64,128,256,256,512, head 64,128); GraphCNN + PointNet on q and t jets
used a small PointNet (64,128 / 128). GraphCNN + FC's weights were never published (the
directory holds GraphCNN + MP's generator; the final table printed that generator twice): its
procedure is the code's defaults for GraphCNN with the FC discriminator.
"""

from __future__ import annotations

from dataclasses import dataclass

LR_GENERATOR_LS = {"g": 1e-5, "q": 0.5e-5, "t": 2e-5}  # least-squares rows; D: three times
LR_WGAN = 1e-4  # both networks, every class
METRICS = ("w1m", "w1p", "w1efp", "fpnd", "cov", "mmd")  # Table 2's columns
SCALES = {"w1m": 1e3, "w1p": 1e3, "w1efp": 1e5}  # as the table prints them: W1M ×10³, …
MODEL_OPTIONS = ("loss", "particle_mask", "edge_distance", "point_layers", "head_layers")


@dataclass(frozen=True)
class Row:
    """One Table 2 row: its name, published directory, procedure, and printed numbers."""

    generator: str  # --generator
    discriminator: str  # --discriminator
    name: str  # as Table 2 prints it
    directory: str  # trained_models/<directory>_<class>
    loss: str
    optimizer: str
    betas: str = "0.9,0.999"
    critic_steps: int = 1
    batch: int = 256
    epochs: tuple[int, int, int] = (3000, 3000, 3000)  # g, q, t
    particle_mask: bool = False
    edge_distance: bool = False
    point_layers: str = ""
    head_layers: str = ""

    def defaults(self, jet_type: str) -> dict[str, object]:
        """The row's procedure as option values (``DEPENDENT_DEFAULTS``)."""
        small_pointnet = self.directory == "graphcnnpnet" and jet_type in ("q", "t")
        return {
            "loss": self.loss,
            "gradient_penalty": 10.0 if self.loss == "wgan-gp" else 0.0,
            "optimizer": self.optimizer,
            "betas": self.betas,
            "weight_decay": 5e-4 if self.optimizer == "adam" else 0.0,
            "critic_steps": self.critic_steps,
            "global_batch_size": self.batch,
            "particle_mask": self.particle_mask,
            "edge_distance": self.edge_distance,
            "point_layers": "64,128" if small_pointnet else self.point_layers,
            "head_layers": "128" if small_pointnet else self.head_layers,
        }

    def task_options(self, jet_type: str) -> tuple[dict[str, object], dict[str, object]]:
        """The row's procedure as (``MPGANOptions``, ``MPGANModelOptions``) keyword arguments
        (generator and discriminator included; the batch is the loop's:
        ``defaults(jet_type)["global_batch_size"]``)."""
        data = self.defaults(jet_type)
        del data["global_batch_size"]
        model = {k: data.pop(k) for k in MODEL_OPTIONS}
        model.update(generator=self.generator, discriminator=self.discriminator)
        return {"jet_type": jet_type, **data}, model

    def learning_rates(self, jet_type: str) -> tuple[float, float]:
        """(generator, discriminator) learning rates of the row for ``jet_type``."""
        if self.loss == "wgan-gp":
            return LR_WGAN, LR_WGAN
        return LR_GENERATOR_LS[jet_type], 3 * LR_GENERATOR_LS[jet_type]


_FC_FC = dict(point_layers="64,128,256,256,512", head_layers="64,128")
_ADAM_FC = dict(optimizer="adam", betas="0.5,0.999")
_ADAM_TREE = dict(optimizer="adam", betas="0.0,0.99")
_WGAN = dict(loss="wgan-gp", critic_steps=5)
_MP_LS = dict(loss="ls", optimizer="rmsprop")
_LONG_Q = (2000, 2500, 2000)

ROWS = (  # in Table 2's order
    Row("fc", "fc", "FC + FC", "fc", **_WGAN, **_ADAM_FC, batch=50, epochs=(2000,) * 3, **_FC_FC),
    Row("graphcnn", "fc", "GraphCNN + FC", "graphcnn", **_WGAN, optimizer="rmsprop", batch=50,
        epochs=(1000,) * 3),
    Row("treegan", "fc", "TreeGAN + FC", "treeganfc", **_WGAN, **_ADAM_TREE, batch=50,
        epochs=(1000,) * 3),
    Row("fc", "pointnet-mix", "FC + PointNet", "fcpnet", **_WGAN, **_ADAM_FC, epochs=(2000,) * 3),
    Row("graphcnn", "pointnet-mix", "GraphCNN + PointNet", "graphcnnpnet", **_WGAN,
        optimizer="rmsprop", epochs=(2000,) * 3),
    Row("treegan", "pointnet-mix", "TreeGAN + PointNet", "treeganpnet", **_WGAN, **_ADAM_TREE,
        epochs=(2000,) * 3),
    Row("mp", "mp", "MP + MP", "mp", **_MP_LS, particle_mask=True),
    Row("lfc", "mp", "MP-LFC + MP", "mplfc", **_MP_LS, particle_mask=True),
    Row("fc", "mp", "FC + MP", "fcmp", **_WGAN, **_ADAM_FC, epochs=_LONG_Q),
    Row("graphcnn", "mp", "GraphCNN + MP", "graphcnnmp", **_WGAN, optimizer="rmsprop",
        epochs=_LONG_Q),
    Row("treegan", "mp", "TreeGAN + MP", "treeganmp", **_WGAN, **_ADAM_TREE, epochs=(2000,) * 3),
    Row("mp", "fc", "MP + FC", "mpfc", **_MP_LS, epochs=_LONG_Q),
    Row("mp", "pointnet-mix", "MP + PointNet", "mppnet", **_MP_LS, epochs=_LONG_Q,
        particle_mask=True, edge_distance=True),
)  # fmt: skip
BY_DIRECTORY = {row.directory: row for row in ROWS}


def row_of(generator: str, discriminator: str) -> Row:
    """The Table 2 row whose procedure a generator × discriminator pair trains with (MP-LFC
    with another discriminator than MP: the MP generator's row, as the gluon MP + FC run)."""
    for row in ROWS:
        if (row.generator, row.discriminator) == (generator, discriminator):
            return row
    return row_of("mp", discriminator)  # lfc with fc or pointnet-mix


def row_defaults(options: dict) -> dict[str, object]:
    """``DEPENDENT_DEFAULTS`` of the MPGAN spec: the chosen row's procedure (loss, optimizer,
    critic steps, batch, masks, widths) for ``options["jet_type"]``."""
    row = row_of(options["generator"], options["discriminator"])
    return row.defaults(options["jet_type"])


# Table 2 as printed (final_evaluation.py@c0c1921 via the author's dissertation tables):
# W1M ×10³, W1P ×10³, W1EFP ×10⁵, FPND, COV, MMD, per class and directory.
PUBLISHED = {
    "g": {
        "fc": ("18.3±0.2", "9.6±0.4", "8.5±0.5", "176", "0.24", "0.045"),
        "graphcnn": ("2.6±0.2", "9.6±0.3", "12±8", "61", "0.39", "0.046"),
        "treeganfc": ("41.9±0.3", "69.3±0.3", "14.2±0.8", "355", "0.19", "0.130"),
        "fcpnet": ("1.3±0.4", "1.3±0.2", "1.5±0.9", "5.0", "0.49", "0.039"),
        "graphcnnpnet": ("1.9±0.2", "16±6", "200±1000", "7k", "0.46", "0.040"),
        "treeganpnet": ("1.7±0.1", "4.0±0.4", "4±1", "84", "0.37", "0.042"),
        "mp": ("0.7±0.2", "0.9±0.3", "0.7±0.2", "0.12", "0.56", "0.037"),
        "mplfc": ("0.69±0.07", "1.8±0.2", "0.9±0.6", "0.20", "0.54", "0.037"),
        "fcmp": ("4.3±0.3", "21.1±0.2", "9±1", "368", "0.11", "0.085"),
        "graphcnnmp": ("2.5±0.1", "9.8±0.2", "13±8", "61", "0.38", "0.048"),
        "treeganmp": ("2.4±0.2", "12±7", "18±9", "69", "0.34", "0.048"),
        "mpfc": ("1.2±0.2", "3.7±0.5", "1.6±0.8", "39", "0.44", "0.040"),
        "mppnet": ("1.3±0.4", "1.2±0.4", "4±2", "18", "0.53", "0.036"),
    },
    "q": {
        "fc": ("6.0±0.2", "16.3±0.9", "3.9±0.6", "395", "0.18", "0.053"),
        "graphcnn": ("3.5±0.2", "15.1±0.4", "10±50", "100", "0.25", "0.038"),
        "treeganfc": ("31.5±0.3", "22.3±0.4", "9.3±0.4", "176", "0.06", "0.055"),
        "fcpnet": ("3.1±0.2", "4.5±0.4", "2.3±0.6", "17", "0.37", "0.028"),
        "graphcnnpnet": ("4±1", "5.2±0.5", "50k±100k", "316", "0.37", "0.031"),
        "treeganpnet": ("10.1±0.1", "5.7±0.5", "4.1±0.3", "11", "0.47", "0.031"),
        "mp": ("0.6±0.2", "4.9±0.5", "0.7±0.4", "0.35", "0.50", "0.026"),
        "mplfc": ("0.7±0.2", "2.6±0.4", "0.9±0.9", "0.08", "0.52", "0.024"),
        "fcmp": ("6.3±0.2", "16.5±0.2", "4.0±0.8", "212", "0.11", "0.070"),
        "graphcnnmp": ("3.5±0.4", "15.0±0.3", "10±10", "99", "0.26", "0.038"),
        "treeganmp": ("4.8±0.2", "33±6", "10±2", "148", "0.22", "0.041"),
        "mpfc": ("1.3±0.1", "4.5±0.4", "2.2±0.6", "41", "0.37", "0.030"),
        "mppnet": ("6.5±0.3", "23.2±0.6", "6±1", "850", "0.18", "0.034"),
    },
    "t": {
        "fc": ("4.8±0.3", "14.5±0.6", "23±3", "160", "0.28", "0.103"),
        "graphcnn": ("7.0±0.3", "8.0±0.5", "1k±6k", "15", "0.48", "0.081"),
        "treeganfc": ("17.0±0.2", "19.6±0.6", "33±2", "77", "0.39", "0.083"),
        "fcpnet": ("2.7±0.1", "1.6±0.4", "7.7±0.5", "3.9", "0.56", "0.075"),
        "graphcnnpnet": ("11.3±0.9", "30±10", "37±2", "30k", "0.39", "0.085"),
        "treeganpnet": ("5.19±0.08", "9.1±0.3", "16±2", "17", "0.53", "0.079"),
        "mp": ("0.6±0.2", "2.3±0.3", "2±1", "0.37", "0.57", "0.071"),
        "mplfc": ("0.9±0.3", "2.2±0.7", "2±1", "0.93", "0.56", "0.073"),
        "fcmp": ("6.9±0.1", "39.1±0.3", "15±1", "81", "0.26", "0.120"),
        "graphcnnmp": ("6.7±0.1", "8.2±0.5", "40±10", "15", "0.49", "0.081"),
        "treeganmp": ("13.4±0.4", "45±7", "50±30", "66", "0.29", "0.101"),
        "mpfc": ("12.9±0.3", "26.3±0.4", "46±3", "58", "0.27", "0.103"),
        "mppnet": ("0.76±0.08", "1.6±0.4", "4±1", "3.7", "0.59", "0.072"),
    },
}


def published_fpnd(jet_type: str, directory: str) -> float:
    """Table 2's FPND of a row (``"7k"`` → 7000.0)."""
    text = PUBLISHED[jet_type][directory][METRICS.index("fpnd")]
    return float(text[:-1]) * 1000 if text.endswith("k") else float(text)
