"""``Training.inspect(batch)``, written after the script's end and never exported: the whole
graph once, in eval mode, with no gradient and no update. Studio's activation probes and the
ONNX export watch this pass, so they see exactly this code run.
"""

from __future__ import annotations

from studio.engine.forward_code import VariableNames, ancestors
from studio.engine.training_forward import ForwardWriter


def write_inspect(forward: ForwardWriter) -> None:
    g, src = forward.graph, forward.src
    needed = ancestors(g.graph, g.optimizers())
    src.add("@torch.no_grad()")
    src.add("def inspect(self, batch):")
    src.add('"""Every value of the graph for one batch, in eval mode, changing nothing; '
            'returns the losses."""', indent=1)
    vars_ = VariableNames(g.graph, needed)
    src.add("self.set_train(False)", indent=1)
    forward.bind_batch(vars_, "batch", 1, needs_n=g.draws(needed))
    forward.write_channels_last(vars_, 1)
    region = [n for n in g.order if n in needed]
    forward.forward_block(region, vars_, "inspect", 1)
    src.add("self.set_train(True)", indent=1)
    losses = [n for n in region if g.role(n) == "loss"]
    src.add("return {" + ", ".join(f"{g.var_name(n)!r}: {vars_.read((n, 'loss'))}"
                                   for n in losses) + "}", indent=1)
    src.add("")
    src.add("")
    src.add("Training.inspect = inspect")
