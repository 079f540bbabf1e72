"""Whether a trained state still fits the project as it is now, told in words before the user
presses Continue Training.

The trained state's own project (the one the run trained) and the current one are compared by
the analysis alone, without torch: every layer that holds parameters, with its parameter count
and its input and output shapes. A layer whose count changed, or that is new, cannot take the
trained weights: Continue keeps every other layer's and starts those afresh (the worker loads
the real tensors that fit, ``engine/warm_start.py``, and reports which nodes started afresh).
"""

from __future__ import annotations

from studio.core.inference import analyze
from studio.core.project import INSTANCE

MAX_LISTED = 4


def layer_signature(analysis) -> dict:
    """path -> (parameters, input shapes, output shapes) of each layer holding parameters."""
    out = {}
    for row in analysis.rows:
        if row.params and row.node.block != INSTANCE:
            shapes_in = ", ".join(_describe(t) for t in row.inputs.values())
            shapes_out = ", ".join(_describe(t) for t in row.outputs.values())
            out[row.path] = (row.params, shapes_in, shapes_out)
    return out


def _describe(t) -> str:
    if isinstance(t, list):
        return ", ".join(x.describe() for x in t)
    return t.describe() if t is not None else "?"


def changed_layers(trained: dict, now: dict) -> list[str]:
    """Sentences naming each layer whose weights no longer fit."""
    changes = []
    for path, (params, _, out) in trained.items():
        if path not in now:
            changes.append(f"{path} is gone")
        elif now[path][0] != params:
            changes.append(f"{path} had {params:,} parameters ({out} out), now {now[path][0]:,} "
                           f"({now[path][2]} out)")
    changes += [f"{path} is new" for path in now if path not in trained]
    return changes


class TrainedStateFit:
    """Remembers the project a trained state came from; says which layers no longer fit."""

    def __init__(self):
        self._trained: dict | None = None

    def remember(self, project) -> None:
        """The project (as trained, or as opened beside its weights), or None to forget."""
        self._trained = layer_signature(analyze(project)) if project is not None else None

    def changes(self, analysis) -> list[str]:
        """A sentence per layer whose trained weights no longer fit (none when they all do)."""
        if self._trained is None:
            return []
        return changed_layers(self._trained, layer_signature(analysis))

    def note(self, analysis) -> str | None:
        """What Continue Training will do with the layers that changed, or None when every
        trained weight fits."""
        changes = self.changes(analysis)
        if not changes:
            return None
        more = f"; and {len(changes) - MAX_LISTED} more" if len(changes) > MAX_LISTED else ""
        return ("keeps the trained weights that still fit; these layers start afresh: "
                + "; ".join(changes[:MAX_LISTED]) + more)
