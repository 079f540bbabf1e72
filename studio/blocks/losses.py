"""Losses: each takes predictions and targets and gives a scalar loss an optimizer can minimize."""

from __future__ import annotations

from studio.blocks._common import LOSS, Call, Param, Port, Raw, ShapeError, TensorType, declare, \
    require_float
from studio.core.params import Choice, Float, FloatList, Int
from studio.core.registry import TRAINING

REDUCTION = Param("reduction", Choice(("mean", "sum")), "mean",
                  "average or add the per-element losses", torch_default="mean")


def loss_block(**fields):
    """Declare a loss: training graph only, output port 'loss'."""
    fields.setdefault("outputs", (Port("loss"),))
    fields.setdefault("shape", lambda p, ins: {"loss": LOSS})
    return declare(category="loss", where=frozenset({TRAINING}), **fields)


def tensor_literal(values) -> Raw:
    """Source for a constant tensor built from validated floats."""
    return Raw(f"torch.tensor({list(values)!r})")


def _ce_check(p, ins):
    x, t = ins["input"], ins["target"]
    require_float(x, "input")
    if x.rank < 1:
        raise ShapeError("expects class scores (logits) per sample, one per class", "input")
    classes = x.shape[0]
    if t.dtype == "long":
        if t.shape != x.shape[1:]:
            raise ShapeError(f"target {t.describe()} does not match input {x.describe()}: class "
                             "indices need the input's shape without its class dimension",
                             "target")
    elif t.shape != x.shape:
        raise ShapeError(f"probability targets must match the input {x.describe()}, got "
                         f"{t.describe()}", "target")
    if p.weight and len(p.weight) != classes:
        raise ShapeError(f"has {len(p.weight)} class weights but the input has {classes} classes",
                         "weight")


def _ce_call(p, ins):
    kwargs = {}
    if p.weight:
        kwargs["weight"] = tensor_literal(p.weight)
    if p.ignore_index != -100:
        kwargs["ignore_index"] = p.ignore_index
    if p.reduction != "mean":
        kwargs["reduction"] = p.reduction
    if p.label_smoothing:
        kwargs["label_smoothing"] = p.label_smoothing
    return Call("nn.CrossEntropyLoss", (), kwargs)


loss_block(
    id="CrossEntropy", title="Cross-entropy",
    help="Classification loss on raw scores (logits) and class indices.",
    explanation="Applies log-softmax to the scores and takes the negative log-probability of the "
                "right class. Give it logits, not softmax outputs. Class weights counter "
                "imbalance, label smoothing discourages over-confidence.",
    inputs=(Port("input", help="class scores (logits)"), Port("target", help="class indices")),
    params=(
        Param("weight", FloatList(min=0.0), (), "per-class weights (empty: all 1)"),
        Param("ignore_index", Int(-(1 << 31), 1 << 31), -100, "target value that is skipped"),
        REDUCTION,
        Param("label_smoothing", Float(0.0, 1.0), 0.0, "share of probability spread evenly"),
    ),
    check=_ce_check, module=_ce_call,
    extra={"accuracy": True},
    examples=({"input": TensorType((10,)), "target": TensorType((), "long")},),
)

__all__ = ["require_float"]
