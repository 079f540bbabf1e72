"""A unit's receptive field: the theoretical window composed from the blocks' rules, and the
effective field (the unit's gradient with respect to the input) measured with autograd."""

import numpy as np
import pytest
import torch

from studio.core.inference import analyze
from studio.core.project import Project
from studio.core.receptive_field import Window, field_refusal, node_row, window
from studio.engine.receptive_field import answer, gradient_field, half_mass_side
from studio.engine.runner import RunConfig, Runner
from tests.helpers import mlp_on_moons


def _stack(*layers, size: int = 16) -> Project:
    """Digits of ``size`` pixels into ``layers`` (id, block, params), then a classifier."""
    p = Project("Field")
    t = p.training
    t.configure(batch_size=16, epochs=1, log_every=1)
    data = t.add("Dataset", id="digits", dataset="digits", size=size)
    maps = t.stack(data["image"], *layers)
    scores = t.stack(maps, "Flatten", ("Linear", "fc", dict(out_features=10)))
    loss = t.add("CrossEntropy", id="loss")
    t.connect(scores, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam"))
    return p


def _rf(project, node: str):
    return node_row(analyze(project), (node,)).rf


def test_a_stack_of_two_3x3_convs_and_a_2x2_pool_sees_6x6_pixels_2_apart():
    p = _stack(("Conv2d", "c1", dict(out_channels=2, kernel_size=3)),
               ("Conv2d", "c2", dict(out_channels=2, kernel_size=3)),
               ("MaxPool2d", "pool", dict(kernel_size=2)))
    assert _rf(p, "c1") == ((3, 3), (1, 1), (0, 0))
    assert _rf(p, "c2") == ((5, 5), (1, 1), (0, 0))
    assert _rf(p, "pool") == ((6, 6), (2, 2), (0, 0))
    assert window(_rf(p, "pool"), 2, 3) == Window(4, 10, 6, 12)  # rows 4..9, columns 6..11


def test_padding_moves_the_window_and_dilation_and_stride_widen_it():
    p = _stack(("Conv2d", "c1", dict(out_channels=2, kernel_size=3, padding=1)),
               ("Conv2d", "c2", dict(out_channels=2, kernel_size=3, padding="same",
                                     dilation=2)),
               ("Conv2d", "c3", dict(out_channels=2, kernel_size=3, padding=1, stride=2)))
    assert _rf(p, "c1") == ((3, 3), (1, 1), (-1, -1))  # unit (0, 0) is centred on pixel (0, 0)
    assert _rf(p, "c2") == ((7, 7), (1, 1), (-3, -3))  # dilation 2: the taps 2 apart
    assert _rf(p, "c3") == ((9, 9), (2, 2), (-4, -4))
    assert window(_rf(p, "c3"), 3, 3) == Window(2, 11, 2, 11)  # centred on pixel (6, 6)
    assert window(_rf(p, "c3"), 0, 0).clipped(16, 16) == Window(0, 5, 0, 5)


def test_nodes_without_a_window_on_an_image_say_why():
    p = _stack(("Conv2d", "c1", dict(out_channels=2, kernel_size=3)))
    a = analyze(p)
    assert field_refusal(p, a, ("c1",)) is None
    assert "not a spatial map" in field_refusal(p, a, ("fc",))
    p.training.stack("fc", ("Unflatten", "again", dict(dim=1, sizes=(1, 2, 5))),
                     ("Conv2d", "late", dict(out_channels=2, kernel_size=1)))
    assert field_refusal(p, analyze(p), ("late",)).startswith(
        "Every unit of late sees the whole input")
    moons = mlp_on_moons()
    assert "not a spatial map" in field_refusal(moons, analyze(moons), ("fc1",))
    t = moons.training  # points made into a 1 x 4 x 4 "image": a map, but not of an image
    t.stack("fc1", ("Linear", "wide", dict(out_features=16)),
            ("Unflatten", "as_map", dict(dim=1, sizes=(1, 4, 4))),
            ("Conv2d", "conv", dict(out_channels=2, kernel_size=3)))
    assert field_refusal(moons, analyze(moons), ("conv",)) == (
        "The network's input is not an image, so conv's units have no window on it")


def test_a_3x3_convs_gradient_is_its_weights_on_exactly_the_3x3_window():
    conv = torch.nn.Conv2d(1, 1, 3, padding=1, bias=True)
    with torch.no_grad():
        conv.weight.copy_(torch.arange(1.0, 10.0).reshape(1, 1, 3, 3) - 5.0)  # one zero tap
    field = gradient_field(conv, torch.randn(1, 1, 8, 8), (0, 4, 2)).numpy()
    expected = np.zeros((8, 8), np.float32)
    expected[3:6, 1:4] = np.abs(np.arange(1.0, 10.0).reshape(3, 3) - 5.0)  # d out / d x = w
    np.testing.assert_allclose(field, expected)
    assert (field[3:6, 1:4] > 0).sum() == 8 and field.sum() == field[3:6, 1:4].sum()


def test_half_of_a_centred_peak_lies_within_a_small_square():
    field = np.zeros((9, 9), np.float32)
    field[4, 4] = 6.0
    field[3:6, 3:6] += 1.0
    assert half_mass_side(field, (4, 4)) == 3  # 7 of 15 is below half: one more ring
    field[4, 4] = 9.0
    assert half_mass_side(field, (4, 4)) == 1  # 9 of 17
    assert half_mass_side(np.ones((4, 4), np.float32), (1.5, 1.5)) == 4  # 4 of 16 in the middle


@pytest.fixture(scope="module")
def built():
    p = _stack(("Conv2d", "c1", dict(out_channels=3, kernel_size=3, padding=1)), "ReLU",
               ("Conv2d", "c2", dict(out_channels=3, kernel_size=3, padding=1)),
               ("MaxPool2d", "pool", dict(kernel_size=2)), size=12)
    runner = Runner(p, RunConfig(steps=1, device="cpu", seed=0), lambda event: None)
    runner.build()
    return p, runner


def test_a_units_effective_field_lies_inside_its_theoretical_window(built):
    project, runner = built
    event = answer(project, runner.probes, 3, "training/pool", (1, 2, 3), 0)
    assert event.message is None and event.step == 3
    assert event.window == (2, 8, 4, 10) and event.map_size == (6, 6)
    assert event.image.shape == (1, 12, 12) and event.gradient.shape == (12, 12)
    top, bottom, left, right = event.window
    outside = event.gradient.copy()
    outside[top:bottom, left:right] = 0
    assert event.gradient.sum() > 0 and not outside.any()  # nothing beyond the window
    assert event.inside == 1.0  # nothing outside the window
    assert 1 <= event.half_side <= 6


def test_a_field_that_cannot_be_measured_comes_back_with_the_reason(built):
    project, runner = built
    event = answer(project, runner.probes, 3, "training/fc", (0, 0, 0), 0)
    assert "not a spatial map" in event.message and event.gradient is None
    event = answer(project, runner.probes, 3, "training/pool", (7, 0, 0), 0)
    assert "no unit (7, 0, 0)" in event.message
