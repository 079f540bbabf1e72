"""Editing operations of the canvas, each one undoable command pushed on a ``Document``.

The editor calls these; each either pushes exactly one command (one undo step: a paste of ten
nodes, a delete with reconnection, a make-network) or raises ``ProjectError`` with one sentence
saying what is wrong, leaving the document and its history untouched.

``graph`` is everywhere a graph key (``"training"`` or a network's name) or the Graph object.
Node positions are the top-left corners of ``NODE_WIDTH`` x ``NODE_HEIGHT`` boxes (layout.py).
Pure Python: no Qt, no torch.
"""

from __future__ import annotations

import copy
import json
import re
from collections import deque
from dataclasses import replace

from studio.core import fileformat
from studio.core.document import (
    AddNetwork,
    AddNode,
    Change,
    Connect,
    Disconnect,
    Document,
    Macro,
    MoveNodes,
    RemoveNetwork,
    RenameNetwork,
    SetFrozen,
    SetGraphContents,
    SetNetworkArgs,
    SetParams,
    SetSettings,
    SetTitle,
    check_position,
)
from studio.core.inference import analyze, node_ports
from studio.core.layout import COLUMN, NODE_HEIGHT, NODE_WIDTH, ROW, layout_graph
from studio.core.params import Arg, Name, ParamError
from studio.core.project import (
    INPUT,
    INSTANCE,
    NODE_ID,
    OUTPUT,
    ArgDecl,
    Edge,
    Graph,
    Network,
    Node,
    ProjectError,
    TrainingGraph,
    slug,
)
from studio.core.registry import NETWORK, get_block

CLIPBOARD_FORMAT = "studio-clipboard"
CLIPBOARD_VERSION = 1
PASTE_OFFSET = (40.0, 40.0)
ALIGN_MODES = ("left", "right", "top", "bottom", "hcenter", "vcenter", "distribute-h",
               "distribute-v")
# blocks that a linked duplicate cannot be made of (they hold no module to call again)
_UNLINKABLE = ("data", "loss", "optimizer", "output")


# ------------------------------------------------------------------------------------------------
# small helpers
# ------------------------------------------------------------------------------------------------

def _resolve(doc: Document, graph) -> tuple[str, Graph]:
    key = doc.key_of(graph)
    return key, doc.graph(key)


def _where(key: str) -> str:
    return "the training graph" if key == "training" else f"network {key}"


def _selection(g: Graph, key: str, ids) -> list[str]:
    """The selected ids in graph order; unknown ids are refused."""
    if isinstance(ids, str):
        ids = [ids]
    wanted = list(dict.fromkeys(ids))
    for n in wanted:
        if not isinstance(n, str) or n not in g.nodes:
            raise ProjectError(f"there is no node {n!r} in {_where(key)}")
    chosen = set(wanted)
    return [n for n in g.nodes if n in chosen]


def _ports(g: Graph, node_id: str, side: str) -> tuple:
    """A node's ports on one side; none when its block or parameters cannot say."""
    try:
        return tuple(node_ports(g, node_id, side))
    except Exception:  # an unknown block, a parameter its port rule cannot read
        return ()


def _first_output(g: Graph, node_id: str) -> str | None:
    ports = _ports(g, node_id, "output")
    return ports[0].name if ports else None


def _output_kind(g: Graph, node_id: str) -> str:
    """"loss" for what a loss block gives, else "tensor"."""
    node = g.nodes[node_id]
    if node.block == INSTANCE:
        return "tensor"
    try:
        return "loss" if get_block(node.block).category == "loss" else "tensor"
    except KeyError:
        return "tensor"


def _unique(base: str, taken: set) -> str:
    """``base`` if it is a free, valid id; else its stem (trailing digits dropped) with the next
    free number: 'conv1' -> 'conv2', 'fc_mu' -> 'fc_mu1'."""
    base = base if NODE_ID.match(base or "") else slug(base or "node")
    base = base[:56]
    if base not in taken:
        return base
    stem = re.sub(r"\d+$", "", base) or "n"
    i = 1
    while f"{stem}{i}" in taken:
        i += 1
    return f"{stem}{i}"


def _copy_node(node: Node, **changes) -> Node:
    """A new Node object (its own params) with ``changes`` applied."""
    changes.setdefault("params", copy.deepcopy(node.params))
    return replace(node, **changes)


def _scratch(g: Graph) -> Graph:
    """An empty graph of the same kind in the same project (to build and check nodes in)."""
    scratch = Network("Scratch") if isinstance(g, Network) else TrainingGraph()
    scratch.project = g.project
    return scratch


def _instances_of(doc: Document, name: str) -> list[tuple[str, str]]:
    """(graph key, node id) of every instance of network ``name`` in the project."""
    return [(key, n.id) for key, g in doc.project.graphs() for n in g.nodes.values()
            if n.block == INSTANCE and n.params.get("network") == name]


def _is_optimizer(node: Node) -> bool:
    try:
        return get_block(node.block).category == "optimizer"
    except KeyError:
        return False


def _valid_name(text: str) -> bool:
    try:
        Name().validate(text)
        return True
    except ParamError:
        return False


def _fix_updates(nodes: dict, rename) -> dict:
    """Optimizers' ``updates`` lists rewritten by ``rename(name) -> list of names``; changed
    optimizer nodes are replaced by new objects. Returns the (new) node mapping."""
    out = {}
    for nid, node in nodes.items():
        updates = node.params.get("updates") if _is_optimizer(node) else None
        if updates:
            names: list = []
            for name in updates:
                for new in rename(name):
                    if new not in names and _valid_name(new):
                        names.append(new)
            if tuple(names) != tuple(updates):
                node = _copy_node(node)
                node.params["updates"] = tuple(names)
        out[nid] = node
    return out


def _a(word: str) -> str:
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def _centroid(nodes) -> tuple[float, float]:
    nodes = list(nodes)
    if not nodes:
        return (0.0, 0.0)
    return (sum(n.pos[0] for n in nodes) / len(nodes), sum(n.pos[1] for n in nodes) / len(nodes))


# ------------------------------------------------------------------------------------------------
# wires
# ------------------------------------------------------------------------------------------------

def _path(g: Graph, start: str, goal: str) -> list[str] | None:
    """Nodes on a path of wires from ``start`` to ``goal`` (both included), or None."""
    succ: dict[str, list[str]] = {}
    for e in g.edges:
        succ.setdefault(e.src, []).append(e.dst)
    parent = {start: None}
    queue = deque([start])
    while queue:
        n = queue.popleft()
        if n == goal:
            path = []
            while n is not None:
                path.append(n)
                n = parent[n]
            return path[::-1]
        for m in succ.get(n, ()):
            if m not in parent:
                parent[m] = n
                queue.append(m)
    return None


def _check(g: Graph, key: str, edge: Edge, replacing: bool = False) -> str | None:
    src, sp, dst, dp = edge.src, edge.src_port, edge.dst, edge.dst_port
    for end in (src, dst):
        if not isinstance(end, str) or end not in g.nodes:
            return f"there is no node {end!r} in {_where(key)} to wire"
    if src == dst:
        return f"{src} cannot be wired to itself; a wire goes from one node to another"
    outs = _ports(g, src, "output")
    if sp not in {p.name for p in outs}:
        if not outs:
            return f"{src} ({g.nodes[src].block}) has no outputs to wire from"
        return (f"{src} has no output port {sp!r} (its outputs: "
                f"{', '.join(p.name for p in outs)})")
    ins = _ports(g, dst, "input")
    port = next((p for p in ins if p.name == dp), None)
    if port is None:
        if not ins:
            return f"{dst} ({g.nodes[dst].block}) takes no inputs"
        return f"{dst} has no input port {dp!r} (its inputs: {', '.join(p.name for p in ins)})"
    kind = _output_kind(g, src)
    if port.kind == "loss" and kind != "loss":
        return (f"{dst}.{dp} takes a loss, but {src}.{sp} gives a tensor; wire the output of a "
                "loss block here")
    if port.kind != "loss" and kind == "loss":
        return (f"{dst}.{dp} takes a tensor, but {src}.{sp} gives a loss; only optimizers and "
                "loss sums take losses")
    if not port.multi and not replacing:
        old = next((e for e in g.edges if e.dst == dst and e.dst_port == dp), None)
        if old is not None:
            return (f"{dst}.{dp} takes one wire and already has one from {old.src}.{old.src_port}; "
                    "replace that wire, or combine both with Add or Concat")
    loop = _path(g, dst, src)
    if loop:
        return (f"wiring {src}.{sp} into {dst}.{dp} would make a cycle "
                f"({' -> '.join(loop + [dst])}); a graph must flow one way")
    return None


def check_connection(doc: Document, graph, src: str, src_port: str, dst: str,
                     dst_port: str, replacing: bool = False) -> str | None:
    """None when a wire from ``src.src_port`` to ``dst.dst_port`` is allowed, else one sentence
    saying why not: a missing node or port, a node wired to itself, a loss into a tensor port or
    a tensor into a loss port, a single input port that already has a wire (naming that wire:
    the UI may offer ``replace_connection``; not a reason with ``replacing``), or a cycle (naming
    its path). Changes nothing."""
    key, g = _resolve(doc, graph)
    return _check(g, key, Edge(src, src_port, dst, dst_port), replacing=replacing)


def connect(doc: Document, graph, src: str, src_port: str, dst: str, dst_port: str) -> Edge:
    """Add the wire as one undo step; ProjectError with ``check_connection``'s reason if refused."""
    key, g = _resolve(doc, graph)
    edge = Edge(src, src_port, dst, dst_port)
    reason = _check(g, key, edge)
    if reason:
        raise ProjectError(reason)
    doc.push(Connect(key, src, src_port, dst, dst_port))
    return edge


def replace_connection(doc: Document, graph, src: str, src_port: str, dst: str,
                       dst_port: str) -> Edge:
    """Wire ``src.src_port`` into ``dst.dst_port``, removing the wire a single input port already
    has, as ONE undo step (a plain connect when the port is free or takes several wires).
    Refused like ``connect`` for every other reason."""
    key, g = _resolve(doc, graph)
    edge = Edge(src, src_port, dst, dst_port)
    reason = _check(g, key, edge, replacing=True)
    if reason:
        raise ProjectError(reason)
    port = next(p for p in _ports(g, dst, "input") if p.name == dst_port)
    old = [] if port.multi else [e for e in g.edges if e.dst == dst and e.dst_port == dst_port]
    if not old:
        doc.push(Connect(key, src, src_port, dst, dst_port))
    else:
        macro = Macro("replace wire", [Disconnect(key, old), Connect(key, src, src_port, dst,
                                                                     dst_port)])
        doc.push(macro)
    return edge


def disconnect(doc: Document, graph, edges) -> None:
    """Remove wires (``Edge`` values) as one undo step; ProjectError if one is not there."""
    key, _ = _resolve(doc, graph)
    edges = [edges] if isinstance(edges, Edge) else list(edges)
    if edges:
        doc.push(Disconnect(key, edges))


# ------------------------------------------------------------------------------------------------
# nodes
# ------------------------------------------------------------------------------------------------

def add_node(doc: Document, graph, block: str, pos=(0.0, 0.0), params: dict | None = None,
             title: str = "") -> str:
    """Add one block (parameters validated now) as one undo step; returns its new id."""
    key, _ = _resolve(doc, graph)
    command = AddNode(key, block, pos, params, title)
    doc.push(command)
    return command.node_id


def set_params(doc: Document, graph, node_id: str, values: dict, merge: bool = False) -> Change:
    """Change a node's parameters (validated first; a bad value is refused naming the field).
    ``merge=True`` folds consecutive edits of the same fields into one undo step (a spin box)."""
    key, _ = _resolve(doc, graph)
    return doc.push(SetParams(key, node_id, values), merge=merge)


def set_title(doc: Document, graph, node_id: str, title: str) -> Change:
    key, _ = _resolve(doc, graph)
    return doc.push(SetTitle(key, node_id, title))


def set_frozen(doc: Document, graph, node_id: str, frozen: bool) -> Change:
    """Freeze a node or a network instance (its parameters get no gradient and no optimizer
    updates them: fine-tuning the rest), or thaw it; one undoable step."""
    key, _ = _resolve(doc, graph)
    return doc.push(SetFrozen(key, node_id, bool(frozen)))


def move_nodes(doc: Document, graph, positions: dict, merge: bool = False) -> Change:
    """Move nodes to ``{id: (x, y)}``; ``merge=True`` during a drag (call ``doc.end_merge()`` on
    release) makes the whole drag one undo step."""
    key, _ = _resolve(doc, graph)
    return doc.push(MoveNodes(key, positions), merge=merge)


def set_settings(doc: Document, merge: bool = False, **values) -> Change:
    """Change training settings (``batch_size=32``), validated, as one undo step."""
    return doc.push(SetSettings(values), merge=merge)


def _delete_plan(g: Graph, gone: set, reconnect: bool) -> tuple[dict, list]:
    nodes = {nid: node for nid, node in g.nodes.items() if nid not in gone}
    # linked duplicates of a deleted original keep sharing: they point at the first remaining
    # node of the chain, or the first of them becomes the original (taking its parameters)
    promoted: dict[str, str] = {}
    for nid, node in list(nodes.items()):
        if node.shares is None or node.shares not in gone:
            continue
        target, seen = node.shares, set()
        while target in gone and target not in seen:
            seen.add(target)
            target = g.nodes[target].shares if target in g.nodes else None
        if target is not None and target not in gone:
            nodes[nid] = _copy_node(node, shares=target)
        elif node.shares in promoted:
            nodes[nid] = _copy_node(node, shares=promoted[node.shares])
        else:
            promoted[node.shares] = nid
            nodes[nid] = _copy_node(node, shares=None,
                                    params=copy.deepcopy(g.nodes[node.shares].params))
    edges = []

    def upstream(n: str, seen: set):
        wires = [e for e in g.edges if e.dst == n]
        if len(wires) != 1:
            return None
        e = wires[0]
        if e.src not in g.nodes:
            return None
        if e.src not in gone:
            return e.src, e.src_port
        if e.src in seen or e.src_port != _first_output(g, e.src):
            return None
        return upstream(e.src, seen | {e.src})

    for e in g.edges:
        if e.src not in gone and e.dst not in gone:
            edges.append(e)
        elif reconnect and e.src in gone and e.dst not in gone and e.dst in g.nodes \
                and e.src_port == _first_output(g, e.src):
            up = upstream(e.src, {e.src})
            port = next((p for p in _ports(g, e.dst, "input") if p.name == e.dst_port), None)
            if up is None or port is None:
                continue
            kind = _output_kind(g, up[0])
            if (port.kind == "loss") != (kind == "loss"):
                continue
            edges.append(Edge(up[0], up[1], e.dst, e.dst_port))
    return nodes, edges


def delete_nodes(doc: Document, graph, ids, reconnect: bool = False) -> Change | None:
    """Delete nodes and their wires as one undo step. With ``reconnect``, a deleted node in a
    chain (exactly one wire in, its first output going on) has its upstream wired to its
    downstream consumers, through runs of deleted chain nodes too, so the chain stays connected
    (wires of the wrong kind are not made). Linked duplicates of a deleted original keep sharing
    weights among themselves (the first one becomes the original). Returns the change, or None
    when ``ids`` is empty."""
    key, g = _resolve(doc, graph)
    chosen = _selection(g, key, ids)
    if not chosen:
        return None
    nodes, edges = _delete_plan(g, set(chosen), reconnect)
    text = f"delete {len(chosen)} node{'s' if len(chosen) != 1 else ''}"
    return doc.push(SetGraphContents(key, nodes, edges, text))


def can_reconnect(doc: Document, graph, ids) -> bool:
    """Whether deleting ``ids`` with ``reconnect=True`` would make at least one wire (so the UI
    offers "delete and reconnect")."""
    key, g = _resolve(doc, graph)
    chosen = set(_selection(g, key, ids))
    if not chosen:
        return False
    kept = set(_delete_plan(g, chosen, False)[1])
    return any(e not in kept for e in _delete_plan(g, chosen, True)[1])


def insert_on_wire(doc: Document, graph, edge: Edge, block: str, pos=(0.0, 0.0),
                   params: dict | None = None, title: str = "") -> str:
    """A block dropped on a wire: the wire is replaced by src -> block (first input) and block
    (first output) -> dst, the new wires taking the old one's place in the wire order; one undo
    step. Refused (ProjectError) when the block has no input or output, or the kinds do not fit
    (a layer on a loss wire). Returns the new node's id."""
    key, g = _resolve(doc, graph)
    if edge not in g.edges:
        raise ProjectError(f"there is no wire {edge.src}.{edge.src_port} -> {edge.dst}."
                           f"{edge.dst_port} in {_where(key)} to insert into")
    try:
        get_block(block)
    except KeyError:
        raise ProjectError(f"unknown block type {block!r}") from None
    scratch = _scratch(g)
    node_id = g.new_id(title) if title else g.new_id(block, numbered=True)
    scratch.add(block, title=title, id=node_id, pos=check_position(pos), **dict(params or {}))
    ins, outs = _ports(scratch, node_id, "input"), _ports(scratch, node_id, "output")
    if not ins or not outs:
        side = "input" if not ins else "output"
        raise ProjectError(f"{block} has no {side} to put on a wire; drop it on the canvas instead")
    kind = _output_kind(g, edge.src)
    if (ins[0].kind == "loss") != (kind == "loss"):
        raise ProjectError(f"{block} takes a {ins[0].kind} on {ins[0].name!r}, but the wire "
                           f"carries a {kind}")
    dst_port = next((p for p in _ports(g, edge.dst, "input") if p.name == edge.dst_port), None)
    new_kind = _output_kind(scratch, node_id)
    if dst_port is not None and (dst_port.kind == "loss") != (new_kind == "loss"):
        raise ProjectError(f"{block} gives a {new_kind}, but {edge.dst}.{edge.dst_port} takes a "
                           f"{dst_port.kind}")
    nodes = dict(g.nodes)
    nodes[node_id] = scratch.nodes[node_id]
    at = g.edges.index(edge)
    edges = g.edges[:at] + [Edge(edge.src, edge.src_port, node_id, ins[0].name),
                            Edge(node_id, outs[0].name, edge.dst, edge.dst_port)] + g.edges[at + 1:]
    doc.push(SetGraphContents(key, nodes, edges, f"insert {block}"))
    return node_id


def swap_block(doc: Document, graph, node_id: str, block: str) -> None:
    """Put ``block`` in place of a node's block (MaxPool2d for BlurPool2d, ReLU for GELU): the
    node keeps its id, title, place and wires, and of its parameters those the new block has
    and accepts (the others take the new block's defaults); one undo step. Refused
    (ProjectError) when a wired port has no namesake on the new block."""
    key, g = _resolve(doc, graph)
    node = g.nodes.get(node_id)
    if node is None:
        raise ProjectError(f"there is no node {node_id!r} in {_where(key)}")
    if node.block == block:
        return
    try:
        spec = get_block(block)
    except KeyError:
        raise ProjectError(f"unknown block type {block!r}") from None
    if node.block == INSTANCE or node.shares:
        what = "a network instance" if node.block == INSTANCE else "a linked duplicate"
        raise ProjectError(f"{node_id} is {what}; its block cannot be swapped")
    kept = {}
    for prm in spec.params:
        if prm.name in node.params:
            value = node.params[prm.name]
            try:
                kept[prm.name] = value if isinstance(value, Arg) else prm.validate(value)
            except ParamError:
                pass  # the new block's default, where the old value means nothing to it
    scratch = _scratch(g)
    try:
        scratch.add(block, title=node.title, id=node_id, pos=node.pos, **kept)
    except ProjectError as err:
        raise ProjectError(f"{node_id}: {err}") from None
    for side, ends in (("input", [e.dst_port for e in g.incoming(node_id)]),
                       ("output", [e.src_port for e in g.outgoing(node_id)])):
        names = [p.name for p in _ports(scratch, node_id, side)]
        for port in ends:
            if port not in names:
                raise ProjectError(
                    f"{node_id}: {block} has no {side} {port!r} for the wire on {node.block}'s "
                    f"{port!r} ({block}'s {side}s: {', '.join(names) or 'none'})")
    nodes = {n: scratch.nodes[node_id] if n == node_id else other for n, other in g.nodes.items()}
    doc.push(SetGraphContents(key, nodes, list(g.edges), f"swap {node.block} for {block}"))


# ------------------------------------------------------------------------------------------------
# clipboard, duplicates
# ------------------------------------------------------------------------------------------------

def copy_nodes(doc: Document, graph, ids) -> str:
    """The clipboard payload (JSON text) of the selected nodes: the file format's node and wire
    encoding, wires between selected nodes only. Changes nothing."""
    key, g = _resolve(doc, graph)
    chosen = _selection(g, key, ids)
    inside = set(chosen)
    part = Graph()
    part.nodes = {n: g.nodes[n] for n in chosen}
    part.edges = [e for e in g.edges if e.src in inside and e.dst in inside]
    body = fileformat._graph_to_json(part)
    payload = {"format": CLIPBOARD_FORMAT, "version": CLIPBOARD_VERSION,
               "graph": "network" if isinstance(g, Network) else "training",
               "nodes": body["nodes"], "edges": body["edges"]}
    return json.dumps(payload, allow_nan=False)


def _read_clipboard(payload, g: Graph) -> Graph:
    """Parse and validate a clipboard payload into a scratch graph of ``g``'s kind."""
    if isinstance(payload, bytes):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise ProjectError("the clipboard does not hold Studio nodes (not UTF-8 text)") from None
    if not isinstance(payload, str):
        raise ProjectError("the clipboard does not hold Studio nodes (not text)")
    if len(payload) > fileformat.MAX_BYTES:
        raise ProjectError("the clipboard holds more than a project may; nothing was pasted")
    try:
        data = fileformat._parse(payload)
    except fileformat.FileFormatError as err:
        raise ProjectError(f"the clipboard does not hold Studio nodes ({err.message})") from None
    if not isinstance(data, dict) or data.get("format") != CLIPBOARD_FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise ProjectError(f"the clipboard does not hold Studio nodes (format is "
                           f"{fileformat._short(found)}, expected {CLIPBOARD_FORMAT!r})")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectError(f"clipboard version: expected a version number, got "
                           f"{fileformat._describe(version)}")
    if version > CLIPBOARD_VERSION:
        raise ProjectError(f"clipboard version: copied from a newer Studio (version {version}); "
                           f"this one reads version {CLIPBOARD_VERSION}")
    nodes, edges = data.get("nodes"), data.get("edges")
    for field, value in (("nodes", nodes), ("edges", edges)):
        if not isinstance(value, list):
            raise ProjectError(f"clipboard.{field}: expected a list, got "
                               f"{fileformat._describe(value)}")
    ids = {n.get("id") for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)}
    cleaned = []
    for n in nodes:  # a link to a node that was not copied is dropped: the copy stands alone
        if isinstance(n, dict) and isinstance(n.get("shares"), str) and n["shares"] not in ids:
            n = {k: v for k, v in n.items() if k != "shares"}
        cleaned.append(n)
    scratch = _scratch(g)
    try:
        fileformat._Reader(strict=True).graph(scratch, {"nodes": cleaned, "edges": edges},
                                              "clipboard")
    except fileformat.FileFormatError as err:
        raise ProjectError(f"cannot paste: {err}") from None
    except (RecursionError, ValueError, TypeError) as err:
        raise ProjectError(f"cannot paste: the clipboard is malformed ({err})") from None
    return scratch


def _add_copies(doc: Document, key: str, g: Graph, part: Graph, offset, text: str,
                shares=None) -> list[str]:
    """Append copies of ``part``'s nodes and wires to ``g`` with fresh ids, moved by ``offset``;
    ``shares(node) -> id or None`` sets the link of each copy (default: remapped inside)."""
    dx, dy = check_position(offset)
    taken = set(g.nodes)
    mapping = {}
    for nid in part.nodes:
        mapping[nid] = _unique(nid, taken)
        taken.add(mapping[nid])
    nodes = dict(g.nodes)
    for nid, node in part.nodes.items():
        link = shares(node) if shares else (mapping.get(node.shares) if node.shares else None)
        pos = check_position((node.pos[0] + dx, node.pos[1] + dy))
        nodes[mapping[nid]] = _copy_node(node, id=mapping[nid], pos=pos, shares=link)
    edges = list(g.edges) + [Edge(mapping[e.src], e.src_port, mapping[e.dst], e.dst_port)
                             for e in part.edges if e.src in mapping and e.dst in mapping]
    doc.push(SetGraphContents(key, nodes, edges, text))
    return [mapping[n] for n in part.nodes]


def paste(doc: Document, graph, payload, offset=PASTE_OFFSET) -> list[str]:
    """Paste a clipboard payload into ``graph`` as one undo step, moved by ``offset``; returns
    the new ids (in payload order). Ids stay when free, else get fresh numbers; wires between
    pasted nodes are kept; a linked duplicate keeps its link when its original is pasted too,
    else stands alone. A payload that is not a valid clipboard (or holds blocks this graph cannot
    take) is refused with a ProjectError naming the field; it is data, never executed."""
    key, g = _resolve(doc, graph)
    part = _read_clipboard(payload, g)
    if not part.nodes:
        return []
    return _add_copies(doc, key, g, part, offset, f"paste {len(part.nodes)} node"
                       f"{'s' if len(part.nodes) != 1 else ''}")


def duplicate(doc: Document, graph, ids, offset=PASTE_OFFSET) -> list[str]:
    """Copy and paste in one undo step (independent copies, own weights); returns new ids."""
    key, g = _resolve(doc, graph)
    return paste(doc, key, copy_nodes(doc, key, ids), offset)


def linked_duplicate(doc: Document, graph, ids, offset=PASTE_OFFSET) -> list[str]:
    """New nodes that call the same modules as the selected ones (shared weights): each copy's
    ``shares`` names the original (the original's original for a duplicate); wires between
    selected nodes are copied. Only layers and network instances can be linked. Returns the new
    ids, one undo step."""
    key, g = _resolve(doc, graph)
    chosen = _selection(g, key, ids)
    for nid in chosen:
        node = g.nodes[nid]
        category = "" if node.block == INSTANCE else get_block(node.block).category
        if category in _UNLINKABLE or node.block in (INPUT, OUTPUT):
            raise ProjectError(f"{nid} is {_a(node.block)}, which holds no weights to share; only "
                               "layers and network instances can have linked duplicates")
    inside = set(chosen)
    taken = set(g.nodes)
    rename, roots = {}, {}
    part = Graph()
    for n in chosen:
        root = g.nodes[n].shares or n
        rename[n] = _unique(f"{root}_link", taken)
        taken.add(rename[n])
        roots[rename[n]] = root
        part.nodes[rename[n]] = _copy_node(g.nodes[n], id=rename[n], title="")
    part.edges = [Edge(rename[e.src], e.src_port, rename[e.dst], e.dst_port) for e in g.edges
                  if e.src in inside and e.dst in inside]
    return _add_copies(doc, key, g, part, offset, "linked duplicate",
                       shares=lambda node: roots[node.id])


# ------------------------------------------------------------------------------------------------
# make network, explode
# ------------------------------------------------------------------------------------------------

def _args_used(nodes) -> list[str]:
    names: list[str] = []
    for node in nodes:
        values = list(node.params.values())
        if node.block == INSTANCE and isinstance(node.params.get("args"), dict):
            values += list(node.params["args"].values())
        for v in values:
            if isinstance(v, Arg) and v.name not in names:
                names.append(v.name)
    return names


def _source_dtypes(doc: Document, key: str, sources) -> dict:
    """The dtype flowing out of each (node, port), where the project analyzes that far."""
    try:
        analysis = analyze(doc.project)
    except Exception:  # a project that cannot be analyzed still can be edited
        return {}
    out = {}
    for src, port in sources:
        row = analysis.result(key, src)
        t = row.outputs.get(port) if row is not None else None
        if t is not None:
            out[(src, port)] = t.dtype
    return out


def make_network(doc: Document, graph, ids, name: str) -> str:
    """Collapse the selected nodes into a new reusable network ``name`` and put one instance of
    it in their place, as one undo step; returns the instance's id.

    Every wire entering the selection becomes an Input node of the network (one per distinct
    source port), every wire leaving it an Output node (one per distinct source port; when no
    wire leaves, the selection's unwired outputs become Outputs); the instance is wired exactly as
    the selection was, so the project analyzes to the same shapes and parameter counts. Node ids
    and positions are kept inside. Arguments of the enclosing network used by the selection
    become arguments of the new one, passed through. Optimizers naming moved nodes in ``updates``
    name the instance instead. Refused (ProjectError) for an empty selection, a taken or invalid
    name, Input/Output nodes, blocks that belong in the training graph, or a linked duplicate
    whose original is on the other side of the selection boundary."""
    key, g = _resolve(doc, graph)
    try:
        Name().validate(name)
    except ParamError as err:
        raise ProjectError(f"network name: {err}") from None
    if name in doc.project.networks:
        raise ProjectError(f"a network named {name!r} already exists; choose another name")
    chosen = _selection(g, key, ids)
    if not chosen:
        raise ProjectError("select the nodes to put into the new network first")
    inside = set(chosen)
    for nid in chosen:
        node = g.nodes[nid]
        if node.block in (INPUT, OUTPUT):
            raise ProjectError(f"{nid} is this network's {node.block} node and stays where it is; "
                               "select the nodes between Input and Output")
        try:
            spec = get_block(node.block)
        except KeyError:
            raise ProjectError(f"{nid} has an unknown block type {node.block!r}") from None
        if NETWORK not in spec.where:
            raise ProjectError(f"{nid} ({node.block}) cannot go inside a network; "
                               f"{node.block} belongs in the training graph")
        if node.shares and node.shares not in inside:
            raise ProjectError(f"{nid} is a linked duplicate of {node.shares}, which is not "
                               "selected; select both or neither (a network cannot share weights "
                               "with a node outside it)")
    for node in g.nodes.values():
        if node.id not in inside and node.shares in inside:
            raise ProjectError(f"{node.id} is a linked duplicate of {node.shares}; select both or "
                               "neither (a network cannot share weights with a node outside it)")

    entering: list[tuple] = []
    leaving: list[tuple] = []
    for e in g.edges:
        if e.dst in inside and e.src not in inside and (e.src, e.src_port) not in entering:
            entering.append((e.src, e.src_port))
        if e.src in inside and e.dst not in inside and (e.src, e.src_port) not in leaving:
            leaving.append((e.src, e.src_port))
    extra_outputs = []
    if not leaving:
        wired = {e.src for e in g.edges}
        for nid in chosen:
            port = _first_output(g, nid)
            if port is not None and nid not in wired:
                extra_outputs.append((nid, port))
        if not extra_outputs:
            raise ProjectError("nothing leaves the selection, so the network would have no "
                               "output; select nodes whose results are used")

    # names of the new Input and Output nodes (they become the instance's port names)
    taken = set(chosen)
    in_names: dict[tuple, str] = {}
    for src, port in entering:
        if port != "out":
            base = port
        elif len(entering) == 1:
            base = "x"
        else:
            base = g.nodes[src].title or src
        in_names[(src, port)] = _unique(slug(base), taken)
        taken.add(in_names[(src, port)])
    out_names: dict[tuple, str] = {}
    outputs = leaving or extra_outputs
    for src, port in outputs:
        node = g.nodes[src]
        if len(outputs) == 1:
            base = "out"
        elif len(_ports(g, src, "output")) > 1:
            base = f"{node.title or src}_{port}"
        else:
            base = node.title or src
        base = slug(base)
        if base in taken:
            base = f"{base}_out"
        out_names[(src, port)] = _unique(base, taken)
        taken.add(out_names[(src, port)])

    # the network
    net = Network(name)
    if isinstance(g, Network):
        for arg in _args_used(g.nodes[n] for n in chosen):
            if arg in g.args:
                decl = g.args[arg]
                net.args[arg] = ArgDecl(decl.name, decl.kind, decl.default, decl.help)
    xs = [g.nodes[n].pos[0] for n in chosen]
    ys = [g.nodes[n].pos[1] for n in chosen]
    cy = (min(ys) + max(ys)) / 2
    dtypes = _source_dtypes(doc, key, entering)
    input_defaults = get_block(INPUT).defaults()
    for i, src_port in enumerate(entering):
        params = dict(input_defaults, dtype=dtypes.get(src_port, "float"))
        pos = check_position((min(xs) - COLUMN, cy + (i - (len(entering) - 1) / 2) * ROW))
        net.nodes[in_names[src_port]] = Node(in_names[src_port], INPUT, params, "", pos)
    for nid in chosen:
        net.nodes[nid] = _copy_node(g.nodes[nid])
    for i, src_port in enumerate(outputs):
        pos = check_position((max(xs) + COLUMN, cy + (i - (len(outputs) - 1) / 2) * ROW))
        net.nodes[out_names[src_port]] = Node(out_names[src_port], OUTPUT,
                                              get_block(OUTPUT).defaults(), "", pos)

    # the instance, and the rewired graph
    inst_id = _unique(slug(name), set(g.nodes))
    inst = Node(inst_id, INSTANCE, {"network": name, "args": {a: Arg(a) for a in net.args}}, "",
                _centroid(g.nodes[n] for n in chosen))
    nodes: dict = {}
    for nid, node in g.nodes.items():
        if nid == chosen[0]:
            nodes[inst_id] = inst
        if nid not in inside:
            nodes[nid] = node
    edges: list = []
    fed: set = set()
    done_outputs: set = set()
    for e in g.edges:
        src_in, dst_in = e.src in inside, e.dst in inside
        if src_in and dst_in:
            net.edges.append(e)
        elif dst_in:
            key_in = (e.src, e.src_port)
            net.edges.append(Edge(in_names[key_in], "out", e.dst, e.dst_port))
            if key_in not in fed:
                fed.add(key_in)
                edges.append(Edge(e.src, e.src_port, inst_id, in_names[key_in]))
        elif src_in:
            key_out = (e.src, e.src_port)
            if key_out not in done_outputs:
                done_outputs.add(key_out)
                net.edges.append(Edge(e.src, e.src_port, out_names[key_out], "x"))
            edges.append(Edge(inst_id, out_names[key_out], e.dst, e.dst_port))
        else:
            edges.append(e)
    for src, port in extra_outputs:
        net.edges.append(Edge(src, port, out_names[(src, port)], "x"))

    if key == "training":
        moved_networks = {g.nodes[n].params.get("network") for n in chosen
                          if g.nodes[n].block == INSTANCE}
        still_used = {n.params.get("network") for n in nodes.values() if n.block == INSTANCE}

        def rename(entry):
            hits = entry in inside or any(entry == g.nodes[n].title for n in chosen
                                          if g.nodes[n].block == INSTANCE)
            if entry in moved_networks:
                return [entry, inst_id] if entry in still_used else [inst_id]
            return [inst_id] if hits else [entry]

        nodes = _fix_updates(nodes, rename)
    doc.push(Macro(f"make network {name}", [AddNetwork(name, net),
                                            SetGraphContents(key, nodes, edges, "make network")]))
    return inst_id


def _substitute(value, values: dict):
    if isinstance(value, Arg) and value.name in values:
        return values[value.name]
    return value


def explode(doc: Document, graph, instance_id: str) -> list[str]:
    """Inline the network of instance ``instance_id`` in its place, as one undo step: its nodes
    (argument references replaced by the instance's values; an id already used in ``graph``
    becomes ``<instance>_<id>``, then numbered), its wires, and the instance's wires routed to
    where its Input and Output nodes led. The network definition is removed when no other
    instance uses it. Optimizers naming the instance in ``updates`` name the inlined nodes.
    Returns the inlined nodes' new ids. Refused for a node that is not an instance, a missing
    network, a network inside itself, or an instance with linked duplicates (or one itself)."""
    key, g = _resolve(doc, graph)
    inst = g.nodes.get(instance_id) if isinstance(instance_id, str) else None
    if inst is None:
        raise ProjectError(f"there is no node {instance_id!r} in {_where(key)}")
    if inst.block != INSTANCE:
        raise ProjectError(f"{instance_id} is {_a(inst.block)}, not a network instance; only an "
                           "instance can be exploded")
    name = inst.params.get("network")
    net = doc.project.networks.get(name)
    if net is None:
        raise ProjectError(f"{instance_id} uses network {name!r}, which does not exist")
    if name == key:
        raise ProjectError(f"{instance_id} is an instance of {name} inside {name} itself; remove it "
                           "instead")
    if inst.shares:
        raise ProjectError(f"{instance_id} is a linked duplicate of {inst.shares}; exploding it "
                           "would give it weights of its own (explode the original instead)")
    links = [n.id for n in g.nodes.values() if n.shares == instance_id]
    if links:
        raise ProjectError(f"{links[0]} is a linked duplicate of {instance_id}; exploding "
                           f"{instance_id} would break their shared weights (delete the duplicate "
                           "first)")
    given = inst.params.get("args") if isinstance(inst.params.get("args"), dict) else {}
    values = {a: given.get(a, decl.default) for a, decl in net.args.items()}
    inner = [n for n in net.nodes.values() if n.block not in (INPUT, OUTPUT)]
    taken = set(g.nodes)
    idmap: dict[str, str] = {}
    for node in inner:
        idmap[node.id] = node.id if node.id not in taken else _unique(f"{instance_id}_{node.id}",
                                                                      taken)
        taken.add(idmap[node.id])
    cx, cy = _centroid(inner)
    dx, dy = inst.pos[0] - cx, inst.pos[1] - cy
    copies: dict = {}
    for node in inner:
        try:
            spec = get_block(node.block) if node.block != INSTANCE else None
        except KeyError:
            raise ProjectError(f"{name}/{node.id} has an unknown block type {node.block!r}") from None
        if spec is not None and g.kind not in spec.where:
            raise ProjectError(f"{name}/{node.id} ({node.block}) cannot be placed in {_where(key)}")
        params = copy.deepcopy(node.params)
        for pname, value in params.items():
            if node.block == INSTANCE and pname == "args" and isinstance(value, dict):
                params[pname] = {k: _substitute(v, values) for k, v in value.items()}
            elif isinstance(value, Arg) and value.name in values:
                new = values[value.name]
                if not isinstance(new, Arg) and spec is not None:
                    try:
                        new = spec.param(pname).validate(new)
                    except (ParamError, KeyError) as err:
                        raise ProjectError(f"{name}/{node.id}: {pname}: {err} (from argument "
                                           f"{value.name} of {instance_id})") from None
                params[pname] = new
        copies[idmap[node.id]] = Node(idmap[node.id], node.block, params, node.title,
                                      check_position((node.pos[0] + dx, node.pos[1] + dy)),
                                      idmap.get(node.shares) if node.shares else None,
                                      node.frozen)
    nodes: dict = {}
    for nid, node in g.nodes.items():
        if nid == instance_id:
            nodes.update(copies)
        else:
            nodes[nid] = node
    feeding: dict[str, tuple] = {}
    for e in g.edges:
        if e.dst == instance_id:
            feeding.setdefault(e.dst_port, (e.src, e.src_port))

    def outer(src, port):
        node = net.nodes.get(src)
        if node is None:
            return None
        if node.block == INPUT:
            return feeding.get(src)
        if node.block == OUTPUT:
            return None
        return idmap[src], port

    results: dict[str, tuple] = {}
    for e in net.edges:
        target = net.nodes.get(e.dst)
        if target is not None and target.block == OUTPUT and e.dst not in results:
            r = outer(e.src, e.src_port)
            if r is not None:
                results[e.dst] = r
    inlined: list = []
    for e in net.edges:
        target = net.nodes.get(e.dst)
        if target is None or target.block in (INPUT, OUTPUT):
            continue
        r = outer(e.src, e.src_port)
        if r is not None:
            inlined.append(Edge(r[0], r[1], idmap[e.dst], e.dst_port))
    edges: list = []
    for e in g.edges:
        if instance_id in (e.src, e.dst) and inlined:  # the inner wires go where the instance's were
            edges += inlined
            inlined = []
        if e.dst == instance_id:
            continue
        if e.src == instance_id:
            r = results.get(e.src_port)
            if r is not None:
                edges.append(Edge(r[0], r[1], e.dst, e.dst_port))
            continue
        edges.append(e)
    edges += inlined

    others = [u for u in _instances_of(doc, name) if u != (key, instance_id)]
    if key == "training":
        def holds_weights(nid):
            node = copies[nid]
            return node.block == INSTANCE or get_block(node.block).module is not None

        heirs = [n for n in copies if holds_weights(n)]
        still = any(k == "training" for k, _ in others)

        def rename(entry):
            if entry in (instance_id, inst.title):
                return heirs
            if entry == name:
                return [name] + heirs if still else heirs
            return [entry]

        nodes = _fix_updates(nodes, rename)
    commands = [SetGraphContents(key, nodes, edges, "explode")]
    if not others:
        commands.append(RemoveNetwork(name))
    doc.push(Macro(f"explode {instance_id}", commands))
    return list(copies)


# ------------------------------------------------------------------------------------------------
# layout
# ------------------------------------------------------------------------------------------------

def _sizes(g: Graph, node_size) -> dict:
    """(width, height) of every node: ``node_size(id)`` when given, else the layout constants."""
    if node_size is None:
        return {n: (NODE_WIDTH, NODE_HEIGHT) for n in g.nodes}
    out = {}
    for n in g.nodes:
        w, h = node_size(n)
        out[n] = (float(w), float(h))
    return out


def auto_layout(doc: Document, graph, node_size=None) -> Change | None:
    """Lay the graph out left to right (``studio.core.layout``) as one move step. No two node
    boxes overlap: ``NODE_WIDTH`` x ``NODE_HEIGHT`` each, or ``node_size(node_id) -> (w, h)`` when
    the canvas draws nodes of different sizes (taller nodes push the rest of their column apart,
    wider ones the columns). None when nothing moves."""
    key, g = _resolve(doc, graph)
    scratch = Graph()
    scratch.nodes = {n: replace(node) for n, node in g.nodes.items()}
    scratch.edges = list(g.edges)
    scratch.project = g.project
    layout_graph(scratch)
    size = _sizes(g, node_size)
    pos = {n: tuple(node.pos) for n, node in scratch.nodes.items()}
    gap_x, gap_y = COLUMN - NODE_WIDTH, ROW - NODE_HEIGHT
    widest = max((w for w, _ in size.values()), default=NODE_WIDTH)
    if widest + gap_x > COLUMN:
        pos = {n: (x / COLUMN * (widest + gap_x), y) for n, (x, y) in pos.items()}
    columns: dict = {}
    for n, (x, _) in pos.items():
        columns.setdefault(x, []).append(n)
    for members in columns.values():
        members.sort(key=lambda n: pos[n][1])
        ys = [pos[n][1] for n in members]
        fixed = ys[:1]
        for prev, y in zip(members, ys[1:]):
            fixed.append(max(y, fixed[-1] + size[prev][1] + gap_y))
        if fixed != ys:
            shift = (sum(ys) - sum(fixed)) / len(ys)
            for n, y in zip(members, fixed):
                pos[n] = (pos[n][0], y + shift)
    moves = {n: pos[n] for n, node in g.nodes.items() if pos[n] != tuple(node.pos)}
    if not moves:
        return None
    command = MoveNodes(key, moves)
    command.text = "auto layout"
    return doc.push(command)


def align(doc: Document, graph, ids, how: str, node_size=None) -> Change | None:
    """Align the selected nodes, as one move step: ``left``/``right``/``top``/``bottom`` line
    their edges up with the outermost one, ``hcenter`` puts their centres on one vertical line
    (the middle of the selection), ``vcenter`` on one horizontal line, ``distribute-h`` and
    ``distribute-v`` space them evenly between the two outermost (which stay). Sizes are the
    layout constants, or ``node_size(node_id) -> (w, h)``. None when there is nothing to move
    (fewer than two nodes, three to distribute)."""
    key, g = _resolve(doc, graph)
    if how not in ALIGN_MODES:
        raise ProjectError(f"unknown alignment {how!r} (choose one of {', '.join(ALIGN_MODES)})")
    chosen = _selection(g, key, ids)
    if len(chosen) < (3 if how.startswith("distribute") else 2):
        return None
    pos = {n: g.nodes[n].pos for n in chosen}
    size = _sizes(g, node_size)
    target: dict = {}
    if how in ("left", "right", "hcenter", "top", "bottom", "vcenter"):
        axis = 0 if how in ("left", "right", "hcenter") else 1
        lo = min(pos[n][axis] for n in chosen)
        hi = max(pos[n][axis] + size[n][axis] for n in chosen)
        for n in chosen:
            extent = size[n][axis]
            if how in ("left", "top"):
                v = lo
            elif how in ("right", "bottom"):
                v = hi - extent
            else:
                v = (lo + hi) / 2 - extent / 2
            p = list(pos[n])
            p[axis] = v
            target[n] = tuple(p)
    else:
        axis = 0 if how == "distribute-h" else 1
        order = sorted(chosen, key=lambda n: (pos[n][axis], chosen.index(n)))
        lo, hi = pos[order[0]][axis], pos[order[-1]][axis]
        step = (hi - lo) / (len(order) - 1)
        for i, n in enumerate(order):
            p = list(pos[n])
            p[axis] = lo + i * step
            target[n] = tuple(p)
    moves = {n: p for n, p in target.items() if tuple(p) != tuple(pos[n])}
    if not moves:
        return None
    command = MoveNodes(key, moves)
    command.text = f"align {how}"
    return doc.push(command)


# ------------------------------------------------------------------------------------------------
# networks
# ------------------------------------------------------------------------------------------------

def add_network(doc: Document, name: str, with_ports: bool = True) -> str:
    """Add a reusable network (Change.structure); with ``with_ports`` it starts as Input ``x``
    wired to Output ``out``. Refused for an invalid or taken name. Returns the name."""
    net = Network(name)
    if with_ports:
        net.nodes["x"] = Node("x", INPUT, get_block(INPUT).defaults(), "", (0.0, 0.0))
        net.nodes["out"] = Node("out", OUTPUT, get_block(OUTPUT).defaults(), "", (COLUMN, 0.0))
        net.edges.append(Edge("x", "out", "out", "x"))
    doc.push(AddNetwork(name, net))
    return name


def rename_network(doc: Document, old: str, new: str) -> Change | None:
    """Rename a network, updating every instance (in every graph) and every optimizer's
    ``updates`` naming it, as one undo step (Change.structure: graph keys change). Refused for an
    unknown network or an invalid or taken name; None when the name is unchanged."""
    if old not in doc.project.networks:
        raise ProjectError(f"no network named {old!r} to rename")
    if new == old:
        return None
    try:
        Name().validate(new)
    except ParamError as err:
        raise ProjectError(f"network name: {err}") from None
    if new in doc.project.networks:
        raise ProjectError(f"a network named {new!r} already exists; choose another name")
    commands = [RenameNetwork(old, new)]
    for key, nid in _instances_of(doc, old):
        commands.append(SetParams(new if key == old else key, nid, {"network": new}))
    for node in doc.project.training.nodes.values():
        updates = node.params.get("updates") if _is_optimizer(node) else None
        if updates and old in updates:
            renamed = tuple(dict.fromkeys(new if u == old else u for u in updates))
            commands.append(SetParams("training", node.id, {"updates": renamed}))
    return doc.push(Macro(f"rename network {old} to {new}", commands))


def remove_network(doc: Document, name: str) -> Change:
    """Remove a network definition (Change.structure); refused, naming them, while instances of
    it exist."""
    if name not in doc.project.networks:
        raise ProjectError(f"no network named {name!r} to remove")
    users = _instances_of(doc, name)
    if users:
        where = ", ".join(f"{k}/{n}" for k, n in users[:5]) + (" ..." if len(users) > 5 else "")
        raise ProjectError(f"{name} is still used by {len(users)} instance"
                           f"{'s' if len(users) != 1 else ''} ({where}); delete or explode "
                           f"{'them' if len(users) != 1 else 'it'} first")
    return doc.push(RemoveNetwork(name))


def set_network_args(doc: Document, name: str, args) -> Change:
    """Declare a network's arguments (a list of ``ArgDecl``: name, kind Int/Float/Bool, default,
    help), replacing the old list, as one undo step; refused naming the argument at fault.
    Blocks use one with ``Arg(name)`` as a parameter value; instances pass values in ``args``."""
    return doc.push(SetNetworkArgs(name, args))


__all__ = [
    "ALIGN_MODES", "CLIPBOARD_FORMAT", "NODE_HEIGHT", "NODE_WIDTH", "add_network", "add_node",
    "align", "auto_layout", "can_reconnect", "check_connection", "connect", "copy_nodes",
    "delete_nodes", "disconnect", "duplicate", "explode", "insert_on_wire", "linked_duplicate",
    "make_network", "move_nodes", "paste", "remove_network", "rename_network",
    "replace_connection", "set_frozen", "set_network_args", "set_params", "set_settings",
    "set_title",
]
