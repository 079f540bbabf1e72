"""Which nodes make a project a GAN or a VAE, found by the roles their blocks declare
(``core/roles.py``: a GAN's loss is ``adversarial``, a VAE's sampling step ``latent``), never
by a block's name: the wires that carry the discriminator's scores, the latent code's mean,
log-variance and sample, the network that decodes the sample, and the losses that are the
VAE's two terms.

No torch here: the dashboard asks it which views a project has, the probes what to read.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.inference import node_ports
from studio.core.project import INSTANCE
from studio.core.registry import Values, role_of, spec_of
from studio.engine.naming import identifier
from studio.engine.node_keys import node_key


@dataclass(frozen=True)
class AdversarialWires:
    """A GAN's scores by node key: the discriminator's of real and of generated samples (as
    its loss reads them) and of the generator's samples (as the generator's loss reads them);
    whether they are logits; the optimizer node that trains the generator (None: not found)."""

    real: str
    fake: str
    generated: str | None
    logits: bool
    generator_optimizer: str | None


@dataclass(frozen=True)
class LatentWires:
    """A VAE's latent code by node key (mean, log-variance, sample), the node that decodes the
    sample (a network instance; None when the sample feeds something else) and the metric
    names of its KL and reconstruction terms (None when not found)."""

    mean: str
    log_variance: str
    sample: str
    decoder: str | None
    kl_metric: str | None
    reconstruction_metric: str | None


def _key(graph, node_id: str, port: str) -> str:
    ports = len(node_ports(graph, node_id, "output"))
    return node_key(node_id, port=port if ports > 1 else None)


def _inputs(graph, node_id: str) -> dict:
    return {e.dst_port: e for e in graph.edges if e.dst == node_id}


def _downstream(graph, node_id: str, port: str | None = None) -> list:
    """The nodes reached from ``node_id`` (from its ``port`` only, if given), nearest first."""
    seen, order = set(), []
    todo = [e.dst for e in graph.edges if e.src == node_id and (port is None or
                                                                   e.src_port == port)]
    while todo:
        current = todo.pop(0)
        if current in seen:
            continue
        seen.add(current)
        order.append(current)
        todo += [e.dst for e in graph.edges if e.src == current]
    return order


def _is_loss(node) -> bool:
    spec = spec_of(node.block)
    return spec is not None and spec.category == "loss"


def adversarial_wires(project) -> AdversarialWires | None:
    """The GAN's scores, when the training graph has a discriminator's adversarial loss."""
    graph = project.training
    found: dict = {}
    for node in graph.nodes.values():
        role = role_of(node.block, "adversarial")
        if role is not None:
            found.setdefault(role.side(Values(node.params)), (node, role))
    if "discriminator" not in found:
        return None
    node, role = found["discriminator"]
    wires = _inputs(graph, node.id)
    if "real" not in wires or "fake" not in wires:
        return None
    generated, optimizer = None, None
    if "generator" in found:
        loss = found["generator"][0]
        fake = _inputs(graph, loss.id).get("fake")
        generated = _key(graph, fake.src, fake.src_port) if fake is not None else None
        optimizer = next((n for n in _downstream(graph, loss.id)
                          if role_of(graph.nodes[n].block, "optimizer") is not None), None)
    return AdversarialWires(_key(graph, wires["real"].src, wires["real"].src_port),
                            _key(graph, wires["fake"].src, wires["fake"].src_port),
                            generated, bool(role.logits(Values(node.params))), optimizer)


def latent_wires(project) -> LatentWires | None:
    """The VAE's latent code, when the training graph has a sampling step with both its
    inputs wired."""
    graph = project.training
    for node in graph.nodes.values():
        role = role_of(node.block, "latent")
        if role is None:
            continue
        wires = _inputs(graph, node.id)
        if role.mean not in wires or role.log_variance not in wires:
            continue
        mean, log_variance = wires[role.mean], wires[role.log_variance]
        readers = [graph.nodes[e.dst] for e in graph.edges
                   if e.src == node.id and e.src_port == role.sample]
        decoder = next((n for n in readers if n.block == INSTANCE), None)
        kl = next((n for n in graph.nodes.values() if _is_loss(n) and any(
            e.src == mean.src and e.src_port == mean.src_port
            for e in _inputs(graph, n.id).values())), None)
        rebuilt = next((graph.nodes[n] for n in _downstream(graph, decoder.id)
                        if _is_loss(graph.nodes[n])), None) if decoder is not None else None
        return LatentWires(_key(graph, mean.src, mean.src_port),
                           _key(graph, log_variance.src, log_variance.src_port),
                           _key(graph, node.id, role.sample),
                           decoder.id if decoder is not None else None,
                           _metric(kl), _metric(rebuilt))
    return None


def _metric(node) -> str | None:
    """The metric name the training script gives a loss node's value."""
    return identifier(node.title or node.id) if node is not None else None
