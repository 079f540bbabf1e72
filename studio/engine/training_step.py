"""``Training.train_step`` in ``train.py``: the optimizers in their order, each with its own
forward pass, backward pass and step (and its schedule's step). The nodes that cannot reach
anything the stepping optimizer updates run under ``torch.no_grad()`` (a GAN's generator while
the discriminator learns).
"""

from __future__ import annotations

from studio.engine.forward_code import CodegenError, VariableNames, ancestors
from studio.engine.render import call
from studio.engine.training_forward import ForwardWriter


class StepWriter:
    def __init__(self, forward: ForwardWriter):
        self.forward = forward
        self.graph = forward.graph
        self.src = forward.src
        self.attr_of = forward.attr_of

    def write(self) -> list[str]:
        """Writes ``train_step``; returns the names of the losses it returns (the metrics)."""
        g, src = self.graph, self.src
        src.add("def train_step(self, batch):", indent=1)
        src.add('"""One training step; returns the losses as tensors (no device sync)."""',
                indent=2)
        opts = g.optimizers()
        everything = ancestors(g.graph, opts)
        vars_ = VariableNames(g.graph, everything)
        self.forward.bind_batch(vars_, "batch", 2, needs_n=g.draws(everything))
        augment = g.augment_call()
        if augment is not None:  # training batches only: never evaluation, previews or probes
            image = vars_.read((g.dataset, "image"))
            src.add(f"{image} = {call(augment, {'<image>': image})}", g.origin(g.dataset),
                    indent=2)
        self.forward.write_channels_last(vars_, 2)
        metrics = []
        for i, opt in enumerate(opts):
            if i > 0:  # a later optimizer recomputes its own forward pass
                vars_ = VariableNames(g.graph, ancestors(g.graph, [opt]), ())
                self.forward.rebind_batch(vars_)
            metrics += self.write_optimizer_step(i, opt, vars_, several=len(opts) > 1)
        if g.amp == "fp16":
            src.add("self.scaler.update()", indent=2)
        seen = {}
        for name, var in metrics:
            seen.setdefault(name, var)
        src.add("return {" + ", ".join(f"{k!r}: {v}.detach()" for k, v in seen.items()) + "}",
                indent=2)
        src.add("")
        return list(seen)

    def write_optimizer_step(self, i: int, opt: str, vars_: VariableNames,
                             several: bool) -> list[tuple[str, str]]:
        """One optimizer's forward pass, backward pass and step; returns (loss name, variable)
        for the losses its pass computed."""
        g, src = self.graph, self.src
        needed = ancestors(g.graph, [opt])
        grad = self.with_gradient(opt, needed)
        loss_edge = next(e for e in g.graph.edges if e.dst == opt)
        if loss_edge.src not in grad:
            raise CodegenError(f"training/{opt}: its loss does not depend on anything it "
                               "updates; wire the networks it should train into the loss")
        if several:
            names = ", ".join(self.attr_of[e] for e in g.updated(opt))
            src.add(f"# step {i + 1}: {self.attr_of[opt]} updates {names}", indent=2)
        region = [n for n in g.order if n in needed]
        self.forward.forward_block(region, vars_, "train", 2, self.without_gradient(needed, grad))
        loss_var = vars_.read((loss_edge.src, loss_edge.src_port))
        attr = self.attr_of[opt]
        src.add(f"self.{attr}.zero_grad(set_to_none=True)", g.origin(opt), indent=2)
        if g.amp == "fp16":
            src.add(f"self.scaler.scale({loss_var}).backward()", g.origin(opt), indent=2)
            src.add(f"self.scaler.step(self.{attr})", g.origin(opt), indent=2)
        else:
            src.add(f"{loss_var}.backward()", g.origin(opt), indent=2)
            src.add(f"self.{attr}.step()", g.origin(opt), indent=2)
        if opt + ":schedule" in self.attr_of:
            src.add(f"self.{self.attr_of[opt + ':schedule']}.step()", g.origin(opt), indent=2)
        return [(g.var_name(n), vars_.read((n, "loss"))) for n in region if g.role(n) == "loss"]

    def with_gradient(self, opt: str, needed: set) -> set:
        """The nodes of ``needed`` that hold or depend on what ``opt`` updates."""
        g = self.graph
        updates = set(g.updated(opt))
        grad = set()
        for n in g.order:
            if n not in needed:
                continue
            preds = {e.src for e in g.graph.edges if e.dst == n}
            if g.entity(n) in updates or preds & grad:
                grad.add(n)
        return grad

    def without_gradient(self, needed: set, grad: set) -> set:
        """The nodes that run under ``torch.no_grad()``: network calls that need no gradient
        and what they feed; a parameter-free one-liner builds no graph, so it needs no block."""
        g = self.graph
        no_grad = set()
        for n in g.order:
            if n in needed and n not in grad and (
                    g.role(n) == "instance"
                    or any(e.src in no_grad for e in g.graph.edges if e.dst == n)):
                no_grad.add(n)
        return no_grad
