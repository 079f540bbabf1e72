"""Preview outputs: values shown (and written as image grids) during training, never trained on."""

from __future__ import annotations

from studio.blocks._common import X, declare, require_rank
from studio.core.params import Choice, Int
from studio.core.registry import TRAINING, Param
from studio.core.roles import PreviewRole


def _preview_meta(p) -> dict:
    """How the grid is drawn: the value range mapped to black..white and images per row."""
    low, high = (-1.0, 1.0) if p.value_range == "-1..1" else (0.0, 1.0)
    return {"value_range": (low, high), "nrow": p.nrow}


def _preview_check(p, ins):
    require_rank(ins["x"], (1, 2, 3), "images (channels x height x width) or vectors")


declare(
    id="Preview", category="output", title="Preview", where=frozenset({TRAINING}),
    help="Shows generated samples or reconstructions every few steps, without gradients.",
    explanation="Evaluates what is wired into it on a fixed batch (fixed noise, fixed test "
                "images) with the networks in eval mode and no gradients, and shows the result "
                "as an image grid. Nothing here affects training.",
    inputs=X, outputs=(),
    params=(
        Param("value_range", Choice(("-1..1", "0..1")), "-1..1", "range mapped to black..white"),
        Param("nrow", Int(1, 64), 8, "images per row of the grid", label="Images per row"),
    ),
    check=_preview_check, shape=lambda p, ins: {},
    preview=PreviewRole(meta=_preview_meta),
)
