"""What the training views show belongs to the open project: after another project is opened
(new, open, example, recovery) every dock and the training panel speak of that project only."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QAbstractButton, QLabel

from studio.core import templates
from studio.core.document import Document
from studio.core.fileformat import load
from studio.ui.testing import click_node, open_window
from tests.helpers import EXAMPLES

WAIT_MS = 60_000


def shown_texts(window) -> str:
    """Every label, button and tab text of the dashboard's docks and the training panel."""
    dash = window.dashboard
    texts = []
    for dock in dash.all_docks:
        for widget in dock.findChildren(QLabel) + dock.findChildren(QAbstractButton):
            texts.append(widget.text())
    return "\n".join(texts)


def train_until_finished(qtbot, window) -> None:
    dash = window.dashboard
    assert dash.panel.train()
    qtbot.waitUntil(lambda: dash.controller.state in ("finished", "stopped", "failed"),
                    timeout=WAIT_MS)
    dash.refresh_all()


def test_opening_another_project_resets_every_view(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    lenet = load(EXAMPLES / "lenet.studio")
    lenet.training.configure(steps=40)
    window.set_document(Document(lenet))
    old_nodes = {n for n in window.session.project.training.nodes}
    click_node(window.view("training"), "conv2")  # watched: its maps are asked for
    window.dashboard.tile_views()
    train_until_finished(qtbot, window)
    before = shown_texts(window)
    assert "Finished" in before and "conv2" in before  # the views showed LeNet's run
    for open_next in (lambda: window.files.open_example(EXAMPLES / "dcgan.studio", ask=False),
                      lambda: window.set_document(templates.new_from_template("classifier")),
                      lambda: window.open_path(EXAMPLES / "vae.studio", ask=False)):
        assert open_next() is not False
        qtbot.wait(10)
        window.dashboard.refresh_all()
        after = shown_texts(window)
        new_nodes = set(window.session.project.training.nodes)
        named = {n for n in old_nodes - new_nodes if any(c.isdigit() for c in n)}  # conv2,..
        stale = {n for n in named if re.search(rf"\b{re.escape(n)}\b", after)}
        assert not stale, (stale, after)
        assert "Finished" not in after and "Cannot train" not in after
        assert window.dashboard.controller.watched is None
        assert window.dashboard.panel.continue_action.isEnabled() is False
        old_nodes = new_nodes


def test_a_refusal_to_train_is_forgotten_with_its_project(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    window.set_document(templates.new_from_template("blank"))
    assert not window.dashboard.panel.train()
    assert "Cannot train yet" in window.dashboard.panel.error_text
    window.files.open_example(EXAMPLES / "lenet.studio", ask=False)
    assert window.dashboard.panel.error_text == ""
    assert "Cannot train" not in shown_texts(window)


def test_continue_training_names_the_layers_that_start_afresh_after_an_edit(qtbot, tmp_path):
    """Issue 17's warm start: after an edit the trained weights no longer fit whole, Continue
    stays offered and says, in words, which layers keep nothing and why."""
    window = open_window(qtbot, tmp_path)
    lenet = load(EXAMPLES / "lenet.studio")
    lenet.training.configure(steps=20)
    window.set_document(Document(lenet))
    panel = window.dashboard.panel
    train_until_finished(qtbot, window)
    assert panel.continue_action.isEnabled()
    assert "afresh" not in panel.continue_action.toolTip()
    assert window.editor.set_params("training", "conv1", {"out_channels": 8})
    assert panel.continue_action.isEnabled()  # the layers that still fit keep their weights
    assert panel.train_action.isEnabled()  # training from scratch is still there
    reason = panel.continue_action.toolTip()
    assert "afresh" in reason and "conv1" in reason and "conv2" in reason
    assert "fc1" not in reason and "fc3" not in reason
    window.session.undo()
    assert panel.continue_action.isEnabled()  # the trained weights fit whole again
    assert "afresh" not in panel.continue_action.toolTip()


def test_samples_now_asks_the_worker_for_a_preview(qtbot, tmp_path):
    """With previews far apart, the Samples view's button has one made at the next step."""
    window = open_window(qtbot, tmp_path)
    gan = load(EXAMPLES / "dcgan.studio")
    gan.training.configure(steps=5000, preview_every=4000)
    window.set_document(Document(gan))
    dash = window.dashboard
    assert dash.panel.train()
    dash.docks["samples"].raise_()  # (Train brings the curves to the front)
    # the first samples come at once (the run's first step), whatever the budget
    qtbot.waitUntil(lambda: "samples" in dash.store.current.previews, timeout=WAIT_MS)
    assert dash.store.current.previews["samples"].step == 1
    qtbot.waitUntil(lambda: dash.store.current.step >= 3, timeout=WAIT_MS)
    button = dash.samples.request_button
    qtbot.waitUntil(button.isEnabled, timeout=WAIT_MS)
    button.click()
    qtbot.waitUntil(lambda: dash.store.current.previews["samples"].step not in (1, 4000),
                    timeout=WAIT_MS)
    dash.panel.stop_action.trigger()
    qtbot.waitUntil(lambda: dash.controller.state in ("stopped", "finished"), timeout=WAIT_MS)
