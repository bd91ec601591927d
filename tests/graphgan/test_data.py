"""Image readers on small IDX and CSV files written here; the sparse-graph transform against
hand-computed coordinates and its tie rule."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from graphgan.images import read_csv, read_idx, read_images
from graphgan.sparse import sparse_graphs


def write_idx(path, array, magic):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), rng.integers(0, 10, 5)


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_idx_folder_gzip_or_raw(tmp_path, images, suffix):
    x, y = images
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", x, 0x00000803)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", y, 0x00000801)
    got_x, got_y = read_images(tmp_path, "train")
    assert np.array_equal(got_x, x) and np.array_equal(got_y, y)
    with pytest.raises(FileNotFoundError, match="no test set"):
        read_images(tmp_path, "test")


def test_idx_refuses_damaged_files(tmp_path, images):
    x, _ = images
    path = tmp_path / "cut"
    write_idx(path, x, 0x00000803)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="cut short"):
        read_idx(path)
    (tmp_path / "float").write_bytes(bytes([0, 0, 0x0D, 1]) + (4).to_bytes(4, "big") + bytes(16))
    with pytest.raises(ValueError, match="not an IDX file of unsigned bytes"):
        read_idx(tmp_path / "float")
    (tmp_path / "bad.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="not a readable gzip file"):
        read_idx(tmp_path / "bad.gz")


@pytest.mark.parametrize("header", [False, True])
def test_csv_with_or_without_header(tmp_path, images, header):
    x, y = images
    rows = np.concatenate([y[:, None], x.reshape(5, -1)], axis=1)
    text = ("label," + ",".join(f"pixel{i + 1}" for i in range(784)) + "\n") if header else ""
    text += "\n".join(",".join(map(str, r)) for r in rows) + "\n"
    (tmp_path / "mnist_train.csv").write_text(text)
    got_x, got_y = read_images(tmp_path, "train")
    assert np.array_equal(got_x, x) and np.array_equal(got_y, y)
    (tmp_path / "bad.csv").write_text("3,1,2\n")
    with pytest.raises(ValueError, match="a label and 784 values"):
        read_csv(tmp_path / "bad.csv")


def test_sparse_graph_coordinates_and_intensities():
    image = np.zeros((1, 28, 28), dtype=np.uint8)
    image[0, 3, 7] = 255  # row 3, column 7
    image[0, 27, 0] = 200
    nodes = sparse_graphs(image, nodes=3)
    assert nodes.shape == (1, 3, 3)
    # ascending intensity, brightest last: x = -0.5 + c/28, y = -0.5 + r/28, I = (p - 127.5)/255
    np.testing.assert_allclose(nodes[0, -1], [-0.5 + 7 / 28, -0.5 + 3 / 28, 0.5], atol=1e-6)
    np.testing.assert_allclose(nodes[0, -2], [-0.5, -0.5 + 27 / 28, (200 - 127.5) / 255], atol=1e-6)
    # the third is a background pixel (I = -0.5): of the 782 tied ones, the last in row-major
    # order that is background: (27, 27)
    np.testing.assert_allclose(nodes[0, 0], [-0.5 + 27 / 28, -0.5 + 27 / 28, -0.5], atol=1e-6)


def test_ties_at_the_threshold_keep_the_later_pixels():
    image = np.zeros((1, 28, 28), dtype=np.uint8)
    image[0, 0, :10] = 100  # ten equally bright pixels, room for four
    nodes = sparse_graphs(image, nodes=4)
    columns = np.round((nodes[0, :, 0] + 0.5) * 28).astype(int)
    assert columns.tolist() == [6, 7, 8, 9] and (nodes[0, :, 1] == -0.5).all()
    with pytest.raises(ValueError, match="nodes must be in"):
        sparse_graphs(image, nodes=0)


def test_real_superpixel_files_monti_and_pyg(tmp_path):
    from graphgan.superpixels import read_superpixels

    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.uniform(0, 1, (4, 75)).astype(np.float32))
    pos = torch.from_numpy(rng.uniform(0, 28, (4, 75, 2)).astype(np.float32))
    y = torch.tensor([3, 1, 3, 0])
    expected = np.concatenate([(pos.numpy() - 14) / 28, x.numpy()[..., None] - 0.5], -1)
    monti = tmp_path / "monti" / "raw"
    monti.mkdir(parents=True)
    for name in ("training.pt", "test.pt"):  # Monti's (x, edge_index, edge_slice, pos, y)
        torch.save((x, torch.zeros(2, 0, dtype=torch.long), torch.zeros(5), pos, y), monti / name)
    pyg = tmp_path / "MNISTSuperpixels.pt"  # PyG's [train, test] lists of dicts
    graphs = [{"x": x[i, :, None], "pos": pos[i], "y": y[i : i + 1]} for i in range(4)]
    torch.save([graphs, graphs[:2]], pyg)
    for source, test_count in ((tmp_path / "monti", 4), (pyg, 2)):
        splits = read_superpixels(source)
        assert np.allclose(splits["train"][0], expected, atol=1e-6)
        assert splits["train"][1].tolist() == [3, 1, 3, 0]
        assert len(splits["test"][0]) == test_count
    with pytest.raises(FileNotFoundError, match="no superpixels"):
        read_superpixels(tmp_path / "nowhere")
    (tmp_path / "digits.csv").write_text("3,0,0\n")  # not a superpixel file: one line
    with pytest.raises(ValueError, match="not a readable superpixel file"):
        read_superpixels(tmp_path / "digits.csv")


def test_graphs_are_made_once_per_folder_and_variant(tmp_path, images):
    from graphgan.data import cache_path, class_graphs, load_graphs

    x, y = images
    for prefix in ("train", "t10k"):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", x, 0x00000803)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", y, 0x00000801)
    cache = tmp_path / "cache"
    splits = load_graphs(tmp_path, "sparse", cache)
    path = cache_path(tmp_path, "sparse", cache)
    assert [p.name for p in cache.iterdir()] == [path.name]
    assert np.array_equal(splits["train"][0], sparse_graphs(x))
    made = path.stat().st_mtime_ns
    again = load_graphs(tmp_path, "sparse", cache)  # read, not made
    assert path.stat().st_mtime_ns == made and np.array_equal(again["test"][0], splits["test"][0])
    assert len(class_graphs(splits, int(y[0]))) == 2 * int((y == y[0]).sum())  # train + test
    with pytest.raises(ValueError, match="no graphs of class"):
        class_graphs(splits, 11)
