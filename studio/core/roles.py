"""The parts a block plays in training, declared on its ``BlockSpec`` as typed fields.

The training writer, the runner, the probes and the dashboard ask a declaration what a block
does (``spec.data``, ``spec.loss.accuracy``, ``registry.nodes_with(graph, "preview")``) instead
of comparing block names, so a new data, loss-type or preview block is one declaration. Each
role is plain data plus small functions of the node's parameter values ``p``; none imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def _nothing(p) -> tuple:
    return ()


def _never(p) -> bool:
    return False


@dataclass(frozen=True)
class DataRole:
    """The block the training script takes its batches from (one per training graph).

    ``load(p)`` is the loader call written into ``Training.__init__`` (a ``Call`` whose function
    is a helper of the runtime library); ``classes(p)`` the number of label classes;
    ``augment(p)`` the augmentation call of the training step, or None; ``files(p)`` the files
    under resources/data the loader reads (an export copies them); ``download(p)`` the standard
    set (name, cache folder or None) to fetch before training, or None; ``whole_image(p)``
    whether a batch is the pixels of one picture, so a preview shows the whole test split as
    one image; ``streams(p)`` whether the loader may stream the data from disk rather than hold
    them on the device, so the script batches them with the library's ``StreamableBatches``
    (scripts of resident data carry only its plain base, ``TensorBatches``); ``pictures(p)``
    the output port whose samples are pictures (channels x height x width) that an image file
    can stand in for, prepared as the loader prepares its own (``studio predict``), or None.
    """

    load: Callable
    classes: Callable
    augment: Callable = lambda p: None
    files: Callable = _nothing
    download: Callable = lambda p: None
    whole_image: Callable = _never
    streams: Callable = _never
    pictures: Callable = lambda p: None


@dataclass(frozen=True)
class DrawnRole:
    """A source that draws a batch of its own each step (noise, class labels) instead of reading
    the dataset; a loss that depends on one is not measured on held-out data.

    ``fixed_preview(p, count, generator)``: the expression previews draw once, so every preview
    of a run shows the same samples (None: previews draw it like a step does).
    ``class_rows(p)``: the batch holds the classes in equal runs, so a preview grid fed by it
    has one class per row; the number of classes (None: not classes).
    """

    fixed_preview: Callable | None = None
    class_rows: Callable | None = None


@dataclass(frozen=True)
class LossRole:
    """What a loss measures beyond its value.

    ``accuracy``: its input are class scores and its target class indices, so evaluation also
    counts right answers and a confusion matrix, and the dashboard shows predictions.
    ``input_domains``: port -> the values the port accepts ("probability", "sign", ...; see
    ``engine.blockrun.DOMAINS``), a dict or a function of ``p``; the contract test draws inputs
    from them.
    """

    accuracy: bool = False
    input_domains: dict | Callable | None = None


@dataclass(frozen=True)
class OptimizerRole:
    """``scheduler(p)``: the learning-rate schedule's constructor call, or None; ``state_slots(p)``:
    how many tensors the size of the parameters it keeps (Adam: 2), read by the memory estimate."""

    scheduler: Callable
    state_slots: Callable


@dataclass(frozen=True)
class PreviewRole:
    """An output shown as an image grid during training and written as a PNG by the export.
    ``meta(p)``: ``{"value_range": (low, high), "nrow": images per row}``."""

    meta: Callable


@dataclass(frozen=True)
class AfterInit:
    """A statement run after the block's module is built (a custom weight initialization).
    ``code(p, attr)``: the statement for the module held in ``attr``, or None; ``helpers``: the
    runtime-library names that statement calls."""

    code: Callable
    helpers: tuple = ()


@dataclass(frozen=True)
class InspectorPlot:
    """A curve the inspector draws with its derivative: ``curve(x, p)`` on a numpy array and the
    node's parameter values (an activation's formula, so the curve shown is the one declared).
    It may return ``{label: values}`` for several curves (a loss: one per target case).
    ``x_range`` is the span drawn, ``x_label`` and ``y_label`` what the axes mean ("": x)."""

    curve: Callable
    x_range: tuple = (-4.0, 4.0)
    x_label: str = ""
    y_label: str = ""


@dataclass(frozen=True)
class FlatRegion:
    """Where an activation passes (almost) no gradient back, in terms of the values it
    receives: at or below ``below`` and at or above ``above`` (None: that side is not flat).
    ``word`` is what a value there is called: "dead" (ReLU below 0: slope exactly 0) or
    "saturated" (the sigmoid's tails beyond about 4, where its slope is at most 7% of its
    peak). The probes count the share of a probe batch's values that fall there."""

    below: float | None = None
    above: float | None = None
    word: str = "saturated"

    def describe(self, symbol: str = "x") -> str:
        """``x ≤ 0``, ``|x| ≥ 4``, ``x ≤ 0 or x ≥ 6``: the region in words."""
        def number(v: float) -> str:
            return f"{v:g}".replace("-", "\u2212")

        lo, hi = self.below, self.above
        if lo is not None and hi is not None and lo == -hi:
            return f"|{symbol}| \u2265 {number(hi)}"
        parts = ([f"{symbol} \u2264 {number(lo)}"] if lo is not None else []) + \
            ([f"{symbol} \u2265 {number(hi)}"] if hi is not None else [])
        return " or ".join(parts)


@dataclass(frozen=True)
class AdversarialRole:
    """A GAN's loss: the probes read the discriminator's scores off its inputs.

    ``side(p)``: whose loss it is, "discriminator" (its ``fake`` and ``real`` ports carry the
    discriminator's scores of generated and real samples) or "generator" (``fake`` only);
    ``logits(p)``: whether those scores are logits, D = sigmoid(score), so the discriminator's
    probabilities and the Jensen-Shannon estimate can be worked out (False: raw scores, LSGAN).
    """

    side: Callable
    logits: Callable = lambda p: True


@dataclass(frozen=True)
class LatentRole:
    """The sampling step of a VAE: its input ports ``mean`` and ``log_variance`` describe each
    input's Gaussian over the latent code, its output port ``sample`` is the code the decoder
    reads. The probes measure the KL per latent dimension from the first two and decode chosen
    codes in place of the third."""

    mean: str
    log_variance: str
    sample: str
