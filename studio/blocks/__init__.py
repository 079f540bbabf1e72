"""The block catalogue: one declaration per block type. No Qt, and no torch at import time."""

from studio.blocks import (  # noqa: F401  (importing registers the declarations)
    activations,
    convolution,
    data,
    generative,
    losses,
    normalization,
    optimizers,
    outputs,
    pooling,
    structure,
    tensor_layout,
    unit_branch,
)
