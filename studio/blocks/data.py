"""Data sources of the training graph: built-in datasets, noise and fixed class labels."""

from __future__ import annotations

from studio.blocks._common import Call, Param, Port, Raw, ShapeError, TensorType, declare
from studio.core.params import Choice, Float, Int, ParamError
from studio.core.registry import TRAINING

IMAGE_SETS = ("digits", "shapes")
TOY_SETS = ("moons", "circles", "spirals", "blobs")
FIELD_SETS = ("image",)
LABEL = TensorType((), "long")


def _dataset_ports(p):
    if p.dataset in TOY_SETS:
        names = ("x", "label")
    elif p.dataset in FIELD_SETS:
        names = ("coords", "pixel")
    else:
        names = ("image", "label")
    return tuple(Port(n) for n in names)


def dataset_classes(p) -> int:
    return {"digits": 10, "shapes": 4, "moons": 2, "circles": 2}.get(p.dataset, p.classes)


def _dataset_shape(p, ins):
    if p.dataset in TOY_SETS:
        return {"x": TensorType((2,)), "label": LABEL}
    if p.dataset in FIELD_SETS:
        return {"coords": TensorType((2,)), "pixel": TensorType((p.channels,))}
    channels = 1 if p.dataset == "digits" else p.channels
    return {"image": TensorType((channels, p.size, p.size)), "label": LABEL}


def _validate(p):
    if p.dataset == "digits" and p.channels != 1:
        raise ParamError("channels: digits are greyscale; set channels to 1")


def _load_call(p) -> Call:
    lo, hi = (-1.0, 1.0) if p.range == "-1..1" else (0.0, 1.0)
    if p.dataset == "digits":
        return Call("load_digits", (Raw("data_dir"),), {"size": p.size, "value_range": (lo, hi),
                                                        "device": Raw("device")})
    if p.dataset == "shapes":
        return Call("make_shapes", (), {"count": p.count, "size": p.size, "channels": p.channels,
                                        "seed": p.seed, "value_range": (lo, hi),
                                        "device": Raw("device")})
    if p.dataset in TOY_SETS:
        return Call("make_toy_2d", (p.dataset,), {"count": p.count, "noise": p.noise,
                                                  "classes": p.classes, "seed": p.seed,
                                                  "device": Raw("device")})
    return Call("load_image_field", (Raw("data_dir"),), {"name": "siren", "size": p.size,
                                                         "channels": p.channels,
                                                         "device": Raw("device")})


_LOADERS = {"digits": "load_digits", "shapes": "make_shapes", "image": "load_image_field"}

declare(
    id="Dataset", category="data", title="Dataset", where=frozenset({TRAINING}),
    help="A built-in dataset, resident in memory: images or points with labels.",
    explanation="digits: the 1,797 8x8 handwritten digits (1,497 train, 300 held out), resizable "
                "(LeNet wants 32). shapes: generated circles, squares, triangles and crosses. "
                "moons, circles, spirals, blobs: 2-D points for small MLPs. image: the bundled "
                "picture as (coordinate -> colour) pairs for SIREN fitting.",
    inputs=(), outputs=_dataset_ports,
    params=(
        Param("dataset", Choice(IMAGE_SETS + TOY_SETS + FIELD_SETS), "digits", "which data"),
        Param("size", Int(4, 1024), 32, "image side in pixels (images and the fitted image)"),
        Param("channels", Choice((1, 3)), 1, "1 for grey, 3 for colour"),
        Param("range", Choice(("0..1", "-1..1")), "0..1", "value range of image pixels"),
        Param("count", Int(10, 1_000_000), 2000, "samples to generate (shapes, 2-D sets)"),
        Param("classes", Int(2, 100), 3, "classes of spirals and blobs"),
        Param("noise", Float(0.0, 10.0), 0.1, "noise of the 2-D sets"),
        Param("seed", Int(0, 2**31 - 1), 0, "seed of generated data"),
    ),
    validate_params=_validate, shape=_dataset_shape,
    extra={"load": _load_call, "classes": dataset_classes,
           "helper": lambda p: _LOADERS.get(p.dataset, "make_toy_2d")},
)


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
    forward=_noise_forward,
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
)
