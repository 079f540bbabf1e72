"""How a block stands for a PyTorch layer or call when a model is imported (``studio import``).

A block declares it once, as ``imports=ImportRule(...)`` on its ``BlockSpec``; the importer
(``engine/model_import``) traces an ``nn.Module`` with ``torch.fx`` and asks every declaration
which blocks claim each layer, function or method it meets, so nothing outside ``blocks/``
names a block. Rules are plain data and functions of plain values: none imports torch.

What a rule's functions receive, ``a`` (a dict):

- ``a["kind"]``: "module", "function" or "method";
- ``a["in_shape"]``, ``a["in_shapes"]``, ``a["out_shape"]``: the traced per-sample shapes (no
  batch dimension) of the first tensor input, of every tensor input and of the output;
- for a module: each public attribute of plain value (``in_channels``, ``kernel_size``,
  ``stride``, ``eps``, ``inplace``...; tuples stay tuples) and each parameter or buffer as its
  shape, or None when it is absent (``a["bias"] is None`` for ``bias=False``);
- for a call: ``a["args"]``, the positional arguments, each tensor as a ``TensorArg`` (lists of
  tensors stay lists; for a method the first is the tensor it is called on), each learnable
  tensor read directly (an fx ``get_attr``) as a ``ParamArg``, values computed from shapes
  (``x.size(0)``) as their traced value; and each keyword argument by its name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


class NotImportable(ValueError):
    """Raised by a rule's ``params`` when this layer's settings have no equivalent in the block
    (its message says which, and is shown with the layer's module path)."""


@dataclass(frozen=True)
class TensorArg:
    """A tensor argument of a traced call: its per-sample shape (batch dimension left out)."""

    shape: tuple


@dataclass(frozen=True)
class ParamArg:
    """A learnable tensor a call reads directly (``self.layer_scale * x``): its full shape and
    its attribute name in the module that holds it."""

    shape: tuple
    name: str


def _no_params(a) -> dict:
    return {}


@dataclass(frozen=True)
class ImportRule:
    """Which torch layers and calls a block stands for, and its parameter values for one.

    ``modules``: class names of ``nn.Module`` types; a name with a dot is matched against the
    class's full ``module.qualname`` (``torchvision.ops.misc.Permute``), one without against its
    ``__name__`` (``Conv2d``). Exactly that class, not subclasses (a subclass may change its
    forward). A matched module is not traced into.
    ``functions``: functions as written in code, fully qualified: ``torch.flatten``,
    ``torch.nn.functional.relu``, ``operator.add`` (``x + y``), ``operator.mul``.
    ``methods``: tensor methods by name: ``flatten``, ``view``, ``relu``, ``mean``.
    ``params(a)``: the block's parameter values for this layer or call (a dict; omitted ones
    keep their defaults); raise ``NotImportable`` for settings the block cannot represent.
    ``state(a)``: ``{torch name: block's module name}`` for the tensors whose names differ
    between the torch layer and the block's own module (relative to each; for a call taking a
    ``ParamArg``, its ``name``), None when they are the same.
    ``takes_parameters``: the block holds a learnable tensor that the call reads directly (a
    ``ParamArg`` among ``a["args"]``); rules without it are never offered such calls.

    Tensor inputs are wired in order: all to the block's input port if it has one that takes
    several wires (Add, Concat), else one per input port in declared order. Several blocks may
    claim one name: the importer takes the first, in catalogue order, whose ``params`` accepts
    it and whose shape rule gives the traced output shape (so ``AdaptiveAvgPool2d`` keeps its
    1x1 maps where ``GlobalAvgPool`` would drop them).
    """

    modules: tuple = ()
    functions: tuple = ()
    methods: tuple = ()
    params: Callable = _no_params
    state: Callable | None = None
    takes_parameters: bool = False

    def claims(self, kind: str, name: str, qualname: str = "") -> bool:
        """Whether this rule stands for the module class (``name``: its ``__name__``,
        ``qualname``: ``module.qualname``), function or method so named."""
        if kind == "module":
            return name in self.modules or (bool(qualname) and qualname in self.modules)
        if kind == "function":
            return name in self.functions
        return name in self.methods


def copy_attrs(*names, **renamed) -> Callable:
    """A ``params`` that copies attributes of the same name (``copy_attrs("kernel_size",
    "stride")``) and renamed ones (``copy_attrs(p="p")``, block name = torch attribute)."""
    def params(a) -> dict:
        out = {n: a[n] for n in names if n in a}
        out.update({block: a[torch] for block, torch in renamed.items() if torch in a})
        return out
    return params


def call_arg(a, position: int, name: str, default=None):
    """A call's argument given by position (in ``a["args"]``) or by keyword, else ``default``."""
    args = a.get("args", ())
    if len(args) > position:
        return args[position]
    return a.get(name, default)
