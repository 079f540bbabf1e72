"""The fields of a network instance in the inspector: which network it instantiates, and one
field per argument of that network (``args.NAME`` in the page's editors), which fills the
node's ``args``; a field in a network's graph may name that network's own arguments.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout

from studio.core.params import Choice
from studio.core.project import Network
from studio.ui.inspector_page import InspectorPage, field_label
from studio.ui.param_widgets import ParamEditor


class InstanceFields:
    def __init__(self, page: InspectorPage, key: str, node):
        self.page = page
        self.session, self.editor = page.session, page.editor
        self.key, self.node_id = key, node.id
        self.node = node

    def add_rows(self, form: QFormLayout) -> None:
        session, node = self.session, self.node
        networks = tuple(session.project.networks)
        current = node.params.get("network")
        options = networks if current in networks else networks + (current,)
        ed = ParamEditor("network", Choice(options), current, "the network to instantiate",
                         self.page.reporting_refusal("network", "network", self.set_network),
                         session.end_merge)
        self.page.editors["network"] = ed
        form.addRow(field_label("Network", "the network this node is an instance of"), ed.widget)
        form.addRow(ed.message_label())
        net = session.project.networks.get(current)
        if net is None:
            return
        given = dict(node.params.get("args") or {})
        outer = session.doc.graph(self.key)
        outer_args = list(outer.args) if isinstance(outer, Network) else None
        for name, decl in net.args.items():
            ed = ParamEditor(name, decl.kind, given.get(name, decl.default), decl.help or
                             f"argument of {net.name}", self.arg_setter(name),
                             session.end_merge, outer_args)
            self.page.editors[f"args.{name}"] = ed
            form.addRow(field_label(name, decl.help or f"argument {name} of {net.name}"),
                        ed.widget)
            form.addRow(ed.message_label())

    def set_network(self, value) -> bool:
        return self.editor.set_params(self.key, self.node_id, {"network": value}, merge=True)

    def arg_setter(self, name: str):
        def edit(value):
            node = self.session.doc.graph(self.key).nodes.get(self.node_id)
            if node is None:
                return
            args = dict(node.params.get("args") or {})
            args[name] = value
            self.editor.set_params(self.key, self.node_id, {"args": args}, merge=True)
        return edit
