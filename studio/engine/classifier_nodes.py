"""Which nodes make a project a classifier: a loss that measures accuracy (``registry``'s
``measures_accuracy``) whose target is a dataset's labels, and the class scores it reads.

No torch here: the dashboard asks it which views a project has, the probes which node's
output are the class scores.
"""

from __future__ import annotations

from studio.core.inference import node_ports
from studio.core.registry import is_data_source, measures_accuracy
from studio.engine.node_keys import node_key


def classifier_losses(graph) -> list:
    """(loss node, the wire of the scores it reads, the dataset node whose labels it reads)
    for each loss of the training ``graph`` that measures accuracy on a dataset's labels."""
    found = []
    for node in graph.nodes.values():
        if not measures_accuracy(node.block):
            continue
        wires = {e.dst_port: e for e in graph.edges if e.dst == node.id}
        scores, target = wires.get("input"), wires.get("target")
        if scores is None or target is None or not is_data_source(graph.nodes[target.src].block):
            continue
        found.append((node, scores, graph.nodes[target.src]))
    return found


def classified_samples(project, analysis) -> list:
    """The shape of one sample of each classifier's dataset (its first output, as
    ``analysis`` has it): (2,) for 2-D points, (C, H, W) for images."""
    shapes = []
    for _loss, _scores, data in classifier_losses(project.training):
        row = analysis.result("training", data.id)
        outputs = list(row.outputs.values()) if row is not None else []
        if outputs:
            shapes.append(tuple(outputs[0].shape))
    return shapes


def classifier_scores(project) -> str | None:
    """The node key of the class scores a classifier's loss reads (for the predictions grid),
    when the project has a loss that measures accuracy on dataset labels."""
    every = all_classifier_scores(project)
    return every[0][0] if every else None


def all_classifier_scores(project) -> list:
    """(node key of the class scores, the node giving them) for every loss of the training
    graph that measures accuracy on dataset labels, in the graph's order (a lesson may train
    two classifiers side by side)."""
    graph = project.training
    found = []
    for _loss, scores, _data in classifier_losses(graph):
        ports = len(node_ports(graph, scores.src, "output"))
        key = node_key(scores.src, port=scores.src_port if ports > 1 else None)
        if key not in (k for k, _ in found):
            found.append((key, scores.src))
    return found
