"""The project file: versioned JSON, validated field by field, written atomically.

A file is data. Loading parses JSON and checks every value against its declared kind; nothing
in it is ever executed or imported. A bad field is reported with its location
(``training.nodes[3].params.kernel_size``); the lenient loader keeps everything else.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from studio.core.assignment import AssignmentError, assignment_from_json
from studio.core.atomic import write_atomic
from studio.core.params import Arg, FilePath, Name, ParamError, kind_from_json, kind_to_json
from studio.core.project import (
    INSTANCE,
    NODE_ID,
    TRAINING_SETTINGS,
    ArgDecl,
    Edge,
    Graph,
    Node,
    Project,
    ProjectError,
)
from studio.core.registry import get_block

FORMAT = "studio-project"
VERSION = 3  # 2: a node may be "frozen"; 3: an "assignment" (written only by files that use them)
SUFFIX = ".studio"
MAX_BYTES = 64 * 1024 * 1024
MAX_NODES = 100_000
MAX_TITLE = 200
_ID = NODE_ID

# format version -> function upgrading a file's dict from that version to the next
MIGRATIONS: dict = {
    1: lambda data: data,  # version 1 had no frozen nodes: nothing to change
    2: lambda data: data,  # version 2 had no assignments: nothing to change
}


class FileFormatError(ValueError):
    """A file Studio cannot read; ``location`` is the JSON path of the field at fault."""

    def __init__(self, location: str, message: str):
        super().__init__(f"{location}: {message}" if location else message)
        self.location = location
        self.message = message


@dataclass
class LoadIssue:
    location: str
    message: str

    def __str__(self):
        return f"{self.location}: {self.message}"


# ------------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------------

def _param_to_json(kind, value):
    if isinstance(value, Arg):
        return {"arg": value.name}
    return kind.to_json(value)


def _graph_to_json(graph: Graph) -> dict:
    nodes = []
    for node in graph.nodes.values():
        spec = get_block(node.block)
        entry = {"id": node.id, "block": node.block, "version": spec.version}
        if node.title:
            entry["title"] = node.title
        entry["pos"] = [float(node.pos[0]), float(node.pos[1])]
        if node.shares:
            entry["shares"] = node.shares
        if node.frozen:
            entry["frozen"] = True
        params = {}
        for prm in spec.params:
            value = node.params.get(prm.name, prm.default)
            params[prm.name] = _param_to_json(prm.kind, value)
        entry["params"] = params
        nodes.append(entry)
    edges = [{"from": [e.src, e.src_port], "to": [e.dst, e.dst_port]} for e in graph.edges]
    return {"nodes": nodes, "edges": edges}


def to_dict(project: Project) -> dict:
    networks = []
    for net in project.networks.values():
        entry = {"name": net.name, "args": [
            dict({"name": a.name, "default": a.kind.to_json(a.default), "help": a.help},
                 **kind_to_json(a.kind)) for a in net.args.values()]}
        entry.update(_graph_to_json(net))
        networks.append(entry)
    training = _graph_to_json(project.training)
    settings = project.training.settings
    # an empty path is "not set" (FilePath) and left out, so a file that sets none (the
    # TensorBoard folder) still opens in a Studio that does not have that setting
    training["settings"] = {p.name: p.kind.to_json(settings[p.name]) for p in TRAINING_SETTINGS
                            if not (isinstance(p.kind, FilePath) and settings[p.name] == "")}
    out = {"format": FORMAT, "version": written_version(project), "name": project.name,
           "networks": networks, "training": training}
    if project.assignment is not None:
        out["assignment"] = project.assignment.to_json()
    return out


def written_version(project: Project) -> int:
    """The oldest format that holds the project: 1 unless a node is frozen (2) or it is an
    assignment (3), so a file that uses nothing new still opens in a Studio that reads only 1,
    and one with frozen nodes or locks is refused there rather than opened without them."""
    if project.assignment is not None:
        return 3
    graphs = [project.training, *project.networks.values()]
    return 2 if any(n.frozen for g in graphs for n in g.nodes.values()) else 1


def dumps(project: Project) -> str:
    return json.dumps(to_dict(project), indent=1, allow_nan=False) + "\n"


def save(project: Project, path) -> None:
    """Write atomically: the old file stays intact until the new one is complete."""
    write_atomic(path, dumps(project))


# ------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------

class _Reader:
    def __init__(self, strict: bool):
        self.strict = strict
        self.issues: list[LoadIssue] = []

    def fail(self, location: str, message: str):
        if self.strict:
            raise FileFormatError(location, message)
        self.issues.append(LoadIssue(location, message))

    def need(self, obj, key, types, location, what):
        if not isinstance(obj, dict) or key not in obj:
            raise FileFormatError(location, f"missing {what} ({key!r})")
        value = obj[key]
        if not isinstance(value, types) or isinstance(value, bool) and bool not in _tuple(types):
            raise FileFormatError(f"{location}.{key}", f"expected {_type_names(types)}, got "
                                  f"{_describe(value)}")
        return value

    # --------------------------------------------------------------------------------------
    def project(self, data) -> Project:
        if not isinstance(data, dict):
            raise FileFormatError("", f"a project file holds a JSON object, not {_describe(data)}")
        if data.get("format") != FORMAT:
            raise FileFormatError("format", f"not a Studio project (format is "
                                  f"{_short(data.get('format'))}, expected {FORMAT!r})")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise FileFormatError("version", f"expected a format version number, got "
                                  f"{_describe(version)}")
        if version > VERSION:
            raise FileFormatError("version", f"written by a newer Studio (format {version}); this "
                                  f"one reads format {VERSION} and older")
        while version < VERSION:
            data = MIGRATIONS[version](data)
            version += 1
        name = self.need(data, "name", str, "", "project name")
        try:
            project = Project(name)
        except ParamError as err:
            raise FileFormatError("name", str(err)) from None
        networks = self.need(data, "networks", list, "", "networks list")
        for i, entry in enumerate(networks):
            self.network(project, entry, f"networks[{i}]")
        training = self.need(data, "training", dict, "", "training graph")
        self.graph(project.training, training, "training")
        settings = training.get("settings", {})
        if not isinstance(settings, dict):
            self.fail("training.settings", f"expected an object, got {_describe(settings)}")
            settings = {}
        for key, value in settings.items():
            try:
                project.training.configure(**{str(key): value})
            except ProjectError as err:
                self.fail(f"training.settings.{_key(key)}", str(err))
        if "assignment" in data:
            self.assignment(project, data["assignment"])
        return project

    def assignment(self, project: Project, entry) -> None:
        """The assignment, bound to the project as read (a bad lock or goal is left out)."""
        try:
            project.assignment = assignment_from_json(
                entry, project, None if self.strict else
                lambda loc, message: self.fail(f"assignment.{loc}", message))
        except AssignmentError as err:
            raise FileFormatError(f"assignment.{err.location}".rstrip("."), err.message) from None

    def network(self, project: Project, entry, loc: str) -> None:
        if not isinstance(entry, dict):
            raise FileFormatError(loc, f"expected a network object, got {_describe(entry)}")
        name = self.need(entry, "name", str, loc, "network name")
        try:
            net = project.network(name)
        except (ParamError, ProjectError) as err:
            raise FileFormatError(f"{loc}.name", str(err)) from None
        args = entry.get("args", [])
        if not isinstance(args, list):
            raise FileFormatError(f"{loc}.args", f"expected a list, got {_describe(args)}")
        for j, arg in enumerate(args):
            aloc = f"{loc}.args[{j}]"
            try:
                if not isinstance(arg, dict):
                    raise ParamError(f"expected an argument object, got {_describe(arg)}")
                arg_name = Name().validate(arg.get("name"))
                kind = kind_from_json(arg)
                default = kind.validate(arg.get("default"))
                help_text = arg.get("help", "")
                if not isinstance(help_text, str) or len(help_text) > MAX_TITLE:
                    raise ParamError("help must be a short text")
                net.args[arg_name] = ArgDecl(arg_name, kind, default, help_text)
            except ParamError as err:
                self.fail(aloc, str(err))
        self.graph(net, entry, loc)

    def graph(self, graph: Graph, entry: dict, loc: str) -> None:
        nodes = self.need(entry, "nodes", list, loc, "nodes list")
        if len(nodes) > MAX_NODES:
            raise FileFormatError(f"{loc}.nodes", f"{len(nodes)} nodes is more than the "
                                  f"{MAX_NODES} a project may hold")
        for i, node in enumerate(nodes):
            self.node(graph, node, f"{loc}.nodes[{i}]")
        edges = self.need(entry, "edges", list, loc, "edges list")
        for i, edge in enumerate(edges):
            eloc = f"{loc}.edges[{i}]"
            try:
                src, dst = self.endpoint(edge, "from", eloc), self.endpoint(edge, "to", eloc)
            except FileFormatError as err:
                self.fail(err.location, err.message)
                continue
            missing = [n for n in (src[0], dst[0]) if n not in graph.nodes]
            if missing:
                self.fail(eloc, f"connects node {missing[0]!r}, which this graph does not have")
                continue
            graph.edges.append(Edge(src[0], src[1], dst[0], dst[1]))
        for node in graph.nodes.values():
            if node.shares and node.shares not in graph.nodes:
                self.fail(f"{loc}.nodes[{list(graph.nodes).index(node.id)}].shares",
                          f"links to {node.shares!r}, which this graph does not have")
                node.shares = None

    def endpoint(self, edge, key, loc):
        if not isinstance(edge, dict):
            raise FileFormatError(loc, f"expected a wire object, got {_describe(edge)}")
        end = edge.get(key)
        if (not isinstance(end, list) or len(end) != 2
                or not all(isinstance(s, str) and _ID.match(s) for s in end)):
            raise FileFormatError(f"{loc}.{key}", f"expected [node id, port name], got "
                                  f"{_describe(end)}")
        return end[0], end[1]

    def node(self, graph: Graph, entry, loc: str) -> None:
        if not isinstance(entry, dict):
            self.fail(loc, f"expected a node object, got {_describe(entry)}")
            return
        node_id = entry.get("id")
        if not isinstance(node_id, str) or not _ID.match(node_id):
            self.fail(f"{loc}.id", f"expected an id of letters, digits, '_' or '-' (at most 64), "
                      f"got {_describe(node_id)}")
            return
        if node_id in graph.nodes:
            self.fail(f"{loc}.id", f"id {node_id!r} is used twice")
            return
        block = entry.get("block")
        if not isinstance(block, str):
            self.fail(f"{loc}.block", f"expected a block type name, got {_describe(block)}")
            return
        try:
            spec = get_block(block)
        except KeyError:
            self.fail(f"{loc}.block", f"unknown block type {_short(block, 60)}; this Studio "
                      "does not have it (the node and its wires were left out)")
            return
        if graph.kind not in spec.where:
            self.fail(f"{loc}.block", f"{block} cannot be placed in "
                      f"{'a network' if graph.kind == 'network' else 'the training graph'}")
            return
        version = entry.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.fail(f"{loc}.version", f"expected a block version number, got {_describe(version)}")
            return
        if version > spec.version:
            self.fail(f"{loc}.version", f"{block} version {version} is newer than this Studio's "
                      f"({spec.version})")
            return
        params = entry.get("params", {})
        if not isinstance(params, dict):
            self.fail(f"{loc}.params", f"expected an object, got {_describe(params)}")
            params = {}
        while version < spec.version:
            params = spec.migrations[version](dict(params))
            version += 1
        values = {}
        for key in params:
            if not any(p.name == key for p in spec.params):
                self.fail(f"{loc}.params.{_key(key)}", f"{block} has no parameter "
                          f"{_short(key, 40)}")
        for prm in spec.params:
            ploc = f"{loc}.params.{prm.name}"
            raw = params.get(prm.name, prm.kind.to_json(prm.default))
            try:
                if isinstance(raw, dict) and block != INSTANCE:
                    if set(raw) != {"arg"} or not isinstance(raw["arg"], str):
                        raise ParamError(f"expected a value or {{\"arg\": name}}, got "
                                         f"{_describe(raw)}")
                    values[prm.name] = Arg(Name().validate(raw["arg"]))
                else:
                    values[prm.name] = prm.validate(_arg_values(raw) if block == INSTANCE
                                                    and prm.name == "args" else raw)
            except ParamError as err:
                self.fail(ploc, str(err) if self.strict else
                          f"{err} (reset to the default {prm.default!r})")
                values[prm.name] = prm.default
        title = entry.get("title", "")
        if not isinstance(title, str) or len(title) > MAX_TITLE or "\n" in title:
            self.fail(f"{loc}.title", f"expected a one-line title of at most {MAX_TITLE} "
                      "characters")
            title = ""
        pos = entry.get("pos", [0.0, 0.0])
        if (not isinstance(pos, list) or len(pos) != 2 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                and abs(v) < 1e9 for v in pos)):
            self.fail(f"{loc}.pos", f"expected [x, y] finite numbers, got {_describe(pos)}")
            pos = [0.0, 0.0]
        shares = entry.get("shares")
        if shares is not None and (not isinstance(shares, str) or not _ID.match(shares)):
            self.fail(f"{loc}.shares", f"expected a node id, got {_describe(shares)}")
            shares = None
        frozen = entry.get("frozen", False)
        if not isinstance(frozen, bool):
            self.fail(f"{loc}.frozen", f"expected true or false, got {_describe(frozen)}")
            frozen = False
        graph.nodes[node_id] = Node(node_id, block, values, title,
                                    (float(pos[0]), float(pos[1])), shares, frozen)


def _arg_values(raw):
    """Network instance argument values: plain values, or references to the enclosing network's
    own arguments."""
    if not isinstance(raw, dict):
        return raw
    out = {}
    for k, v in raw.items():
        if isinstance(v, dict):
            if set(v) != {"arg"} or not isinstance(v["arg"], str):
                raise ParamError(f"args.{_short(k, 40)}: expected a value or {{\"arg\": name}}")
            out[k] = Arg(Name().validate(v["arg"]))
        elif isinstance(v, (bool, int, float)) and not (isinstance(v, float) and not math.isfinite(v)):
            out[k] = v
        else:
            raise ParamError(f"args.{_short(k, 40)}: expected a number or true/false, got "
                             f"{_describe(v)}")
    return out


def _reject_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def _parse(text: str):
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise FileFormatError("", "the file nests too deeply to be a project") from None
    except ValueError as err:
        raise FileFormatError("", f"not valid JSON ({err})") from None


def loads(text: str) -> Project:
    """Parse a project; the first problem raises FileFormatError naming its field."""
    return _Reader(strict=True).project(_parse(text))


def loads_lenient(text: str) -> tuple[Project, list[LoadIssue]]:
    """Parse what can be parsed; bad nodes, wires and values are reported, the rest is kept."""
    reader = _Reader(strict=False)
    return reader.project(_parse(text)), reader.issues


def _read_text(path) -> str:
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise FileFormatError("", f"cannot open {path}: {err.strerror or err}") from None
    if size > MAX_BYTES:
        raise FileFormatError("", f"{path} is {size // (1024 * 1024)} MB; a project file is at "
                              f"most {MAX_BYTES // (1024 * 1024)} MB")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FileFormatError("", f"{path} is not UTF-8 text, so not a project file") from None
    except OSError as err:
        raise FileFormatError("", f"cannot read {path}: {err.strerror or err}") from None


def load(path) -> Project:
    return loads(_read_text(path))


def load_lenient(path) -> tuple[Project, list[LoadIssue]]:
    return loads_lenient(_read_text(path))


# ------------------------------------------------------------------------------------------------

def _key(key) -> str:
    """A JSON key as it appears in a location: plain when it is a simple name, else quoted."""
    text = str(key)
    return text if _ID.match(text) else _short(text, 40)


def _tuple(types):
    return types if isinstance(types, tuple) else (types,)


def _type_names(types) -> str:
    names = {str: "text", list: "a list", dict: "an object", int: "a whole number",
             float: "a number", bool: "true or false"}
    return " or ".join(names.get(t, t.__name__) for t in _tuple(types))


def _describe(value) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the text {_short(value)}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _short(value, limit: int = 30) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"
