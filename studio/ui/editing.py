"""What the user's gestures do to the document: the one place the UI edits.

The canvas, palette, inspector and menus call an ``Editor``. It pushes commands on the session's
document (the basic ones from ``studio.core.document``, the restructuring ones through
``studio.core.edits``) and answers whether it worked and, if not, one sentence saying why; a
refusal is also posted on the session for the status bar. Tests drive the editor through the same
calls the mouse and keyboard handlers make.
"""

from __future__ import annotations

from studio.core import document as D
from studio.core import edits, wiring
from studio.core.project import INSTANCE, Edge, ProjectError
from studio.core.registry import TRAINING, get_block

PASTE_OFFSET = edits.PASTE_OFFSET
REFUSED = (ProjectError, KeyError, ValueError)


class Editor:
    def __init__(self, session):
        self.session = session

    @property
    def doc(self):
        return self.session.doc

    def graph(self, key):
        return self.doc.graph(key)

    def _run(self, what: str, fn, *args, **kwargs):
        """Call an ``edits`` function on the document; (True, result) or (False, reason)."""
        try:
            return True, fn(self.doc, *args, **kwargs)
        except REFUSED as err:
            reason = refusal_text(err)
            self.session.message.emit(f"{what}: {reason}")
            return False, reason

    # adding -----------------------------------------------------------------------------------------
    def can_place(self, graph_key: str, block: str) -> tuple[bool, str]:
        try:
            spec = get_block(block)
        except KeyError as err:
            return False, refusal_text(err)
        kind = self.graph(graph_key).kind
        if kind not in spec.where:
            place = "the training graph" if kind == TRAINING else "a network"
            return False, f"{spec.title} cannot be placed in {place}"
        return True, ""

    def _placeable(self, graph_key: str, block: str, network: str | None):
        """(block, params) to add in ``graph_key`` (an instance when ``network`` is given), or
        None after telling the user why it cannot go there."""
        params = {"network": network} if network else None
        block = INSTANCE if network else block
        ok, reason = self.can_place(graph_key, block)
        if not ok:
            self.session.message.emit(f"Not added: {reason}")
            return None
        return block, params

    def add_block(self, graph_key: str, block: str, pos, network: str | None = None) -> str | None:
        """Add a block at ``pos`` (an instance of ``network`` when given); its new id."""
        placed = self._placeable(graph_key, block, network)
        if placed is None:
            return None
        block, params = placed
        cmd = D.AddNode(graph_key, block, pos=tuple(pos), params=params)
        return cmd.node_id if self.session.push(cmd) else None

    def drop_block(self, graph_key: str, block: str, pos, network: str | None = None,
                   on_wire: Edge | None = None) -> str | None:
        """What a palette drop does: add the block at ``pos``; dropped on a wire, insert it into
        that wire (a block without an input or an output is simply added beside it)."""
        if on_wire is None:
            return self.add_block(graph_key, block, pos, network)
        placed = self._placeable(graph_key, block, network)
        if placed is None:
            return None
        block, params = placed
        ok, result = self._run("Not inserted", edits.insert_on_wire, graph_key, on_wire, block,
                               tuple(pos), params=params)
        if ok:
            return result
        return self.add_block(graph_key, block, pos, network)

    # wiring -------------------------------------------------------------------------------------
    def check_wire(self, graph_key, src, src_port, dst, dst_port) -> wiring.Verdict:
        """Whether a wire from ``src.src_port`` to ``dst.dst_port`` can work (the core's port
        declarations and the receiving block's shape rules), and the wire it would replace."""
        return wiring.check_wire(self.doc, self.session.analysis, graph_key, src, src_port, dst,
                                 dst_port)

    def can_connect(self, graph_key, src, src_port, dst, dst_port) -> tuple[bool, str]:
        """Whether the wire can work, and if not, why (a taken input is not a reason here)."""
        verdict = self.check_wire(graph_key, src, src_port, dst, dst_port)
        return verdict.ok, verdict.reason

    def connect(self, graph_key, src, src_port, dst, dst_port,
                replace: bool = False) -> tuple[bool, str]:
        """Wire two ports, or say why not. A single input that has a wire keeps it unless
        ``replace`` (Shift held on the drop): then the old wire goes in the same undo step and
        the status bar names it, so nothing is replaced unseen."""
        verdict = self.check_wire(graph_key, src, src_port, dst, dst_port)
        if not verdict.ok:
            self.session.message.emit(f"Can't wire: {verdict.reason}")
            return False, verdict.reason
        old = verdict.replaces
        if old is not None and not replace:
            reason = (f"{dst}.{dst_port} already has a wire from {old.src}.{old.src_port}; hold "
                      "Shift while dropping to replace it")
            self.session.message.emit(f"Can't wire: {reason}")
            return False, reason
        ok, result = self._run("Can't wire", edits.replace_connection, graph_key, src, src_port,
                               dst, dst_port)
        if not ok:
            return False, result
        if old is not None:
            self.session.message.emit(
                f"Replaced the wire {old.src}.{old.src_port} \u2192 {dst}.{dst_port} by "
                f"{src}.{src_port} (Undo puts it back)")
        return True, ""

    def blocks_accepting(self, graph_key, src, src_port, payloads) -> dict:
        """Of palette ``payloads``, those whose input takes the wire from ``src.src_port``:
        payload -> the input port it would be wired to."""
        from studio.ui.palette import parse_block_payload

        blocks, networks, by = [], [], {}
        for payload in payloads:
            block, network = parse_block_payload(payload)
            if network:
                networks.append(network)
                by[(INSTANCE, network)] = payload
            else:
                blocks.append(block)
                by[(block, None)] = payload
        found = wiring.accepting(self.doc, self.session.analysis, graph_key, src, src_port,
                                 blocks, networks)
        return {by[(c.block, c.network)]: c.port for c in found}

    def add_wired(self, graph_key, block, pos, src, src_port, port,
                  network: str | None = None) -> str | None:
        """Add a block at ``pos`` and wire ``src.src_port`` into its input ``port``: one undo
        step (a wire dropped on empty canvas, then a block chosen)."""
        placed = self._placeable(graph_key, block, network)
        if placed is None:
            return None
        block, params = placed
        node_id = self.graph(graph_key).new_id(get_block(block).id, numbered=True)
        macro = D.Macro(f"add {block} and wire it", [
            D.AddNode(graph_key, block, pos=tuple(pos), params=params, node_id=node_id),
            D.Connect(graph_key, src, src_port, node_id, port)])
        return node_id if self.session.push(macro) else None

    def disconnect(self, graph_key, edge_list) -> bool:
        edge_list = list(edge_list)
        if not edge_list:
            return False
        return self._run("Not disconnected", edits.disconnect, graph_key, edge_list)[0]

    # moving and parameters ----------------------------------------------------------------------
    def move(self, graph_key, positions: dict, merge: bool = False) -> bool:
        return self.session.push(D.MoveNodes(graph_key, positions), merge=merge)

    def set_params(self, graph_key, node_id, values: dict, merge: bool = True) -> bool:
        return self.session.push(D.SetParams(graph_key, node_id, values), merge=merge)

    def set_title(self, graph_key, node_id, title: str) -> bool:
        return self.session.push(D.SetTitle(graph_key, node_id, title))

    def set_frozen(self, graph_key, node_id, frozen: bool) -> bool:
        return self.session.push(D.SetFrozen(graph_key, node_id, bool(frozen)))

    def swap_block(self, graph_key, node_id, block: str) -> bool:
        """Replace With: ``block`` in place of the node's, keeping its id, wires and the
        parameters the new block has (``edits.swap_block``)."""
        return self._run("Not replaced", edits.swap_block, graph_key, node_id, block)[0]

    def set_settings(self, values: dict, merge: bool = True) -> bool:
        return self.session.push(D.SetSettings(values), merge=merge)

    def align(self, graph_key, ids, how: str) -> bool:
        ok, result = self._run("Not aligned", edits.align, graph_key, list(ids), how)
        return ok and result is not None

    def auto_layout(self, graph_key) -> bool:
        ok, result = self._run("No layout", edits.auto_layout, graph_key)
        return ok and result is not None

    # deleting -------------------------------------------------------------------------------------
    def can_reconnect(self, graph_key, ids) -> bool:
        try:
            return edits.can_reconnect(self.doc, graph_key, list(ids))
        except REFUSED:
            return False

    def delete(self, graph_key, ids, reconnect: bool = False) -> bool:
        ids = [n for n in ids if n in self.graph(graph_key).nodes]
        if not ids:
            return False
        ok, result = self._run("Not deleted", edits.delete_nodes, graph_key, ids,
                               reconnect=reconnect)
        return ok and result is not None

    # clipboard ------------------------------------------------------------------------------------
    def copy_data(self, graph_key, ids) -> str | None:
        """The selection as clipboard text (nodes and the wires between them)."""
        ok, result = self._run("Not copied", edits.copy_nodes, graph_key, list(ids))
        return result if ok else None

    def paste(self, graph_key, payload, offset=PASTE_OFFSET) -> list[str]:
        ok, result = self._run("Not pasted", edits.paste, graph_key, payload, offset)
        return list(result) if ok else []

    def duplicate(self, graph_key, ids, linked: bool = False) -> list[str]:
        fn = edits.linked_duplicate if linked else edits.duplicate
        ok, result = self._run("Not duplicated", fn, graph_key, list(ids))
        return list(result) if ok else []

    # networks ---------------------------------------------------------------------------------------
    def free_network_name(self, base: str = "Block") -> str:
        taken = set(self.session.project.networks)
        if base not in taken:
            return base
        i = 2
        while f"{base}{i}" in taken:
            i += 1
        return f"{base}{i}"

    def make_network(self, graph_key, ids, name: str | None = None) -> str | None:
        """Collapse the nodes into a new network; the id of the instance put in their place."""
        name = name or self.free_network_name()
        ok, result = self._run("No network made", edits.make_network, graph_key, list(ids), name)
        return result if ok else None

    def explode(self, graph_key, node_id) -> list[str]:
        ok, result = self._run("Not exploded", edits.explode, graph_key, node_id)
        return list(result) if ok else []

    def add_network(self, name: str | None = None) -> str | None:
        name = name or self.free_network_name("Network")
        ok, result = self._run("No network added", edits.add_network, name)
        return result if ok else None

    def rename_network(self, old: str, new: str) -> bool:
        return self._run("Not renamed", edits.rename_network, old, new)[0]

    def remove_network(self, name: str) -> bool:
        return self._run("Not removed", edits.remove_network, name)[0]


def refusal_text(err: Exception, capitalized: bool = False) -> str:
    """Why an edit was refused, in words: the error's message (a KeyError's without the quotes
    its str adds), with a capital when it starts a sentence."""
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    if not text:
        return "the edit was refused"
    return text[:1].upper() + text[1:] if capitalized else text
