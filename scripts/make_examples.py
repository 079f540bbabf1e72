"""Build the example projects in examples/ with Studio's Python API.

    python scripts/make_examples.py          # rewrite examples/*.studio
    python scripts/make_examples.py --check  # exit 1 if a file differs from what this builds

The files are data; this script is how they were made and how to refresh them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.core.fileformat import dumps  # noqa: E402
from studio.core.layout import layout_project  # noqa: E402
from studio.core.project import Project  # noqa: E402
from studio.core.templates import dcgan, variational_autoencoder  # noqa: E402


def lenet(name: str = "LeNet", dataset: str = "digits", **settings) -> Project:
    """The course's LeNet: 32x32 grey digits, 6 maps 5x5, average pool, 16 maps 5x5, average
    pool, 120, 84, 10 (61,706 parameters), trained with Adam on cross-entropy."""
    p = Project(name)
    t = p.training
    t.configure(**(settings or dict(batch_size=64, epochs=12, log_every=10)))
    data = t.add("Dataset", title=dataset, id=dataset, dataset=dataset, size=32)
    logits = t.stack(
        data["image"],
        ("Conv2d", "conv1", dict(out_channels=6, kernel_size=5)), "Tanh",
        ("AvgPool2d", "pool1", dict(kernel_size=2)),
        ("Conv2d", "conv2", dict(out_channels=16, kernel_size=5)), "Tanh",
        ("AvgPool2d", "pool2", dict(kernel_size=2)),
        "Flatten",
        ("Linear", "fc1", dict(out_features=120)), "Tanh",
        ("Linear", "fc2", dict(out_features=84)), "Tanh",
        ("Linear", "fc3", dict(out_features=10)),
    )
    loss = t.add("CrossEntropy", title="loss", id="loss")
    t.connect(logits, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("Adam", title="adam", id="adam", lr=1e-3))
    return p


def basic_block(p: Project):
    """ResNet's basic block as one reusable network with arguments ``width`` and ``stride``:
    two 3x3 convolutions with batch norm, added to a shortcut (identity, or a 1x1 projection
    where the shape changes)."""
    net = p.network("BasicBlock")
    width = net.arg("width", default=64, help="output channels")
    stride = net.arg("stride", default=1, help="2 halves the resolution")
    x = net.add("Input", id="x")
    body = net.stack(
        x,
        ("Conv2d", "conv1", dict(out_channels=width, kernel_size=3, stride=stride, padding=1,
                                 bias=False)),
        ("BatchNorm2d", "bn1", {}), ("ReLU", "relu1", {}),
        ("Conv2d", "conv2", dict(out_channels=width, kernel_size=3, padding=1, bias=False)),
        ("BatchNorm2d", "bn2", {}),
    )
    shortcut = net.add("Shortcut", title="shortcut", out_channels=width, stride=stride)
    net.connect(x, shortcut)
    add = net.add("Add", title="add")
    net.connect(body, add)
    net.connect(shortcut, add)
    net.chain(add, net.add("ReLU", title="relu2"), net.add("Output", id="out"))
    return net


def classifier_head(t, data, logits, optimizer: str, **opt):
    loss = t.add("CrossEntropy", title="loss", id="loss")
    t.connect(logits, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add(optimizer, title=optimizer.lower(), id=optimizer.lower(), **opt))


def resnet18() -> Project:
    """ResNet-18 for 3x224x224 images and 1,000 classes: 11,689,512 parameters, the eight
    residual blocks all instances of one BasicBlock network."""
    p = Project("ResNet18")
    basic_block(p)
    net = p.network("ResNet18")
    x = net.add("Input", id="image")
    prev = net.stack(
        x,
        ("Conv2d", "conv1", dict(out_channels=64, kernel_size=7, stride=2, padding=3, bias=False)),
        ("BatchNorm2d", "bn1", {}), ("ReLU", "relu", {}),
        ("MaxPool2d", "maxpool", dict(kernel_size=3, stride=2, padding=1)),
    )
    for stage, width in enumerate((64, 128, 256, 512), 1):
        for index in range(2):
            stride = 2 if stage > 1 and index == 0 else 1
            args = {"width": width} if stride == 1 else {"width": width, "stride": 2}
            block = p.instance(net, "BasicBlock", id=f"layer{stage}_{index}", **args)
            net.connect(prev, block)
            prev = block
    net.stack(prev, ("GlobalAvgPool", "avgpool", {}), ("Linear", "fc", dict(out_features=1000)))
    net.chain(next(iter(reversed(net.nodes))), net.add("Output", id="logits"))
    t = p.training
    t.configure(batch_size=16, epochs=1)
    data = t.add("Dataset", title="shapes", id="shapes", dataset="shapes", size=224, channels=3,
                 count=256)
    model = p.instance(t, "ResNet18", id="resnet18")
    t.connect(data["image"], model)
    classifier_head(t, data, model, "SGD", lr=0.1, momentum=0.9, weight_decay=1e-4)
    return p


def resnet_digits() -> Project:
    """A small residual network on 16x16 digits, reusing the same BasicBlock network."""
    p = Project("ResNetDigits")
    basic_block(p)
    t = p.training
    t.configure(batch_size=64, epochs=8)
    data = t.add("Dataset", title="digits", id="digits", dataset="digits", size=16)
    stem = t.stack(
        data["image"],
        ("Conv2d", "stem", dict(out_channels=16, kernel_size=3, padding=1, bias=False)),
        ("BatchNorm2d", "stem_bn", {}), ("ReLU", "stem_relu", {}),
    )
    b1 = p.instance(t, "BasicBlock", id="block1", width=16)
    b2 = p.instance(t, "BasicBlock", id="block2", width=32, stride=2)
    t.connect(stem, b1)
    t.connect(b1, b2)
    head = t.stack(b2, ("GlobalAvgPool", "pool", {}), ("Linear", "fc", dict(out_features=10)))
    classifier_head(t, data, head, "Adam", lr=2e-3)
    return p


def summed_loss(t, scores, labels, tag: str, total) -> None:
    """One branch's cross-entropy, ``loss_<tag>``, added into the WeightedSum ``total``."""
    loss = t.add("CrossEntropy", title=f"loss_{tag}", id=f"loss_{tag}")
    t.connect(scores, loss["input"])
    t.connect(labels, loss["target"])
    t.connect(loss, total)


def conv_costs() -> Project:
    """Four ways to cover a 5x5 window: one 5x5 convolution, two stacked 3x3 convolutions, a
    1x5 followed by a 5x1, and a depthwise 5x5 followed by a pointwise 1x1 (separable). Same
    receptive field, different parameter and multiply-add costs (the check table shows them
    side by side)."""
    p = Project("ConvCosts")
    t = p.training
    t.configure(batch_size=64, epochs=3)
    data = t.add("Dataset", title="shapes", id="shapes", dataset="shapes", size=32)
    stem = t.stack(data["image"], ("Conv2d", "stem", dict(out_channels=32, kernel_size=3,
                                                          padding=1)), ("ReLU", "stem_relu", {}))
    branches = {
        "5x5": [("Conv2d", "conv5x5", dict(out_channels=32, kernel_size=5, padding=2))],
        "3x3": [("Conv2d", "conv3x3_a", dict(out_channels=32, kernel_size=3, padding=1)),
                ("ReLU", "relu3x3", {}),
                ("Conv2d", "conv3x3_b", dict(out_channels=32, kernel_size=3, padding=1))],
        "1x5": [("Conv2d", "conv1x5", dict(out_channels=32, kernel_size=(1, 5), padding=(0, 2))),
                ("Conv2d", "conv5x1", dict(out_channels=32, kernel_size=(5, 1), padding=(2, 0)))],
        "sep": [("Conv2d", "depth5x5", dict(out_channels=32, kernel_size=5, padding=2,
                                                groups=32)),
                ("Conv2d", "point1x1", dict(out_channels=32, kernel_size=1))],
    }
    total = t.add("WeightedSum", title="total", id="total")
    for name, layers in branches.items():
        tag = name.replace("x", "_")
        head = t.stack(stem, *layers, ("ReLU", f"relu_{tag}", {}),
                       ("GlobalAvgPool", f"pool_{tag}", {}),
                       ("Linear", f"fc_{tag}", dict(out_features=4)))
        summed_loss(t, head, data["label"], tag, total)
    t.chain(total, t.add("Adam", title="adam", id="adam", lr=2e-3))
    return p


def vae() -> Project:
    """A variational autoencoder on 16x16 digits: encoder to (mu, log-variance), sampling by
    reparameterization, decoder, and the loss BCE(sum) + KL; previews sample the prior."""
    return variational_autoencoder("VAE")


def cvae() -> Project:
    """The conditional VAE: encoder and decoder also see the digit's one-hot label, so the
    decoder draws a chosen digit; the sample grid has one row per class."""
    return variational_autoencoder("CVAE", conditional=True)


def siren() -> Project:
    """Fitting the bundled image as a function of pixel coordinates: a SIREN (sine activations,
    SIREN initialization) beside a ReLU MLP of the same size, each with its own loss."""
    p = Project("Siren")
    side, width = 64, 256
    for name, act in (("Siren", "Sine"), ("ReluMLP", "ReLU")):
        net = p.network(name)
        x = net.add("Input", id="coords")
        layers = []
        for i in range(3):
            init = "default" if act == "ReLU" else ("siren_first" if i == 0 else "siren")
            layers += [("Linear", f"fc{i + 1}", dict(out_features=width, init=init)),
                       (act, f"act{i + 1}", {})]
        layers.append(("Linear", "out", dict(out_features=3,
                                             init="siren" if act == "Sine" else "default")))
        net.chain(net.stack(x, *layers), net.add("Output", id="rgb"))
    t = p.training
    t.configure(batch_size=side * side, steps=600, log_every=20, preview_every=100)
    data = t.add("Dataset", title="image", id="image", dataset="image", size=side, channels=3)
    for name in ("Siren", "ReluMLP"):
        tag = name.lower()
        model = p.instance(t, name, id=tag)
        t.connect(data["coords"], model)
        loss = t.add("MSE", title=f"mse_{tag}", id=f"mse_{tag}")
        t.connect(model, loss["input"])
        t.connect(data["pixel"], loss["target"])
        t.chain(loss, t.add("Adam", title=f"adam_{tag}", id=f"adam_{tag}", lr=1e-4))
        t.chain(model, t.add("Preview", title=f"fit_{tag}", id=f"fit_{tag}", value_range="-1..1"))
    return p


EXAMPLES = {"lenet": lenet, "resnet18": resnet18, "resnet_digits": resnet_digits,
            "conv_costs": conv_costs, "dcgan": dcgan, "vae": vae, "cvae": cvae, "siren": siren}


def lenet_mnist() -> Project:
    """LeNet on MNIST itself: 60,000 28x28 digits resized to 32x32, downloaded once into the
    dataset cache (~/.cache/studio/datasets, or $STUDIO_DATA_DIR); two epochs of Adam."""
    return lenet("LeNet MNIST", "mnist", batch_size=128, epochs=2, log_every=50)


EXAMPLES["lenet_mnist"] = lenet_mnist


def locality() -> Project:
    """The course's locality lesson: one 32x32 digit into a dense layer and into a 5x5
    convolution, both giving 6x28x28 values (4.8 million weights against 156), each followed by
    its own classifier and loss, trained together."""
    p = Project("Locality")
    t = p.training
    t.configure(batch_size=64, epochs=4, log_every=10)
    data = t.add("Dataset", title="digits", id="digits", dataset="digits", size=32)
    dense = t.stack(data["image"], ("Flatten", "flatten_image", {}),
                    ("Linear", "dense_layer", dict(out_features=6 * 28 * 28)),
                    ("Tanh", "dense_tanh", {}), ("Linear", "dense_head", dict(out_features=10)))
    conv = t.stack(data["image"], ("Conv2d", "conv_layer", dict(out_channels=6, kernel_size=5)),
                   ("Tanh", "conv_tanh", {}), ("Flatten", "flatten_maps", {}),
                   ("Linear", "conv_head", dict(out_features=10)))
    total = t.add("WeightedSum", title="total", id="total")
    for tag, head in (("dense", dense), ("conv", conv)):
        summed_loss(t, head, data["label"], tag, total)
    t.chain(total, t.add("Adam", title="adam", id="adam", lr=1e-3))
    return p


def boundary() -> Project:
    """The course's decision-boundary lesson: three interleaved spirals of 2-D points into an
    MLP of two hidden layers of 32 ReLU units, cross-entropy, Adam; the Boundary view shows the
    class it predicts everywhere on the plane as it learns."""
    p = Project("Boundary")
    t = p.training
    t.configure(batch_size=32, epochs=100, log_every=10)
    data = t.add("Dataset", title="spirals", id="spirals", dataset="spirals", count=2000,
                 classes=3, noise=0.05)
    scores = t.stack(data["x"], ("Linear", "hidden1", dict(out_features=32)),
                     ("ReLU", "relu1", {}), ("Linear", "hidden2", dict(out_features=32)),
                     ("ReLU", "relu2", {}), ("Linear", "scores", dict(out_features=3)))
    classifier_head(t, data, scores, "Adam", lr=3e-3)
    return p


def mlp_branch(t, source, tag: str, widths, activation: str = "ReLU", classes: int = 10):
    """A small MLP of its own for one branch of a side-by-side comparison: ``<tag>_fc1``,
    ``<tag>_act1``, ... then ``<tag>_scores``."""
    layers = []
    for i, width in enumerate(widths, 1):
        layers += [("Linear", f"{tag}_fc{i}", dict(out_features=width)),
                   (activation, f"{tag}_act{i}", {})]
    return t.stack(source, *layers, ("Linear", f"{tag}_scores", dict(out_features=classes)))


def flat_digits(t):
    """The 8x8 digits flattened (``pixels``) and the ``total`` their branches' losses add into:
    the start of the lessons that compare copies of one small MLP."""
    data = t.add("Dataset", title="digits", id="digits", dataset="digits", size=8)
    pixels = t.add("Flatten", title="pixels", id="pixels")
    t.connect(data["image"], pixels)
    return data, pixels, t.add("WeightedSum", title="total", id="total")


def losses() -> Project:
    """The losses lesson: three copies of one MLP on the 8x8 digits (flattened), trained side by
    side with plain cross-entropy, with label smoothing 0.2 and with class 0 weighted 5 times;
    each loss's inspector plot shows its curve against the right class's score."""
    p = Project("Losses")
    t = p.training
    t.configure(batch_size=64, epochs=10, log_every=10)
    data, pixels, total = flat_digits(t)
    for tag, params in (("plain", {}), ("smoothed", dict(label_smoothing=0.2)),
                        ("weighted", dict(weight=[5.0] + [1.0] * 9))):
        scores = mlp_branch(t, pixels, tag, (64,))
        loss = t.add("CrossEntropy", title=f"loss_{tag}", id=f"loss_{tag}", **params)
        t.connect(scores, loss["input"])
        t.connect(data["label"], loss["target"])
        t.connect(loss, total)
    t.chain(total, t.add("Adam", title="adam", id="adam", lr=2e-3))
    return p


def optimizers() -> Project:
    """SGD, SGD with momentum and Adam, each training its own copy of one MLP on the waves
    signals from the same initialization seed; the optimizer-paths probe also runs each on a
    2-D toy surface with the block's own settings."""
    p = Project("Optimizers")
    t = p.training
    t.configure(batch_size=32, epochs=20, log_every=10)
    data = t.add("Dataset", title="waves", id="waves", dataset="waves")
    for tag, block, params in (("sgd", "SGD", dict(lr=0.05)),
                               ("momentum", "SGD", dict(lr=0.05, momentum=0.9)),
                               ("adam", "Adam", dict(lr=0.01))):
        scores = mlp_branch(t, data["x"], tag, (64, 64), classes=3)
        loss = t.add("CrossEntropy", title=f"loss_{tag}", id=f"loss_{tag}")
        t.connect(scores, loss["input"])
        t.connect(data["label"], loss["target"])
        t.chain(loss, t.add(block, title=f"opt_{tag}", id=f"opt_{tag}", **params))
    return p


def skips(depth: int = 10) -> Project:
    """Vanishing gradients: ``depth`` Linear+Sigmoid layers of 32 units on the waves signals,
    plain, beside the same depth where each layer's output is added to its input (a skip)."""
    p = Project("Skips")
    t = p.training
    t.configure(batch_size=32, epochs=20, log_every=10)
    data = t.add("Dataset", title="waves", id="waves", dataset="waves")
    total = t.add("WeightedSum", title="total", id="total")
    for tag, skip in (("plain", False), ("skip", True)):
        h = t.stack(data["x"], ("Linear", f"{tag}_in", dict(out_features=32)))
        for i in range(1, depth + 1):
            body = t.stack(h, ("Linear", f"{tag}_fc{i}", dict(out_features=32)),
                           ("Sigmoid", f"{tag}_act{i}", {}))
            if skip:
                add = t.add("Add", title=f"{tag}_add{i}", id=f"{tag}_add{i}")
                t.connect(h, add)
                t.connect(body, add)
                body = add
            h = body
        scores = t.stack(h, ("Linear", f"{tag}_scores", dict(out_features=3)))
        summed_loss(t, scores, data["label"], tag, total)
    t.chain(total, t.add("Adam", title="adam", id="adam", lr=1e-3))
    return p


def normalization() -> Project:
    """BatchNorm beside LayerNorm: two copies of one MLP on the 8x8 digits (flattened), one
    normalizing its hidden layer over the batch (``bn``), one over each sample (``ln``); the
    normalization probe compares batch and running statistics and train and eval outputs."""
    p = Project("Normalization")
    t = p.training
    t.configure(batch_size=64, epochs=10, log_every=10)
    data, pixels, total = flat_digits(t)
    for tag, block in (("bn", "BatchNorm1d"), ("ln", "LayerNorm")):
        scores = t.stack(pixels, ("Linear", f"{tag}_fc", dict(out_features=64)),
                         (block, tag, {}), ("ReLU", f"{tag}_relu", {}),
                         ("Linear", f"{tag}_scores", dict(out_features=10)))
        summed_loss(t, scores, data["label"], tag, total)
    t.chain(total, t.add("Adam", title="adam", id="adam", lr=2e-3))
    return p


def halving(tag: str, k: int) -> list:
    """The shift lesson's k-th downsampling: max pooling (``max``), or max pooling at stride 1
    then blur pooling at stride 2 (``blur``)."""
    if tag == "max":
        return [("MaxPool2d", f"{tag}_pool{k}", dict(kernel_size=2))]
    return [("MaxPool2d", f"{tag}_pool{k}", dict(kernel_size=2, stride=1)),
            ("BlurPool2d", f"{tag}_blur{k}", dict(stride=2))]


def shift() -> Project:
    """The shift lesson: two copies of one small classifier of the textured shapes (fine
    stripes), one downsampling by max pooling, one by max pooling at stride 1 then a blur
    pooling at stride 2 (Zhang, 2019), trained side by side; the Shift view tests both on
    held-out images moved by 1 to 4 pixels as they learn."""
    p = Project("Shift")
    t = p.training
    t.configure(batch_size=64, epochs=8, log_every=10)
    data = t.add("Dataset", title="textures", id="textures", dataset="textures", size=32,
                 count=4000)
    total = t.add("WeightedSum", title="total", id="total")
    for tag in ("max", "blur"):
        scores = t.stack(
            data["image"],
            ("Conv2d", f"{tag}_conv1", dict(out_channels=16, kernel_size=3, padding=1)),
            ("ReLU", f"{tag}_relu1", {}), *halving(tag, 1),
            ("Conv2d", f"{tag}_conv2", dict(out_channels=32, kernel_size=3, padding=1)),
            ("ReLU", f"{tag}_relu2", {}), *halving(tag, 2),
            ("Conv2d", f"{tag}_conv3", dict(out_channels=64, kernel_size=3, padding=1)),
            ("ReLU", f"{tag}_relu3", {}), ("GlobalAvgPool", f"{tag}_gap", {}),
            ("Linear", f"{tag}_scores", dict(out_features=4)))
        summed_loss(t, scores, data["label"], tag, total)
    t.chain(total, t.add("Adam", title="adam", id="adam", lr=2e-3))
    return p


def activations() -> Project:
    """Four copies of one MLP on the 8x8 digits (flattened), each with its own activation after
    its hidden layer (ReLU, LeakyReLU, Sigmoid, Tanh), trained side by side: the inspector
    plots each activation with its derivative, the probes count dead ReLU units."""
    p = Project("Activations")
    t = p.training
    t.configure(batch_size=64, epochs=10, log_every=10)
    data, pixels, total = flat_digits(t)
    for tag, block in (("relu", "ReLU"), ("leaky", "LeakyReLU"), ("sigmoid", "Sigmoid"),
                       ("tanh", "Tanh")):
        scores = mlp_branch(t, pixels, tag, (64,), activation=block)
        summed_loss(t, scores, data["label"], tag, total)
    t.chain(total, t.add("Adam", title="adam", id="adam", lr=2e-3))
    return p


def approximation(widths=(2, 8, 64), activation: str = "ReLU") -> Project:
    """The universal approximation lesson: one hidden layer of ReLU units at each width of
    ``widths`` (``w<width>_fc``, ``w<width>_relu``, ``w<width>_out``), each fitting the 1-D
    ``sines`` function with its own mean squared error, the errors added and trained together;
    the Function Fit view draws each network's curve over the target as they learn."""
    p = Project("Universal approximation")
    t = p.training
    t.configure(batch_size=256, steps=3000, log_every=20, seed=3)
    data = t.add("Dataset", title="sines", id="sines", dataset="sines", count=4000, noise=0.02)
    total = t.add("WeightedSum", title="total", id="total")
    for width in widths:
        tag = f"w{width}"
        fit = t.stack(data["x"], ("Linear", f"{tag}_fc", dict(out_features=width)),
                      (activation, f"{tag}_{activation.lower()}", {}),
                      ("Linear", f"{tag}_out", dict(out_features=1)))
        loss = t.add("MSE", title=f"mse_{tag}", id=f"mse_{tag}")
        t.connect(fit, loss["input"])
        t.connect(data["y"], loss["target"])
        t.connect(loss, total)
    t.chain(total, t.add("Adam", title="adam", id="adam", lr=1e-2))
    return p


# the lessons' own projects, in examples/course/
COURSE = {"locality": locality, "boundary": boundary, "losses": losses,
          "optimizers": optimizers, "skips": skips, "normalization": normalization,
          "activations": activations, "shift": shift, "approximation": approximation}


ASSIGNMENT_TEXT = """LeNet has 61,706 parameters and 416,520 multiply-adds per digit. Make it
small enough for a tiny device while it still reads the digits: at most 20,000 parameters and
200,000 multiply-adds, still 10 class scores out of `fc3`, and at least 85% held-out accuracy
after 3 epochs. The data, the loss and the optimizer are locked; so is `fc3`'s number of
outputs. Watch the goals above change as you edit, then press Train to check the accuracy.
"""


def lenet_assignment() -> Project:
    """An assignment (teacher mode): LeNet to be shrunk under a parameter and multiply-add
    budget while keeping its accuracy; `studio grade` checks a student's file against it."""
    from studio.core.assignment import Assignment, Lock
    from studio.core.goals import Accuracy, MaxMacs, MaxParams, OutputShape

    p = lenet("LeNet on a budget", batch_size=32, epochs=3, log_every=10)
    layout_project(p)
    locks = (Lock("training", "digits"), Lock("training", "loss"), Lock("training", "adam"),
             Lock("training", "fc3", ("out_features",)))
    palette = ("Conv2d", "MaxPool2d", "AvgPool2d", "ReLU", "Tanh", "Flatten", "Linear",
               "BatchNorm2d", "Dropout", "Add")
    goals = (MaxParams(20_000), MaxMacs(200_000), OutputShape("training", "fc3", (10,)),
             Accuracy(85.0, 3))
    p.assignment = Assignment("LeNet on a budget", ASSIGNMENT_TEXT, locks, palette,
                              goals).bind(p)
    return p


COURSE["lenet_assignment"] = lenet_assignment


def receptive_field() -> Project:
    """The receptive-field lesson: a small convolutional classifier of the 32x32 digits:
    3x3 convolutions with two 2x2 max poolings between them, so each layer's window on the
    image grows (3, 5, 6, 10, 12, 20 pixels); clicking a unit in the Feature Maps view shows
    its theoretical window and its effective field."""
    p = Project("Receptive field")
    t = p.training
    t.configure(batch_size=32, epochs=4, log_every=10)
    data = t.add("Dataset", title="digits", id="digits", dataset="digits", size=32)
    scores = t.stack(
        data["image"],
        ("Conv2d", "conv1", dict(out_channels=8, kernel_size=3, padding=1)), ("ReLU", "relu1", {}),
        ("Conv2d", "conv2", dict(out_channels=8, kernel_size=3, padding=1)),
        ("ReLU", "relu2", {}), ("MaxPool2d", "pool1", dict(kernel_size=2)),
        ("Conv2d", "conv3", dict(out_channels=16, kernel_size=3, padding=1)),
        ("ReLU", "relu3", {}), ("MaxPool2d", "pool2", dict(kernel_size=2)),
        ("Conv2d", "conv4", dict(out_channels=16, kernel_size=3, padding=1)),
        ("ReLU", "relu4", {}), ("Flatten", "flatten", {}),
        ("Linear", "scores", dict(out_features=10)))
    loss = t.add("CrossEntropy", title="loss", id="loss")
    t.connect(scores, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("Adam", title="adam", id="adam", lr=3e-3))
    return p


COURSE["receptive_field"] = receptive_field


def build_all() -> dict[str, str]:
    """Each file's text, by its path under examples/ without the suffix."""
    out = {}
    builders = {**EXAMPLES, **{f"course/{name}": build for name, build in COURSE.items()}}
    for name, build in builders.items():
        project = build()
        layout_project(project)
        out[name] = dumps(project)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale = []
    for name, text in build_all().items():
        path = ROOT / "examples" / f"{name}.studio"
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(ROOT / "examples")))
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("out of date: " + ", ".join(stale) + " (run scripts/make_examples.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
