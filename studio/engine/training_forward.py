"""Forward code inside ``train.py``'s methods: one line per node of a region of the training
graph, the batch bound to the dataset's outputs, ``torch.no_grad()`` and autocast blocks.
``train_step``, ``evaluate``, ``previews`` and ``inspect`` each write their pass with it.
"""

from __future__ import annotations

from studio.engine.forward_code import (
    SourceLines,
    VariableNames,
    gather_args,
    instance_input_ports,
    instance_ports,
    preferred_name,
)
from studio.engine.naming import identifier
from studio.engine.render import shape_comment
from studio.engine.training_graph import TrainingGraph


class ForwardWriter:
    """Writes forward passes into ``src``; ``attr_of`` names the ``Training`` attribute that holds
    each node's module (filled by the constructor's writer before any pass is written)."""

    def __init__(self, graph: TrainingGraph, src: SourceLines, attr_of: dict[str, str]):
        self.graph = graph
        self.src = src
        self.attr_of = attr_of

    def forward_block(self, region, vars_: VariableNames, mode: str, indent: int,
                      no_grad=frozenset()):
        """The forward code, inside autocast when the project uses mixed precision."""
        if self.graph.amp != "off":
            self.src.add("with torch.autocast(**self.autocast):", indent=indent)
            indent += 1
        self.emit(region, vars_, mode, indent, no_grad)

    def emit(self, node_ids, vars_: VariableNames, mode: str, indent: int, no_grad=frozenset()):
        """Forward code for ``node_ids`` (in order); runs of ``no_grad`` nodes share one block."""
        in_block = False
        for n in node_ids:
            role = self.graph.role(n)
            if role in ("data_set", "output", "optimizer"):
                continue
            lines = self.node_lines(n, vars_, mode)
            if not lines:
                continue
            wants = n in no_grad
            if wants and not in_block:
                self.src.add("with torch.no_grad():", indent=indent)
                in_block = True
            elif not wants:
                in_block = False
            for line in lines:
                self.src.add(line, self.graph.origin(n), indent=indent + (1 if in_block else 0))

    def node_lines(self, n: str, vars_: VariableNames, mode: str) -> list[str]:
        g = self.graph
        node, row = g.node(n), g.rows[n]
        role = g.role(n)
        if role == "instance":
            net = row.values.network
            ports = instance_input_ports(g.project, net)
            outs = instance_ports(g.project, net, "output")
            args, keys = gather_args(g.graph, n, ports, vars_)
            expr = f"self.{self.attr_of[n]}({', '.join(args[p.name] for p in ports)})"
        else:
            spec = g.spec(n)
            ports = spec.input_ports(row.values)
            outs = [p.name for p in spec.output_ports(row.values)]
            args, keys = gather_args(g.graph, n, ports, vars_)
            if mode == "preview" and g.fixed_preview(n):
                expr = f"self.{self.attr_of[n + ':fixed']}"
            else:
                expr = spec.expression(row.values, dict(args, n="n", device="self.device"),
                                       f"self.{self.attr_of[n]}" if n in self.attr_of else None)
            g.gen.need(spec.helpers)
        vars_.release(keys)
        if role == "loss":
            names = [vars_.bind((n, outs[0]), g.var_name(n))]
        elif node.title:  # in the training graph a title names the value (fake, real_logit)
            base = identifier(node.title)
            names = [vars_.bind((n, p), base if len(outs) == 1 else f"{base}_{identifier(p)}")
                     for p in outs]
        else:
            inherit = vars_.read(keys[0]) if keys else None
            names = [vars_.bind((n, p), preferred_name(node, p, len(outs),
                                                        vars_.uses.get((n, p), 0)), inherit)
                     for p in outs]
        comment = "" if role == "loss" else shape_comment([row.outputs[p] for p in outs])
        return [f"{', '.join(names)} = {expr}{comment}"]

    def bind_batch(self, vars_: VariableNames, source: str, indent: int,
                   needs_n: bool = True) -> None:
        """``image, label = batch`` and ``n``, the batch size the sources draw."""
        dataset = self.graph.dataset
        if dataset:
            names = [vars_.bind((dataset, p), identifier(p)) for p in self.graph.dataset_ports()]
            self.src.add(f"{', '.join(names)} = {source}", self.graph.origin(dataset),
                         indent=indent)
            if needs_n:
                self.src.add(f"n = {names[0]}.shape[0]", indent=indent)
        elif needs_n:
            self.src.add("n = SETTINGS['batch_size']", indent=indent)

    def rebind_batch(self, vars_: VariableNames) -> None:
        """Name the batch's values again in a fresh ``vars_`` (a later optimizer's pass)."""
        dataset = self.graph.dataset
        if dataset:
            for p in self.graph.dataset_ports():
                vars_.var_of[(dataset, p)] = identifier(p)
                vars_.live[identifier(p)] = 1 << 30

    def write_channels_last(self, vars_: VariableNames, indent: int) -> None:
        """The batch's images in channels-last layout, when the project asks for it."""
        if not self.graph.graph.settings["channels_last"]:
            return
        for port in self.graph.image_ports():
            var = vars_.read((self.graph.dataset, port))
            self.src.add(f"{var} = {var}.contiguous(memory_format=torch.channels_last)",
                         indent=indent)
