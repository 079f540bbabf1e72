"""The previews in ``train.py``: how each is saved (``PREVIEWS``), the fixed inputs
``Training.__init__`` draws once so every preview of a run shows the same samples, and
``Training.previews``, which draws the preview outputs from them as image batches.
"""

from __future__ import annotations

from studio.engine.forward_code import VariableNames, ancestors
from studio.engine.naming import Namer
from studio.engine.render import value
from studio.engine.training_forward import ForwardWriter

BODY = 2  # the indent of a method's body


class PreviewWriter:
    def __init__(self, forward: ForwardWriter, attrs: Namer):
        self.forward = forward
        self.graph = forward.graph
        self.src = forward.src
        self.attrs = attrs

    def settings_line(self) -> str | None:
        """``PREVIEWS = {name: how to save its grid}``, or None without previews."""
        previews = self.graph.previews()
        if not previews:
            return None
        meta = {self.graph.var_name(p): self.graph.spec(p).preview.meta(self.graph.rows[p].values)
                for p in previews}
        return f"PREVIEWS = {value_dict(meta)}"

    def write_inputs(self) -> None:
        """The end of ``__init__``: the preview batch and each drawn node's fixed draw."""
        g, src = self.graph, self.src
        previews = g.previews()
        if not previews:
            return
        count = 'SETTINGS["preview_count"]'
        if g.dataset:
            src.add("self.preview_batch = " + ("self.data.test" if g.whole_image() else
                    f"tuple(t[:{count}] for t in self.data.test)"), indent=BODY)
            src.add("self.preview_count = len(self.preview_batch[0])", indent=BODY)
        else:
            src.add(f"self.preview_count = {count}", indent=BODY)
        needed = ancestors(g.graph, previews)
        fixed = [n for n in g.order if n in needed and g.fixed_preview(n)]
        if fixed:
            src.add("fixed = torch.Generator().manual_seed(seed + 1)  # the same samples all run",
                    indent=BODY)
        for n in fixed:
            attr = self.attrs.take(f"fixed_{g.var_name(n)}")
            self.forward.attr_of[n + ":fixed"] = attr
            draw = g.fixed_preview(n)(g.rows[n].values, "self.preview_count", "fixed")
            src.add(f"self.{attr} = ({draw}).to(device)", g.origin(n), indent=BODY)

    def write(self) -> None:
        """``previews``, and ``as_image`` after the class when a preview needs it."""
        g, src = self.graph, self.src
        previews = g.previews()
        src.add("@torch.no_grad()", indent=1)
        src.add("def previews(self):", indent=1)
        src.add('"""Preview outputs from fixed inputs, in eval mode: name -> images (N, C, H, W)."""',
                indent=BODY)
        if not previews:
            src.add("return {}", indent=BODY)
            src.add("")
            return
        needed = ancestors(g.graph, previews)
        vars_ = VariableNames(g.graph, needed)
        src.add("self.set_train(False)", indent=BODY)
        draws = g.draws([n for n in needed if not g.fixed_preview(n)])
        if g.dataset in needed:
            self.forward.bind_batch(vars_, "self.preview_batch", BODY, needs_n=draws)
        elif draws:
            src.add("n = self.preview_count", indent=BODY)
        self.forward.emit([n for n in g.order if n in needed], vars_, "preview", BODY)
        src.add("self.set_train(True)", indent=BODY)
        items = [f"{g.var_name(p)!r}: {self.as_images(p, vars_)}" for p in previews]
        src.add("return {" + ", ".join(items) + "}", indent=BODY)
        src.add("")
        if any("as_image(" in i for i in items):
            src.add("")
            src.add("def as_image(pixels):")
            src.add('"""Every pixel of one square image, (H*W, C), as a (1, C, H, W) batch."""',
                    indent=1)
            src.add("side = int(round(pixels.shape[0] ** 0.5))", indent=1)
            src.add("return pixels.t().reshape(1, pixels.shape[1], side, side)", indent=1)
        src.add("")

    def as_images(self, preview_id: str, vars_: VariableNames) -> str:
        """The value wired into a preview, as an expression of an (N, C, H, W) batch."""
        g = self.graph
        e = next(e for e in g.graph.edges if e.dst == preview_id)
        var = vars_.read((e.src, e.src_port))
        t = g.rows[preview_id].inputs["x"]
        if t.rank == 1 and g.whole_image():
            return f"as_image({var})"
        if t.rank == 2:
            return f"{var}.unsqueeze(1)"
        if t.rank == 1:
            return f"{var}.reshape(1, 1, {var}.shape[0], -1)"
        return var


def value_dict(d: dict) -> str:
    return "{" + ", ".join(f"{k!r}: {value_dict(v) if isinstance(v, dict) else value(v)}"
                           for k, v in d.items()) + "}"
