"""Data sources of the training graph: datasets, noise and fixed class labels.

One declaration covers every kind of dataset: the built-in sets (digits, shapes, the 2-D sets,
the image field), the standard sets downloaded into a cache (mnist, fashion_mnist, kmnist,
cifar10) and the user's files (idx, npz, csv, folder). The shape rule, the checks, the loader
call in generated code and the augmentation call all read the parameters below; no file is
opened to check a graph.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.blocks._common import Call, Param, Port, Raw, ShapeError, TensorType, declare
from studio.core.params import Bool, Choice, FilePath, Float, Int, Name, Optional, ParamError
from studio.core.registry import TRAINING, When
from studio.core.roles import DataRole, DrawnRole


@dataclass(frozen=True)
class BundledSet:
    """A data set of feature vectors shipped as ``resources/data/<file>`` (arrays x, y, x_test,
    y_test, read by the runtime library's ``load_bundled``). One entry in BUNDLED and its file
    add it to the Dataset block: its choice, ports, shape, classes, loader call and export."""

    name: str
    file: str
    features: int
    classes: int
    about: str  # a sentence for the Dataset block's explanation


BUNDLED = {s.name: s for s in (
    BundledSet("waves", "waves.npz", features=32, classes=3,
               about="waves: 1,000 noisy signals of 32 samples, each a sine, a square or a "
                     "sawtooth wave of random frequency and phase (800 train, 200 held out), "
                     "for MLPs and 1-D convolutions; made by scripts/make_waves.py."),
)}

IMAGE_SETS = ("digits", "shapes", "textures")
TOY_SETS = ("moons", "circles", "spirals", "blobs")
CURVE_SETS = ("sines", "steps", "bumps")  # one number to one number: x on [-1, 1], y = f(x)
FIELD_SETS = ("image",)
STANDARD_SETS = ("mnist", "fashion_mnist", "kmnist", "cifar10")
FILE_SETS = ("idx", "npz", "csv", "folder")
LABEL = TensorType((), "long")

_SPLIT_SETS = STANDARD_SETS + FILE_SETS  # the sets with a path, splits and memory choices
_PICTURES = ("shapes", "textures") + STANDARD_SETS + ("idx", "folder")  # images in grey or colour
_NPZ_IMAGES = When("dataset", "npz") & When("features", 0)
# the datasets that give images (which the augmentation, size and range act on)
_IMAGES = When("dataset", "digits", *_PICTURES) | _NPZ_IMAGES

# files under resources/data the built-in sets read (an export copies them to data/)
_FILES = {"digits": "digits.npz", "image": "siren.npz"} | {s.name: s.file for s in BUNDLED.values()}
_LOADERS = {"digits": "load_digits", "shapes": "make_shapes", "textures": "make_shapes",
            "image": "load_image_field", "idx": "load_idx", "npz": "load_arrays", "csv": "load_csv",
            "folder": "load_image_folder"}


def _vectors(p) -> bool:
    """Whether the dataset gives feature vectors x (rather than images)."""
    return (p.dataset in TOY_SETS or p.dataset in BUNDLED or p.dataset == "csv"
            or (p.dataset == "npz" and p.features > 0))


def _dataset_ports(p):
    if _vectors(p):
        names = ("x", "label")
    elif p.dataset in FIELD_SETS:
        names = ("coords", "pixel")
    elif p.dataset in CURVE_SETS:
        names = ("x", "y")
    else:
        names = ("image", "label")
    return tuple(Port(n) for n in names)


def dataset_classes(p) -> int:
    fixed = {"digits": 10, "shapes": 4, "textures": 4, "moons": 2, "circles": 2}
    fixed.update(dict.fromkeys(CURVE_SETS, 0))
    fixed.update(dict.fromkeys(STANDARD_SETS, 10))
    fixed.update({s.name: s.classes for s in BUNDLED.values()})
    return fixed.get(p.dataset, p.classes)


def _dataset_shape(p, ins):
    if p.dataset in TOY_SETS:
        return {"x": TensorType((2,)), "label": LABEL}
    if p.dataset in FIELD_SETS:
        return {"coords": TensorType((2,)), "pixel": TensorType((p.channels,))}
    if p.dataset in CURVE_SETS:
        return {"x": TensorType((1,)), "y": TensorType((1,))}
    if p.dataset in BUNDLED:
        return {"x": TensorType((BUNDLED[p.dataset].features,)), "label": LABEL}
    if _vectors(p):
        return {"x": TensorType((p.features,)), "label": LABEL}
    channels = 1 if p.dataset == "digits" else p.channels
    return {"image": TensorType((channels, p.size, p.size)), "label": LABEL}


def _validate(p):
    if p.dataset == "digits" and p.channels != 1:
        raise ParamError("channels: digits are greyscale; set channels to 1")
    if p.dataset in FILE_SETS and not p.path:
        raise ParamError(f"path: choose the {_WHAT[p.dataset]} to load")
    if p.dataset == "csv" and p.features < 1:
        raise ParamError("features: set the number of feature columns of the CSV file (every "
                         "column but the label)")
    if p.label_column is not None and p.dataset != "csv":
        raise ParamError("label_column: only CSV files have named columns; clear it")
    if p.path and p.dataset not in FILE_SETS + STANDARD_SETS:
        raise ParamError(f"path: {p.dataset} is built in and reads no path; clear it")
    if p.dataset in FILE_SETS + STANDARD_SETS:
        if p.val_fraction + (0.0 if p.dataset in STANDARD_SETS else p.test_fraction) >= 0.95:
            raise ParamError("val_fraction: the validation and test shares leave (almost) nothing "
                             "to train on")
    else:
        for name, unset in (("normalize", False), ("val_fraction", 0.0), ("memory", "auto")):
            if getattr(p, name) != unset:
                raise ParamError(f"{name}: only the standard sets and files support this; "
                                 f"{p.dataset} is built in")
    images = _dataset_ports(p)[0].name == "image"
    for name in ("flip", "crop", "shift"):
        if getattr(p, name) and not images:
            gives = ("feature vectors" if _vectors(p) else "numbers" if p.dataset in CURVE_SETS
                     else "pixels of one image")
            raise ParamError(f"{name}: augmentation changes images, and {p.dataset} gives {gives}")


_WHAT = {"idx": "IDX file or folder", "npz": ".npz file or folder of .npy files",
         "csv": "CSV file", "folder": "folder of class folders"}


def _split_kwargs(p, files: bool) -> dict:
    """Keyword arguments of the loader that differ from its defaults (splits, memory)."""
    out = {}
    if p.normalize:
        out["normalize"] = True
    if p.val_fraction:
        out["val_fraction"] = p.val_fraction
    if files and p.test_fraction != 0.2:
        out["test_fraction"] = p.test_fraction
    if p.seed:
        out["seed"] = p.seed
    if p.memory != "auto":
        out["memory"] = p.memory
    return out


def _load_call(p) -> Call:
    lo, hi = (-1.0, 1.0) if p.range == "-1..1" else (0.0, 1.0)
    if p.dataset == "digits":
        return Call("load_digits", (Raw("data_dir"),), {"size": p.size, "value_range": (lo, hi),
                                                        "device": Raw("device")})
    if p.dataset in ("shapes", "textures"):
        return Call("make_shapes", (), {"count": p.count, "size": p.size, "channels": p.channels,
                                        "seed": p.seed, "value_range": (lo, hi),
                                        "device": Raw("device")}
                    | ({"texture": True} if p.dataset == "textures" else {}))
    if p.dataset in BUNDLED:
        bundled = BUNDLED[p.dataset]
        return Call("load_bundled", (Raw("data_dir"), bundled.file),
                    {"classes": bundled.classes, "device": Raw("device")})
    if p.dataset in TOY_SETS:
        return Call("make_toy_2d", (p.dataset,), {"count": p.count, "noise": p.noise,
                                                  "classes": p.classes, "seed": p.seed,
                                                  "device": Raw("device")})
    if p.dataset in CURVE_SETS:
        return Call("make_curve_1d", (p.dataset,), {"count": p.count, "noise": p.noise,
                                                    "seed": p.seed, "device": Raw("device")})
    if p.dataset in STANDARD_SETS:
        kwargs = {"cache_dir": p.path} if p.path else {}
        kwargs.update(size=p.size, channels=p.channels, value_range=(lo, hi))
        kwargs.update(_split_kwargs(p, files=False))
        return Call("load_standard", (p.dataset,), dict(kwargs, device=Raw("device")))
    if p.dataset in FILE_SETS:
        kwargs = {}
        if p.dataset == "csv":
            if p.label_column is not None:
                kwargs["label_column"] = p.label_column
            kwargs["features"] = p.features
        elif p.dataset == "npz" and p.features:
            kwargs["features"] = p.features
        else:
            kwargs.update(size=p.size, channels=p.channels)
        kwargs["classes"] = p.classes
        if p.dataset != "csv" and not (p.dataset == "npz" and p.features):
            kwargs["value_range"] = (lo, hi)
        kwargs.update(_split_kwargs(p, files=True))
        return Call(_LOADERS[p.dataset], (p.path,), dict(kwargs, device=Raw("device")))
    return Call("load_image_field", (Raw("data_dir"),), {"name": "siren", "size": p.size,
                                                         "channels": p.channels,
                                                         "device": Raw("device")})


def _files(p) -> tuple:
    return (_FILES[p.dataset],) if p.dataset in _FILES else ()


def _download(p) -> tuple | None:
    """(standard set, cache folder or None) fetched before training; None for other sets."""
    return (p.dataset, p.path or None) if p.dataset in STANDARD_SETS else None


def _augment_call(p) -> Call | None:
    """``augment_images(<image>, ...)`` for the training step, or None when nothing is asked.

    ``Raw("<image>")`` stands for the variable that holds the batch's images; the generator
    substitutes it (``render.call(c, {"<image>": name})``) and emits
    ``image = augment_images(image, ...)`` right after binding the batch in ``train_step``.
    """
    if not (p.flip or p.crop or p.shift):
        return None
    kwargs = {}
    if p.flip:
        kwargs["flip"] = True
    if p.crop:
        kwargs["crop"] = p.crop
    if p.shift:
        kwargs["shift"] = p.shift
    if p.crop:
        kwargs["fill"] = Raw("self.data.fill")
    kwargs["generator"] = Raw("self.rng")
    return Call("augment_images", (Raw("<image>"),), kwargs)


declare(
    id="Dataset", category="data", title="Dataset", where=frozenset({TRAINING}),
    help="A dataset: built in, downloaded once (MNIST, CIFAR-10 ...), or your own files.",
    explanation="digits: the 1,797 8x8 handwritten digits (1,497 train, 300 held out), resizable "
                "(LeNet wants 32). shapes: generated circles, squares, triangles and crosses. "
                "textures: the same shapes in fine stripes on fainter stripes, where moving an "
                "image by one pixel matters (the shift lesson). "
                "moons, circles, spirals, blobs: 2-D points for small MLPs. sines, steps, bumps: "
                "one number to one number, x on [-1, 1] and y = f(x) plus noise (a sum of "
                "sines, a staircase, two narrow bumps), for fitting a function (the universal "
                "approximation lesson). image: the bundled "
                "picture as (coordinate -> colour) pairs for SIREN fitting. mnist, fashion_mnist, "
                "kmnist (28x28 grey) and cifar10 (32x32 colour): 60,000 images with the "
                "official test split, downloaded once into ~/.cache/studio/datasets (or "
                "$STUDIO_DATA_DIR, or path). idx, npz, csv, folder: your files (path; a "
                "relative one starts at $STUDIO_DATA_ROOT, which Studio sets to the project's "
                "folder, else the current folder). Images are resized to size and "
                "converted to channels. Data too large for memory stream from disk. "
                + " ".join(s.about for s in BUNDLED.values()),
    inputs=(), outputs=_dataset_ports,
    params=(
        Param("dataset", Choice(IMAGE_SETS + TOY_SETS + CURVE_SETS + tuple(BUNDLED) + FIELD_SETS
                                + STANDARD_SETS + FILE_SETS),
              "digits", "which data", label="Dataset"),
        Param("size", Int(4, 1024), 32, "image side in pixels (images are resized to it)",
              label="Image size (px)",
              applies=When("dataset", "digits", *_PICTURES, *FIELD_SETS) | _NPZ_IMAGES),
        Param("channels", Choice((1, 3)), 1, "1 for grey, 3 for colour (images are converted)",
              label="Channels", applies=When("dataset", *_PICTURES, *FIELD_SETS) | _NPZ_IMAGES),
        Param("range", Choice(("0..1", "-1..1")), "0..1", "value range of image pixels",
              label="Pixel range", applies=_IMAGES),
        Param("count", Int(10, 1_000_000), 2000, "samples to generate (shapes, 2-D and 1-D sets)",
              label="Samples", applies=When("dataset", "shapes", "textures", *TOY_SETS, *CURVE_SETS)),
        Param("classes", Int(2, 100), 3, "classes of spirals, blobs and your files",
              label="Classes", applies=When("dataset", "spirals", "blobs", *FILE_SETS)),
        Param("noise", Float(0.0, 10.0), 0.1, "noise of the 2-D sets; of y in the 1-D sets",
              label="Noise", applies=When("dataset", *TOY_SETS, *CURVE_SETS)),
        Param("seed", Int(0, 2**31 - 1), 0, "seed of generated data and of the splits",
              label="Data seed",
              applies=When("dataset", "shapes", "textures", *TOY_SETS, *CURVE_SETS, *_SPLIT_SETS)),
        Param("path", FilePath(), "", "your file or folder (idx, npz, csv, folder); for the "
              "standard sets, a cache folder instead of the default", label="File or folder",
              applies=When("dataset", *_SPLIT_SETS)),
        Param("features", Int(0, 1 << 20), 0, "length of feature vectors (csv; npz of vectors); "
              "0: the npz holds images", label="Features", applies=When("dataset", "csv", "npz")),
        Param("label_column", Optional(Name()), None, "CSV column of the labels (default: the "
              "last)", label="Label column", applies=When("dataset", "csv")),
        Param("val_fraction", Float(0.0, 0.9), 0.0, "share of the training samples kept aside "
              "for validation", label="Validation share", applies=When("dataset", *_SPLIT_SETS)),
        Param("test_fraction", Float(0.0, 0.9), 0.2, "share held out for testing when your "
              "files have no test split", label="Test share", applies=When("dataset", *FILE_SETS)),
        Param("normalize", Bool(), False, "scale each channel to mean 0, std 1 (training-split "
              "statistics) instead of the range", label="Normalize",
              applies=When("dataset", *_SPLIT_SETS)),
        Param("flip", Bool(), False, "augment: mirror training images left-right at random",
              label="Random flips", applies=_IMAGES),
        Param("crop", Int(0, 64), 0, "augment: pad by this many pixels, then crop at random",
              label="Random crop (px)", applies=_IMAGES),
        Param("shift", Int(0, 64), 0, "augment: move training images by up to this many pixels",
              label="Random shift (px)", applies=_IMAGES),
        Param("memory", Choice(("auto", "resident", "stream")), "auto", "auto: on the device "
              "when it takes at most 2 GB as float32, else streamed from disk", label="Memory",
              applies=When("dataset", *_SPLIT_SETS)),
    ),
    validate_params=_validate, shape=_dataset_shape,
    data=DataRole(load=_load_call, classes=dataset_classes, augment=_augment_call, files=_files,
                  download=_download, whole_image=lambda p: p.dataset in FIELD_SETS,
                  streams=lambda p: p.dataset in _SPLIT_SETS and p.memory != "resident",
                  pictures=lambda p: "image" if _dataset_ports(p)[0].name == "image" else None),
)


def _fixed_noise(p, count: str, generator: str) -> str:
    """The noise previews draw once, from their own generator: the same samples all run."""
    if p.distribution == "normal":
        return f"torch.randn({count}, {p.size!r}, generator={generator})"
    return f"2 * torch.rand({count}, {p.size!r}, generator={generator}) - 1"


def _noise_forward(p, a, attr):
    if p.distribution == "normal":
        return f"torch.randn({a['n']}, {p.size!r}, device={a['device']})"
    return f"torch.rand({a['n']}, {p.size!r}, device={a['device']}) * 2 - 1"


declare(
    id="Noise", category="data", title="Noise", where=frozenset({TRAINING}),
    help="Random latent vectors: a fresh batch each step, a fixed batch for previews.",
    explanation="Draws latent vectors z from a standard normal or a uniform distribution on "
                "[-1, 1]; the input of a generator or of a decoder sampling from the prior.",
    inputs=(), outputs=(Port("z"),),
    params=(
        Param("size", Int(1, 1 << 16), 100, "latent dimensions"),
        Param("distribution", Choice(("normal", "uniform")), "normal", "normal or uniform"),
    ),
    shape=lambda p, ins: {"z": TensorType((p.size,))},
    forward=_noise_forward, drawn=DrawnRole(fixed_preview=_fixed_noise),
)


def _labels_check(p, ins):
    if p.classes < 1:
        raise ShapeError("needs at least one class", "classes")


declare(
    id="ClassLabels", category="data", title="Class labels", where=frozenset({TRAINING}),
    help="Labels 0..classes-1 in equal runs: one row per class in a preview grid.",
    explanation="Feeds a conditional generator the classes to draw: the batch is split into "
                "equal runs of 0, 1, 2 ..., so a preview grid shows one class per row.",
    inputs=(), outputs=(Port("label"),),
    params=(Param("classes", Int(1, 1000), 10, "number of classes"),),
    check=_labels_check,
    shape=lambda p, ins: {"label": LABEL},
    forward=lambda p, a, attr: f"torch.arange({a['n']}, device={a['device']}) * {p.classes!r} "
                               f"// {a['n']}",
    drawn=DrawnRole(class_rows=lambda p: p.classes),
)
