"""A user's first hour, on a 1600x1000 screen with the window at the size Studio chooses: open
every example from the menu, build a classifier from an empty project by dragging blocks and
wires, see a wiring refused, undo and redo, make a network, train with every plot tiled, pause,
resume and stop, switch projects while trained, save, reopen, export and run the export.

Run by tests/window/test_window_scenarios.py on an Xvfb display of that size."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QLineEdit,
    QListWidget,
    QMessageBox,
)
from studio_steps import (
    answer_file_dialog,
    canvas_point,
    curve_points,
    drag_wire,
    drop_from_palette,
    edges,
    focus_canvas,
    node_point,
    open_example,
    pause_resume,
    set_epochs,
    state_text,
    stop_training,
    tile_and_check,
    train_and_watch,
    type_into,
    widget_on_screen,
    window_on_screen,
)
from xdriver import Scenario, StepFailed, gone, run_main, xdotool

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.studio"))
HOME = Path(os.environ.get("HOME", "."))
PROJECT = HOME / "projects" / "digits_mlp.studio"
EXPORT = HOME / "projects" / "digits_mlp_export"


def body(s: Scenario) -> None:
    ids: dict[str, str] = {}
    s.step("the window opens inside the screen", lambda: s.log(f"window {window_on_screen(s)}"))
    s.shot("opened")
    s.step("File > Examples lists every example",
           lambda: _examples_listed(s))
    for name in EXAMPLES:
        s.step(f"File > Examples > {name} opens it on the canvas", lambda n=name: _open(s, n))
    s.step("F1 lists the keyboard shortcuts, the training ones included", lambda: _shortcuts(s))
    s.step("Help > User Guide opens a guide with pictures, on the screen",
           lambda: _read_help(s, "User Guide", "guide"))
    s.step("Help > Block Reference finds Conv2d when it is typed",
           lambda: _read_help(s, "Block Reference", "reference", search="Conv2d"))
    s.step("File > New > Blank: an empty project", lambda: _new_blank(s), needed=True)
    s.step("F5 on the empty project says why not; Problems and the status bar agree",
           lambda: _empty_refused(s))
    s.step("drag Dataset, Flatten, Linear, CrossEntropy, Adam from the palette",
           lambda: _drop_blocks(s, ids), needed=True)
    s.shot("blocks dropped")
    s.step("drag wires: digits -> Flatten -> Linear -> CrossEntropy <- label, -> Adam",
           lambda: _wire(s, ids), needed=True)
    s.shot("classifier wired")
    s.step("wired, the Training panel no longer says why it could not train",
           lambda: _panel_agrees(s))
    s.step("dragging the image onto the loss's target is refused, with the reason",
           lambda: _refused(s, ids))
    s.shot("refused wiring")
    s.step("Ctrl+Z undoes the last wire, Ctrl+Shift+Z and Ctrl+Y redo it",
           lambda: _undo_redo(s, ids))
    s.step("select Flatten and Linear, Ctrl+G makes a network of them",
           lambda: _make_network(s, ids))
    s.shot("network made")
    s.step("set 300 epochs in the Training panel", lambda: set_epochs(s, "300"))
    s.step("View > Tile Training Plots; the window stays on the screen",
           lambda: tile_and_check(s, {"curves", "classifier"}))
    s.step("F5 trains; the curves plot it; progress moves; the window stays on the screen",
           lambda: train_and_watch(s), needed=True)
    s.shot("training tiled")
    s.step("F6 pauses, F6 resumes", lambda: pause_resume(s))
    s.step("Shift+F5 stops and keeps what was trained", lambda: stop_training(s), needed=True)
    s.shot("stopped")
    s.step("opening an example while trained asks about the trained weights; Cancel keeps "
           "the project", lambda: _switch_prompt(s))
    s.step("Ctrl+S asks where; typing a path saves the project and its weights",
           lambda: _save(s), needed=True)
    s.step("then opening LeNet asks nothing and shows none of the previous project's results",
           lambda: _switch_after_save(s))
    s.step("Ctrl+O reopens the saved project, with its trained weights",
           lambda: _reopen(s), needed=True)
    s.step("after an edit the weights no longer fit, Continue Training stays offered and says "
           "which layers would start afresh; Ctrl+Z makes them fit again",
           lambda: _incompatible_edit(s, ids["Dataset"]))
    s.step("File > Export PyTorch Code into a new folder writes model.py, train.py, weights.pt",
           lambda: _export(s), needed=True)
    s.step("the export's train.py --help explains its options", lambda: _export_help(s))
    s.step("the export's train.py --epochs 1 trains", lambda: _export_runs(s))
    s.step("the window never grew past the screen", lambda: window_on_screen(s))
    s.shot("end")


# examples ---------------------------------------------------------------------------------------
def _examples_listed(s: Scenario) -> None:
    def names():
        menu = s.window.examples_menu
        return [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]

    listed = s.gui(names)
    s.check(listed and all(n in listed for n in EXAMPLES),
            f"File > Examples lists {listed}, not every example of {EXAMPLES}")


def _open(s: Scenario, name: str) -> None:
    open_example(s, name)
    s.wait_until(lambda: len(s.window.scene("training").nodes) ==
                 len(s.window.session.project.training.nodes) > 0,
                 f"the canvas shows {name}'s nodes")
    window_on_screen(s)
    error = s.gui(lambda: s.window.dashboard.panel.error_text)
    s.check(not error, f"after opening {name} the Training panel says: {error}")
    zoom = s.gui(lambda: s.window.view().zoom())
    s.check(zoom >= READABLE_ZOOM, f"{name} opens at {zoom:.0%}, too small to read")


READABLE_ZOOM = 0.5


def _shortcuts(s: Scenario) -> None:
    focus_canvas(s)
    s.key("F1")

    def box():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, QDialog) and w.isVisible() and "shortcut" in w.windowTitle().lower():
                return w
        return None

    dialog = s.wait_until(box, "F1 shows the keyboard shortcuts", 10)
    keys = s.gui(lambda: _key_cells(dialog))
    s.shot("shortcuts")
    s.key("Escape")
    s.wait_until(lambda: gone(dialog), "Escape closes the shortcuts", 10)
    for key in ("F5", "F6", "Shift+F5"):
        s.check(key in keys, f"the shortcuts do not list {key} (they list {sorted(keys)})")
    for alias in ("F14", "F18"):
        s.check(alias not in keys, f"the shortcuts list the raw Qt alias {alias}")


def _read_help(s: Scenario, item: str, word: str, search: str = "") -> None:
    """Open a Help reading window from the menu, look at it, type a search, close it."""
    from PySide6.QtWidgets import QTextBrowser

    s.menu_path("Help", item)

    def window():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, QDialog) and w.isVisible() and word in w.windowTitle().lower():
                return w
        return None

    dialog = s.wait_until(window, f"Help > {item} opens a window", 10)
    s.wait_until(lambda: dialog.windowHandle() is not None and dialog.windowHandle().isExposed(),
                 f"the {item} window is shown", 10)
    where = s.gui(lambda: widget_on_screen(dialog))
    s.check(where is None, f"the {item} window {where}")
    browser = s.gui(lambda: dialog.findChild(QTextBrowser))
    s.check(browser is not None, f"the {item} window shows no document")
    text = s.gui(lambda: browser.toPlainText())
    s.check(len(text) > 500, f"the {item} says only {text[:200]!r}")
    if word == "guide":
        s.check(s.gui(lambda: "<img" in browser.toHtml()), "the User Guide has no pictures")
    field = s.gui(lambda: next(e for e in dialog.findChildren(QLineEdit) if e.isVisible()))
    s.click(field)  # the reading window has the keyboard
    if search:
        s.type(search)
        s.wait_until(lambda: search in browser.toPlainText() and
                     len(browser.toPlainText()) < len(text), f"typing {search} narrows it", 10)
    s.shot(item)
    s.key("Escape")
    s.wait_until(lambda: gone(dialog), f"Escape closes the {item}", 10)


def _key_cells(dialog) -> set:
    """Every key named in a dialog listing shortcuts: table cells or label text split at
    commas and tags. GUI thread."""
    from PySide6.QtWidgets import QLabel, QTableWidget, QTreeWidget

    texts = [dialog.text()] if isinstance(dialog, QMessageBox) else []
    texts += [label.text() for label in dialog.findChildren(QLabel)]
    for table in dialog.findChildren(QTableWidget):
        texts += [table.item(r, c).text() for r in range(table.rowCount())
                  for c in range(table.columnCount()) if table.item(r, c) is not None]
    for tree in dialog.findChildren(QTreeWidget):
        for i in range(tree.topLevelItemCount()):
            item = tree.topLevelItem(i)
            texts += [item.text(c) for c in range(tree.columnCount())]
            texts += [item.child(j).text(c) for j in range(item.childCount())
                      for c in range(tree.columnCount())]
    cells = set()
    for text in texts:
        for part in re.split(r"<[^>]*>|,|\n", text.replace("&nbsp;", " ")):
            if part.strip():
                cells.add(part.strip())
    return cells


def _empty_refused(s: Scenario) -> None:
    focus_canvas(s)
    s.key("F5")
    s.wait_until(lambda: s.window.dashboard.panel.error_text, "the Training panel says why not", 10)
    s.check(not s.gui(lambda: s.window.dashboard.controller.running), "an empty project trains")
    totals = s.gui(lambda: s.window.totals.text())
    s.check("no problems" not in totals.lower(),
            f"Train refused the empty project while the status bar says '{totals}'")
    listed = s.gui(lambda: s.window.problems.count())
    s.check(listed > 0, "Train refused the empty project while Problems lists nothing")


# building ---------------------------------------------------------------------------------------
def _new_blank(s: Scenario) -> None:
    focus_canvas(s)
    s.key("ctrl+n")
    dialog = s.modal("the New Project dialog", 10)
    lst = s.gui(lambda: dialog.findChild(QListWidget))
    s.check(lst is not None, "the New Project dialog lists no templates")

    def blank_row():
        for i in range(lst.count()):
            if lst.item(i).text().lower().startswith("blank"):
                r = lst.visualItemRect(lst.item(i))
                return lst.viewport().mapToGlobal(r.center())
        return None

    s.click(s.wait_until(blank_row, "the Blank template is listed", 5))
    s.key("Return")
    s.wait_until(lambda: QApplication.activeModalWidget() is None and
                 not s.window.session.project.training.nodes, "an empty project")


BLOCKS = (  # name, where on the canvas (fractions of its width and height)
    ("Dataset", (0.12, 0.25)), ("Flatten", (0.40, 0.25)), ("Linear", (0.68, 0.25)),
    ("CrossEntropy", (0.40, 0.68)), ("Adam", (0.70, 0.68)),
)


def _drop_blocks(s: Scenario, ids: dict) -> None:
    for block, (fx, fy) in BLOCKS:
        ids[block] = drop_from_palette(s, block, canvas_point(s, fx, fy))
        picked = s.gui(lambda: s.window.scene().selected_ids())
        s.check(picked == [ids[block]], f"the dropped {block} is not the one selected ({picked})")
    s.log(f"  nodes {ids}")
    kinds = s.gui(lambda: sorted(n.block for n in s.window.session.project.training.nodes.values()))
    s.check(kinds == sorted(b for b, _ in BLOCKS), f"the training graph holds {kinds}")


def _wire(s: Scenario, ids: dict) -> None:
    d, f, lin, ce, adam = (ids[b] for b in ("Dataset", "Flatten", "Linear", "CrossEntropy", "Adam"))
    wires = [(d, "image", f, "x"), (f, "out", lin, "x"), (lin, "out", ce, "input"),
             (d, "label", ce, "target"), (ce, "loss", adam, "loss")]
    for wire in wires:
        before = edges(s)
        drag_wire(s, *wire)
        s.wait_until(lambda w=wire: w in _edges_now(s),
                     f"the wire {wire[0]}.{wire[1]} -> {wire[2]}.{wire[3]} is made", 5)
        s.check(edges(s) - before == {wire}, f"dragging {wire} changed the wires to {edges(s)}")
    problems = s.gui(lambda: [str(p) for p in s.window.session.analysis.problems])
    s.check(not problems, f"the wired classifier has problems: {problems}")

    def shapes():
        scene = s.window.scene("training")
        return [w.label for w in scene.wires if getattr(w, "label", "")]

    labels = s.gui(shapes)
    s.check(len(labels) >= 3, f"the wires show shapes {labels}")
    s.log(f"  wire shapes {labels}")


def _panel_agrees(s: Scenario) -> None:
    problems = s.gui(lambda: [str(p) for p in s.window.session.analysis.problems])
    refusal = s.gui(lambda: s.window.dashboard.panel.error_text)
    s.check(problems or not refusal, f"the classifier has no problems, yet the Training panel "
                                     f"still says '{refusal}'")


def _edges_now(s: Scenario) -> set:
    """(On the GUI thread.)"""
    return {(e.src, e.src_port, e.dst, e.dst_port)
            for e in s.window.session.doc.graph("training").edges}


def _refused(s: Scenario, ids: dict) -> None:
    before = edges(s)
    s.gui(lambda: s.window.statusBar().clearMessage())
    drag_wire(s, ids["Dataset"], "image", ids["CrossEntropy"], "target")
    s.check(edges(s) == before, f"the refused wire changed the wires: added "
            f"{edges(s) - before}, removed {before - edges(s)}")
    said = s.gui(lambda: _refusal_text(s))
    s.check(bool(said), "nothing on the screen says why the wire was refused")
    s.log(f"  said: {said}")


def _refusal_text(s: Scenario) -> str:
    """What the window says about a refused wire: the status bar, or a note on the canvas."""
    from studio.ui.canvas.refusal_bubble import RefusalBubble

    texts = [s.window.statusBar().currentMessage()]
    for item in s.window.scene().items():
        if isinstance(item, RefusalBubble) and item.isVisible():
            texts.append(item.text())
    return " | ".join(t for t in texts if t and ("wire" in t.lower() or "can't" in t.lower()))


def _undo_redo(s: Scenario, ids: dict) -> None:
    last = (ids["CrossEntropy"], "loss", ids["Adam"], "loss")
    focus_canvas(s)
    s.key("ctrl+z")
    s.wait_until(lambda: last not in _edges_now(s), "Ctrl+Z takes the last wire away", 5)
    s.key("ctrl+shift+z")
    s.wait_until(lambda: last in _edges_now(s), "Ctrl+Shift+Z puts it back", 5)
    s.key("ctrl+z")
    s.wait_until(lambda: last not in _edges_now(s), "Ctrl+Z takes it away again", 5)
    s.key("ctrl+y")
    s.wait_until(lambda: last in _edges_now(s), "Ctrl+Y puts it back", 5)


def _make_network(s: Scenario, ids: dict) -> None:
    s.click(node_point(s, ids["Flatten"]))
    xdotool("keydown", "ctrl")
    try:
        s.click(node_point(s, ids["Linear"]))
    finally:
        xdotool("keyup", "ctrl")
        s.settle()
    picked = s.gui(lambda: sorted(s.window.scene().selected_ids()))
    s.check(picked == sorted([ids["Flatten"], ids["Linear"]]),
            f"click and Ctrl+click selected {picked}")
    s.key("ctrl+g")
    dialog = s.modal("Ctrl+G asks for the network's name", 10)
    s.key("ctrl+a")
    s.type("Head")
    s.key("Return")
    s.wait_until(lambda: gone(dialog), "the name dialog closes", 5)
    s.wait_until(lambda: "Head" in s.window.session.project.networks,
                 "the project has a network Head", 10)
    tabs = s.gui(lambda: [s.window.tabs.tabText(i) for i in range(s.window.tabs.count())])
    s.check("Head" in tabs, f"no tab for the network Head among {tabs}")
    kinds = s.gui(lambda: sorted(n.block for n in s.window.session.project.training.nodes.values()))
    s.check("Flatten" not in kinds and "Linear" not in kinds and len(kinds) == 4,
            f"after Make Network the training graph holds {kinds}")
    s.check(len(edges(s)) == 4, f"after Make Network the wires are {edges(s)}")
    problems = s.gui(lambda: [str(p) for p in s.window.session.analysis.problems])
    s.check(not problems, f"after Make Network: {problems}")


# training ---------------------------------------------------------------------------------------
# files --------------------------------------------------------------------------------------------
def _prompt_text(dialog) -> str:
    if isinstance(dialog, QMessageBox):
        return f"{dialog.text()} {dialog.informativeText()}"
    return dialog.windowTitle()


def _switch_prompt(s: Scenario) -> None:
    before = s.gui(lambda: id(s.window.session.doc))
    s.menu_path("File", "Examples", "lenet")
    dialog = s.modal("a prompt before the trained project is replaced", 10)
    text = s.gui(lambda: _prompt_text(dialog))
    s.log(f"  asked: {text}")
    clicked = s.click_button(dialog, lambda b, d: isinstance(d, QMessageBox) and
                             d.buttonRole(b) == QMessageBox.ButtonRole.RejectRole,
                             "the prompt has a Cancel button")
    s.no_modal("the prompt closes", 10)
    s.check(s.gui(lambda: id(s.window.session.doc)) == before,
            f"after '{clicked}' the project was replaced")
    s.check("weight" in text.lower() or "trained" in text.lower(),
            f"the prompt speaks only of '{text}', not of the trained weights")


def _save(s: Scenario) -> None:
    PROJECT.parent.mkdir(parents=True, exist_ok=True)
    focus_canvas(s)
    s.key("ctrl+s")
    answer_file_dialog(s, PROJECT, "save the project")
    s.wait_until(lambda: PROJECT.exists() and not s.window.session.doc.modified,
                 f"{PROJECT.name} is written", 15)
    weights = PROJECT.with_suffix(".ckpt")
    s.wait_until(lambda: weights.exists(), f"the trained weights {weights.name} are written", 15)
    title = s.gui(lambda: s.window.windowTitle())
    s.check(PROJECT.name in title, f"after saving, the title is '{title}'")
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in (PROJECT, weights)}
    s.check(len(set(modes.values())) == 1, f"the project and its weights differ in mode: {modes}")
    name = s.gui(lambda: s.window.session.project.name)
    s.check(name != "Untitled", f"saved as {PROJECT.name}, the project is still named '{name}'")


def _switch_after_save(s: Scenario) -> None:
    before = s.gui(lambda: set(s.window.session.project.training.nodes))
    open_example(s, "lenet")
    s.wait_until(lambda: len(s.window.scene("training").nodes) ==
                 len(s.window.session.project.training.nodes) > 0, "the canvas shows LeNet")
    state = state_text(s)
    s.check(not state.startswith(("Stopped", "Finished")),
            f"on LeNet the Training panel still says '{state}'")
    s.check(s.gui(lambda: curve_points(s.window)) == 0,
            "on LeNet the Curves view still plots the previous project's run")
    error = s.gui(lambda: s.window.dashboard.panel.error_text)
    s.check(not error, f"on LeNet the Training panel says: {error}")
    gone_nodes = before - s.gui(lambda: set(s.window.session.project.training.nodes))
    stale = s.gui(lambda: _texts_naming(s.window, gone_nodes))
    s.check(not stale, f"on LeNet the panels still name the previous project's nodes: {stale}")


def _texts_naming(window, names) -> list[str]:
    """Texts of the training panel and the plot docks that name any of ``names``. GUI thread."""
    from PySide6.QtWidgets import QLabel

    widgets = [window.dashboard.panel, *window.dashboard.views.values()]
    out = []
    for widget in widgets:
        for label in widget.findChildren(QLabel):
            words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", label.text()))
            if label.isVisible() and words & set(names):
                out.append(label.text())
    return out


def _reopen(s: Scenario) -> None:
    focus_canvas(s)
    s.key("ctrl+o")
    answer_file_dialog(s, PROJECT, "open a project")
    s.wait_until(lambda: s.window.session.doc.path and
                 Path(s.window.session.doc.path).resolve() == PROJECT.resolve(),
                 f"{PROJECT.name} opens", 15)
    kinds = s.gui(lambda: sorted(n.block for n in s.window.session.project.training.nodes.values()))
    s.check(len(kinds) == 4 and "Dataset" in kinds and "Adam" in kinds,
            f"reopened, the training graph holds {kinds}")
    s.check(s.gui(lambda: "Head" in s.window.session.project.networks),
            "reopened, the network Head is missing")
    s.wait_until(lambda: s.window.dashboard.panel.continue_action.isEnabled(),
                 "Continue Training is offered (the weights beside the project are found)", 10)


def _incompatible_edit(s: Scenario, dataset: str) -> None:
    """Images of 16 px instead of 32 change the Linear layer's inputs: its trained weights do
    not fit any more. Continue keeps the others and starts it afresh (issue 17), saying so."""
    action = s.gui(lambda: s.window.dashboard.panel.continue_action)
    s.check(s.gui(lambda: action.isEnabled()), "Continue Training is not offered to begin with")
    s.click(node_point(s, dataset))
    field = s.wait_until(lambda: (ed := s.window.inspector.editors.get("size")) and ed.widget,
                         "the Inspector shows the Dataset's image size", 10)
    type_into(s, field, "16")
    s.wait_until(lambda: s.window.session.project.training.nodes[dataset].params.get("size") == 16,
                 "the image size becomes 16", 10)
    s.wait_until(lambda: "start afresh" in action.toolTip(),
                 "Continue Training says which layers would start afresh", 10)
    s.check(s.gui(lambda: action.isEnabled()), "Continue Training is not offered after the edit")
    s.log(f"  says: {s.gui(lambda: action.toolTip())}")
    focus_canvas(s)
    s.key("ctrl+z")
    s.wait_until(lambda: s.window.session.project.training.nodes[dataset].params.get("size", 32)
                 == 32, "Ctrl+Z puts the image size back", 10)
    s.wait_until(lambda: "start afresh" not in action.toolTip(),
                 "Continue Training continues exactly again", 10)


def _export(s: Scenario) -> None:
    """A file dialog takes the typed folder; a dialog of its own takes it in its folder field
    (Enter exports)."""
    s.check(not EXPORT.exists(), f"{EXPORT} exists already")
    s.menu_path("File", "Export PyTorch Code")
    dialog = s.modal("a dialog asking where to export", 15)
    if s.gui(lambda: isinstance(dialog, QFileDialog)):
        start = s.gui(lambda: dialog.directory().absolutePath())
        s.key("ctrl+a")
        s.type(str(EXPORT))
        s.key("Return")
    else:
        field = s.gui(lambda: next((e for e in dialog.findChildren(QLineEdit) if e.isVisible()),
                                   None))
        s.check(field is not None, "the export dialog has no field for the folder")
        start = s.gui(lambda: str(Path(field.text()).parent))
        type_into(s, field, str(EXPORT))
    s.log(f"  the export dialog starts in {start}")
    try:
        s.wait_until(lambda: QApplication.activeModalWidget() is None,
                     f"the export dialog takes the new folder {EXPORT}", 15)
    except StepFailed:
        raise StepFailed(f"the export dialog does not take a new folder {EXPORT}") from None
    s.wait_until(lambda: (EXPORT / "train.py").exists(), "the export is written", 30)
    names = sorted(p.name for p in EXPORT.iterdir())
    for need in ("model.py", "train.py", "weights.pt"):
        s.check(need in names, f"the export holds {names}, not {need}")
    said = s.gui(lambda: s.window.statusBar().currentMessage())
    s.log(f"  said: {said}")
    model = (EXPORT / "model.py").read_text()
    s.check("class Untitled" not in model, "the exported model is still called Untitled")
    s.check(Path(start) != HOME, f"the export started in the home folder ({start})")


def _export_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    env.pop("PYTHONPATH", None)  # the export runs without Studio
    return env


def _export_help(s: Scenario) -> None:
    done = subprocess.run([sys.executable, "train.py", "--help"], cwd=EXPORT, env=_export_env(),
                          capture_output=True, text=True, timeout=120)
    s.check(done.returncode == 0, f"train.py --help exited {done.returncode}: {done.stderr[-800:]}")
    lines = done.stdout.splitlines()
    s.log("  " + "\n  ".join(lines[:30]))
    for option in ("--epochs", "--weights"):
        at = [i for i, line in enumerate(lines) if line.strip().startswith(option)]
        s.check(bool(at), f"train.py --help does not list {option}")
        line = lines[at[0]].strip()
        rest = line.split("  ", 1)[1].strip() if "  " in line else ""
        follows = lines[at[0] + 1].strip() if at[0] + 1 < len(lines) else ""
        explained = rest or (follows and not follows.startswith("-"))
        s.check(bool(explained), f"train.py --help lists {option} without saying what it does")


def _export_runs(s: Scenario) -> None:
    done = subprocess.run([sys.executable, "train.py", "--epochs", "1"], cwd=EXPORT,
                          env=_export_env(), capture_output=True, text=True, timeout=300)
    s.log("  " + "\n  ".join(done.stdout.splitlines()[-5:]))
    s.check(done.returncode == 0,
            f"train.py --epochs 1 exited {done.returncode}: {done.stderr[-1500:]}")


if __name__ == "__main__":
    run_main("first hour", body)
