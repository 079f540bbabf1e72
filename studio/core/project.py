"""The project document: networks, the training graph, nodes and wires.

Also the Python API to build a project in code::

    project = Project("LeNet")
    t = project.training
    data = t.add("Dataset", dataset="digits", size=32)
    logits = t.chain(data["image"], t.add("Conv2d", out_channels=6, kernel_size=5), ...)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from studio.core.params import Arg, Bool, Choice, FilePath, Int, Kind, Name, ParamError
from studio.core.registry import MISSING, NETWORK, TRAINING, Param, Port, Values, get_block

INPUT, OUTPUT, INSTANCE = "Input", "Output", "Network"

TRAINING_SETTINGS = (
    Param("batch_size", Int(1, 1 << 16), 64, "samples per training step", label="Batch size"),
    Param("epochs", Int(0, 1 << 20), 10, "passes over the training split (when steps is 0)",
          label="Epochs"),
    Param("steps", Int(0, 1 << 30), 0, "training steps; 0 means train for 'epochs'",
          label="Steps"),
    Param("seed", Int(0, 2**31 - 1), 0, "random seed: the same seed gives the same run",
          label="Seed"),
    Param("log_every", Int(1, 1 << 20), 10, "steps between logged metrics",
          label="Log every (steps)"),
    Param("preview_every", Int(1, 1 << 20), 200, "steps between preview images",
          label="Preview every (steps)"),
    Param("preview_count", Int(1, 1024), 64, "samples in a preview grid",
          label="Preview samples"),
    Param("device", Choice(("auto", "cpu", "cuda", "mps")), "auto", "where to train",
          label="Device"),
    Param("deterministic", Bool(), False, "use deterministic algorithms (slower on GPU)",
          label="Deterministic"),
    Param("amp", Choice(("off", "bf16", "fp16")), "off",
          "mixed precision on a GPU: bf16, or fp16 with loss scaling", label="Mixed precision"),
    Param("channels_last", Bool(), False, "NHWC memory layout for images (faster on GPUs)",
          label="Channels last"),
    Param("compile", Bool(), False, "torch.compile the networks before training",
          label="Compile"),
    Param("tensorboard", FilePath(), "", "folder where each run is also written for "
          "TensorBoard, in a folder of its own (relative to the project's folder; empty: not "
          "written; needs the tensorboard package)", label="TensorBoard folder"),
)
# The settings of a run that the Training panel owns (with the dataset); the others are the
# advanced ones, edited in the inspector of the training graph. Each is shown in one place only.
RUN_SETTINGS = ("batch_size", "epochs", "steps", "device", "amp", "seed")


class ProjectError(ValueError):
    """An edit or a file that the project model refuses; the message names the place."""


@dataclass
class Node:
    id: str
    block: str
    params: dict
    title: str = ""
    pos: tuple = (0.0, 0.0)
    shares: str | None = None  # id of the node whose module this one calls: a linked duplicate
    frozen: bool = False  # its parameters get no gradient and no optimizer updates them


@dataclass(frozen=True)
class Edge:
    src: str
    src_port: str
    dst: str
    dst_port: str


@dataclass
class ArgDecl:
    """An argument of a reusable network (``width``, ``stride``) that its blocks can use."""

    name: str
    kind: Kind
    default: object
    help: str = ""


@dataclass(frozen=True)
class PortRef:
    graph: Graph
    node: str
    port: str | None  # None: the node's first port on that side


class NodeRef(str):
    """A node id returned by the builder API; ``ref["image"]`` names one of its ports."""

    graph: Graph

    def __new__(cls, node_id: str, graph: Graph):
        obj = super().__new__(cls, node_id)
        obj.graph = graph
        return obj

    def __getitem__(self, port):
        if isinstance(port, str):
            return PortRef(self.graph, str(self), port)
        return super().__getitem__(port)


_ID_SAFE = re.compile(r"[^a-z0-9_]+")
NODE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")  # what a file may hold as a node id


def split_camel(text: str) -> str:
    """'LeakyReLU' -> 'Leaky_ReLU', 'GANLoss' -> 'GAN_Loss', 'BatchNorm2d' -> 'Batch_Norm2d':
    a break before each capitalized word, none inside an acronym."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", text)


def slug(text: str) -> str:
    """An id-safe lower-case form of a title: 'Conv 1' -> 'conv_1', '0' -> 'n0'."""
    s = _ID_SAFE.sub("_", split_camel(text).lower()).strip("_")
    s = (s or "node")[:48]
    return "n" + s if s[0].isdigit() else s


class Graph:
    """A DAG of nodes. Nodes keep insertion order; wires keep wiring order (it orders multi-ports)."""

    kind = TRAINING

    def __init__(self):
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        self.project: Project | None = None  # set when the graph belongs to a project

    # building -----------------------------------------------------------------------------
    def new_id(self, base: str, numbered: bool = False) -> str:
        """A free id: a title's slug itself when free ('fc', 'conv1'); a block's name with the
        next free number ('tanh1', 'tanh2'), as is any slug already taken."""
        base = slug(base)
        if not numbered and base not in self.nodes:
            return base
        i = 1
        while f"{base}{i}" in self.nodes:
            i += 1
        return f"{base}{i}"

    def add(self, block: str, title: str = "", id: str | None = None, pos=None,
            shares: str | None = None, **params) -> NodeRef:
        """Add a block; parameters are checked now, so a typo fails where it was made."""
        spec = get_block(block)
        where = self.kind
        if where not in spec.where:
            place = "the training graph" if where == TRAINING else "a network"
            raise ProjectError(f"{block} cannot be placed in {place}")
        node_id = id or (self.new_id(title) if title else self.new_id(spec.id, numbered=True))
        if not NODE_ID.match(node_id):
            raise ProjectError(f"node id {node_id!r} must be letters, digits, '_' or '-' "
                               "(at most 64, not starting with a digit)")
        if node_id in self.nodes:
            raise ProjectError(f"node id {node_id!r} is already used")
        values = dict(params)
        for name, value in values.items():
            try:
                prm = spec.param(name)
            except KeyError:
                raise ProjectError(f"{block} has no parameter {name!r}") from None
            if not isinstance(value, Arg):
                try:
                    values[name] = prm.validate(value)
                except ParamError as err:
                    raise ProjectError(f"{node_id}: {name}: {err}") from None
        full = {prm.name: prm.default for prm in spec.params}
        full.update(values)
        self.nodes[node_id] = Node(node_id, block, full, title, tuple(pos) if pos else (0.0, 0.0),
                                   shares)
        return NodeRef(node_id, self)

    def link(self, original: str, title: str = "", id: str | None = None) -> NodeRef:
        """A linked duplicate: a second node that calls the same module (shared weights)."""
        src = self.nodes[original]
        return self.add(src.block, title=title, id=id or self.new_id((src.title or src.id) + "_link"),
                        shares=src.id, **{k: v for k, v in src.params.items()})

    def _port(self, ref, side: str) -> tuple[str, str]:
        if isinstance(ref, PortRef):
            node, port = ref.node, ref.port
        else:
            node, port = str(ref), None
        if node not in self.nodes:
            raise ProjectError(f"no node {node!r}")
        if port is None:
            ports = self.ports(node, side)
            if not ports:
                raise ProjectError(f"{node} has no {side} port")
            port = ports[0].name
        return node, port

    def ports(self, node_id: str, side: str):
        return node_ports(self, node_id, side)

    def connect(self, src, dst) -> Edge:
        s, sp = self._port(src, "output")
        d, dp = self._port(dst, "input")
        edge = Edge(s, sp, d, dp)
        self.edges.append(edge)
        return edge

    def chain(self, *refs) -> NodeRef:
        """Wire each item's first output to the next item's first input; returns the last."""
        for a, b in zip(refs, refs[1:]):
            self.connect(a, b)
        last = refs[-1]
        return NodeRef(last.node if isinstance(last, PortRef) else str(last), self)

    def stack(self, start, *layers) -> NodeRef:
        """Add ``layers`` (block id, or (block id, params) or (block id, title, params)) in a chain
        after ``start``; returns the last node."""
        refs = [start]
        for layer in layers:
            if isinstance(layer, str):
                refs.append(self.add(layer))
            elif len(layer) == 2:
                refs.append(self.add(layer[0], **layer[1]))
            else:
                refs.append(self.add(layer[0], title=layer[1], **layer[2]))
        return self.chain(*refs)

    def incoming(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.dst == node_id]

    def outgoing(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.src == node_id]

    def remove(self, node_id: str) -> None:
        del self.nodes[node_id]
        self.edges = [e for e in self.edges if node_id not in (e.src, e.dst)]

    def to_networkx(self):
        import networkx as nx

        g = nx.MultiDiGraph()
        g.add_nodes_from(self.nodes)
        for e in self.edges:
            if e.src in self.nodes and e.dst in self.nodes:
                g.add_edge(e.src, e.dst, src_port=e.src_port, dst_port=e.dst_port)
        return g


class Network(Graph):
    """A reusable network: a DAG between Input and Output nodes, compiled to one nn.Module class."""

    kind = NETWORK

    def __init__(self, name: str, args: list[ArgDecl] | None = None):
        super().__init__()
        self.name = name
        self.args: dict[str, ArgDecl] = {a.name: a for a in (args or [])}

    def arg(self, name: str, kind: Kind = Int(1), default=1, help: str = "") -> Arg:
        """Declare an argument; the returned reference can be used as any block's parameter."""
        self.args[name] = ArgDecl(name, kind, kind.validate(default), help)
        return Arg(name)

    def inputs(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.block == INPUT]

    def outputs(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.block == OUTPUT]


class TrainingGraph(Graph):
    """Data sources, network instances, inline layers, losses, optimizers and previews."""

    kind = TRAINING

    def __init__(self):
        super().__init__()
        self.settings = {p.name: p.default for p in TRAINING_SETTINGS}

    def configure(self, **settings) -> None:
        for name, value in settings.items():
            prm = next((p for p in TRAINING_SETTINGS if p.name == name), None)
            if prm is None:
                raise ProjectError(f"no training setting {name!r}")
            try:
                self.settings[name] = prm.validate(value)
            except ParamError as err:
                raise ProjectError(f"training setting {name}: {err}") from None


class Project:
    """One file: networks and one training graph."""

    def __init__(self, name: str = "Untitled"):
        self.name = Name().validate(name)
        self.networks: dict[str, Network] = {}
        self.training = TrainingGraph()
        self.training.project = self
        self.assignment = None  # a core.assignment.Assignment when the file sets one

    def network(self, name: str) -> Network:
        """Create a reusable network; blocks of its class are added to the returned graph."""
        Name().validate(name)
        if name in self.networks:
            raise ProjectError(f"a network named {name!r} already exists")
        net = Network(name)
        net.project = self
        self.networks[name] = net
        return net

    def graphs(self):
        """(key, graph) pairs: every network by name, then the training graph as 'training'."""
        yield from self.networks.items()
        yield "training", self.training

    def instance(self, graph: Graph, network: str, title: str = "", id: str | None = None,
                 **args) -> NodeRef:
        """Place an instance of a network in ``graph``, passing argument values."""
        if network not in self.networks:
            raise ProjectError(f"no network named {network!r}")
        return graph.add(INSTANCE, title=title, id=id, network=network, args=args)


def predecessors(graph: Graph) -> dict:
    """node id -> the ids of the nodes wired into it, in wiring order (one per wire)."""
    preds: dict = {}
    for e in graph.edges:
        preds.setdefault(e.dst, []).append(e.src)
    return preds


def upstream_of(graph: Graph, node_id: str, preds: dict | None = None) -> set:
    """Every node whose output reaches ``node_id`` through the wires (not the node itself);
    ``preds``: ``predecessors(graph)``, when the caller asks for several nodes."""
    preds = predecessors(graph) if preds is None else preds
    seen, todo = set(), [node_id]
    while todo:
        for src in preds.get(todo.pop(), ()):
            if src not in seen:
                seen.add(src)
                todo.append(src)
    return seen


def node_ports(graph: Graph, node_id: str, side: str) -> tuple:
    """The input or output ports of a node (a network instance's come from its network)."""
    node = graph.nodes[node_id]
    if node.block == INSTANCE:
        project = graph.project
        net = project.networks.get(node.params.get("network")) if project else None
        if net is None:
            return ()
        members = net.inputs() if side == "input" else net.outputs()
        return tuple(Port(m.id) for m in members)
    spec = get_block(node.block)
    values = Values({k: v for k, v in node.params.items()})
    return spec.input_ports(values) if side == "input" else spec.output_ports(values)


def default_of(param: Param):
    return None if param.default is MISSING else param.default
