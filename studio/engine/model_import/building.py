"""The imported model as a Studio project: one network per folded class and one for the model,
used in a training graph with a built-in dataset of the input's shape, a loss that fits the
output and an optimizer, laid out to be read. Each node remembers the module path it came from,
so the trained weights can be named as the original model names them."""

from __future__ import annotations

import re

from studio.core.layout import layout_project
from studio.core.project import INPUT, INSTANCE, NODE_ID, OUTPUT, Graph, PortRef, Project
from studio.core.templates import TemplateError, train_imported
from studio.engine.model_import.mapping import Sketch

MAX_ID = 64  # the longest node id a file holds (core.project.NODE_ID)
SAMPLES = 200  # images of the built-in dataset the imported project starts with


class BuildError(ValueError):
    """The model's input or output has no built-in dataset or loss to train it with."""


def short_id(name: str, taken=()) -> str:
    """``name`` as a node id: a converter's long path names keep their last parts (at most 64
    characters, the file format's limit), characters an id cannot hold become "_", numbered
    when that tail is already ``taken``."""
    if NODE_ID.match(name) and name not in taken:
        return name
    name = re.sub(r"[^A-Za-z0-9_\-]", "_", name)  # a converter's "layer1.0/conv" and the like
    parts = [p for p in name.split("_") if p]
    tail = parts.pop() if parts else "node"
    while parts and len(parts[-1]) + len(tail) < MAX_ID - 4:
        tail = f"{parts.pop()}_{tail}"
    tail = tail[-(MAX_ID - 4):].lstrip("0123456789-") or "node"
    made, n = tail, 2
    while made in taken or not NODE_ID.match(made):
        made, n = f"{tail}_{n}", n + 1
    return made


def fill(project: Project, graph: Graph, body: Sketch, origins: dict, key: str) -> list:
    """Add ``body``'s ops to ``graph`` (Input nodes for a network's inputs); returns the refs of
    its outputs. ``origins[(key, node id)]`` = the module path each module-holding node came
    from."""
    refs: dict = {}  # op id -> its node
    for name in body.inputs:
        if graph.kind == "network":
            refs[name] = graph.add(INPUT, id=short_id(name))
    for op in body.ops:
        node_id = short_id(op.id, graph.nodes)
        title = op.id if op.path else ""
        if op.block == INSTANCE:
            node = project.instance(graph, op.params["network"], id=node_id, title=title,
                                    **op.params["args"])
        else:
            shares = str(refs[op.shares]) if op.shares else None
            node = graph.add(op.block, id=node_id, title=title, shares=shares, **op.params)
        if op.path:
            origins[(key, node_id)] = op.path
        elif op.state:
            origins[(key, node_id)] = op.state
        refs[op.id] = node
        for port, src, src_port in op.inputs:
            source = PortRef(graph, str(refs[src]), src_port) if src_port else refs[src]
            if port is None:
                graph.connect(source, node)
            else:
                graph.connect(source, PortRef(graph, node_id, short_id(port)))
    return [PortRef(graph, str(refs[src]), port) if port else refs[src]
            for src, port in body.outputs]


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
