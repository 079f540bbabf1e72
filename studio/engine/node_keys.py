"""How the worker's events and the dashboard name a node: its path from the training graph
down through network instances, and the output port of a node that has several.

``training/conv1``, ``training/resnet18/layer1_0/conv1`` (a node of a network, through the
instance that runs it), ``training/vae:mean`` (one output of a multi-output node). Keys are
made by ``node_key`` and read by ``NodeKey.parse``, here only.
"""

from __future__ import annotations

from dataclasses import dataclass

ROOT = "training"  # every path starts at the training graph


def node_key(*path: str, port: str | None = None) -> str:
    """The key of the node at ``path`` (node ids from the training graph down), or of its
    output ``port`` when it has several."""
    key = "/".join((ROOT, *path))
    return f"{key}:{port}" if port else key


def within(instance_key: str, node_id: str, port: str | None = None) -> str:
    """The key of ``node_id`` of the network that the instance at ``instance_key`` runs (or of
    its output ``port``)."""
    key = f"{instance_key}/{node_id}"
    return f"{key}:{port}" if port else key


@dataclass(frozen=True)
class NodeKey:
    """A key read back: the node ids from the training graph down, and the port if named."""

    path: tuple[str, ...]
    port: str | None = None

    @classmethod
    def parse(cls, key: str) -> NodeKey:
        head, _, port = key.partition(":")
        parts = head.split("/")
        if parts[0] == ROOT:
            parts = parts[1:]
        return cls(tuple(parts), port or None)

    @property
    def node(self) -> str:
        """The node's own id (the last step of the path)."""
        return self.path[-1] if self.path else ""

    @property
    def label(self) -> str:
        """The path below the training graph, with the port: ``generator/up1``, ``vae:mean``."""
        text = "/".join(self.path)
        return f"{text}:{self.port}" if self.port else text
