"""Editing LeNet on the canvas with real mouse and keys, each edit one undo step: a wire that
cannot work is refused while it is dragged (the port dimmed, the reason shown) and adds nothing;
a taken input is kept on a plain drop and replaced with Shift held (Ctrl+Z puts the old wire
back, Ctrl+Shift+Z replaces it again); a wire let go on empty canvas opens the search on the
blocks that take it, and the one chosen is added and wired; Ctrl+G makes a network; Tab adds a
block by typing.

Run by tests/window/test_window_scenarios.py on an Xvfb display of 1600x1000."""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QInputDialog, QLineEdit
from studio_steps import edges, node_point, open_example, port_point
from xdriver import Scenario, StepFailed, run_main, xdotool


def _depth(s: Scenario) -> int:
    return s.gui(lambda: s.window.session.doc.undo_depth)


def _snapshot(s: Scenario):
    from studio.core.fileformat import dumps

    return s.gui(lambda: (dumps(s.window.session.doc.project), s.window.session.doc.undo_depth))


def _empty_spot(s: Scenario):
    """A point of the canvas on the screen with no node, wire or port near it."""
    def find():
        view = s.window.view()
        scene = view.scene()
        vp = view.viewport().rect()
        for fy in (0.92, 0.08, 0.5, 0.3, 0.7):
            for fx in (0.5, 0.3, 0.7, 0.15, 0.85):
                local = QPoint(int(vp.width() * fx), int(vp.height() * fy))
                p = view.mapToScene(local)
                near = [scene.node_at(p + d) for d in (QPoint(0, 0), QPoint(60, 0),
                                                        QPoint(0, 60), QPoint(-60, 0),
                                                        QPoint(0, -60))]
                if not any(near) and scene.wire_at(p) is None and scene.port_at(p) is None:
                    return view.viewport().mapToGlobal(local)
        raise StepFailed("no empty spot on the canvas")
    return s.point(find)


def refused_while_dragging(s: Scenario) -> None:
    before = _snapshot(s)
    start = port_point(s, "conv2", "output", "out")
    end = port_point(s, "loss", "input", "target")
    s.press(start)
    for i in range(1, 9):
        s.move(start[0] + (end[0] - start[0]) * i / 8, start[1] + (end[1] - start[1]) * i / 8)
    seen = s.gui(lambda: (
        s.window.scene().nodes["loss"].port("input", "target").drag_state,
        s.window.scene().nodes["loss"].port("input", "target").highlight,
        s.window.scene().hover_reason, s.window.statusBar().currentMessage()))
    s.shot("refused while dragging")
    s.release()
    s.check(seen[0] == "refused" and seen[1] == "bad", f"loss.target not marked refused: {seen}")
    s.check("16 x 10 x 10" in seen[2] and seen[2] in seen[3], f"no reason shown: {seen}")
    s.check(_snapshot(s) == before, "the refused drop changed the project")


def shift_replaces_in_one_step(s: Scenario) -> None:
    old, new = ("conv2", "out", "tanh2", "x"), ("pool1", "out", "tanh2", "x")
    depth = _depth(s)
    s.drag(port_point(s, "pool1", "output", "out"), port_point(s, "tanh2", "input", "x"))
    s.check(old in edges(s) and new not in edges(s), "a plain drop replaced the taken input")
    s.check("Shift" in s.gui(lambda: s.window.statusBar().currentMessage()),
            "the status bar does not say how to replace the wire")
    s.drag(port_point(s, "pool1", "output", "out"), port_point(s, "tanh2", "input", "x"),
           modifiers="shift")
    s.check(new in edges(s) and old not in edges(s), "Shift+drop did not replace the wire")
    s.check(_depth(s) == depth + 1, "the replacement is not one undo step")
    message = s.gui(lambda: s.window.statusBar().currentMessage())
    s.check("Replaced the wire conv2.out" in message, f"status bar: {message!r}")
    s.shot("wire replaced")
    s.key("ctrl+z")
    s.check(old in edges(s) and new not in edges(s), "Ctrl+Z did not put the old wire back")
    s.key("ctrl+shift+z")
    s.check(new in edges(s) and old not in edges(s), "Ctrl+Shift+Z did not replace it again")
    s.key("ctrl+z")
    s.check(old in edges(s), "the second Ctrl+Z did not put the old wire back")


def wire_to_empty_canvas(s: Scenario) -> None:
    before = _snapshot(s)
    s.drag(port_point(s, "fc3", "output", "out"), _empty_spot(s))
    s.wait_until(lambda: s.window.quick_add.isVisible(), "the block search opens")
    offered = s.gui(lambda: s.window.quick_add.shown())
    s.check("Linear" in offered and "Conv2d" not in offered,
            f"offered blocks that cannot take a vector of 10: {offered[:12]}")
    s.shot("search for fc3.out")
    s.type("softmax")
    s.key("Return")
    s.wait_until(lambda: not s.window.quick_add.isVisible(), "the search closes")
    added = s.gui(lambda: s.window.scene().selected_ids())
    s.check(len(added) == 1, f"no single new node selected: {added}")
    s.check(("fc3", "out", added[0], "x") in edges(s), "the new block is not wired")
    s.check(_depth(s) == before[1] + 1, "adding and wiring is not one undo step")
    s.shot("block added and wired")
    s.key("ctrl+z")
    s.check(_snapshot(s)[0] == before[0], "one Ctrl+Z did not remove the block and its wire")
    s.key("ctrl+shift+z")
    s.check(("fc3", "out", added[0], "x") in edges(s), "redo did not bring both back")
    s.key("ctrl+z")


def escape_cancels(s: Scenario) -> None:
    before = _snapshot(s)
    s.drag(port_point(s, "conv2", "output", "out"), _empty_spot(s))
    s.wait_until(lambda: s.window.quick_add.isVisible(), "the block search opens")
    s.key("Escape")
    s.wait_until(lambda: not s.window.quick_add.isVisible(), "Esc closes the search")
    s.check(_snapshot(s) == before, "Esc changed the project")


def make_network_by_ctrl_g(s: Scenario) -> None:
    depth = _depth(s)
    s.click(node_point(s, "conv1"))
    xdotool("keydown", "ctrl")
    try:
        s.click(node_point(s, "tanh1"))
        s.click(node_point(s, "pool1"))
    finally:
        xdotool("keyup", "ctrl")
    s.wait_until(lambda: sorted(s.window.scene().selected_ids()) == ["conv1", "pool1", "tanh1"],
                 "conv1, tanh1 and pool1 are selected")
    s.key("ctrl+g")
    dialog = s.modal("the Make Network dialog", 10)
    s.check(isinstance(dialog, QInputDialog), f"not the name dialog: {dialog}")
    s.gui(lambda: dialog.findChild(QLineEdit).selectAll())
    s.type("Stem")
    s.key("Return")
    s.wait_until(lambda: "Stem" in s.window.session.project.networks, "the network Stem exists")
    s.check(_depth(s) == depth + 1, "Make Network is not one undo step")
    s.check(s.gui(lambda: s.window.session.analysis.problems) == [], "Make Network made problems")
    s.shot("network made")
    # with no window manager on the display nothing gives the window back the keyboard when
    # the dialog closes: the user clicks the canvas, as one does
    s.click(_empty_spot(s))
    s.key("ctrl+z")
    s.wait_until(lambda: "Stem" not in s.window.session.project.networks, "Ctrl+Z undoes it")


def tab_adds_by_typing(s: Scenario) -> None:
    depth = _depth(s)
    s.click(_empty_spot(s))
    s.key("Tab")
    s.wait_until(lambda: s.window.quick_add.isVisible(), "Tab opens the block search")
    s.type("batchnorm2")
    s.key("Return")
    s.wait_until(lambda: s.window.session.doc.undo_depth == depth + 1,
                 "the block is added in one step")
    added = s.gui(lambda: s.window.scene().selected_ids())
    blocks = s.gui(lambda: [s.window.session.project.training.nodes[n].block for n in added])
    s.check(blocks == ["BatchNorm2d"], f"added {blocks}")
    s.key("ctrl+z")


def body(s: Scenario) -> None:
    s.step("File > Examples > lenet", lambda: open_example(s, "lenet"), needed=True)
    s.step("all of LeNet is on the canvas", lambda: s.check(s.gui(
        lambda: all(s.window.view().viewport().rect().contains(
            s.window.view().mapFromScene(item.scene_rect().center()))
            for item in s.window.scene().nodes.values())), "some of LeNet is off the canvas"))
    s.shot("lenet opened")
    s.step("conv2.out over loss.target is refused while dragging", lambda: refused_while_dragging(s))
    s.step("a taken input needs Shift; undo and redo are one step each",
           lambda: shift_replaces_in_one_step(s))
    s.step("a wire let go on empty canvas: search, add and wire in one step",
           lambda: wire_to_empty_canvas(s))
    s.step("Esc in the search adds nothing", lambda: escape_cancels(s))
    s.step("Ctrl+G makes a network in one step", lambda: make_network_by_ctrl_g(s))
    s.step("Tab adds a block by typing", lambda: tab_adds_by_typing(s))


if __name__ == "__main__":
    run_main("canvas_editing", body)
