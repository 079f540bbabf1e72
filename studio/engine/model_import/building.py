"""The imported model as a Studio project: one network per folded class and one for the model,
used in a training graph with a built-in dataset of the input's shape, a loss that fits the
output and an optimizer, laid out to be read. Each node remembers the module path it came from,
so the trained weights can be named as the original model names them."""

from __future__ import annotations

from studio.core.layout import layout_project
from studio.core.project import INPUT, INSTANCE, OUTPUT, Graph, PortRef, Project
from studio.core.templates import TemplateError, train_imported
from studio.engine.model_import.mapping import Sketch

SAMPLES = 200  # images of the built-in dataset the imported project starts with


class BuildError(ValueError):
    """The model's input or output has no built-in dataset or loss to train it with."""


def fill(project: Project, graph: Graph, body: Sketch, origins: dict, key: str) -> list:
    """Add ``body``'s ops to ``graph`` (Input nodes for a network's inputs); returns the refs of
    its outputs. ``origins[(key, node id)]`` = the module path each module-holding node came
    from."""
    refs: dict = {}
    for name in body.inputs:
        if graph.kind == "network":
            refs[name] = graph.add(INPUT, id=name)
    for op in body.ops:
        title = op.id if op.path else ""
        if op.block == INSTANCE:
            node = project.instance(graph, op.params["network"], id=op.id, title=title,
                                    **op.params["args"])
        else:
            node = graph.add(op.block, id=op.id, title=title, shares=op.shares, **op.params)
        if op.path:
            origins[(key, op.id)] = op.path
        elif op.state:
            origins[(key, op.id)] = op.state
        refs[op.id] = node
        for port, src, src_port in op.inputs:
            source = PortRef(graph, src, src_port) if src_port else refs[src]
            if port is None:
                graph.connect(source, node)
            else:
                graph.connect(source, PortRef(graph, op.id, port))
    return [PortRef(graph, src, port) if port else refs[src] for src, port in body.outputs]


def network(project: Project, name: str, body: Sketch, args: dict, origins: dict) -> None:
    from studio.engine.model_import.folding import ARG_KIND

    net = project.network(name)
    for arg, default in args.items():
        net.arg(arg, ARG_KIND, default)
    outputs = fill(project, net, body, origins, name)
    for i, ref in enumerate(outputs, 1):
        out = net.add(OUTPUT, id="out" if len(outputs) == 1 else f"out{i}")
        net.connect(ref, out)


def build(name: str, networks: dict, top: Sketch, input_shape: tuple,
          output_shape: tuple) -> tuple[Project, str, dict]:
    """The project, the id of the model's instance in its training graph, and the origins."""
    project = Project(name)
    origins: dict = {}
    for folded in networks.values():
        network(project, folded.name, folded.body, folded.args, origins)
    network(project, name, top, {}, origins)
    try:
        instance = train_imported(project, name, input_shape, output_shape, SAMPLES)
    except TemplateError as err:
        raise BuildError(str(err)) from None
    layout_project(project)
    return project, instance, origins
