"""The block registry: one declaration per block type, read by everything else.

A declaration holds the block's ports, parameters, explanation, shape rule, cost rule,
receptive-field rule, how it becomes code and its roles in training (``core.roles``). Shape and
cost rules are plain integer arithmetic (no torch), so the editor can check a graph without
importing torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from operator import is_not

from studio.core.import_rules import ImportRule
from studio.core.params import Kind, ParamError
from studio.core.roles import (
    AdversarialRole,
    AfterInit,
    DataRole,
    DrawnRole,
    FlatRegion,
    InspectorPlot,
    LatentRole,
    LossRole,
    OptimizerRole,
    PreviewRole,
)
from studio.core.symbolic import Sym

MISSING = object()

# Where a block may be placed.
NETWORK = "network"
TRAINING = "training"

CATEGORIES = (
    "data", "structure", "convolution", "pooling", "normalization", "activation", "generative",
    "loss", "optimizer", "output",
)


class ShapeError(ValueError):
    """A wiring or parameter that cannot work with the shapes flowing in; says why and how to fix."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TensorType:
    """What flows on a wire: a per-sample shape (no batch dimension) and a dtype.

    ``kind`` is "tensor" for data and "loss" for a scalar objective an optimizer can take.
    """

    shape: tuple
    dtype: str = "float"
    kind: str = "tensor"

    @property
    def rank(self) -> int:
        return len(self.shape)

    def describe(self) -> str:
        if self.kind == "loss":
            return "loss"
        if not self.shape and self.dtype == "long":
            return "class index"
        dims = " x ".join(str(d) if isinstance(d, int) else d.render() for d in self.shape) or "scalar"
        return dims if self.dtype == "float" else f"{dims} ({self.dtype})"


def image(*shape) -> TensorType:
    return TensorType(tuple(shape))


LOSS = TensorType((), "float", "loss")


@dataclass(frozen=True)
class Port:
    name: str
    kind: str = "tensor"  # "tensor" or "loss"
    multi: bool = False  # accepts several wires, in wiring order (Add, Concat, weighted sum)
    optional: bool = False
    help: str = ""


class Condition:
    """When a parameter applies, declared as data so it can be evaluated and put into words.

    ``When("schedule", "step")`` holds when the ``schedule`` parameter is "step"; conditions
    combine with ``&`` and ``|``. Called with a node's values (``cond(p)``) it says whether the
    parameter matters for that node; ``describe()`` says so for the inspector and the docs.
    """

    def __call__(self, p) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def __and__(self, other: Condition) -> Condition:
        return AllOf((self, other))

    def __or__(self, other: Condition) -> Condition:
        return AnyOf((self, other))


@dataclass(frozen=True)
class When(Condition):
    """Another parameter of the same node has one of ``values``."""

    name: str
    values: tuple

    def __init__(self, name: str, *values):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "values", tuple(values))

    def __call__(self, p) -> bool:
        return getattr(p, self.name, MISSING) in self.values

    def describe(self) -> str:
        shown = [str(v) for v in self.values]
        if len(shown) == 1:
            return f"{self.name} is {shown[0]}"
        return f"{self.name} is one of {', '.join(shown)}"


@dataclass(frozen=True)
class AllOf(Condition):
    parts: tuple

    def __call__(self, p) -> bool:
        return all(c(p) for c in self.parts)

    def describe(self) -> str:
        return " and ".join(c.describe() for c in self.parts)


@dataclass(frozen=True)
class AnyOf(Condition):
    parts: tuple

    def __call__(self, p) -> bool:
        return any(c(p) for c in self.parts)

    def describe(self) -> str:
        return " or ".join(f"({c.describe()})" if isinstance(c, AllOf) else c.describe()
                           for c in self.parts)


@dataclass(frozen=True)
class Param:
    """One parameter of a block: its kind, default, one-line help, the label a person reads
    (``batch_size`` -> "Batch size" unless ``label`` says otherwise) and when it applies
    (``applies``: a Condition on the node's other values; None: always). A parameter that does
    not apply keeps its value in the file and the code; the inspector only leaves it out."""

    name: str
    kind: Kind
    default: object
    help: str
    torch_default: object = MISSING  # omitted from generated code when equal to this
    label: str = ""
    applies: Condition | None = None

    @property
    def title(self) -> str:
        """The human label."""
        return self.label or self.name.replace("_", " ").capitalize()

    def applies_to(self, p) -> bool:
        """Whether this parameter matters for a node with values ``p`` (attributes)."""
        if self.applies is None:
            return True
        try:
            return bool(self.applies(p))
        except (AttributeError, TypeError, ValueError):
            return True  # a value the condition cannot read: show the field rather than hide it

    def validate(self, value):
        if isinstance(value, Sym):  # a reusable network's argument, while generating its class
            return value
        return self.kind.validate(value)


@dataclass(frozen=True)
class Cost:
    params: int = 0
    macs: int = 0


@dataclass(frozen=True)
class Call:
    """A constructor call in generated ``__init__``: ``func(*args, **kwargs)``."""

    func: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


class Raw(str):
    """A code fragment written by a block declaration itself (``self.device``), never file data."""


@dataclass(frozen=True)
class RF:
    """Receptive-field step of a spatial block: kernel, stride and dilation per spatial dim,
    and the padding added before each (top, left), which places the window on the input."""

    kernel: tuple
    stride: tuple
    dilation: tuple | None = None
    padding: tuple | None = None


class Values:
    """Validated parameter values, read as attributes by rules (``p.out_channels``)."""

    def __init__(self, values: dict):
        self.__dict__.update(values)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class BlockSpec:
    id: str
    category: str
    title: str
    help: str  # one line for the palette
    explanation: str  # a short paragraph for the docs panel
    inputs: tuple | Callable
    outputs: tuple | Callable
    params: tuple = ()
    shape: Callable | None = None  # (p, ins: dict[str, TensorType | list]) -> dict[str, TensorType]
    check: Callable | None = None  # (p, ins) -> None; raises ShapeError. Concrete shapes only.
    cost: Callable | None = None  # (p, ins, outs) -> Cost
    rf: Callable | None = None  # (p, ins) -> RF | "global" | None (identity)
    module: Callable | None = None  # (p, ins) -> Call | None: a submodule to construct
    forward: Callable | None = None  # (p, args: dict[str, str | list[str]], attr: str|None) -> str
    helpers: tuple = ()  # names from the engine's runtime library the code needs
    where: frozenset = frozenset({NETWORK, TRAINING})
    version: int = 1
    migrations: dict = field(default_factory=dict)  # from version -> fn(params) -> params
    differentiable: bool = True
    examples: tuple = ()  # input types for the contract test: dicts of port -> TensorType
    validate_params: Callable | None = None  # (p) -> None; raises ParamError naming the field
    # its roles in training (see core.roles); None: the block does not play that part
    data: DataRole | None = None
    drawn: DrawnRole | None = None
    loss: LossRole | None = None
    optimizer: OptimizerRole | None = None
    preview: PreviewRole | None = None
    after_init: AfterInit | None = None
    plot: InspectorPlot | None = None
    adversarial: AdversarialRole | None = None  # a GAN's loss (its inputs: D's scores)
    latent: LatentRole | None = None  # a VAE's sampling step (its ports: the latent code)
    dead_units: bool = False  # zero with zero gradient below 0 (ReLU): probes count dead units
    flat: FlatRegion | None = None  # an activation's inputs where its slope is ~0 (roles.py)
    imports: ImportRule | None = None  # the torch layers and calls it stands for (studio import)

    def input_ports(self, p: Values) -> tuple:
        return self.inputs(p) if callable(self.inputs) else self.inputs

    def output_ports(self, p: Values) -> tuple:
        return self.outputs(p) if callable(self.outputs) else self.outputs

    def expression(self, p: Values, args: dict, attr: str | None) -> str:
        """The source of one call of this block on ``args`` (port -> expression, a list for
        multi ports): its declared forward, else its module called on the inputs in port order."""
        if self.forward is not None:
            return self.forward(p, args, attr)
        flat = []
        for port in self.input_ports(p):
            if port.name in args:
                flat += args[port.name] if port.multi else [args[port.name]]
        return f"{attr}({', '.join(flat)})"

    def param(self, name: str) -> Param:
        for prm in self.params:
            if prm.name == name:
                return prm
        raise KeyError(name)

    def defaults(self) -> dict:
        return {prm.name: prm.default for prm in self.params}

    def validate(self, values: dict) -> dict:
        """Normalize a full parameter dict; unknown names and bad values raise ParamError."""
        out = {}
        for name in values:
            if not any(prm.name == name for prm in self.params):
                raise ParamError(f"{self.id} has no parameter {name!r}")
        for prm in self.params:
            value = values.get(prm.name, prm.default)
            try:
                out[prm.name] = prm.validate(value)
            except ParamError as err:
                raise ParamError(f"{prm.name}: {err}") from None
        if self.validate_params:
            self.validate_params(Values(out))
        return out


REGISTRY: dict[str, BlockSpec] = {}


def register(spec: BlockSpec) -> BlockSpec:
    if spec.id in REGISTRY:
        raise ValueError(f"block {spec.id!r} declared twice")
    if spec.category not in CATEGORIES:
        raise ValueError(f"block {spec.id!r}: unknown category {spec.category!r}")
    REGISTRY[spec.id] = spec
    return spec


def get_block(block_id: str) -> BlockSpec:
    load_catalogue()
    try:
        return REGISTRY[block_id]
    except KeyError:
        raise KeyError(f"unknown block type {block_id!r}") from None


def all_blocks() -> list[BlockSpec]:
    load_catalogue()
    return list(REGISTRY.values())


_catalogue: list[Callable[[], object]] = []


def provide_catalogue(load: Callable[[], object]) -> None:
    """Say how to fill the registry on first use. The package above the layers (``studio``)
    provides the import of ``studio.blocks``, so core never imports the catalogue itself."""
    _catalogue[:] = [load]


def load_catalogue() -> None:
    """Fill the registry with the provided catalogue on first use."""
    if not REGISTRY and _catalogue:
        _catalogue[0]()


# ---------------------------------------------------------------------------------------------
# Asking the declarations: which node plays which part (never a block name)
# ---------------------------------------------------------------------------------------------

ROLES = ("data", "drawn", "loss", "optimizer", "preview", "after_init", "plot", "adversarial",
         "latent")


def spec_of(block: str) -> BlockSpec | None:
    """The declaration of a block type; None for a network instance or an unknown type."""
    load_catalogue()
    return REGISTRY.get(block)


def role_of(block: str, role: str):
    """The ``role`` part (one of ROLES) a block type declares, or None."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    return getattr(spec_of(block), role, None)


def nodes_with(graph, role: str) -> list:
    """The nodes of ``graph`` whose block declares ``role``, in the graph's order."""
    blocks = _blocks_with(role)
    return [n for n in graph.nodes.values() if n.block in blocks]


_role_blocks: dict = {}  # role -> (the registry's specs when asked, the block ids with the role)


def _blocks_with(role: str) -> frozenset:
    """The ids of the block types declaring ``role``: asked on every edit (which node is the
    data source?) of graphs of thousands of nodes, so worked out once per state of the
    registry rather than once per node."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    load_catalogue()
    specs = tuple(REGISTRY.values())
    known = _role_blocks.get(role)
    if known is None or len(known[0]) != len(specs) or any(map(is_not, known[0], specs)):
        known = _role_blocks[role] = (specs, frozenset(
            s.id for s in specs if getattr(s, role, None) is not None))
    return known[1]


def block_with(role: str) -> BlockSpec:
    """The one block type that declares ``role`` (the data source, the preview output)."""
    found = [s for s in all_blocks() if getattr(s, role, None) is not None]
    if len(found) != 1:
        raise LookupError(f"{len(found)} block types declare the {role} role; expected one")
    return found[0]


def is_data_source(block: str) -> bool:
    """Whether the training script takes its batches from this block (the Dataset)."""
    return role_of(block, "data") is not None


def is_preview(block: str) -> bool:
    """Whether this block is an output shown as an image grid during training."""
    return role_of(block, "preview") is not None


def measures_accuracy(block: str) -> bool:
    """Whether this block is a loss on class scores whose evaluation counts right answers."""
    loss = role_of(block, "loss")
    return bool(loss and loss.accuracy)
