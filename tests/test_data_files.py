"""The user's files (IDX, NPZ/NPY, CSV, image folders), splits, normalization, streaming,
augmentation, the path kind, and the Dataset declaration that ties them to checks and code.

Every file here is made by the test, in the real format, in a temporary folder.
"""

import gzip
import inspect
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from studio.core.params import FilePath, ParamError
from studio.core.project import Project
from studio.core.registry import Values, get_block
from studio.engine.library import data, download, with_dependencies
from studio.engine.render import call
from tests.helpers import ROOT

DIGITS = ROOT / "resources" / "data"
DATASET = get_block("Dataset")


def idx_bytes(array, code=0x08):
    array = np.ascontiguousarray(array)
    return (
        bytes([0, 0, code, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape) + array.tobytes()
    )


def digit_arrays(count=300):
    """Bundled digits at 16x16 as uint8 (N, 16, 16) and their labels: small real images."""
    digits = data.load_digits(DIGITS, size=16)
    pixels = (torch.cat([digits.train[0], digits.test[0]])[:count, 0] * 255).round().to(torch.uint8).numpy()
    labels = torch.cat([digits.train[1], digits.test[1]])[:count].numpy()
    return pixels, labels


def write_idx_folder(folder, gz=True, test=True):
    pixels, labels = digit_arrays()
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    pack = (lambda b: gzip.compress(b, mtime=0)) if gz else (lambda b: b)
    (folder / f"train-images-idx3-ubyte{suffix}").write_bytes(pack(idx_bytes(pixels[:240])))
    (folder / f"train-labels-idx1-ubyte{suffix}").write_bytes(pack(idx_bytes(labels[:240].astype(np.uint8))))
    if test:
        (folder / f"t10k-images-idx3-ubyte{suffix}").write_bytes(pack(idx_bytes(pixels[240:])))
        (folder / f"t10k-labels-idx1-ubyte{suffix}").write_bytes(
            pack(idx_bytes(labels[240:].astype(np.uint8)))
        )
    return pixels, labels


def write_image_folder(folder, count=8, kinds=("circle", "square", "cross"), size=20, fmt="PNG"):
    shapes = data.make_shapes(count=4 * count * 2, size=size, channels=3, seed=5)
    images = (torch.cat([shapes.train[0], shapes.test[0]]) * 255).round().to(torch.uint8)
    labels = torch.cat([shapes.train[1], shapes.test[1]])
    wanted = {"circle": 0, "square": 1, "triangle": 2, "cross": 3}
    for kind in kinds:
        (folder / kind).mkdir(parents=True, exist_ok=True)
        picked = images[labels == wanted[kind]][:count]
        for i, image in enumerate(picked):
            Image.fromarray(image.permute(1, 2, 0).numpy()).save(folder / kind / f"{i}.{fmt.lower()}", fmt)


# ---------------------------------------------------------------- IDX


def test_read_idx_types_gzip_and_memory_map(tmp_path):
    values = np.arange(24, dtype=">i4").reshape(2, 3, 4)
    (tmp_path / "a.idx").write_bytes(idx_bytes(values, 0x0C))
    (tmp_path / "a.idx.gz").write_bytes(gzip.compress(idx_bytes(values, 0x0C)))
    plain, packed = data.read_idx(tmp_path / "a.idx"), data.read_idx(tmp_path / "a.idx.gz")
    assert (
        plain.dtype == np.int32 and plain.dtype.isnative and (plain == np.arange(24).reshape(2, 3, 4)).all()
    )
    assert (packed == plain).all()
    mapped = data.read_idx(tmp_path / "a.idx", mmap=True)
    assert isinstance(mapped, np.memmap) and (np.asarray(mapped) == plain).all()


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda b: b[:-7], "truncated IDX file"),
        (lambda b: b + b"\0", "not a valid IDX file"),
        (lambda b: b"\x89PNG" + b[4:], "not an IDX file"),
        (lambda b: b[:6], "truncated IDX file: the header ends early"),
    ],
)
def test_bad_idx_files_are_named(tmp_path, damage, words):
    path = tmp_path / "images.idx"
    path.write_bytes(damage(idx_bytes(np.zeros((3, 4, 4), np.uint8))))
    with pytest.raises(ValueError, match=words) as info:
        data.read_idx(path)
    assert str(path) in str(info.value)
    gz = tmp_path / "cut.gz"
    gz.write_bytes(gzip.compress(idx_bytes(np.zeros((3, 4, 4), np.uint8)))[:-10])
    with pytest.raises(ValueError, match="cut.gz: damaged gzip data"):
        data.read_idx(gz)


def test_idx_folder_with_and_without_test_files(tmp_path):
    pixels, labels = write_idx_folder(tmp_path / "gz")
    split = data.load_idx(tmp_path / "gz", size=16, classes=10)
    assert split.train[0].shape == (240, 1, 16, 16) and split.test[0].shape == (60, 1, 16, 16)
    assert torch.equal(split.train[0][:, 0], torch.from_numpy(pixels[:240]).float() / 255)
    assert torch.equal(split.test[1], torch.from_numpy(labels[240:]))
    write_idx_folder(tmp_path / "raw", gz=False, test=False)
    held = data.load_idx(tmp_path / "raw", size=8, classes=10, test_fraction=0.25, seed=3)
    assert held.train[0].shape == (180, 1, 8, 8) and held.test[0].shape == (60, 1, 8, 8)
    single = data.load_idx(tmp_path / "raw" / "train-images-idx3-ubyte", size=16, classes=10)
    assert len(single.train[0]) + len(single.test[0]) == 240


def test_idx_errors_name_the_files(tmp_path):
    write_idx_folder(tmp_path / "a")
    with pytest.raises(ValueError, match=r"label \d of sample \d+ is outside 0..4") as info:
        data.load_idx(tmp_path / "a", classes=5)
    assert "train-labels-idx1-ubyte.gz" in str(info.value)
    (tmp_path / "a" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz has no matching labels file"):
        data.load_idx(tmp_path / "a", classes=10)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no IDX training files"):
        data.load_idx(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="nowhere: no such file or folder"):
        data.load_idx("nowhere", root=tmp_path)


# ---------------------------------------------------------------- NPZ / NPY


@pytest.mark.parametrize("layout", ["NHW", "NHWC", "NCHW", "float"])
def test_npz_images_in_every_layout(tmp_path, layout):
    pixels, labels = digit_arrays(100)
    x = {
        "NHW": pixels,
        "NHWC": np.repeat(pixels[..., None], 3, 3),
        "NCHW": pixels[:, None],
        "float": pixels.astype(np.float32) / 255,
    }[layout]
    np.savez_compressed(tmp_path / "d.npz", x=x, y=labels)
    split = data.load_arrays(tmp_path / "d.npz", size=16, channels=1, classes=10, test_fraction=0.2)
    assert split.names == ("image", "label")
    assert split.train[0].shape == (80, 1, 16, 16) and split.test[0].shape == (20, 1, 16, 16)
    everything = torch.cat([split.train[0], split.test[0]])
    assert float(everything.max()) == pytest.approx(1.0) and float(everything.min()) == 0.0


def test_npy_folder_with_its_own_test_split_and_feature_vectors(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.normal(size=(50, 4)).astype(np.float32))
    np.save(tmp_path / "y.npy", rng.integers(0, 3, 50))
    np.save(tmp_path / "x_test.npy", rng.normal(size=(10, 4)))
    np.save(tmp_path / "y_test.npy", rng.integers(0, 3, 10).astype(np.float64))
    split = data.load_arrays(tmp_path / "x.npy", features=4, classes=3)
    assert split.names == ("x", "label")
    assert split.train[0].shape == (50, 4) and split.test[0].shape == (10, 4)
    assert torch.allclose(split.train[0], torch.from_numpy(np.load(tmp_path / "x.npy")))


@pytest.mark.parametrize(
    "arrays, kwargs, words",
    [
        (
            {"x": np.zeros((5, 8, 8), np.uint8), "y": np.zeros(4, np.int64)},
            {},
            "4 labels in y for x of shape",
        ),
        ({"a": np.zeros(3)}, {}, "holds arrays a; expected x"),
        (
            {"x": np.zeros((5, 3), np.float32), "y": np.zeros(5)},
            {"features": 4},
            r"expected feature vectors \(N, 4\)",
        ),
        (
            {"x": np.zeros((5, 3), np.float32), "y": np.zeros(5)},
            {},
            "for feature vectors set the Dataset's features",
        ),
        ({"x": np.full((5, 8, 8), 7.5, np.float32), "y": np.zeros(5)}, {}, "float pixels must be in 0..1"),
        ({"x": np.zeros((5, 8, 8), np.uint8), "y": np.array([0, 1, 2, 0.5, 1])}, {}, "label 0.5 of sample 3"),
        ({"x": np.zeros((5, 8, 8), np.uint8), "y": np.array([0, 1, -1, 0, 1])}, {}, "label -1 of sample 2"),
    ],
)
def test_bad_arrays_are_named(tmp_path, arrays, kwargs, words):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=words) as info:
        data.load_arrays(tmp_path / "bad.npz", size=8, classes=3, **kwargs)
    assert "bad.npz" in str(info.value)


def test_object_arrays_are_never_unpickled(tmp_path):
    np.save(tmp_path / "x.npy", np.array([{"evil": 1}] * 3, dtype=object), allow_pickle=True)
    np.save(tmp_path / "y.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not a readable NumPy file"):
        data.load_arrays(tmp_path)


# ---------------------------------------------------------------- CSV


def test_csv_with_header_label_by_name_and_class_names(tmp_path):
    rows = ["length,kind,width"] + [f"{i / 10},{'big' if i % 2 else 'small'},{i}" for i in range(40)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    split = data.load_csv(tmp_path / "t.csv", label_column="kind", features=2, classes=2, test_fraction=0.25)
    assert split.names == ("x", "label") and split.class_names == ("big", "small")
    assert split.train[0].shape == (30, 2) and split.test[0].shape == (10, 2)
    x, label = torch.cat([split.train[0], split.test[0]]), torch.cat([split.train[1], split.test[1]])
    assert torch.equal(label, (x[:, 1] % 2 == 0).long())  # small (1) where the width is even
    assert torch.allclose(x[:, 0] * 10, x[:, 1])


def test_csv_without_header_takes_the_last_column(tmp_path):
    (tmp_path / "n.csv").write_text("".join(f"{i},{-i},{i % 3}\n" for i in range(30)))
    split = data.load_csv(tmp_path / "n.csv", features=2, classes=3)
    assert split.class_names == ("0", "1", "2") and len(split.train[0]) == 24


@pytest.mark.parametrize(
    "text, kwargs, words",
    [
        ("a,b,label\n1,2,0\n3,x,1\n", {}, r"line 3, b: 'x' is not a number"),
        ("a,b,label\n1,2,0\n3,4\n", {}, "line 3: 2 values, expected 3"),
        ("1,2,0\n3,4,5\n", {}, "label 5 of sample 1 is outside 0..1"),
        ("1,2,0\n", {"label_column": "kind"}, "no header row"),
        ("a,b,label\n1,2,0\n", {"label_column": "kind"}, "no column named 'kind'"),
        (
            "a,b,c,label\n1,2,3,0\n",
            {},
            "3 feature columns besides the label, but the Dataset's features is 2",
        ),
        ("", {}, "the file is empty"),
        ("a,b,label\n1,nan,0\n", {}, "line 2: features must be finite"),
    ],
)
def test_bad_csv_is_named(tmp_path, text, kwargs, words):
    (tmp_path / "bad.csv").write_text(text)
    with pytest.raises(ValueError, match=words) as info:
        data.load_csv(tmp_path / "bad.csv", features=2, classes=2, test_fraction=0.5, **kwargs)
    assert "bad.csv" in str(info.value)


# ---------------------------------------------------------------- image folders


def test_image_folder_png_and_jpeg_resized_and_converted(tmp_path):
    write_image_folder(tmp_path / "png")
    split = data.load_image_folder(tmp_path / "png", size=12, channels=1, classes=3, test_fraction=0.25)
    assert split.class_names == ("circle", "cross", "square")
    assert split.train[0].shape == (18, 1, 12, 12) and split.test[0].shape == (6, 1, 12, 12)
    assert sorted(torch.cat([split.train[1], split.test[1]]).tolist()) == [0] * 8 + [1] * 8 + [2] * 8
    write_image_folder(tmp_path / "jpg", count=4, kinds=("circle", "square"), fmt="JPEG")
    colour = data.load_image_folder(tmp_path / "jpg", size=20, channels=3, classes=2, test_fraction=0.25)
    assert colour.train[0].shape == (6, 3, 20, 20) and float(colour.train[0].max()) > 0.3


def test_image_folder_with_train_and_test_folders(tmp_path):
    write_image_folder(tmp_path / "train", count=5, kinds=("circle", "square"))
    write_image_folder(tmp_path / "test", count=2, kinds=("circle", "square"))
    split = data.load_image_folder(tmp_path, size=20, channels=3, classes=2)
    assert len(split.train[0]) == 10 and len(split.test[0]) == 4


def test_bad_image_folders_are_named(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty: no class folders"):
        data.load_image_folder(tmp_path / "empty", classes=2)
    write_image_folder(tmp_path / "f", count=3, kinds=("circle", "square"))
    with pytest.raises(ValueError, match="2 class folders .circle, square. but the Dataset has classes=3"):
        data.load_image_folder(tmp_path / "f", classes=3)
    (tmp_path / "f" / "cross").mkdir()
    with pytest.raises(ValueError, match="cross: no images"):
        data.load_image_folder(tmp_path / "f", classes=3)
    (tmp_path / "f" / "cross" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ValueError, match="broken.png: not a readable image"):
        data.load_image_folder(tmp_path / "f", size=8, classes=3, workers=0)


# ---------------------------------------------------------------- splits and normalization


def test_splits_are_fixed_by_seed_disjoint_and_complete(tmp_path):
    x = np.arange(200, dtype=np.float32)[:, None]
    np.savez(tmp_path / "s.npz", x=x, y=np.arange(200) % 2)
    first = data.load_arrays(
        tmp_path / "s.npz", features=1, classes=2, val_fraction=0.1, test_fraction=0.2, seed=4
    )
    again = data.load_arrays(
        tmp_path / "s.npz", features=1, classes=2, val_fraction=0.1, test_fraction=0.2, seed=4
    )
    other = data.load_arrays(
        tmp_path / "s.npz", features=1, classes=2, val_fraction=0.1, test_fraction=0.2, seed=5
    )
    parts = [first.train[0][:, 0], first.validation[0][:, 0], first.test[0][:, 0]]
    assert [len(p) for p in parts] == [140, 20, 40]
    assert sorted(torch.cat(parts).tolist()) == list(range(200))
    assert all(
        torch.equal(a, b) for a, b in zip(first.test + first.validation, again.test + again.validation)
    )
    assert not torch.equal(first.test[0], other.test[0])
    assert "validation=20" in repr(first)


def test_normalization_uses_training_statistics_per_channel(tmp_path):
    rng = np.random.default_rng(1)
    x = np.concatenate(
        [
            rng.uniform(0, 0.5, (100, 8, 8, 1)),
            rng.uniform(0.5, 1, (100, 8, 8, 1)),
            rng.uniform(0.2, 0.3, (100, 8, 8, 1)),
        ],
        3,
    ).astype(np.float32)
    np.savez(tmp_path / "c.npz", x=x, y=np.zeros(100), x_test=x[:10] + 0.0, y_test=np.zeros(10))
    split = data.load_arrays(tmp_path / "c.npz", size=8, channels=3, classes=2, normalize=True)
    train = split.train[0]
    assert torch.allclose(train.mean((0, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(train.std((0, 2, 3)), torch.ones(3), atol=1e-3)
    assert torch.allclose(split.mean, torch.tensor([0.25, 0.75, 0.25]), atol=0.01)
    assert torch.allclose(split.fill, -split.mean / split.std)  # black, normalized
    # the test split is mapped with the training statistics
    assert torch.allclose(
        split.test[0],
        (torch.from_numpy(x[:10]).permute(0, 3, 1, 2) - split.mean[:, None, None]) / split.std[:, None, None],
        atol=1e-5,
    )


# ---------------------------------------------------------------- streaming


def test_streamed_splits_read_like_resident_ones(tmp_path):
    write_idx_folder(tmp_path, gz=False)
    resident = data.load_idx(tmp_path, size=16, classes=10, normalize=True)
    streamed = data.load_idx(tmp_path, size=16, classes=10, normalize=True, memory="stream", workers=0)
    assert not resident.streamed and streamed.streamed and "streamed" in repr(streamed)
    image, label = streamed.test
    assert len(image) == 60 and image.shape == (60, 1, 16, 16) and label.dtype == torch.int64
    assert torch.allclose(image[:5], resident.test[0][:5], atol=1e-6)
    assert torch.equal(label[:5], resident.test[1][:5]) and torch.equal(label[3], resident.test[1][3])
    assert torch.allclose(streamed.mean, resident.mean) and torch.allclose(streamed.std, resident.std)
    # an epoch covers every sample once, in an order the generator fixes
    def epoch():
        return data.StreamableBatches(streamed.train, 32, generator=torch.Generator().manual_seed(0))

    batches = epoch()
    assert len(batches) == 8
    first = [b[1] for b in batches]
    assert [len(b) for b in first] == [32] * 7 + [16]
    again = [b[1] for b in epoch()]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert sorted(torch.cat(first).tolist()) == sorted(resident.train[1].tolist())
    in_order = data.StreamableBatches(streamed.test, 25, shuffle=False, drop_last=True)
    ordered = torch.cat([b[0] for b in in_order])
    assert torch.allclose(ordered, resident.test[0][:50], atol=1e-6)


def test_data_over_the_resident_limit_stream_by_themselves_through_workers(tmp_path):
    write_image_folder(tmp_path, count=6, kinds=("circle", "square"))
    source = data.ImageFileSource(sorted(tmp_path.rglob("*.png")), [0] * 6 + [1] * 6, 16, 3)
    # 12 images of 3 x 16 x 16 are far below 2048 MB: resident; with a limit of 0 MB: streamed
    resident = data._assemble(source, None, ("image", "label"), 2, test_fraction=0.25)
    over = data._assemble(
        source, None, ("image", "label"), 2, test_fraction=0.25, max_resident_mb=0, workers=2
    )
    assert not resident.streamed and over.streamed
    assert over.train._worker_setup() == (2, None)  # the library's classes import in a fresh process
    got = torch.cat([b[0] for b in data.StreamableBatches(over.train, 4, shuffle=False)])
    assert got.shape == (9, 3, 16, 16) and torch.allclose(got, resident.train[0])


def test_a_bad_image_met_while_streaming_names_the_file(tmp_path):
    write_image_folder(tmp_path, count=3, kinds=("circle", "square"))
    (tmp_path / "square" / "9.png").write_bytes(b"garbage")
    split = data.load_image_folder(tmp_path, size=8, channels=1, classes=2, memory="stream", workers=0)
    with pytest.raises(ValueError, match="9.png: not a readable image"):
        for split_name in ("train", "test"):
            list(data.StreamableBatches(getattr(split, split_name), 2))


def test_copied_loaders_run_alone_streaming_through_forked_workers(tmp_path):
    """What an export holds: the loaders' copied source, exec'd outside any importable module
    (so workers are forked), against the library's own results."""
    from tests.test_datasets import _isolated

    write_idx_folder(tmp_path / "idx", gz=False)
    load_idx = _isolated("load_idx")
    copied = load_idx(tmp_path / "idx", size=16, classes=10, memory="stream", workers=2)
    assert type(copied.train).__module__ == "exported_training_script"
    batches = list(_isolated("StreamableBatches")(copied.train, 64, shuffle=False))
    own = data.load_idx(tmp_path / "idx", size=16, classes=10)
    assert torch.allclose(torch.cat([b[0] for b in batches]), own.train[0])
    write_image_folder(tmp_path / "img", count=2, kinds=("circle", "cross"))
    folder = _isolated("load_image_folder")(tmp_path / "img", size=8, classes=2, test_fraction=0.5)
    assert folder.train[0].shape == (2, 3, 8, 8)
    np.savez(tmp_path / "a.npz", x=np.zeros((4, 2)), y=[0, 1, 0, 1])
    assert _isolated("load_arrays")(tmp_path / "a.npz", features=2, classes=2, test_fraction=0.5).classes == 2
    (tmp_path / "c.csv").write_text("1,2,0\n3,4,1\n")
    assert _isolated("load_csv")(tmp_path / "c.csv", test_fraction=0.5).train[0].shape == (1, 2)
    assert _isolated("augment_images")(torch.zeros(2, 1, 4, 4), flip=True, crop=1).shape == (2, 1, 4, 4)


# ---------------------------------------------------------------- augmentation


def test_augmentation_flips_crops_and_shifts_per_image():
    images = torch.arange(2 * 1 * 4 * 5, dtype=torch.float32).reshape(2, 1, 4, 5) + 1
    assert torch.equal(data.augment_images(images), images)
    gen = torch.Generator().manual_seed(0)
    flipped = [data.augment_images(images, flip=True, generator=gen) for _ in range(20)]
    for out in flipped:
        for k in range(2):
            assert torch.equal(out[k], images[k]) or torch.equal(out[k], images[k].flip(2))
    assert any(torch.equal(out[0], images[0].flip(2)) for out in flipped)
    cropped = data.augment_images(images, crop=2, fill=-1.0, generator=torch.Generator().manual_seed(1))
    assert cropped.shape == images.shape
    for k in range(2):  # a shifted window: every value is the image's or the fill
        assert set(cropped[k].flatten().tolist()) <= set(images[k].flatten().tolist()) | {-1.0}
    shifted = data.augment_images(images, shift=1, generator=torch.Generator().manual_seed(2))
    assert set(shifted.flatten().tolist()) <= set(images.flatten().tolist())  # edges repeat, no fill
    repeat = [
        data.augment_images(images, flip=True, crop=1, shift=1, generator=torch.Generator().manual_seed(9))
        for _ in range(2)
    ]
    assert torch.equal(*repeat)
    colour = data.augment_images(
        torch.ones(3, 3, 6, 6),
        crop=6,
        fill=torch.tensor([-1.0, 0.0, 2.0]),
        generator=torch.Generator().manual_seed(3),
    )
    corner = colour[:, :, 0, 0]  # a window moved fully onto the border sees the fill per channel
    assert all(set(corner[:, c].tolist()) <= {1.0, [-1.0, 0.0, 2.0][c]} for c in range(3))
    with pytest.raises(ValueError, match="N, C, H, W"):
        data.augment_images(torch.zeros(3, 4))


def test_augment_hook_renders_the_call_the_training_step_makes():
    def values(**kw):
        return Values(DATASET.validate({"dataset": "mnist", **kw}))

    assert DATASET.data.augment(values()) is None
    c = DATASET.data.augment(values(flip=True, crop=4))
    text = call(c, {"<image>": "image"})
    assert text == "augment_images(image, flip=True, crop=4, fill=self.data.fill, generator=self.rng)"

    class Run:  # what the generated Training has: self.data and self.rng
        data = data.SplitData(
            (torch.zeros(4, 1, 8, 8), torch.zeros(4)),
            (torch.zeros(1), torch.zeros(1)),
            ("image", "label"),
            fill=-1.0,
        )
        rng = torch.Generator().manual_seed(0)

    namespace = {"self": Run(), "image": torch.ones(4, 1, 8, 8), "augment_images": data.augment_images}
    out = eval(text, namespace)  # noqa: S307 - our own generated text, as train.py runs it
    assert out.shape == (4, 1, 8, 8) and set(out.unique().tolist()) <= {-1.0, 1.0}


# ---------------------------------------------------------------- paths


@pytest.mark.parametrize(
    "good",
    [
        "data/train.csv",
        "/srv/data/x.npz",
        "~/mnist",
        "../shared/imgs",
        r"C:\data\train.csv",
        "C:/data",
        "",
        "my data (v2)/file_1-2.csv",
    ],
)
def test_path_kind_accepts_ordinary_paths(good):
    assert FilePath().validate(good) == good


@pytest.mark.parametrize(
    "bad",
    [
        "http://example.com/x.csv",
        "file:///etc/passwd",
        "ftp:x",
        "a\nb",
        "x.csv; rm -rf /",
        "$(whoami).csv",
        "`id`",
        "a|b",
        " lead",
        "C:x:y",
        "data\x00.csv",
        3,
        None,
        "x" * 2000,
    ],
)
def test_path_kind_refuses_urls_control_and_shell_characters(bad):
    with pytest.raises(ParamError):
        FilePath().validate(bad)


def test_relative_paths_resolve_against_root_then_environment_then_cwd(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f.csv").write_text("1,0\n2,1\n")
    assert data._resolve_path("f.csv", tmp_path / "a") == tmp_path / "a" / "f.csv"
    monkeypatch.setenv("STUDIO_DATA_ROOT", str(tmp_path / "a"))
    assert data._resolve_path("f.csv") == tmp_path / "a" / "f.csv"
    monkeypatch.delenv("STUDIO_DATA_ROOT")
    monkeypatch.chdir(tmp_path)
    assert data._resolve_path("a/f.csv") == tmp_path / "a" / "f.csv"
    with pytest.raises(FileNotFoundError, match=f"resolves against {tmp_path}"):
        data._resolve_path("missing.csv")
    with pytest.raises(ValueError, match="no path given"):
        data._resolve_path("")


# ---------------------------------------------------------------- the declaration


@pytest.mark.parametrize(
    "params, shapes",
    [
        ({"dataset": "mnist"}, {"image": (1, 32, 32)}),
        ({"dataset": "cifar10", "channels": 3, "size": 24}, {"image": (3, 24, 24)}),
        ({"dataset": "folder", "path": "imgs", "channels": 3, "size": 64}, {"image": (3, 64, 64)}),
        ({"dataset": "idx", "path": "d", "size": 28}, {"image": (1, 28, 28)}),
        ({"dataset": "npz", "path": "a.npz", "features": 7}, {"x": (7,)}),
        ({"dataset": "npz", "path": "a.npz"}, {"image": (1, 32, 32)}),
        ({"dataset": "csv", "path": "t.csv", "features": 4}, {"x": (4,)}),
        ({"dataset": "digits"}, {"image": (1, 32, 32)}),
        ({"dataset": "moons"}, {"x": (2,)}),
    ],
)
def test_shapes_per_choice(params, shapes):
    p = Values(DATASET.validate(params))
    out = DATASET.shape(p, {})
    assert {k: t.shape for k, t in out.items() if k != "label"} == shapes
    assert out["label"].dtype == "long"
    assert [port.name for port in DATASET.output_ports(p)] == list(out)


@pytest.mark.parametrize(
    "params, field, words",
    [
        ({"dataset": "csv", "features": 3}, "path", "choose the CSV file"),
        ({"dataset": "csv", "path": "t.csv"}, "features", "number of feature columns"),
        ({"dataset": "moons", "flip": True}, "flip", "feature vectors"),
        ({"dataset": "image", "crop": 2}, "crop", "pixels of one image"),
        ({"dataset": "digits", "normalize": True}, "normalize", "built in"),
        ({"dataset": "digits", "path": "x"}, "path", "reads no path"),
        ({"dataset": "idx", "path": "d", "label_column": "kind"}, "label_column", "only CSV"),
        (
            {"dataset": "folder", "path": "d", "val_fraction": 0.5, "test_fraction": 0.5},
            "val_fraction",
            "nothing to train on",
        ),
    ],
)
def test_bad_combinations_are_reported_on_the_field(params, field, words):
    project = Project("P")
    node = project.training.add("Dataset", id="data", **params)
    from studio.core.inference import analyze

    problems = analyze(project).problems
    assert any(p.node == node and p.field == field and words in p.message for p in problems), problems


def test_existing_choices_generate_exactly_the_calls_they_did():
    def load(**params):
        return call(DATASET.data.load(Values(DATASET.validate(params))))

    assert (
        load(dataset="digits", size=32)
        == "load_digits(data_dir, size=32, value_range=(0.0, 1.0), device=device)"
    )
    assert load(dataset="shapes") == (
        "make_shapes(count=2000, size=32, channels=1, seed=0, value_range=(0.0, 1.0), device=device)"
    )
    assert (
        load(dataset="moons")
        == "make_toy_2d('moons', count=2000, noise=0.1, classes=3, seed=0, device=device)"
    )
    assert (
        load(dataset="mnist")
        == "load_standard('mnist', size=32, channels=1, value_range=(0.0, 1.0), device=device)"
    )
    assert load(
        dataset="csv", path="d/t.csv", features=3, label_column="kind", classes=2, normalize=True
    ) == ("load_csv('d/t.csv', label_column='kind', features=3, classes=2, normalize=True, device=device)")
    assert load(dataset="folder", path="imgs", channels=3, val_fraction=0.1, memory="stream", seed=2) == (
        "load_image_folder('imgs', size=32, channels=3, classes=3, value_range=(0.0, 1.0), val_fraction=0.1, "
        "seed=2, memory='stream', device=device)"
    )
    # every loader the declaration names exists in the library and takes what it is given
    for params in (
        {"dataset": "idx", "path": "d"},
        {"dataset": "npz", "path": "a", "features": 2},
        {"dataset": "kmnist", "path": "cache"},
    ):
        c = DATASET.data.load(Values(DATASET.validate(params)))
        accepted = inspect.signature(getattr(data, c.func)).parameters
        assert set(c.kwargs) <= set(accepted), c


def test_the_data_role_streams_exactly_where_the_loader_can_stream():
    """The training script batches with StreamableBatches where ``streams`` says so; a loader
    that can make a StreamSplit but were not declared streaming would export a script whose
    plain TensorBatches read a streamed split whole, every epoch, instead of in batches."""
    paths = {"idx": "d", "npz": "a", "csv": "t.csv", "folder": "imgs"}
    for choice in DATASET.param("dataset").kind.options:
        params = {"dataset": choice, "path": paths.get(choice, "")}
        if choice == "csv":
            params["features"] = 2
        values = Values(DATASET.validate(params))
        can_stream = "StreamSplit" in with_dependencies([DATASET.data.load(values).func])
        assert DATASET.data.streams(values) == can_stream, choice
        if can_stream:
            resident = Values(DATASET.validate(dict(params, memory="resident")))
            assert not DATASET.data.streams(resident), choice


def test_a_file_dataset_trains_from_the_generated_code(tmp_path, monkeypatch):
    """The one declaration, all the way: check, generate, load the code, train, on a CSV file
    given by a path relative to the data root."""
    from studio.core.inference import analyze
    from studio.engine.runner import RunConfig
    from studio.engine.trainer import train_project

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    rows = "a,b,c,label\n" + "".join(f"{a:.4f},{b:.4f},{c:.4f},{int(a + b > 0)}\n" for a, b, c in x)
    (tmp_path / "points.csv").write_text(rows)
    monkeypatch.setenv("STUDIO_DATA_ROOT", str(tmp_path))
    p = Project("CSV")
    t = p.training
    t.configure(batch_size=32, log_every=10)
    d = t.add("Dataset", id="points", dataset="csv", path="points.csv", features=3, classes=2, normalize=True)
    logits = t.stack(d["x"], ("Linear", dict(out_features=16)), "ReLU", ("Linear", dict(out_features=2)))
    loss = t.add("CrossEntropy", id="loss")
    t.connect(logits, loss["input"])
    t.connect(d["label"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam", lr=1e-2))
    assert analyze(p).ok
    result = train_project(p, RunConfig(steps=150), progress=False)
    assert result.evaluation["test_accuracy"] > 0.85
    loaded = download.load_dataset(t.nodes["points"].params, root=tmp_path)
    assert loaded.train[0].shape == (240, 3)


def test_a_missing_file_becomes_a_training_error_on_the_dataset_node(tmp_path, monkeypatch):
    from studio.engine.errors import TrainingError
    from studio.engine.runner import RunConfig
    from studio.engine.trainer import train_project

    monkeypatch.setenv("STUDIO_DATA_ROOT", str(tmp_path))
    p = Project("Missing")
    t = p.training
    d = t.add("Dataset", id="imgs", dataset="folder", path="nowhere", classes=2, size=8)
    head = t.stack(d["image"], "Flatten", ("Linear", dict(out_features=2)))
    loss = t.add("CrossEntropy", id="loss")
    t.connect(head, loss["input"])
    t.connect(d["label"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam"))
    with pytest.raises(TrainingError) as info:
        train_project(p, RunConfig(steps=1), progress=False)
    assert info.value.node == ("training", "imgs") and "nowhere: no such file or folder" in str(info.value)
