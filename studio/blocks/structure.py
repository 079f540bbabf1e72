"""Structure: Input, Output, network instances, Linear, Flatten, Detach and the wiring blocks."""

from __future__ import annotations

from studio.blocks._common import (
    OUT,
    RF,
    Call,
    Cost,
    Param,
    Port,
    ShapeError,
    TensorType,
    X,
    batch_dim,
    declare,
    numel,
    require_float,
    require_rank,
    same,
)
from studio.core.import_rules import ImportRule, NotImportable, TensorArg, call_arg
from studio.core.params import ArgValues, Bool, Choice, Float, Int, IntList, Name, Optional
from studio.core.registry import NETWORK, When
from studio.core.roles import AfterInit
from studio.core.symbolic import render_expr


def _all_tensors(a) -> list:
    """The call's arguments as a flat list (a list of tensors counts as its items)."""
    flat = []
    for x in a.get("args", ()):
        flat += list(x) if isinstance(x, list) else [x]
    return flat


def _join_import(what: str):
    """``x + y``, ``torch.add(x, y)``...: every argument a tensor of the graph."""
    def params(a) -> dict:
        if not all(isinstance(x, TensorArg) for x in _all_tensors(a)) or a.get("alpha", 1) != 1:
            raise NotImportable(f"{what} of a constant (only of tensors)")
        return {}
    return params


def _flatten_import(a) -> dict:
    if a["kind"] == "module":
        start, end = a["start_dim"], a["end_dim"]
    else:
        start, end = call_arg(a, 1, "start_dim", 0), call_arg(a, 2, "end_dim", -1)
    if end not in (-1, len(a["in_shape"])):
        raise NotImportable(f"end_dim {end} (only the last dimension)")
    return {"start_dim": start}


def _dropout_import(a) -> dict:
    return {"p": a["p"] if a["kind"] == "module" else call_arg(a, 1, "p", 0.5)}


def _concat_import(a) -> dict:
    return {"dim": call_arg(a, 1, "dim", 0)}


def _split_import(a) -> dict:
    return {"chunks": call_arg(a, 1, "chunks"), "dim": call_arg(a, 2, "dim", 0)}


def _upsample_import(a) -> dict:
    mode = a.get("mode", "nearest")
    if mode not in ("nearest", "bilinear") or a.get("align_corners"):
        raise NotImportable(f"mode {mode!r} with align_corners={a.get('align_corners')} (only "
                            "nearest, or bilinear without align_corners)")
    factors = {o / i for o, i in zip(a["out_shape"][1:], a["in_shape"][1:])}
    factor = factors.pop() if len(factors) == 1 else 0
    if factor != int(factor) or factor < 1:
        raise NotImportable(f"from {a['in_shape']} to {a['out_shape']} (only one whole factor)")
    return {"scale_factor": int(factor), "mode": mode}


# What each block stands for when a PyTorch model is imported (core.import_rules)
_IMPORTS = {
    "Linear": ImportRule(modules=("Linear",), params=lambda a: {
        "out_features": a["out_features"], "bias": a["bias"] is not None,
        "per_position": len(a["in_shape"]) > 2}),
    "Flatten": ImportRule(modules=("Flatten",), functions=("torch.flatten",),
                          methods=("flatten",), params=_flatten_import),
    "Dropout": ImportRule(modules=("Dropout",), functions=("torch.nn.functional.dropout",),
                          params=_dropout_import),
    "Dropout2d": ImportRule(modules=("Dropout2d",),
                            functions=("torch.nn.functional.dropout2d",), params=_dropout_import),
    "Add": ImportRule(functions=("operator.add", "operator.iadd", "torch.add"),
                      methods=("add", "add_"), params=_join_import("a sum")),
    "Multiply": ImportRule(functions=("operator.mul", "operator.imul", "torch.mul"),
                           methods=("mul", "mul_"), params=_join_import("a product")),
    "Concat": ImportRule(functions=("torch.cat", "torch.concat"), params=_concat_import),
    "Reshape": ImportRule(functions=("torch.reshape",), methods=("view", "reshape"),
                          params=lambda a: {"shape": a["out_shape"]}),
    "Split": ImportRule(functions=("torch.chunk",), methods=("chunk",), params=_split_import),
    "Upsample": ImportRule(modules=("Upsample",), functions=("torch.nn.functional.interpolate",),
                           params=_upsample_import),
}

declare(
    id="Input", category="structure", title="Input", where=frozenset({NETWORK}),
    help="A tensor entering the network; its shape comes from what is wired to the network.",
    explanation="Marks where data enters a reusable network. The shape normally comes from the "
                "wire feeding the network where it is used; declare one to check the network "
                "on its own.",
    inputs=(), outputs=OUT,
    params=(
        Param("shape", Optional(IntList(1, 6)), None,
              "per-sample shape without the batch dimension (optional)"),
        Param("dtype", Choice(("float", "long")), "float", "float for data, long for class labels",
              label="Data type"),
    ),
)

declare(
    id="Output", category="structure", title="Output", where=frozenset({NETWORK}),
    help="A tensor leaving the network, returned by its forward.",
    explanation="Each Output node is one value the network returns, in the order they were added.",
    inputs=X, outputs=(), shape=lambda p, ins: {"out": ins["x"]},
)

declare(
    id="Network", category="structure", title="Network instance",
    help="An instance of a reusable network: its own weights, one shared definition.",
    explanation="Uses a network defined in this project as one block. Each instance has its own "
                "weights; a linked duplicate of an instance shares them.",
    inputs=(), outputs=(),
    params=(
        Param("network", Name(), "Network", "the network to instantiate"),
        Param("args", ArgValues(), {}, "values for the network's arguments"),
    ),
)


def _linear_shape(p, ins):
    return {"out": TensorType(ins["x"].shape[:-1] + (p.out_features,))}


def _linear_check(p, ins):
    require_float(ins["x"])
    if ins["x"].rank == 0:
        raise ShapeError("expects at least one feature dimension; put a Flatten before it", "x")
    if ins["x"].rank > 2 and not p.per_position:
        raise ShapeError(f"receives {ins['x'].describe()}, an image-shaped tensor; Linear acts "
                         "on the last dimension only, put a Flatten before it (or turn on "
                         "'Each position' to apply it at every position)", "x")


declare(
    imports=_IMPORTS["Linear"],
    id="Linear", category="structure", title="Linear",
    help="Fully connected layer: y = x W^T + b over the last dimension.",
    explanation="Every output unit is a weighted sum of every input feature plus a bias. It has "
                "in_features x out_features weights, so it is where most parameters of a small "
                "classifier live.",
    inputs=X, outputs=OUT,
    params=(
        Param("out_features", Int(1, 1 << 20), 10, "number of output features"),
        Param("bias", Bool(), True, "learn an additive bias", torch_default=True),
        Param("init", Choice(("default", "siren_first", "siren")), "default",
              "weight initialization: torch's default, or SIREN's for the first or a hidden "
              "layer before a Sine", label="Initialization"),
        Param("omega_0", Float(1e-3, 1e4), 30.0, "the following Sine's omega_0 (SIREN init)",
              label="Omega\u2080", applies=When("init", "siren_first", "siren")),
        Param("per_position", Bool(), False, "also take inputs with more dimensions and apply "
              "the layer to the last one at every position (channels-last features, as in "
              "ConvNeXt); the receptive field is then not widened", label="Each position"),
    ),
    check=_linear_check, shape=_linear_shape,
    after_init=AfterInit(
        code=lambda p, attr: None if p.init == "default" else
        f"siren_init_({attr}, omega_0={p.omega_0!r}, first={p.init == 'siren_first'})",
        helpers=("siren_init_",)),
    cost=lambda p, ins, outs: Cost(
        ins["x"].shape[-1] * p.out_features + (p.out_features if p.bias else 0),
        numel(ins["x"].shape[:-1]) * ins["x"].shape[-1] * p.out_features),
    rf=lambda p, ins: None if p.per_position else "global",
    module=lambda p, ins: Call("nn.Linear", (ins["x"].shape[-1], p.out_features),
                               {} if p.bias else {"bias": False}),
    examples=({"x": TensorType((20,))}, {"x": TensorType((5, 7))}),
)


def _flatten_shape(p, ins):
    shape = ins["x"].shape
    start = p.start_dim - 1
    if start < 0 or start >= max(len(shape), 1):
        raise ShapeError(f"start_dim {p.start_dim} is outside a {len(shape) + 1}-dim batch of "
                         f"{ins['x'].describe()}", "start_dim")
    return {"out": TensorType(shape[:start] + (numel(shape[start:]),), ins["x"].dtype)}


declare(
    imports=_IMPORTS["Flatten"],
    id="Flatten", category="structure", title="Flatten",
    help="Flattens each sample into a vector (C x H x W -> C*H*W), keeping the batch.",
    explanation="Joins the feature maps of a convolutional stack into one vector per sample so "
                "that fully connected layers can follow.",
    inputs=X, outputs=OUT,
    params=(Param("start_dim", Int(1, 7), 1, "first dimension to flatten (0 is the batch)",
                  torch_default=1),),
    shape=_flatten_shape, rf=lambda p, ins: "global",
    forward=lambda p, a, attr: f"torch.flatten({a['x']}, {p.start_dim})",
    examples=({"x": TensorType((3, 4, 5))},),
)

declare(
    id="Detach", category="structure", title="Detach",
    help="Passes values on but stops gradients flowing back through this wire.",
    explanation="The value is unchanged; backpropagation treats it as a constant. Studio already "
                "runs parts that an optimizer does not update without gradients; use this to cut "
                "a gradient path on purpose.",
    inputs=X, outputs=OUT, shape=same, differentiable=False,
    forward=lambda p, a, attr: f"{a['x']}.detach()",
    examples=({"x": TensorType((4, 6, 6))},),
)



# --- reshaping -------------------------------------------------------------------------------

def _fill(sizes: tuple, total):
    """``sizes`` with its -1 (if any) replaced by what makes the element count ``total``."""
    known = numel(tuple(n for n in sizes if n != -1))
    return tuple(total // known if n == -1 else n for n in sizes)


def _fits(sizes: tuple, total: int) -> bool:
    known = numel(tuple(n for n in sizes if n != -1))
    return total % known == 0 if -1 in sizes else total == known


def _dims(sizes: tuple) -> str:
    return " x ".join(str(n) for n in sizes)


def _reshape_check(p, ins):
    x = ins["x"]
    total = numel(x.shape)
    if not _fits(p.shape, total):
        raise ShapeError(f"cannot reshape {x.describe()} ({total} values per sample) into "
                         f"{_dims(p.shape)}; the number of values must stay the same", "shape")


def _reshape_forward(p, a, attr):
    sizes = ", ".join(str(n) for n in p.shape)
    if -1 in p.shape:  # the -1 is inferred inside each sample, so name the batch size
        return f"{a['x']}.reshape({a['x']}.shape[0], {sizes})"
    return f"{a['x']}.reshape(-1, {sizes})"


declare(
    imports=_IMPORTS["Reshape"],
    id="Reshape", category="structure", title="Reshape",
    help="Gives each sample a new shape with the same number of values (one size may be -1).",
    explanation="Rearranges the values of each sample into the target shape, read in row-major "
                "order; the batch dimension is kept. A -1 stands for whatever size makes the "
                "count match: a generator turns a 100-number code into 100 x 1 x 1, or a Linear's "
                "output of 256 into 16 x 4 x 4.",
    inputs=X, outputs=OUT,
    params=(Param("shape", IntList(1, 6, allow_infer=True), (-1,),
                  "target shape of one sample, without the batch dimension; -1 once to infer"),),
    check=_reshape_check,
    shape=lambda p, ins: {"out": TensorType(_fill(p.shape, numel(ins["x"].shape)),
                                            ins["x"].dtype)},
    forward=_reshape_forward, rf=lambda p, ins: "global",
    examples=({"x": TensorType((4, 3, 5))}, {"x": TensorType((16,))}),
)


def _unflatten_check(p, ins):
    x = ins["x"]
    d = batch_dim(p.dim, x.rank)
    if not _fits(p.sizes, x.shape[d]):
        raise ShapeError(f"cannot split dim {p.dim} of size {x.shape[d]} (of {x.describe()}) into "
                         f"{_dims(p.sizes)}; the sizes must multiply to {x.shape[d]}", "sizes")


def _unflatten_shape(p, ins):
    x = ins["x"]
    d = batch_dim(p.dim, x.rank)
    sizes = _fill(p.sizes, x.shape[d])
    return {"out": TensorType(x.shape[:d] + sizes + x.shape[d + 1:], x.dtype)}


declare(
    id="Unflatten", category="structure", title="Unflatten",
    help="Splits one dimension into several (400 -> 16 x 5 x 5), the inverse of Flatten.",
    explanation="Expands dimension dim (counting the batch as 0, like torch's nn.Unflatten) "
                "into the given sizes, whose product must equal its length; one size may be -1. "
                "Turns a vector back into feature maps, for instance after the Linear layer at "
                "the start of a generator or decoder.",
    inputs=X, outputs=OUT,
    params=(
        Param("dim", Int(-7, 7), 1, "dimension to split, counting the batch as 0",
              label="Dimension"),
        Param("sizes", IntList(1, 6, allow_infer=True), (-1, 1, 1),
              "sizes it is split into (-1 once to infer)"),
    ),
    check=_unflatten_check, shape=_unflatten_shape, rf=lambda p, ins: "global",
    forward=lambda p, a, attr: f"{a['x']}.unflatten({p.dim}, {p.sizes!r})",
    examples=({"x": TensorType((24,))}, {"x": TensorType((12, 5))}),
)


# --- regularization -------------------------------------------------------------------------

def _image_check(p, ins):
    require_float(ins["x"])
    require_rank(ins["x"], (3,), "an image (channels x height x width)")


_P = Param("p", Float(0.0, 1.0), 0.5, "probability that a value (a channel, for Dropout2d) is "
           "zeroed while training", label="Drop probability")

declare(
    imports=_IMPORTS["Dropout"],
    id="Dropout", category="structure", title="Dropout",
    help="While training, zeroes each value with probability p and rescales the rest.",
    explanation="A regularizer: every training step drops a random subset of units (scaling the "
                "survivors by 1 / (1 - p) so the expected value is unchanged), so no unit can "
                "rely on particular others. This reduces overfitting. In evaluation it does "
                "nothing.",
    inputs=X, outputs=OUT, params=(_P,), check=lambda p, ins: require_float(ins["x"]),
    shape=same, module=lambda p, ins: Call("nn.Dropout", (p.p,)),
    examples=({"x": TensorType((20,))}, {"x": TensorType((3, 6, 6))}),
)

declare(
    imports=_IMPORTS["Dropout2d"],
    id="Dropout2d", category="structure", title="Dropout2d",
    help="While training, zeroes whole feature maps with probability p.",
    explanation="Dropout for convolutional features: neighbouring pixels are strongly "
                "correlated, so dropping single values barely regularizes; dropping whole "
                "channels does. Survivors are scaled by 1 / (1 - p); in evaluation it does "
                "nothing.",
    inputs=X, outputs=OUT, params=(_P,),
    check=_image_check, shape=same, module=lambda p, ins: Call("nn.Dropout2d", (p.p,)),
    examples=({"x": TensorType((4, 6, 6))}, {"x": TensorType((3, 5, 7))}),
)


# --- combining wires -----------------------------------------------------------------------------

MULTI_X = (Port("x", multi=True, help="two or more wires, combined in wiring order"),)


def _stretched(a: tuple, b: tuple) -> tuple:
    """Shape ``a`` with each size of 1 taken from ``b`` (torch repeats it to match)."""
    return tuple(n if isinstance(m, int) and m == 1 else m for m, n in zip(a, b))


def _broadcast(a: tuple, b: tuple) -> tuple | None:
    """The shape torch gives ``a * b`` when both have as many dims and each size is equal or 1
    on one side; None otherwise (concrete sizes: a check)."""
    if len(a) != len(b) or any(m != n and m != 1 and n != 1 for m, n in zip(a, b)):
        return None
    return _stretched(a, b)


def _join_check(what: str, hint: str, broadcast: bool = False):
    """Every wire of one type and the same shape; with ``broadcast``, sizes of 1 stretch."""
    def check(p, ins):
        xs = ins["x"]
        first, shape = xs[0], xs[0].shape
        for other in xs[1:]:
            joined = _broadcast(shape, other.shape) if broadcast else \
                (shape if other.shape == shape else None)
            if joined is None:
                raise ShapeError(f"inputs {first.describe()} and {other.describe()} differ; "
                                 f"{what} needs equal shapes{hint}", "x")
            if other.dtype != first.dtype:
                raise ShapeError(f"inputs {first.describe()} and {other.describe()} have "
                                 f"different types; {what} needs one type", "x")
            shape = joined
    return check


def _first(p, ins):
    return {"out": ins["x"][0]}


declare(
    imports=_IMPORTS["Add"],
    id="Add", category="structure", title="Add",
    help="Adds its inputs element-wise: the join of a residual (skip) connection.",
    explanation="Sums every wire coming in, value by value; all must have the same shape. With "
                "a skip connection, y = x + f(x), the block only has to learn the residual f, "
                "and gradients flow straight through the sum to early layers: this is what "
                "makes very deep networks (ResNet) trainable.",
    inputs=MULTI_X, outputs=OUT,
    check=_join_check("a residual Add", " (use a 1x1 conv or Shortcut to match)"), shape=_first,
    forward=lambda p, a, attr: " + ".join(a["x"]),
    examples=({"x": [TensorType((6, 8, 8)), TensorType((6, 8, 8))]},
              {"x": [TensorType((10,)), TensorType((10,)), TensorType((10,))]}),
)


def _broadcast_shape(p, ins):
    xs = ins["x"]
    shape = xs[0].shape
    for other in xs[1:]:
        shape = _stretched(shape, other.shape)
    return {"out": TensorType(shape, xs[0].dtype)}


declare(
    imports=_IMPORTS["Multiply"],
    id="Multiply", category="structure", title="Multiply",
    help="Multiplies its inputs element-wise (gating, attention masks).",
    explanation="The product of every wire coming in, value by value. The shapes must be equal, "
                "except that a size of 1 is repeated to match the other input: a C x 1 x 1 "
                "gate scales each channel of a C x H x W map. Multiplying features by a sigmoid "
                "of other features lets a network gate them, as in squeeze-and-excitation "
                "blocks, LSTMs and attention.",
    inputs=MULTI_X, outputs=OUT,
    check=_join_check("Multiply", ", or a size of 1 against any size, with as many dimensions "
                      "(a C x 1 x 1 gate scales each channel)", broadcast=True),
    shape=_broadcast_shape,
    forward=lambda p, a, attr: " * ".join(a["x"]),
    examples=({"x": [TensorType((6, 8, 8)), TensorType((6, 8, 8))]},
              {"x": [TensorType((6, 1, 1)), TensorType((6, 8, 8))]},
              {"x": [TensorType((10,)), TensorType((10,))]}),
)


def _concat_check(p, ins):
    xs = ins["x"]
    first = xs[0]
    d = batch_dim(p.dim, first.rank)
    for other in xs[1:]:
        if other.rank != first.rank:
            raise ShapeError(f"inputs {first.describe()} and {other.describe()} have different "
                             "numbers of dimensions; Concat needs the same", "x")
        if other.dtype != first.dtype:
            raise ShapeError(f"inputs {first.describe()} and {other.describe()} have different "
                             "types; Concat needs one type", "x")
        for i, (a, b) in enumerate(zip(first.shape, other.shape)):
            if i != d and a != b:
                raise ShapeError(f"inputs {first.describe()} and {other.describe()} differ in "
                                 f"dim {i + 1} ({a} vs {b}); Concat along dim {p.dim} needs every "
                                 "other dimension equal", "x")


def _concat_shape(p, ins):
    xs = ins["x"]
    d = batch_dim(p.dim, xs[0].rank)
    total = sum(t.shape[d] for t in xs)
    shape = xs[0].shape
    return {"out": TensorType(shape[:d] + (total,) + shape[d + 1:], xs[0].dtype)}


declare(
    imports=_IMPORTS["Concat"],
    id="Concat", category="structure", title="Concat",
    help="Joins its inputs along one dimension (by default the channels).",
    explanation="Stacks the incoming tensors one after another along dim (counting the batch as "
                "0, so 1 means channels or features); every other dimension must match. U-Net "
                "joins encoder and decoder features this way and DenseNet joins each layer's "
                "output to all before it, keeping them side by side instead of summing them.",
    inputs=MULTI_X, outputs=OUT,
    params=(Param("dim", Int(-7, 7), 1, "dimension to join along, counting the batch as 0",
                  label="Dimension"),),
    check=_concat_check, shape=_concat_shape,
    forward=lambda p, a, attr: f"torch.cat([{', '.join(a['x'])}], dim={p.dim})",
    examples=({"x": [TensorType((6, 8, 8)), TensorType((10, 8, 8))]},
              {"x": [TensorType((5,)), TensorType((3,)), TensorType((2,))]}),
)


def _split_ports(p):
    return tuple(Port(f"out{i}") for i in range(1, p.chunks + 1))


def _split_check(p, ins):
    x = ins["x"]
    d = batch_dim(p.dim, x.rank)
    if x.shape[d] % p.chunks:
        raise ShapeError(f"dim {p.dim} of {x.describe()} has size {x.shape[d]}, which does not "
                         f"split into {p.chunks} equal chunks", "chunks")


def _split_shape(p, ins):
    x = ins["x"]
    d = batch_dim(p.dim, x.rank)
    part = TensorType(x.shape[:d] + (x.shape[d] // p.chunks,) + x.shape[d + 1:], x.dtype)
    return {port.name: part for port in _split_ports(p)}


declare(
    imports=_IMPORTS["Split"],
    id="Split", category="structure", title="Split",
    help="Cuts its input into equal chunks along one dimension, one output each.",
    explanation="The inverse of Concat: divides dimension dim (counting the batch as 0) into "
                "chunks equal parts, in order. An encoder that outputs 2 x latent features splits "
                "them into mu and logvar this way; gated units split into a value and a gate.",
    inputs=X, outputs=_split_ports,
    params=(
        Param("chunks", Int(2, 64), 2, "number of equal parts (and outputs)"),
        Param("dim", Int(-7, 7), 1, "dimension to split, counting the batch as 0",
              label="Dimension"),
    ),
    check=_split_check, shape=_split_shape,
    forward=lambda p, a, attr: f"torch.chunk({a['x']}, {p.chunks}, dim={p.dim})",
    examples=({"x": TensorType((8, 4, 4))}, {"x": TensorType((20,))}),
)


# --- resampling and encoding ---------------------------------------------------------------------

def _upsample_forward(p, a, attr):
    mode = f", mode={p.mode!r}" if p.mode != "nearest" else ""
    return f"F.interpolate({a['x']}, scale_factor={render_expr(p.scale_factor)}{mode})"


declare(
    imports=_IMPORTS["Upsample"],
    id="Upsample", category="structure", title="Upsample",
    help="Enlarges feature maps by an integer factor (nearest or bilinear), with no weights.",
    explanation="Makes each feature map scale_factor times higher and wider by repeating pixels "
                "(nearest) or interpolating between them (bilinear). Followed by a Conv2d it is "
                "an alternative to ConvTranspose2d in generators and decoders that avoids "
                "checkerboard artifacts.",
    inputs=X, outputs=OUT,
    params=(
        Param("scale_factor", Int(1, 64), 2, "how many times larger each side becomes"),
        Param("mode", Choice(("nearest", "bilinear")), "nearest",
              "repeat pixels, or interpolate linearly between them", torch_default="nearest"),
    ),
    check=_image_check,
    shape=lambda p, ins: {"out": TensorType((ins["x"].shape[0],) + tuple(
        n * p.scale_factor for n in ins["x"].shape[1:]))},
    forward=_upsample_forward,
    examples=({"x": TensorType((4, 5, 5))}, {"x": TensorType((3, 4, 7))}),
)


def _one_hot_check(p, ins):
    x = ins["x"]
    if x.dtype != "long":
        raise ShapeError(f"expects class indices (long) but receives {x.describe()}", "x")


declare(
    id="OneHot", category="structure", title="OneHot",
    help="Turns class indices into one-hot vectors: 3 -> [0, 0, 0, 1, 0, ...].",
    explanation="Replaces each class index by a vector of num_classes numbers, all 0 except a 1 "
                "at the index, as floats. This is how labels become an input of a network "
                "(a conditional generator, say); indices from 0 to num_classes - 1 are valid.",
    inputs=X, outputs=OUT,
    params=(Param("num_classes", Int(2, 1 << 16), 10, "length of each one-hot vector",
                  label="Classes"),),
    check=_one_hot_check,
    shape=lambda p, ins: {"out": TensorType(ins["x"].shape + (p.num_classes,))},
    forward=lambda p, a, attr: f"F.one_hot({a['x']}, {p.num_classes}).float()",
    differentiable=False,
    examples=({"x": TensorType((), "long")}, {"x": TensorType((5,), "long")}),
)


# --- ResNet's shortcut ------------------------------------------------------------------------

def _shortcut_shape(p, ins):
    x = ins["x"]
    return {"out": TensorType((p.out_channels,) + tuple((n - 1) // p.stride + 1
                                                        for n in x.shape[1:]))}


def _shortcut_cost(p, ins, outs):
    cin = ins["x"].shape[0]
    if cin == p.out_channels and p.stride == 1:
        return Cost(0, 0)
    return Cost(cin * p.out_channels + 2 * p.out_channels, numel(outs["out"].shape) * cin)


declare(
    id="Shortcut", category="structure", title="Shortcut",
    help="ResNet's shortcut: the identity, or a strided 1x1 conv and batch norm when shapes change.",
    explanation="The skip path of a residual block, to be summed with the block's output by Add. "
                "When the block keeps the channel count and the resolution it is the identity "
                "and has no weights. When the block changes them (more channels, stride 2) it "
                "projects the input to the new shape with a 1x1 convolution of the same stride, "
                "without bias, followed by batch norm (ResNet's option B).",
    inputs=X, outputs=OUT,
    params=(
        Param("out_channels", Int(1, 1 << 16), 16, "channels of the block's output"),
        Param("stride", Int(1, 16), 1, "the block's downsampling factor"),
    ),
    check=_image_check, shape=_shortcut_shape, cost=_shortcut_cost,
    rf=lambda p, ins: RF((1, 1), (p.stride, p.stride)),
    module=lambda p, ins: Call("Shortcut", (ins["x"].shape[0], p.out_channels),
                               {"stride": p.stride} if p.stride != 1 else {}),
    helpers=("Shortcut",),
    examples=({"x": TensorType((16, 8, 8))}, {"x": TensorType((8, 9, 9))}),
)

__all__ = ["require_rank"]
