"""The GAN and VAE lessons from the window, as a student takes them: Lessons > the lesson opens
its project with the Discriminator or Latent view in front, Train, and the view draws the
first probe; the two views are tiled only for GANs and VAEs."""

from __future__ import annotations

from studio.core.lessons import lessons
from tests.helpers import EXAMPLES

WAIT_MS = 60_000


def in_front(dock) -> bool:
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


def _take(qtbot, window, lesson_id: str, view_name: str, drawn) -> None:
    lesson = next(item for item in lessons() if item.id == lesson_id)
    assert lesson.views[0] == view_name
    assert window.lessons.open(lesson, ask=False)
    dash = window.dashboard
    qtbot.waitUntil(lambda: in_front(dash.docks[view_name]), timeout=WAIT_MS)
    view = dash.views[view_name]
    assert view.message.isVisible() and not drawn(view)
    assert view_name in dash.relevant_views()
    assert dash.panel.train()
    qtbot.waitUntil(lambda: drawn(view), timeout=WAIT_MS)
    assert in_front(dash.docks[view_name])  # Train keeps the lesson's view in front
    assert "Step" in view.summary.text()
    dash.controller.stop()
    qtbot.waitUntil(lambda: not dash.controller.running, timeout=WAIT_MS)


def test_the_gan_lesson_shows_its_discriminator(qtbot, window):
    _take(qtbot, window, "gan", "adversarial", lambda view: view.has_probe)
    assert "JS estimate" in window.dashboard.adversarial.summary.text()
    assert "Jensen-Shannon" in window.lessons.panel.text.toPlainText()


def test_the_vae_lesson_maps_its_latent_code(qtbot, window):
    _take(qtbot, window, "vae", "latent", lambda view: view.has_map)
    assert "collapse" in window.lessons.panel.text.toPlainText()


def test_only_gans_and_vaes_tile_their_views(qtbot, window):
    for name, views in (("lenet", set()), ("dcgan", {"adversarial"}), ("cvae", {"latent"})):
        assert window.open_path(EXAMPLES / f"{name}.studio", ask=False)
        assert set(window.dashboard.relevant_views()) & {"adversarial", "latent"} == views
