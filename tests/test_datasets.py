"""The built-in datasets, the tensor batcher and the PNG writer, on real data (no mocks)."""

import ast
import inspect
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from studio.engine.library import data, with_dependencies

DATA = Path(__file__).resolve().parents[1] / "resources" / "data"
ALLOWED_IMPORTS = (
    "import math\n"
    "import struct\n"
    "import zlib\n"
    "from pathlib import Path\n"
    "\n"
    "import numpy as np\n"
    "import torch\n"
    "import torch.nn.functional as F\n"
)


def _all(split, index):
    """Train and test of one port, concatenated."""
    return torch.cat([split.train[index], split.test[index]])


# ---------------------------------------------------------------- digits


def test_digits_count_split_and_labels():
    digits = data.load_digits(DATA)
    image, label = digits.train
    assert digits.names == ("image", "label") and digits.classes == 10
    assert image.shape == (1497, 1, 8, 8) and image.dtype == torch.float32
    assert label.shape == (1497,) and label.dtype == torch.int64
    assert digits.test[0].shape == (300, 1, 8, 8) and digits.test[1].shape == (300,)
    labels = _all(digits, 1)
    assert labels.min() == 0 and labels.max() == 9 and len(labels.unique()) == 10
    assert 0.0 <= float(image.min()) and float(image.max()) == 1.0


def test_digits_split_is_fixed_and_disjoint():
    raw = np.load(DATA / "digits.npz")
    assert raw["images"].shape == (1797, 8, 8) and raw["images"].dtype == np.uint8
    order = np.random.default_rng(20261124).permutation(1797)
    train_idx, test_idx = order[:1497], order[1497:]
    assert len(set(train_idx) & set(test_idx)) == 0 and len(set(order)) == 1797

    first, second = data.load_digits(DATA), data.load_digits(DATA)
    for a, b in zip(first.train + first.test, second.train + second.test):
        assert torch.equal(a, b)
    expected = torch.from_numpy(raw["images"][test_idx].astype(np.float32) / 16.0)[:, None]
    assert torch.equal(first.test[0], expected)
    assert torch.equal(first.test[1], torch.from_numpy(raw["labels"][test_idx].astype(np.int64)))
    # No test image appears in the training set (the raw file holds no exact duplicates across them).
    train_rows = {bytes(row) for row in raw["images"][train_idx].reshape(1497, -1)}
    test_rows = [bytes(row) for row in raw["images"][test_idx].reshape(300, -1)]
    assert sum(row in train_rows for row in test_rows) == 0


def test_digits_resize_and_value_range():
    digits = data.load_digits(DATA, size=32, value_range=(-1.0, 1.0))
    image = digits.train[0]
    assert image.shape == (1497, 1, 32, 32)
    assert float(image.min()) >= -1.0 - 1e-6 and float(image.max()) <= 1.0 + 1e-6
    assert float(image.min()) == pytest.approx(-1.0) and float(image.max()) > 0.9
    # Resizing keeps the picture: the downsampled 32x32 matches the original 8x8.
    small = torch.nn.functional.avg_pool2d((image + 1) / 2, 4).flatten()
    original = data.load_digits(DATA).train[0].flatten()
    assert float(torch.corrcoef(torch.stack([small, original]))[0, 1]) > 0.95
    assert torch.equal(digits.train[1], data.load_digits(DATA).train[1])


# ---------------------------------------------------------------- shapes


def test_shapes_seeded():
    a, b = data.make_shapes(count=200, seed=3), data.make_shapes(count=200, seed=3)
    c = data.make_shapes(count=200, seed=4)
    assert torch.equal(a.train[0], b.train[0]) and torch.equal(a.test[1], b.test[1])
    assert not torch.equal(a.train[0], c.train[0])


def test_shapes_split_classes_and_range():
    shapes = data.make_shapes(count=2000, size=32)
    assert shapes.names == ("image", "label") and shapes.classes == 4
    assert shapes.train[0].shape == (1600, 1, 32, 32) and shapes.test[0].shape == (400, 1, 32, 32)
    assert shapes.train[1].dtype == torch.int64
    assert set(shapes.train[1].tolist()) == {0, 1, 2, 3} and set(shapes.test[1].tolist()) == {0, 1, 2, 3}
    image = _all(shapes, 0)
    assert float(image.min()) == 0.0 and float(image.max()) == 1.0
    odd = data.make_shapes(count=103, size=16, value_range=(-1.0, 1.0))
    assert len(odd.test[0]) == 20 and len(odd.train[0]) == 83
    assert float(odd.train[0].min()) == -1.0 and float(odd.train[0].max()) == 1.0


def test_shapes_differ_by_class():
    shapes = data.make_shapes(count=2000, size=32)
    image, label = _all(shapes, 0), _all(shapes, 1)
    mass = image.mean(dim=(1, 2, 3))
    per_class = [float(mass[label == k].mean()) for k in range(4)]
    # Circle > square > cross > triangle for the same circumscribed circle.
    assert per_class[0] > per_class[1] > per_class[3] > per_class[2]
    for i in range(4):
        for j in range(i + 1, 4):
            assert abs(per_class[i] - per_class[j]) > 0.1 * min(per_class[i], per_class[j])
    # Every image shows its shape: some ink, and a black border region.
    assert bool((mass > 0.01).all())


def test_shapes_colour_and_large():
    colour = data.make_shapes(count=50, size=24, channels=3, seed=1)
    image = colour.train[0]
    assert image.shape == (40, 3, 24, 24)
    # Colours differ between images and between channels of one image.
    peak = image.amax(dim=(2, 3))
    assert float(peak.std(dim=0).min()) > 0.01 and float((peak[:, 0] - peak[:, 1]).abs().max()) > 0.05
    large = data.make_shapes(count=64, size=224, channels=3)
    assert large.train[0].shape == (52, 3, 224, 224) and large.test[0].shape == (12, 3, 224, 224)
    with pytest.raises(ValueError, match="channels"):
        data.make_shapes(channels=2)


# ---------------------------------------------------------------- toy 2-D


@pytest.mark.parametrize(
    "kind, classes, expected", [("moons", 2, 2), ("circles", 5, 2), ("spirals", 3, 3), ("blobs", 5, 5)]
)
def test_toy_kinds(kind, classes, expected):
    toy = data.make_toy_2d(kind, count=1000, classes=classes, seed=2)
    assert toy.names == ("x", "label") and toy.classes == expected
    assert toy.train[0].shape == (800, 2) and toy.test[0].shape == (200, 2)
    assert toy.train[0].dtype == torch.float32 and toy.train[1].dtype == torch.int64
    x, label = _all(toy, 0), _all(toy, 1)
    assert set(label.tolist()) == set(range(expected))
    assert x.mean(0).abs().max() < 1e-4 and 0.5 < float(x.std()) < 1.5
    again = data.make_toy_2d(kind, count=1000, classes=classes, seed=2)
    assert torch.equal(again.train[0], toy.train[0])


def test_toy_geometry():
    circles = data.make_toy_2d("circles", count=2000, noise=0.0)
    x, label = _all(circles, 0), _all(circles, 1)
    radius = x.norm(dim=1)
    assert float(radius[label == 1].max()) < float(radius[label == 0].min())
    assert float(radius[label == 0].mean()) == pytest.approx(2 * float(radius[label == 1].mean()), rel=1e-3)


def test_toy_unknown_kind():
    with pytest.raises(ValueError, match="swirl"):
        data.make_toy_2d("swirl")


# ---------------------------------------------------------------- image field


def test_image_field():
    field = data.load_image_field(DATA, "siren", size=64, channels=3)
    coords, pixel = field.train
    assert field.names == ("coords", "pixel") and field.classes == 0
    assert field.test[0] is coords and field.test[1] is pixel
    assert coords.shape == (64 * 64, 2) and pixel.shape == (64 * 64, 3)
    assert coords.dtype == torch.float32 and pixel.dtype == torch.float32
    assert float(coords.min()) == -1.0 and float(coords.max()) == 1.0
    assert float(pixel.min()) >= -1.0 and float(pixel.max()) <= 1.0 and float(pixel.std()) > 0.2
    # Row-major: x (coords[:, 0]) runs along a row, y (coords[:, 1]) steps once per row.
    assert coords[1, 0] > coords[0, 0] and coords[1, 1] == coords[0, 1] == -1.0
    assert coords[64, 0] == -1.0 and coords[64, 1] > -1.0
    # The pixel at (row, column) is the resized image's pixel there.
    raw = np.load(DATA / "siren.npz")["image"]
    assert raw.shape == (256, 256, 3) and raw.dtype == np.uint8
    full = data.load_image_field(DATA, size=256).train[1].reshape(256, 256, 3)
    assert torch.allclose(full, torch.from_numpy(raw.astype(np.float32) / 127.5 - 1.0), atol=1e-5)

    grey = data.load_image_field(DATA, size=32, channels=1)
    assert grey.train[0].shape == (1024, 2) and grey.train[1].shape == (1024, 1)
    with pytest.raises(ValueError, match="name"):
        data.load_image_field(DATA, "../digits")


# ---------------------------------------------------------------- TensorBatches


def test_batches_cover_every_sample_once():
    index = torch.arange(103)
    values = index.float() * 2
    batches = data.TensorBatches((index, values), batch_size=10)
    assert len(batches) == 11
    for _ in range(2):
        seen = []
        for batch_index, batch_values in batches:
            assert torch.equal(batch_values, batch_index.float() * 2)  # tensors stay aligned
            seen.append(batch_index)
        assert len(seen) == 11 and [len(b) for b in seen] == [10] * 10 + [3]
        assert torch.equal(torch.cat(seen).sort().values, index)


def test_batches_len_and_drop_last():
    index = torch.arange(103)
    dropping = data.TensorBatches((index,), batch_size=10, drop_last=True)
    assert len(dropping) == 10
    batches = list(dropping)
    assert len(batches) == 10 and all(len(b[0]) == 10 for b in batches)
    assert len(torch.cat([b[0] for b in batches]).unique()) == 100
    exact = data.TensorBatches((torch.arange(100),), batch_size=10, drop_last=True)
    assert len(exact) == len(list(exact)) == 10
    tiny = data.TensorBatches((torch.arange(5),), batch_size=10, drop_last=True)
    assert len(tiny) == len(list(tiny)) == 0
    assert len(data.TensorBatches((torch.arange(5),), batch_size=10)) == 1
    ordered = data.TensorBatches((index,), batch_size=25, shuffle=False)
    assert torch.equal(torch.cat([b[0] for b in ordered]), index)


def test_batches_full_batch_without_shuffle_is_the_tensors_themselves():
    x, y = torch.randn(30, 2), torch.arange(30)
    (batch,) = list(data.TensorBatches((x, y), batch_size=64, shuffle=False))
    assert batch[0] is x and batch[1] is y


def test_batches_shuffle_differs_between_epochs_and_generator_reproduces():
    index = torch.arange(200)
    batches = data.TensorBatches((index,), batch_size=50)
    first = torch.cat([b[0] for b in batches])
    second = torch.cat([b[0] for b in batches])
    assert not torch.equal(first, second) and not torch.equal(first, index)

    def epochs(seed):
        seeded = data.TensorBatches((index,), 50, generator=torch.Generator().manual_seed(seed))
        return [torch.cat([b[0] for b in seeded]) for _ in range(2)]

    a, b, c = epochs(7), epochs(7), epochs(8)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[0], a[1])
    assert not torch.equal(a[0], c[0])


def test_batches_reject_bad_input():
    with pytest.raises(ValueError):
        data.TensorBatches((torch.arange(3), torch.arange(4)), batch_size=2)
    with pytest.raises(ValueError):
        data.TensorBatches((torch.arange(3),), batch_size=0)


# ---------------------------------------------------------------- PNG grid


def test_save_image_grid_grey(tmp_path):
    images = torch.stack([torch.full((1, 2, 3), v) for v in (-1.0, 0.0, 1.0)])
    images[2, 0, 1, 2] = 5.0  # clamped to the top of the range
    path = tmp_path / "nested" / "grid.png"
    data.save_image_grid(images, path, nrow=2, padding=1)
    with Image.open(path) as png:
        assert png.mode == "L" and png.size == (2 * (3 + 1) + 1, 2 * (2 + 1) + 1)
        pixels = np.asarray(png)
    assert (pixels[1:3, 1:4] == 0).all()  # -1 -> 0
    assert (pixels[1:3, 5:8] == 128).all()  # 0 -> 127.5 -> 128
    assert (pixels[4:6, 1:4] == 255).all()  # 1 and the clamped 5 -> 255
    assert (pixels[0] == 0).all() and (pixels[:, 4] == 0).all() and (pixels[4:6, 5:8] == 0).all()


def test_save_image_grid_rgb(tmp_path):
    colours = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.25]])
    images = colours[:, :, None, None].expand(4, 3, 4, 5).clone()
    path = tmp_path / "rgb.png"
    data.save_image_grid(images, path, nrow=3, value_range=(0.0, 1.0), padding=2)
    with Image.open(path) as png:
        assert png.mode == "RGB" and png.size == (3 * (5 + 2) + 2, 2 * (4 + 2) + 2)
        pixels = np.asarray(png)
    for index, colour in enumerate(colours):
        row, column = divmod(index, 3)
        top, left = 2 + row * 6, 2 + column * 7
        expected = np.round(colour.numpy() * 255).astype(np.uint8)
        assert (pixels[top : top + 4, left : left + 5] == expected).all()
    assert (pixels[:2] == 0).all() and (pixels[8:, 9:] == 0).all()


# ---------------------------------------------------------------- exported-script contract


def _top_level_names():
    tree = ast.parse(inspect.getsource(data))
    return tree, {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


# Standard-library modules a helper may import inside its own body (so that a copied helper does
# not depend on the imports at the top of the exported script), and Pillow, which is optional.
LOCAL_IMPORTS = {
    "csv", "gzip", "hashlib", "http.client", "multiprocessing", "os", "sys", "tarfile",
    "urllib.error", "urllib.request", "PIL.Image",
}


def test_module_imports_only_what_exported_scripts_have():
    tree, _ = _top_level_names()
    top = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top |= {(alias.name, alias.asname) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            top |= {(f"{node.module}.{alias.name}", alias.asname) for alias in node.names}
    allowed = {
        ("math", None),
        ("zlib", None),
        ("struct", None),
        ("pathlib.Path", None),
        ("numpy", "np"),
        ("torch", None),
        ("torch.nn.functional", "F"),
    }
    assert top <= allowed
    # Inside functions: only the standard library's LOCAL_IMPORTS (never aliased), and Pillow only
    # where image files are read.
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import):
                names = {alias.name for alias in inner.names}
                assert all(alias.asname is None for alias in inner.names), node.name
            elif isinstance(inner, ast.ImportFrom):
                names = {f"{inner.module}.{alias.name}" for alias in inner.names}
            else:
                continue
            assert names <= LOCAL_IMPORTS, (node.name, names)
            if "PIL.Image" in names:
                assert node.name == "_read_image"


def test_a_helper_copied_alone_needs_no_import_of_the_script_beyond_the_allowed_ones():
    """Every name a helper uses is a builtin, an allowed module-level import, one of its
    DEPENDS, or bound inside it (a local import, an argument, an assignment)."""
    import builtins

    tree, definitions = _top_level_names()
    module_level = {"math", "struct", "zlib", "Path", "np", "torch", "F"}
    for name, node in definitions.items():
        bound = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        bound |= {a.arg for n in ast.walk(node) if isinstance(n, ast.arguments)
                  for a in n.args + n.kwonlyargs + n.posonlyargs + [x for x in (n.vararg, n.kwarg) if x]}
        bound |= {alias.asname or alias.name.split(".")[0] for n in ast.walk(node)
                  if isinstance(n, (ast.Import, ast.ImportFrom)) for alias in n.names}
        bound |= {n.name for n in ast.walk(node)
                  if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.ExceptHandler)) and n.name}
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        free = used - bound - module_level - set(dir(builtins)) - set(data.DEPENDS[name]) - {name}
        assert not free, (name, free)


def test_depends_is_complete_and_exact():
    _, definitions = _top_level_names()
    assert set(data.DEPENDS) == set(definitions)
    for name, node in definitions.items():
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} & set(definitions)
        used.discard(name)
        assert used == set(data.DEPENDS[name]), name


def _isolated(name):
    """Exec the source of `name` and everything it depends on, with only the allowed imports,
    in the order an export writes them (a base class before its subclass)."""
    needed = with_dependencies([name])
    source = ALLOWED_IMPORTS + "\n\n" + "\n\n".join(inspect.getsource(getattr(data, n)) for n in needed)
    namespace = {"__name__": "exported_training_script"}
    exec(compile(source, f"<exported {name}>", "exec"), namespace)  # noqa: S102 - our own source, as export does
    return namespace[name]


def test_each_public_name_runs_from_its_copied_source(tmp_path):
    public = sorted(name for name in data.DEPENDS if not name.startswith("_"))
    assert public == sorted(
        [
            "SplitData",
            "StreamableSplitData",
            "load_digits",
            "make_shapes",
            "make_toy_2d",
            "make_curve_1d",
            "curve_values",
            "load_image_field",
            "load_bundled",
            "TensorBatches",
            "StreamableBatches",
            "save_image_grid",
            # standard sets, the user's files, streaming, augmentation (run from their copies in
            # tests/test_data_files.py and tests/test_download.py)
            "DatasetSources",
            "ProgressBar",
            "download_file",
            "fetch_standard",
            "read_idx",
            "load_standard",
            "ArraySource",
            "ImageFileSource",
            "load_idx",
            "load_arrays",
            "load_csv",
            "load_image_folder",
            "StreamSplit",
            "augment_images",
        ]
    )
    digits = _isolated("load_digits")(DATA, size=32)
    assert digits.train[0].shape == (1497, 1, 32, 32)
    assert torch.equal(digits.test[1], data.load_digits(DATA, size=32).test[1])
    shapes = _isolated("make_shapes")(count=20, size=16, channels=3)
    assert torch.equal(shapes.train[0], data.make_shapes(count=20, size=16, channels=3).train[0])
    for kind in ("moons", "circles", "spirals", "blobs"):
        assert torch.equal(_isolated("make_toy_2d")(kind).train[0], data.make_toy_2d(kind).train[0])
    for kind in ("sines", "steps", "bumps"):  # the 1-D curves, with the function they keep
        copied, here = _isolated("make_curve_1d")(kind), data.make_curve_1d(kind)
        assert torch.equal(copied.train[1], here.train[1])
        assert torch.equal(copied.function[1], here.function[1])
    waves = _isolated("load_bundled")(DATA, "waves.npz", classes=3)
    assert waves.train[0].shape == (800, 32) and waves.test[1].shape == (200,)
    assert torch.equal(waves.train[0], data.load_bundled(DATA, "waves.npz", 3).train[0])
    field = _isolated("load_image_field")(DATA, size=16, channels=1)
    assert field.train[1].shape == (256, 1)
    split = _isolated("SplitData")((torch.zeros(2),), (torch.zeros(1),), ("x",), 0)
    assert split.names == ("x",)
    batches = _isolated("TensorBatches")((torch.arange(10),), 4)
    assert len(batches) == 3 and sorted(torch.cat([b[0] for b in batches]).tolist()) == list(range(10))
    _isolated("save_image_grid")(torch.zeros(2, 1, 3, 3), tmp_path / "g.png")
    with Image.open(tmp_path / "g.png") as png:
        assert png.size == (2 * (3 + 2) + 2, 3 + 2 + 2)
    assert math.isfinite(float(digits.train[0].sum()))
