"""What both generators (``codegen`` for model.py, ``training_code`` for train.py) use to write
forward code: lines that remember their node, variable names by liveness, the arguments of a
call, attribute names and the nodes a value depends on. Neither generator imports the other.
"""

from __future__ import annotations

from studio.core.inference import topological_order
from studio.core.project import INSTANCE, Graph, Project, slug
from studio.core.registry import Port
from studio.engine.naming import RESERVED, identifier


class CodegenError(ValueError):
    """The project cannot be turned into code yet; ``problems`` say where and why."""

    def __init__(self, message: str, problems=()):
        super().__init__(message)
        self.problems = list(problems)


class SourceLines:
    """Lines of one file with the node each line came from."""

    def __init__(self, name: str):
        self.name = name
        self.lines: list[str] = []
        self.origin: dict[int, tuple] = {}

    def add(self, text: str = "", origin: tuple | None = None, indent: int = 0):
        for line in text.split("\n"):
            self.lines.append(("    " * indent + line) if line else "")
            if origin:
                self.origin[len(self.lines)] = origin

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"


class VariableNames:
    """Variable names by liveness: a chain reuses ``x``; a value still needed keeps its name."""

    def __init__(self, graph: Graph, needed: set, taken=()):
        self.uses: dict[tuple, int] = {}
        for e in graph.edges:
            if e.dst in needed and e.src in needed:
                self.uses[(e.src, e.src_port)] = self.uses.get((e.src, e.src_port), 0) + 1
        self.var_of: dict[tuple, str] = {}
        self.live: dict[str, int] = {}
        self.reserved = set(taken) | RESERVED

    def read(self, key) -> str:
        return self.var_of[key]

    def release(self, keys) -> None:
        for key in keys:
            var = self.var_of.get(key)
            if var is not None:
                self.live[var] -= 1

    def free(self, name: str) -> bool:
        return self.live.get(name, 0) <= 0 and name not in self.reserved

    def bind(self, key, preferred: str, inherit: str | None = None) -> str:
        """Name a new value: ``preferred`` when free; for a plain ``x`` first the name of the
        input it replaces (a chain keeps ``out``), then ``x``, ``out``, ``h``; else numbered."""
        uses = self.uses.get(key, 0)
        candidates = [preferred]
        if preferred == "x":
            generic = ("x", "out", "h")
            candidates = ([inherit] if inherit in generic else []) + list(generic)
        name = next((c for c in candidates if self.free(c)), None)
        i = 1
        while name is None:
            i += 1
            name = f"{preferred}{i}" if self.free(f"{preferred}{i}") else None
        self.var_of[key] = name
        self.live[name] = uses
        return name

    def alias(self, key, var: str) -> None:
        self.var_of[key] = var
        self.live[var] = self.live.get(var, 0) + self.uses.get(key, 0)


def preferred_name(node, port: str, n_ports: int, uses: int = 1) -> str:
    """A chain of single-use values is ``x``; a titled value that branches, or the output of a
    titled network instance, keeps its title; a block with several outputs names them by port."""
    titled = bool(node.title) and (uses > 1 or node.block == INSTANCE)
    if titled:
        base = identifier(node.title)
        return base if n_ports == 1 else f"{base}_{identifier(port)}"
    return "x" if n_ports == 1 else identifier(port)


def gather_args(graph: Graph, node_id: str, ports, vars_: VariableNames) -> tuple[dict, list]:
    args, keys = {}, []
    for port in ports:
        wires = [e for e in graph.edges if e.dst == node_id and e.dst_port == port.name]
        if not wires:
            continue
        names = [vars_.read((e.src, e.src_port)) for e in wires]
        keys += [(e.src, e.src_port) for e in wires]
        args[port.name] = names if port.multi else names[0]
    return args, keys


def readable_order(graph: Graph) -> list[str]:
    """Dependency order that finishes a chain before a parallel branch (see inference)."""
    return topological_order(graph)[0]


def ancestors(graph: Graph, targets) -> set:
    preds: dict[str, list] = {n: [] for n in graph.nodes}
    for e in graph.edges:
        if e.dst in preds:
            preds[e.dst].append(e.src)
    seen, stack = set(), list(targets)
    while stack:
        n = stack.pop()
        if n in seen or n not in graph.nodes:
            continue
        seen.add(n)
        stack += preds[n]
    for n in list(seen):  # a linked duplicate's original must be built even if unused
        shares = graph.nodes[n].shares
        if shares:
            seen.add(shares)
    return seen


def attribute_name(node) -> str:
    """``self.<name>`` of a node's module: its title, else its network's or block's name."""
    if node.title:
        return identifier(node.title)
    if node.block == INSTANCE:
        if not node.id.startswith("network"):  # an id the user chose
            return identifier(node.id)
        return identifier(str(node.params.get("network", "network")).lower())
    if node.id[-1].isdigit() and not node.id.startswith(slug(node.block)):
        return identifier(node.id)
    return identifier(node.block.lower())


def instance_attribute(node) -> str:
    """``self.<name>`` of a network instance in train.py: the id the user chose (generator),
    else the network's name; its title names the value it computes, not the module."""
    if not node.id.startswith("network"):
        return identifier(node.id)
    return identifier(str(node.params.get("network", "network")).lower())






def instance_ports(project: Project, network: str, side: str) -> list[str]:
    net = project.networks[network]
    return [n.id for n in (net.inputs() if side == "input" else net.outputs())]


def instance_input_ports(project: Project, network: str) -> list[Port]:
    """The input ports of a network instance, one per Input node of its network."""
    return [Port(name) for name in instance_ports(project, network, "input")]


def frozen_line(module: str) -> str:
    """The statement that freezes a module: no gradient for its parameters (and, as they do not
    train, no optimizer is given them)."""
    return f"{module}.requires_grad_(False)  # frozen: its parameters do not train"
