"""Losses: each takes predictions and targets and gives a scalar loss an optimizer can minimize."""

from __future__ import annotations

from studio.blocks._common import (
    LOSS,
    Call,
    Param,
    Port,
    Raw,
    ShapeError,
    TensorType,
    declare,
    require_float,
)
from studio.blocks.loss_curves import PLOTS
from studio.core.params import Bool, Choice, Float, FloatList, Int
from studio.core.registry import TRAINING
from studio.core.roles import AdversarialRole, LossRole

REDUCTION = Param("reduction", Choice(("mean", "sum")), "mean",
                  "average or add the per-element losses", torch_default="mean")


def loss_block(**fields):
    """Declare a loss: training graph only, output port 'loss', its curve for the inspector."""
    fields.setdefault("outputs", (Port("loss"),))
    fields.setdefault("shape", lambda p, ins: {"loss": LOSS})
    fields.setdefault("plot", PLOTS.get(fields["id"]))
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
    loss=LossRole(accuracy=True),
    examples=({"input": TensorType((10,)), "target": TensorType((), "long")},),
)



# ---------------------------------------------------------------------------------------------
# Shared pieces of the losses below

def _describe(t) -> str:
    return t.describe() if t.rank else "one number per sample"


def _require_equal(ins, first: str, other: str, fix: str) -> None:
    a, b = ins[first], ins[other]
    if a.shape != b.shape:
        raise ShapeError(f"{other} ({_describe(b)}) does not match {first} ({_describe(a)}); "
                         f"{fix}", other)


_ALIGN = "wire tensors of the same shape (a Flatten or a Linear of the right width can align them)"


def _elementwise_check(p, ins):
    """Regression-style losses: float input and target of one shape, compared element by element."""
    require_float(ins["input"], "input")
    require_float(ins["target"], "target")
    _require_equal(ins, "input", "target", "the loss compares them element by element, so " + _ALIGN)


def _kwargs(values, /, *names, **torch_defaults) -> dict:
    """Constructor keyword arguments that differ from torch's defaults, in the order named."""
    out = {}
    for name in names:
        v = getattr(values, name)
        if name in ("weight", "pos_weight"):
            if v:
                out[name] = tensor_literal(v)
        elif v != torch_defaults.get(name):
            out[name] = v
    return out


def _regression(id, title, cls, help, explanation, extra_params=(), defaults=None):
    defaults = dict(defaults or {}, reduction="mean")
    names = [prm.name for prm in extra_params] + ["reduction"]
    loss_block(
        id=id, title=title, help=help, explanation=explanation,
        inputs=(Port("input", help="predictions"), Port("target", help="wanted values")),
        params=(REDUCTION,) + tuple(extra_params),
        check=_elementwise_check,
        module=lambda p, ins: Call(cls, (), _kwargs(p, *names, **defaults)),
        examples=({"input": TensorType((10,)), "target": TensorType((10,))},
                  {"input": TensorType((3, 8, 8)), "target": TensorType((3, 8, 8))}),
    )


_regression(
    "L1", "L1 (mean absolute error)", "nn.L1Loss",
    "Mean absolute difference between predictions and targets.",
    "Adds up |prediction - target|. Every error pulls with the same strength whatever its size, "
    "so a few outliers do not dominate, but the gradient does not shrink near the optimum.")

_regression(
    "MSE", "MSE (mean squared error)", "nn.MSELoss",
    "Mean squared difference between predictions and targets.",
    "Adds up (prediction - target)^2. Large errors dominate and the gradient shrinks as the "
    "prediction approaches the target; the usual loss for regression and for reconstructions "
    "with Gaussian noise.")

_regression(
    "SmoothL1", "Smooth L1", "nn.SmoothL1Loss",
    "Squared error for small differences, absolute error for large ones.",
    "Below beta the loss is the squared error divided by beta, above it the absolute error minus "
    "beta / 2: smooth near the optimum like MSE, robust to outliers like L1. Used for "
    "bounding-box regression.",
    (Param("beta", Float(0.0, 1e6), 1.0, "where squared error turns into absolute error"),),
    {"beta": 1.0})

_regression(
    "Huber", "Huber", "nn.HuberLoss",
    "Squared error for small differences, linear beyond delta.",
    "Half the squared error below delta, delta times (|error| - delta / 2) above it: the same "
    "shape as Smooth L1 scaled by delta, so large errors have a gradient of at most delta.",
    (Param("delta", Float(1e-6, 1e6), 1.0, "where the quadratic part turns linear (> 0)"),),
    {"delta": 1.0})


def _nll_check(p, ins):
    x, t = ins["input"], ins["target"]
    require_float(x, "input")
    if x.rank < 1:
        raise ShapeError("expects log-probabilities per sample, one per class (put a LogSoftmax "
                         "before it)", "input")
    if t.dtype != "long":
        raise ShapeError(f"expects class indices (long) as target but receives {t.describe()}; "
                         "wire the dataset's label", "target")
    if t.shape != x.shape[1:]:
        raise ShapeError(f"target ({_describe(t)}) does not match input ({_describe(x)}): class "
                         "indices need the input's shape without its class dimension", "target")
    if p.weight and len(p.weight) != x.shape[0]:
        raise ShapeError(f"has {len(p.weight)} class weights but the input has {x.shape[0]} "
                         "classes; give one weight per class or none", "weight")


loss_block(
    id="NLL", title="Negative log-likelihood",
    help="Classification loss on log-probabilities (after LogSoftmax) and class indices.",
    explanation="Takes minus the log-probability the model gives the right class. It expects "
                "log-probabilities, so put a LogSoftmax before it; LogSoftmax followed by NLL is "
                "the same as Cross-entropy on the raw scores.",
    inputs=(Port("input", help="log-probabilities per class"),
            Port("target", help="class indices")),
    params=(
        Param("weight", FloatList(min=0.0), (), "per-class weights (empty: all 1)"),
        Param("ignore_index", Int(-(1 << 31), 1 << 31), -100, "target value that is skipped"),
        REDUCTION,
    ),
    check=_nll_check,
    module=lambda p, ins: Call("nn.NLLLoss", (), _kwargs(p, "weight", "ignore_index", "reduction",
                                                         ignore_index=-100, reduction="mean")),
    loss=LossRole(accuracy=True, input_domains={"input": "log_probability"}),
    examples=({"input": TensorType((10,)), "target": TensorType((), "long")},
              {"input": TensorType((4, 6, 6)), "target": TensorType((6, 6), "long")}),
)


def _multi_margin_check(p, ins):
    if ins["input"].rank != 1:
        raise ShapeError(f"expects one score per class for each sample but receives "
                         f"{ins['input'].describe()}; put a Flatten before it", "input")
    _nll_check(p, ins)  # float scores, one class index per sample, one weight per class


loss_block(
    id="MultiMargin", title="Multi-class hinge",
    help="Classification loss of a multi-class SVM on raw scores and class indices.",
    explanation="For each wrong class, max(0, margin - score of the right class + its score), "
                "raised to the power p and averaged over the classes: zero once the right "
                "class leads every other by the margin, so confident samples stop pulling. "
                "The hinge loss of a linear SVM, for any network that gives class scores.",
    inputs=(Port("input", help="class scores (logits)"), Port("target", help="class indices")),
    params=(
        Param("p", Choice((1, 2)), 1, "1: hinge, 2: squared hinge", label="Power"),
        Param("margin", Float(0.0, 1e6), 1.0, "lead the right class needs over the others"),
        Param("weight", FloatList(min=0.0), (), "per-class weights (empty: all 1)"),
        REDUCTION,
    ),
    check=_multi_margin_check,
    module=lambda p, ins: Call("nn.MultiMarginLoss", (), _kwargs(
        p, "p", "margin", "weight", "reduction", p=1, margin=1.0, reduction="mean")),
    loss=LossRole(accuracy=True),
    examples=({"input": TensorType((10,)), "target": TensorType((), "long")},),
)


def _bce_check(p, ins):
    _elementwise_check(p, ins)
    x = ins["input"]
    for name in ("weight", "pos_weight"):
        w = getattr(p, name, ())
        if not w:
            continue
        if x.rank == 0:
            if len(w) != 1:
                raise ShapeError(f"has {len(w)} {name.replace('_', ' ')}s but the input is one "
                                 "number per sample; give a single weight", name)
        elif len(w) not in (1, x.shape[-1]):
            raise ShapeError(f"has {len(w)} {name.replace('_', ' ')}s but the input ({x.describe()})"
                             f" has {x.shape[-1]} entries in its last dimension; give one weight "
                             f"per entry, a single weight, or none", name)


_BCE_WEIGHT = Param("weight", FloatList(min=0.0), (),
                    "weights along the input's last dimension (empty: all 1)")

loss_block(
    id="BCE", title="Binary cross-entropy",
    help="Loss for probabilities in (0, 1) against targets in [0, 1] (after a Sigmoid).",
    explanation="For each element, -[t log(p) + (1 - t) log(1 - p)]: the cost of predicting "
                "probability p when the truth is t. Its inputs must be probabilities (after a "
                "Sigmoid). With reduction 'sum' on pixel intensities it is the reconstruction "
                "term of a VAE. BCE with logits is the numerically safer twin on raw scores.",
    inputs=(Port("input", help="probabilities in (0, 1)"), Port("target", help="targets in [0, 1]")),
    params=(_BCE_WEIGHT, REDUCTION),
    check=_bce_check,
    module=lambda p, ins: Call("nn.BCELoss", (), _kwargs(p, "weight", "reduction",
                                                         reduction="mean")),
    loss=LossRole(input_domains={"input": "probability", "target": "probability"}),
    examples=({"input": TensorType((10,)), "target": TensorType((10,))},
              {"input": TensorType((1, 8, 8)), "target": TensorType((1, 8, 8))},
              {"input": TensorType(()), "target": TensorType(())}),
)

loss_block(
    id="BCEWithLogits", title="BCE with logits",
    help="Binary cross-entropy on raw scores (logits); applies the sigmoid itself.",
    explanation="Sigmoid and binary cross-entropy in one numerically stable step: give it raw "
                "scores, not probabilities. pos_weight scales the loss of positive targets, "
                "which counters rare positives (pos_weight = negatives / positives).",
    inputs=(Port("input", help="raw scores (logits)"), Port("target", help="targets in [0, 1]")),
    params=(
        _BCE_WEIGHT, REDUCTION,
        Param("pos_weight", FloatList(min=0.0), (),
              "weight of positive targets along the last dimension (empty: all 1)",
              label="Positive weight"),
    ),
    check=_bce_check,
    module=lambda p, ins: Call("nn.BCEWithLogitsLoss", (), _kwargs(
        p, "weight", "reduction", "pos_weight", reduction="mean")),
    loss=LossRole(input_domains={"target": "probability"}),
    examples=({"input": TensorType((10,)), "target": TensorType((10,))},
              {"input": TensorType(()), "target": TensorType(())}),
)


def _kl_check(p, ins):
    require_float(ins["input"], "input")
    require_float(ins["target"], "target")
    _require_equal(ins, "input", "target", "KL divergence compares two distributions over the "
                   "same outcomes, so " + _ALIGN)


loss_block(
    id="KLDiv", title="KL divergence",
    help="KL(target || model) from the model's log-probabilities and a target distribution.",
    explanation="Measures how much the target distribution differs from the model's: the sum of "
                "target x (log target - input). The input must be log-probabilities (a "
                "LogSoftmax); the target probabilities, or log-probabilities with log_target. "
                "'batchmean' divides the sum by the batch size, which is the true KL per sample "
                "('mean' also divides by the number of classes).",
    inputs=(Port("input", help="log-probabilities"), Port("target", help="target probabilities")),
    params=(
        Param("reduction", Choice(("batchmean", "sum", "mean")), "batchmean",
              "'batchmean': sum over outcomes, mean over samples", torch_default="mean"),
        Param("log_target", Bool(), False, "the target is given as log-probabilities"),
    ),
    check=_kl_check,
    module=lambda p, ins: Call("nn.KLDivLoss", (), _kwargs(p, "reduction", "log_target",
                                                           reduction="mean", log_target=False)),
    loss=LossRole(input_domains=lambda p: {
        "input": "log_probability",
        "target": "log_probability" if p.log_target else "distribution"}),
    examples=({"input": TensorType((10,)), "target": TensorType((10,))},),
)


def _gaussian_kl_check(p, ins):
    require_float(ins["mu"], "mu")
    require_float(ins["logvar"], "logvar")
    _require_equal(ins, "mu", "logvar", "each latent dimension needs one mean and one "
                   "log-variance, so wire the encoder's two outputs of the same width")


loss_block(
    id="GaussianKL", title="Gaussian KL",
    help="KL divergence of N(mu, exp(logvar)) from N(0, 1): the VAE's regularizer.",
    explanation="The VAE pulls each encoding towards the prior with the closed form "
                "-0.5 * sum(1 + logvar - mu^2 - exp(logvar)). 'sum' adds over every latent "
                "dimension and sample, as the VAE paper does with a summed reconstruction "
                "loss; 'mean' adds over the latent dimensions and averages over the batch, to "
                "pair with averaged reconstruction losses.",
    inputs=(Port("mu", help="means of the encoding"),
            Port("logvar", help="log-variances of the encoding")),
    params=(Param("reduction", Choice(("sum", "mean")), "sum",
                  "'sum' over everything, or 'mean': sum over latents, mean over the batch"),),
    check=_gaussian_kl_check,
    module=lambda p, ins: Call("GaussianKL", (), {} if p.reduction == "sum"
                               else {"reduction": p.reduction}),
    helpers=("GaussianKL",),
    examples=({"mu": TensorType((8,)), "logvar": TensorType((8,))},
              {"mu": TensorType((4, 3, 3)), "logvar": TensorType((4, 3, 3))}),
)


def _cosine_check(p, ins):
    for name in ("input1", "input2", "target"):
        require_float(ins[name], name)
    if ins["input1"].rank != 1:
        raise ShapeError(f"expects one vector per sample but receives {ins['input1'].describe()}; "
                         "put a Flatten before it", "input1")
    _require_equal(ins, "input1", "input2", "the cosine is taken between vectors of one length, "
                   "so " + _ALIGN)
    if ins["target"].rank != 0:
        raise ShapeError(f"target ({_describe(ins['target'])}) must be one number per sample (1: "
                         f"similar, -1: dissimilar) for inputs of {ins['input1'].describe()}",
                         "target")


_MARGIN_EXAMPLE = {"input1": TensorType(()), "input2": TensorType(()), "target": TensorType(())}

loss_block(
    id="CosineEmbedding", title="Cosine embedding",
    help="Pulls pairs of embeddings together (target 1) or apart (target -1) by cosine.",
    explanation="For a similar pair (target 1) the loss is 1 - cos(input1, input2); for a "
                "dissimilar pair (target -1) it is the cosine above the margin, zero once the "
                "vectors are at least that far apart. Used to learn embeddings from pairs.",
    inputs=(Port("input1", help="first embedding"), Port("input2", help="second embedding"),
            Port("target", help="1 for similar pairs, -1 for dissimilar ones")),
    params=(Param("margin", Float(-1.0, 1.0), 0.0, "cosine below which dissimilar pairs cost "
                  "nothing (0 to 0.5 is typical)"), REDUCTION),
    check=_cosine_check,
    module=lambda p, ins: Call("nn.CosineEmbeddingLoss", (), _kwargs(
        p, "margin", "reduction", margin=0.0, reduction="mean")),
    loss=LossRole(input_domains={"target": "sign"}),
    examples=({"input1": TensorType((16,)), "input2": TensorType((16,)),
               "target": TensorType(())},),
)


def _ranking_check(p, ins):
    for name in ("input1", "input2", "target"):
        require_float(ins[name], name)
    _require_equal(ins, "input1", "input2", "each score is ranked against the one at the same "
                   "place, so " + _ALIGN)
    _require_equal(ins, "input1", "target", "give one target (1 or -1) per pair of scores")


loss_block(
    id="MarginRanking", title="Margin ranking",
    help="Teaches an order: input1 above input2 where target is 1, below where it is -1.",
    explanation="max(0, -target x (input1 - input2) + margin): zero once the score that should "
                "rank higher leads by at least the margin, linear otherwise.",
    inputs=(Port("input1", help="first scores"), Port("input2", help="second scores"),
            Port("target", help="1 if input1 should rank higher, -1 otherwise")),
    params=(Param("margin", Float(0.0, 1e6), 0.0, "lead required before the loss is zero"),
            REDUCTION),
    check=_ranking_check,
    module=lambda p, ins: Call("nn.MarginRankingLoss", (), _kwargs(
        p, "margin", "reduction", margin=0.0, reduction="mean")),
    loss=LossRole(input_domains={"target": "sign"}),
    examples=(_MARGIN_EXAMPLE,
              {"input1": TensorType((5,)), "input2": TensorType((5,)), "target": TensorType((5,))}),
)


def _triplet_check(p, ins):
    for name in ("anchor", "positive", "negative"):
        require_float(ins[name], name)
    if ins["anchor"].rank != 1:
        raise ShapeError(f"expects one embedding vector per sample but receives "
                         f"{ins['anchor'].describe()}; put a Flatten before it", "anchor")
    for name in ("positive", "negative"):
        _require_equal(ins, "anchor", name, "distances are measured between embeddings of one "
                       "length, so " + _ALIGN)


loss_block(
    id="TripletMargin", title="Triplet margin",
    help="Embeds an anchor nearer to a positive example than to a negative one.",
    explanation="max(0, d(anchor, positive) - d(anchor, negative) + margin) with d the p-norm "
                "distance: zero once the negative is at least the margin further away than the "
                "positive. swap also measures the negative against the positive and uses the "
                "nearer of the two.",
    inputs=(Port("anchor", help="embedding of the reference sample"),
            Port("positive", help="embedding of a sample of the same kind"),
            Port("negative", help="embedding of a sample of another kind")),
    params=(
        Param("margin", Float(1e-6, 1e6), 1.0, "required gap between the two distances (> 0)"),
        Param("p", Float(1.0, 100.0), 2.0, "norm of the distance (2: Euclidean)",
              label="Norm degree"),
        Param("eps", Float(0.0, 1.0), 1e-6, "added inside the distance for stability",
              label="Epsilon"),
        Param("swap", Bool(), False, "also use the positive-negative distance if it is smaller"),
        REDUCTION,
    ),
    check=_triplet_check,
    module=lambda p, ins: Call("nn.TripletMarginLoss", (), _kwargs(
        p, "margin", "p", "eps", "swap", "reduction", margin=1.0, p=2.0, eps=1e-6, swap=False,
        reduction="mean")),
    examples=({"anchor": TensorType((16,)), "positive": TensorType((16,)),
               "negative": TensorType((16,))},),
)


def _gan_ports(p):
    fake = Port("fake", help="discriminator scores (logits) of generated samples")
    if p.role == "generator":
        return (fake,)
    return (fake, Port("real", help="discriminator scores (logits) of real samples"))


def _gan_check(p, ins):
    require_float(ins["fake"], "fake")
    if "real" in ins:
        require_float(ins["real"], "real")
        _require_equal(ins, "fake", "real", "both must come from the same discriminator (use a "
                       "linked duplicate of it for the real samples)")


loss_block(
    id="GANLoss", title="GAN loss",
    help="The adversarial loss of a GAN, for its discriminator or its generator.",
    explanation="Works on the discriminator's raw scores (logits). The discriminator's loss "
                "rewards scoring real samples 1 and generated ones 0. The generator's loss "
                "rewards fooling it. 'minimax' is the original objective, minimize "
                "log(1 - D(fake)): early in training the discriminator rejects fakes with "
                "confidence, D(fake) is near 0, where that curve is flat, so the generator gets "
                "almost no gradient exactly when it most needs one. 'non_saturating' instead "
                "maximizes log D(fake), which has the same fixed point but a steep slope where "
                "fakes are rejected, so learning starts at once. 'least_squares' (LSGAN) "
                "replaces log-likelihoods with halved squared distances to 1 and 0.",
    inputs=_gan_ports,
    params=(
        Param("role", Choice(("discriminator", "generator")), "discriminator",
              "whose loss: the discriminator's (fake and real) or the generator's (fake)"),
        Param("mode", Choice(("non_saturating", "minimax", "least_squares")), "non_saturating",
              "the objective (the discriminator's is the same for the first two)"),
    ),
    check=_gan_check,
    adversarial=AdversarialRole(side=lambda p: p.role, logits=lambda p: p.mode != "least_squares"),
    module=lambda p, ins: Call("GANLoss", (p.role,), {} if p.mode == "non_saturating"
                               else {"mode": p.mode}),
    helpers=("GANLoss",),
    examples=({"fake": TensorType((1,)), "real": TensorType((1,))},
              {"fake": TensorType((1, 4, 4)), "real": TensorType((1, 4, 4))}),
)


def _weighted_check(p, ins):
    n = len(ins["losses"])
    if p.weights and len(p.weights) != n:
        raise ShapeError(f"has {len(p.weights)} weights but {n} losses are wired in; give one "
                         "weight per wire, in wiring order, or none (all 1)", "weights")


def _weighted_forward(p, args, attr):
    terms = args["losses"]
    weights = p.weights or (1.0,) * len(terms)
    if len(weights) != len(terms):
        raise ValueError(f"{len(weights)} weights for {len(terms)} losses")
    parts = []
    for i, (w, term) in enumerate(zip(weights, terms, strict=True)):
        w = float(w)
        term = term if term.isidentifier() else f"({term})"
        scaled = term if abs(w) == 1.0 else f"{abs(w)!r} * {term}"
        if i == 0:
            parts.append(("-" if w < 0 else "") + scaled)
        else:
            parts.append(f"{'-' if w < 0 else '+'} {scaled}")
    return " ".join(parts)


loss_block(
    id="WeightedSum", title="Weighted sum of losses",
    help="Adds several losses into one objective, each times its weight.",
    explanation="One optimizer minimizes one loss; this joins several into one, for example a "
                "VAE's reconstruction and KL terms, or a task loss plus a regularizer. Weights "
                "apply in wiring order; none given means all 1.",
    inputs=(Port("losses", kind="loss", multi=True, help="the losses to add"),),
    params=(Param("weights", FloatList(), (), "one weight per wired loss, in wiring order "
                  "(empty: all 1)"),),
    check=_weighted_check, forward=_weighted_forward,
    examples=({"losses": [LOSS, LOSS]}, {"losses": [LOSS]}),
)

__all__ = ["require_float"]
