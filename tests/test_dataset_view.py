"""The dataset view, offscreen: samples with labels, class counts, shapes and value ranges, for
images, feature vectors, the image field and streamed files; loading in the background, and
failures shown as messages. Each view is also saved as a PNG (under the test's tmp_path) so a
person can look at it."""

import numpy as np
import torch

from studio.engine import dataset_preview
from studio.engine.library import data
from studio.ui.dataset_view import DatasetView
from tests.helpers import ROOT

DIGITS = ROOT / "resources" / "data"


def _view(qtbot, width=1000, height=640):
    view = DatasetView()
    qtbot.addWidget(view)
    view.resize(width, height)
    view.show()
    qtbot.waitExposed(view)
    return view


def _table(view):
    return {
        view.table.item(r, 0).text(): [view.table.item(r, c).text() for c in range(1, 7)]
        for r in range(view.table.rowCount())
    }


def _bars(view):
    import pyqtgraph as pg

    return [item for item in view.counts.plotItem.items if isinstance(item, pg.BarGraphItem)]


def _save(view, path):
    assert view.grab().save(str(path))
    assert path.stat().st_size > 5000


def test_digits_show_samples_counts_and_ranges(qtbot, tmp_path):
    view = _view(qtbot)
    digits = data.load_digits(DIGITS, size=32)
    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.set_data(digits, "digits")
    assert view.title.text() == "Dataset: digits"
    assert "1,497 train, 300 test samples; 10 classes; resident in memory on cpu" in view.summary.text()
    table = _table(view)
    assert table["image"][:4] == ["1 x 32 x 32", "float32", "0", "1"]
    assert table["label"][:4] == ["scalar", "class index", "0", "9"]
    bars = _bars(view)
    assert len(bars) == 2  # train and test
    counts = [sum(b.opts["width"]) for b in bars]
    assert counts == [1497, 300]
    assert "train (1,497)" in view.counts_key.text() and "test (300)" in view.counts_key.text()
    assert view.samples.currentWidget() is view.grid and view.grid.shown() >= 16
    assert "Pixels mapped to 0..1" in view.values_note.text()
    _save(view, tmp_path / "digits.png")


def test_colour_images_normalized_and_streamed_with_a_validation_split(qtbot, tmp_path):
    from tests.test_data_files import write_image_folder

    write_image_folder(tmp_path / "imgs", count=10, kinds=("circle", "square", "cross"), size=24)
    split = data.load_image_folder(
        tmp_path / "imgs",
        size=24,
        channels=3,
        classes=3,
        normalize=True,
        memory="stream",
        val_fraction=0.1,
        workers=0,
    )
    view = _view(qtbot)
    view.set_data(split, "folder")
    assert "21 train, 3 validation, 6 test samples" in view.summary.text()
    assert "streamed from disk" in view.summary.text()
    assert "Normalized with training statistics" in view.values_note.text()
    assert [sum(b.opts["width"]) for b in _bars(view)] == [21, 3, 6]
    assert _table(view)["image"][0] == "3 x 24 x 24"
    # the grid undoes the normalization: the black background shows black
    pixels = dataset_preview.display_pixels(split, split.train[0][:4])
    assert pixels.dtype == np.uint8 and pixels.shape == (4, 24, 24, 3) and pixels[:, 0, 0].max() <= 2
    _save(view, tmp_path / "folder.png")


def test_feature_vectors_show_a_scatter_plot(qtbot, tmp_path):
    view = _view(qtbot)
    view.set_data(data.make_toy_2d("spirals", count=600, classes=3), "spirals")
    assert view.samples.currentWidget() is view.scatter
    import pyqtgraph as pg

    scatters = [i for i in view.scatter.plotItem.items if isinstance(i, pg.ScatterPlotItem)]
    assert len(scatters) == 3 and sum(len(s.data) for s in scatters) == 480
    assert _table(view)["x"][0] == "2"
    _save(view, tmp_path / "spirals.png")


def test_a_1d_function_shows_y_against_x_and_no_class_counts(qtbot, tmp_path):
    view = _view(qtbot)
    view.set_data(data.make_curve_1d("bumps", count=500, noise=0.0), "bumps")
    assert view.counts_box.isHidden() and view.samples.currentWidget() is view.scatter
    assert set(_table(view)) == {"x", "y"} and "y against x" in view.samples_box.title()
    import pyqtgraph as pg

    (scatter,) = [i for i in view.scatter.plotItem.items if isinstance(i, pg.ScatterPlotItem)]
    x, y = scatter.getData()
    assert len(x) == 400 and not view.scatter.plotItem.legend.items  # no classes to name
    np.testing.assert_allclose(y, data.curve_values("bumps", x.astype(np.float64)), atol=1e-5)
    _save(view, tmp_path / "bumps.png")


def test_the_image_field_shows_the_picture_and_no_class_counts(qtbot, tmp_path):
    view = _view(qtbot)
    view.set_data(data.load_image_field(DIGITS, size=32), "image")
    assert view.counts_box.isHidden() and view.samples.currentWidget() is view.grid
    assert set(_table(view)) == {"coords", "pixel"}
    _save(view, tmp_path / "field.png")


def test_long_class_names_fit_a_small_view(qtbot, tmp_path):
    names = data.DatasetSources.CLASS_NAMES["fashion_mnist"]
    images = torch.rand(50, 1, 28, 28)
    split = data.SplitData(
        (images[:40], torch.arange(40) % 10),
        (images[40:], torch.arange(10)),
        ("image", "label"),
        10,
        class_names=names,
    )
    view = _view(qtbot, 560, 420)
    view.set_data(split, "fashion_mnist")
    ticks = view.counts.getAxis("left")._tickLevels[0]
    assert [text for _, text in ticks] == list(names)
    assert view.grid.shown() >= 4
    _save(view, tmp_path / "small.png")


def test_loading_in_the_background_and_a_failure_as_a_message(qtbot, tmp_path):
    view = _view(qtbot)
    with qtbot.waitSignal(view.loaded, timeout=20000) as got:
        view.load({"dataset": "digits", "size": 16})
    assert got.args[0].train[0].shape == (1497, 1, 16, 16) and view.progress.isHidden()
    with qtbot.waitSignal(view.failed, timeout=20000) as failed:
        view.load({"dataset": "csv", "path": "missing.csv", "features": 2, "classes": 2}, root=tmp_path)
    assert "missing.csv: no such file or folder" in failed.args[0]
    assert "missing.csv" in view.message.text() and view.message.isVisible() and view.split.isHidden()
    _save(view, tmp_path / "error.png")
    (tmp_path / "bad.csv").write_text("a,b,label\n1,2,0\n3,oops,1\n")
    with qtbot.waitSignal(view.failed, timeout=20000) as failed:
        view.load({"dataset": "csv", "path": "bad.csv", "features": 2, "classes": 2}, root=tmp_path)
    assert "bad.csv, line 3, b: 'oops' is not a number" in failed.args[0]
    with qtbot.waitSignal(view.failed, timeout=5000) as failed:
        view.load({"dataset": "csv", "path": "http://example.com/x.csv", "features": 2})
    assert "not a URL" in failed.args[0]


def test_download_progress_shows_in_the_bar(qtbot, monkeypatch, tmp_path):
    from tests.test_download import FileServer, serve_set, tiny_mnist

    view = _view(qtbot)
    with FileServer() as server:
        serve_set(server, monkeypatch, "mnist", tiny_mnist())
        seen = []
        view.progress.valueChanged.connect(seen.append)
        with qtbot.waitSignal(view.loaded, timeout=20000):
            view.load({"dataset": "mnist", "path": str(tmp_path / "cache"), "size": 28})
    assert seen and max(seen) == 1000
    assert "1,500 train, 297 test samples" in view.summary.text()
    assert _table(view)["image"][0] == "1 x 28 x 28"


def test_a_file_that_breaks_while_showing_samples_is_reported(qtbot, tmp_path):
    from tests.test_data_files import write_image_folder

    write_image_folder(tmp_path, count=3, kinds=("circle", "square"))
    split = data.load_image_folder(tmp_path, size=8, classes=2, memory="stream", workers=0, test_fraction=0.5)
    for path in tmp_path.rglob("*.png"):
        path.write_bytes(b"broken after loading")
    view = _view(qtbot)
    with qtbot.waitSignal(view.failed, timeout=5000) as failed:
        view.set_data(split, "folder")
    assert "not a readable image" in failed.args[0] and view.data is None
