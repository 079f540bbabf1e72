"""The vision blocks in the window: the palette offers them, the inspector shows their fields,
shapes and costs, and an activation's curve is the one torch computes."""

import numpy as np
import torch
import torch.nn.functional as F

from studio.core.fileformat import save
from tests.test_vision_blocks import _units_project

NEW = {"Hardswish", "Hardsigmoid", "SiLU", "Permute", "Transpose", "ChannelShuffle", "Mean",
       "StochasticDepth", "LayerScale", "LayerNorm2d"}


def _node_of(window, graph: str, block: str) -> str:
    nodes = window.session.doc.graph(graph).nodes.values()
    return next(n.id for n in nodes if n.block == block)


def test_the_inspector_shows_the_vision_blocks(window, tmp_path):
    path = tmp_path / "units.studio"
    save(_units_project(), path)
    assert window.open_path(path, ask=False)
    window.tabs.open_network("ConvNeXtUnit")
    assert NEW <= set(window.palette.all_payloads())

    window.tabs.select_node("ConvNeXtUnit", "down_norm")
    assert window.inspector.shown_fields()[-3:] == ["Epsilon", "Elementwise affine", "Bias"]
    assert "24 parameters" in window.inspector.page.info.text()
    window.tabs.select_node("ConvNeXtUnit", "layer_scale")
    info = window.inspector.page.info.text()
    assert "12 parameters" in info and "Initial scale" in window.inspector.shown_fields()
    window.tabs.select_node("ConvNeXtUnit", "fc1")
    assert "Each position" in window.inspector.shown_fields()
    assert "6 x 6 x 48" in window.inspector.page.info.text()

    window.tabs.select_node("SqueezeExcite", _node_of(window, "SqueezeExcite", "Hardsigmoid"))
    (x, y), _ = window.inspector.plot_data()
    want = F.hardsigmoid(torch.tensor(x, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(y, want, atol=1e-12)
