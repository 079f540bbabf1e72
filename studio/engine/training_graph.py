"""What the writers of ``train.py`` ask about the analysed training graph: each node's role,
the dataset and what it gives, the optimizers in their order and what each updates, which
losses are measured on held-out data. Read-only: it writes no code, so every writer
(``training_setup``, ``training_step``, ``training_evaluation``, ``training_previews``) asks
the same questions and gets the same answers.
"""

from __future__ import annotations

from studio.core.inference import NodeResult
from studio.core.project import INSTANCE
from studio.core.registry import get_block, role_of
from studio.engine.forward_code import CodegenError, ancestors, readable_order
from studio.engine.naming import identifier


class TrainingGraph:
    """The lowered project's training graph with its analysis (depth 0 rows only)."""

    def __init__(self, gen):
        self.gen = gen
        self.project = gen.project
        self.graph = gen.project.training
        self.rows: dict[str, NodeResult] = {
            r.node.id: r for r in gen.analysis.rows if r.graph == "training" and r.depth == 0}
        self.order = readable_order(self.graph)
        self.by_role: dict[str, list[str]] = {}
        for node_id in self.order:
            self.by_role.setdefault(self.role(node_id), []).append(node_id)
        datasets = self.by_role.get("data_set", [])
        if len(datasets) > 1:
            raise CodegenError("a training graph takes its batches from one Dataset; "
                               f"{', '.join(datasets)} are several")
        self.dataset = datasets[0] if datasets else None

    # nodes -----------------------------------------------------------------------------------
    def role(self, node_id: str) -> str:
        node = self.graph.nodes[node_id]
        if node.block == INSTANCE:
            return "instance"
        if role_of(node.block, "data") is not None:
            return "data_set"
        return get_block(node.block).category

    def node(self, node_id):
        return self.graph.nodes[node_id]

    def spec(self, node_id):
        return get_block(self.node(node_id).block)

    def origin(self, node_id) -> tuple:
        """Where a line written for this node points in the user's project (before lowering)."""
        moved = {v: k for k, v in self.gen.moved.items()}
        return ("training", moved.get(node_id, node_id))

    def var_name(self, node_id) -> str:
        node = self.node(node_id)
        return identifier(node.title or node.id)

    def previews(self) -> list[str]:
        return self.by_role.get("output", [])

    @property
    def amp(self) -> str:
        return self.graph.settings["amp"]

    # optimizers ------------------------------------------------------------------------------
    def optimizers(self) -> list[str]:
        """The optimizers in the order they step (their ``order``, then their place)."""
        opts = self.by_role.get("optimizer", [])
        index = {n: i for i, n in enumerate(self.graph.nodes)}
        return sorted(opts, key=lambda n: (self.rows[n].values.order, index[n]))

    def updated(self, opt_id: str) -> list[str]:
        """Entity ids (instance nodes) an optimizer updates."""
        values = self.rows[opt_id].values
        upstream = ancestors(self.graph, [opt_id])
        instances = [n for n in self.order if self.role(n) == "instance"]
        if values.updates:
            out = []
            for name in values.updates:
                hits = [n for n in instances if name in (n, self.node(n).title,
                                                         self.node(n).params.get("network"))]
                if name in self.gen.moved:
                    hits.append(self.gen.moved[name])
                if not hits:
                    raise CodegenError(f"training/{opt_id}: updates: no network instance or layer "
                                       f"named {name!r}")
                for h in hits:
                    if self.entity(h) not in out:
                        out.append(self.entity(h))
            return out
        out = []
        for n in instances:
            if n in upstream and self.entity(n) not in out and self.trainable(self.entity(n)):
                out.append(self.entity(n))
        if not out:
            raise CodegenError(f"training/{opt_id}: nothing with trainable parameters is upstream "
                               "of its loss, so it has nothing to update")
        return out

    def entity(self, node_id: str) -> str:
        """The node whose weights this one uses (itself unless it shares another's)."""
        return self.node(node_id).shares or node_id

    def trainable(self, node_id: str) -> bool:
        return self.rows[node_id].params > 0

    # the dataset -----------------------------------------------------------------------------
    def data_role(self):
        return self.spec(self.dataset).data

    def load_call(self):
        """The dataset's loader call (a runtime-library function)."""
        return self.data_role().load(self.rows[self.dataset].values)

    def augment_call(self):
        """The dataset's augmentation call (random crops, flips, shifts), or None."""
        if not self.dataset:
            return None
        return self.data_role().augment(self.rows[self.dataset].values)

    def batches_class(self) -> str:
        """The runtime-library class that batches the dataset's splits: the one that also reads
        streamed splits only where the dataset may stream."""
        streams = self.data_role().streams(self.rows[self.dataset].values)
        return "StreamableBatches" if streams else "TensorBatches"

    def whole_image(self) -> bool:
        """Whether the batches are the pixels of one picture (a coordinate network's data)."""
        return bool(self.dataset) and self.data_role().whole_image(self.rows[self.dataset].values)

    def dataset_ports(self) -> list[str]:
        """The names of the dataset's outputs, in the order a batch holds them."""
        return [p.name for p in self.spec(self.dataset).output_ports(
            self.rows[self.dataset].values)]

    def image_ports(self) -> list[str]:
        """The dataset's image-shaped outputs (channels x height x width)."""
        if not self.dataset:
            return []
        row = self.rows[self.dataset]
        return [p for p, t in row.outputs.items() if t.rank == 3 and t.dtype == "float"]

    def draws(self, nodes) -> bool:
        """Whether any of ``nodes`` draws a batch of its own size ``n`` (noise, class labels)."""
        for n in nodes:
            spec = self.spec(n) if self.role(n) != "instance" else None
            if spec is not None and spec.forward is not None and spec.category == "data":
                probe = spec.forward(self.rows[n].values, {"n": "__batch__", "device": "d"}, None)
                if "__batch__" in probe:
                    return True
        return False

    def fixed_preview(self, node_id):
        """The fixed draw previews use instead of this node's per-step draw, or None."""
        drawn = role_of(self.node(node_id).block, "drawn")
        return drawn.fixed_preview if drawn is not None else None

    # losses ----------------------------------------------------------------------------------
    def eval_losses(self) -> list[str]:
        """The losses measured on the held-out split: those fed by the dataset alone."""
        if not self.dataset:
            return []
        out = []
        for n in self.by_role.get("loss", []):
            up = ancestors(self.graph, [n])
            if self.dataset in up and not any(role_of(self.node(m).block, "drawn")
                                              for m in up):
                out.append(n)
        return out

    def measures_accuracy(self, loss_id: str) -> bool:
        """A loss on one score vector per sample whose evaluation counts right answers."""
        loss = self.spec(loss_id).loss
        return bool(loss and loss.accuracy) and self.rows[loss_id].inputs["input"].rank == 1
