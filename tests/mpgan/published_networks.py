"""The published MPGAN-paper networks restated from their structure, as functions of the
*published* state dicts (rkansal47/MPGAN ``ext_models/ext_models.py``: ``rGANG``, ``rGAND``,
``GraphCNNGANG``, ``PointNetMixD``, ``TreeGCN``/``TreeGANG``; ``mpgan/old_model.py``:
``Graph_GAN``; ``mpgan/model.py``: ``MPGenerator``), written op for op as the published forward
passes compute them (``repeat``/``view`` layouts, per-edge weight matrices, ``Conv1d``, the
in-place mask of ``PointNetMixD``) and independent of the project's networks, so that tests can
hold the project's networks, loaded through :mod:`mpgan.import_published`, against them."""

from __future__ import annotations

import torch
from torch.nn import functional as F

SLOPE = 0.2


def lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, SLOPE)


def rgan_generator(w: dict, z: torch.Tensor) -> torch.Tensor:
    """``rGANG``: Linear, LeakyReLU, Linear, LeakyReLU, Linear, Tanh; reshape(-1, 30, 3)."""
    x = lrelu(F.linear(z, w["model.0.weight"], w["model.0.bias"]))
    x = lrelu(F.linear(x, w["model.2.weight"], w["model.2.bias"]))
    return torch.tanh(F.linear(x, w["model.4.weight"], w["model.4.bias"])).reshape(-1, 30, 3)


def knn_graph(x: torch.Tensor, k: int, batch_size: int, nodes: int) -> torch.Tensor:
    """``torch_cluster.knn_graph(x, k, batch, loop=False)``: [2, E], row 0 the neighbour j,
    row 1 the centre i, by a full sort of the Euclidean distances within each graph."""
    rows, cols = [], []
    for b in range(batch_size):
        block = x[b * nodes : (b + 1) * nodes]
        distance = ((block[:, None, :] - block[None, :, :]) ** 2).sum(-1).sqrt()
        distance.fill_diagonal_(float("inf"))
        nearest = distance.argsort(dim=1)[:, :k]
        for i in range(nodes):
            rows.append(nearest[i] + b * nodes)
            cols.append(torch.full((k,), i + b * nodes))
    return torch.stack([torch.cat(rows), torch.cat(cols)])


def graphcnn_generator(
    w: dict, z: torch.Tensor, training: bool, k: int = 20
) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
    """``GraphCNNGANG`` (PyG 1.x ``NNConv(aggr='mean')``, ``torch_geometric.nn.BatchNorm``): the
    jets [B, 30, 3] and each BatchNorm's running (mean, var) after the call (updated in
    training mode, as BatchNorm1d does)."""
    batch_size, nodes = z.size(0), 30
    x = lrelu(F.linear(z, w["dense.weight"], w["dense.bias"])).reshape(batch_size * nodes, 32)
    stats = []
    for i in range(2):
        edge_index = knn_graph(x, k, batch_size, nodes)
        edge_attr = x[edge_index[0]] - x[edge_index[1]]
        c_in, c_out = w[f"layers.{i}.root"].shape
        theta = F.linear(edge_attr, w[f"layers.{i}.nn.weight"], w[f"layers.{i}.nn.bias"])
        messages = torch.matmul(x[edge_index[0]].unsqueeze(1), theta.view(-1, c_in, c_out))
        summed = torch.zeros(x.size(0), c_out).index_add_(0, edge_index[1], messages.squeeze(1))
        count = torch.zeros(x.size(0)).index_add_(0, edge_index[1], torch.ones(edge_index.size(1)))
        out = summed / count[:, None] + x @ w[f"layers.{i}.root"] + w[f"layers.{i}.bias"]
        mean = w[f"bn_layers.{i}.module.running_mean"].clone()
        var = w[f"bn_layers.{i}.module.running_var"].clone()
        x = F.batch_norm(
            out, mean, var, w[f"bn_layers.{i}.module.weight"], w[f"bn_layers.{i}.module.bias"],
            training=training, momentum=0.1, eps=1e-5,
        )  # fmt: skip
        stats.append((mean, var))
        if i == 0:
            x = lrelu(x)
    return x.reshape(batch_size, nodes, 3), stats


def tree_gcn(w: dict, prefix: str, tree: list, depth: int, node: int, activation: bool) -> list:
    """``TreeGCN.forward`` (upsample=True, degree 2)."""
    batch = tree[0].size(0)
    out_features = w[f"{prefix}.W_loop.1.weight"].size(0)
    root = 0
    for inx in range(depth + 1):
        repeat_num = int(node / tree[inx].size(1))
        root_node = F.linear(tree[inx], w[f"{prefix}.W_root.{inx}.weight"])
        root = root + root_node.repeat(1, 1, repeat_num).view(batch, -1, out_features)
    branch = lrelu(tree[-1].unsqueeze(2) @ w[f"{prefix}.W_branch"])
    branch = branch.view(batch, node * 2, tree[-1].size(2))
    branch = F.linear(
        F.linear(branch, w[f"{prefix}.W_loop.0.weight"]), w[f"{prefix}.W_loop.1.weight"]
    )
    branch = root.repeat(1, 1, 2).view(batch, -1, out_features) + branch
    if activation:
        branch = lrelu(branch + w[f"{prefix}.bias"].repeat(1, node, 1))
    tree.append(branch)
    return tree


def treegan_generator(w: dict, z: torch.Tensor) -> torch.Tensor:
    """``TreeGANG`` with five layers of degree 2: [B, 1, 96] → [B, 32, 3]."""
    tree, node = [z], 1
    for depth in range(5):
        tree = tree_gcn(w, f"gcn.TreeGCN_{depth}", tree, depth, node, activation=depth < 4)
        node *= 2
    return tree[-1]


def linear_net(x: torch.Tensor, layers: list, final_linear: bool, p: float) -> torch.Tensor:
    """``LinearNet``/``Graph_GAN``'s loops: every Linear followed by LeakyReLU (the last one not
    when ``final_linear``) and by dropout p (training mode)."""
    for i, (weight, bias) in enumerate(layers):
        x = F.linear(x, weight, bias)
        if i < len(layers) - 1 or not final_linear:
            x = lrelu(x)
        x = F.dropout(x, p, training=p > 0)
    return x


def mp_generator(
    w: dict, z: torch.Tensor, n: torch.Tensor | None, old: bool, distance: bool, lfc: bool
) -> torch.Tensor:
    """``Graph_GAN`` (``old``: keys ``fe.i.j``, ``fn.i.j``, ``lfc``) or ``MPGenerator`` (keys
    ``mp_layers.i.fe.net.j``, ``lfc_layer``) as generators: optional LFC, the ``mask_c`` mask
    from the ranks of the first noise feature (None: no mask), two fully connected iterations
    (pairs [x_i, x_j(, ‖x_j − x_i + 1e-12‖)] by repeat), masked sum, tanh of the first 3 of the
    last output, and the mask − 0.5."""

    def layers(kind: str, i: int) -> list:
        prefix = f"{kind}.{i}." if old else f"mp_layers.{i}.{kind}.net."
        count = sum(1 for k in w if k.startswith(prefix) and k.endswith("weight"))
        return [(w[f"{prefix}{j}.weight"], w[f"{prefix}{j}.bias"]) for j in range(count)]

    if lfc:
        key = "lfc" if old else "lfc_layer"
        z = F.linear(z, w[f"{key}.weight"], w[f"{key}.bias"]).view(-1, 30, 32)
    batch, nodes, size = z.shape
    x, mask = z, None
    if n is not None:
        nump = n - 1
        mask = (x[:, :, 0].argsort(1).argsort(1) <= nump.unsqueeze(1)).unsqueeze(2).float()
    for i in range(2):
        size = x.size(2)
        x1 = x.repeat(1, 1, nodes).view(batch, nodes * nodes, size)
        x2 = x.repeat(1, nodes, 1)
        parts = [x1, x2]
        if distance:
            parts.append(torch.norm(x2 - x1 + 1e-12, dim=2).unsqueeze(2))
        a = torch.cat(parts, 2).view(batch * nodes * nodes, -1)
        a = linear_net(a, layers("fe", i), final_linear=False, p=0.0)
        a = a.view(batch, nodes, nodes, -1)
        if mask is not None:
            a = a * mask.unsqueeze(1)
        x = torch.cat((a.sum(2), x), 2).view(batch * nodes, -1)
        x = linear_net(x, layers("fn", i), final_linear=True, p=0.0).view(batch, nodes, -1)
    out = torch.tanh(x[:, :, :3])
    return torch.cat((out, mask - 0.5), 2) if mask is not None else out


def sigmoid_head(w: dict, h: torch.Tensor) -> torch.Tensor:
    """The published discriminators' ``fc`` Sequential: Linear, LeakyReLU, …, Linear, Sigmoid."""
    fcs = sorted({int(k.split(".")[1]) for k in w if k.startswith("fc.")})
    for j, i in enumerate(fcs):
        h = F.linear(h, w[f"fc.{i}.weight"], w[f"fc.{i}.bias"])
        if j < len(fcs) - 1:
            h = lrelu(h)
    return torch.sigmoid(h)


def rgan_discriminator(w: dict, x: torch.Tensor) -> torch.Tensor:
    """``rGAND``: Conv1d(kernel 1) + LeakyReLU per layer on [B·N, 3, 1]... as published: the
    input reshaped to (-1, 3, 1), the max over particles, the FC head, sigmoid. ``w`` in the
    published names (``sfc.{2i}.weight`` [out, in, 1], ``fc.{2i}``)."""
    batch, nodes = x.shape[:2]
    h = x.reshape(-1, 3, 1)
    convs = sorted({int(k.split(".")[1]) for k in w if k.startswith("sfc.")})
    for i in convs:
        h = lrelu(F.conv1d(h, w[f"sfc.{i}.weight"], w[f"sfc.{i}.bias"]))
    h = torch.max(h.reshape(-1, nodes, h.size(1)), 1)[0]
    return sigmoid_head(w, h)


def pointnet_mix_discriminator(w: dict, x: torch.Tensor, mask: bool) -> torch.Tensor:
    """``PointNetMixD`` (with its in-place shift when ``mask``; ``x`` is cloned first here)."""
    batch_size = x.size(0)
    x = x.clone()
    if mask:
        x[:, :, 2] += 0.5
        keep = x[:, :, 3:4] >= 0
        x = (x * keep)[:, :, :3]
        x[:, :, 2] -= 0.5
    else:
        x = x[:, :, :3]
    h = x.reshape(batch_size * x.size(1), 3)
    points = sorted({int(k.split(".")[1]) for k in w if k.startswith("pointfc.")})
    for i in points:
        h = lrelu(F.linear(h, w[f"pointfc.{i}.weight"], w[f"pointfc.{i}.bias"]))
    h = h.view(batch_size, x.size(1), -1)
    h = torch.cat((torch.max(h, dim=1)[0], torch.mean(h, dim=1)), dim=1)
    return sigmoid_head(w, h)


def mp_discriminator(w: dict, x: torch.Tensor, p: float) -> torch.Tensor:
    """``Graph_GAN`` as the discriminator of FC + MP, GraphCNN + MP (``dea``, no mask, ``w``
    loss): two iterations on x[..., :3], dropout p after every Linear, the sum over particles,
    ``fnd`` Linear(32→1), dropout on it, no sigmoid. ``w`` in the old names (``fe.i.j``,
    ``fn.i.j``, ``fnd.0``)."""
    x = x[:, :, :3]
    batch, nodes, _ = x.shape

    def layers(kind: str, i: int) -> list:
        count = sum(1 for k in w if k.startswith(f"{kind}.{i}.") and k.endswith("weight"))
        return [(w[f"{kind}.{i}.{j}.weight"], w[f"{kind}.{i}.{j}.bias"]) for j in range(count)]

    for i in range(2):
        size = x.size(2)
        x1 = x.repeat(1, 1, nodes).view(batch, nodes * nodes, size)
        x2 = x.repeat(1, nodes, 1)
        a = torch.cat((x1, x2), 2).view(batch * nodes * nodes, 2 * size)
        a = linear_net(a, layers("fe", i), final_linear=False, p=p).view(batch, nodes, nodes, -1)
        x = torch.cat((a.sum(2), x), 2).view(batch * nodes, -1)
        x = linear_net(x, layers("fn", i), final_linear=True, p=p).view(batch, nodes, -1)
    x = torch.sum(x, 1)
    return F.dropout(F.linear(x, w["fnd.0.weight"], w["fnd.0.bias"]), p, training=p > 0)
