"""The layer blocks (convolutions, pooling, normalization, wiring, Reparameterize) on real torch.

Each block is run through its declaration (``BlockRunner`` renders the same code the generator
writes) and compared with the module a person would write by hand.
"""

import inspect
import random

import pytest
import torch
import torch.nn as nn

from studio.core.inference import analyze
from studio.core.params import Int
from studio.core.project import Project
from studio.core.registry import RF, ShapeError, TensorType, Values, get_block
from studio.core.symbolic import Sym
from studio.engine.blockrun import BlockRunner, random_input
from studio.engine.codegen import generate
from studio.engine.loader import RESOURCES_DATA, load

NEW_BLOCKS = (
    "Conv1d", "ConvTranspose2d", "SeparableConv2d",
    "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "GlobalAvgPool", "GlobalMaxPool", "BlurPool2d",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm2d",
    "Reshape", "Unflatten", "Dropout", "Dropout2d", "Add", "Concat", "Multiply", "Upsample",
    "Split", "OneHot", "Shortcut", "Reparameterize",
)


def T(*shape, dtype="float"):
    return TensorType(tuple(shape), dtype)


def runner(block: str, inputs: dict, **params) -> tuple:
    """(BlockRunner, Values, declared output types, declared cost) for a block on input types."""
    spec = get_block(block)
    values = spec.validate(params)
    p = Values(values)
    if spec.check:
        spec.check(p, inputs)
    outs = spec.shape(p, inputs)
    cost = spec.cost(p, inputs, outs) if spec.cost else None
    return BlockRunner(spec, values, inputs), p, outs, cost


def n_params(module: nn.Module) -> int:
    return sum(t.numel() for t in module.parameters())


# --------------------------------------------------------------------------------------------
# Parameter counts equal the hand-written torch module (and the declared cost rule)
# --------------------------------------------------------------------------------------------

HANDWRITTEN = [
    ("Conv1d", {"x": T(4, 20)}, dict(out_channels=8, kernel_size=5), lambda: nn.Conv1d(4, 8, 5)),
    ("Conv1d", {"x": T(6, 20)}, dict(out_channels=9, kernel_size=3, groups=3, bias=False),
     lambda: nn.Conv1d(6, 9, 3, groups=3, bias=False)),
    ("ConvTranspose2d", {"x": T(4, 5, 5)}, dict(out_channels=6, kernel_size=4, stride=2, padding=1,
                                                 groups=2),
     lambda: nn.ConvTranspose2d(4, 6, 4, stride=2, padding=1, groups=2)),
    ("ConvTranspose2d", {"x": T(16, 1, 1)}, dict(out_channels=8, kernel_size=4, stride=1,
                                                  padding=0, bias=False),
     lambda: nn.ConvTranspose2d(16, 8, 4, bias=False)),
    ("SeparableConv2d", {"x": T(8, 10, 10)}, dict(out_channels=16, kernel_size=3),
     lambda: nn.Sequential(nn.Conv2d(8, 8, 3, groups=8, bias=False), nn.Conv2d(8, 16, 1))),
    ("BatchNorm1d", {"x": T(12)}, {}, lambda: nn.BatchNorm1d(12)),
    ("BatchNorm1d", {"x": T(6, 10)}, dict(affine=False), lambda: nn.BatchNorm1d(6, affine=False)),
    ("BatchNorm2d", {"x": T(6, 8, 8)}, {}, lambda: nn.BatchNorm2d(6)),
    ("LayerNorm", {"x": T(20)}, {}, lambda: nn.LayerNorm(20)),
    ("LayerNorm", {"x": T(3, 6, 6)}, dict(dims=3), lambda: nn.LayerNorm((3, 6, 6))),
    ("LayerNorm", {"x": T(5, 8)}, dict(dims=2, bias=False), lambda: nn.LayerNorm((5, 8), bias=False)),
    ("LayerNorm", {"x": T(5, 8)}, dict(elementwise_affine=False),
     lambda: nn.LayerNorm(8, elementwise_affine=False)),
    ("GroupNorm", {"x": T(8, 6, 6)}, dict(num_groups=4), lambda: nn.GroupNorm(4, 8)),
    ("GroupNorm", {"x": T(12, 10)}, dict(num_groups=3, affine=False),
     lambda: nn.GroupNorm(3, 12, affine=False)),
    ("InstanceNorm2d", {"x": T(4, 8, 8)}, {}, lambda: nn.InstanceNorm2d(4)),
    ("InstanceNorm2d", {"x": T(4, 8, 8)}, dict(affine=True), lambda: nn.InstanceNorm2d(4, affine=True)),
]


@pytest.mark.parametrize("block, inputs, params, make", HANDWRITTEN,
                         ids=[f"{b}-{i}" for i, (b, *_) in enumerate(HANDWRITTEN)])
def test_parameter_count_equals_handwritten_torch(block, inputs, params, make):
    run, p, outs, cost = runner(block, inputs, **params)
    reference = make()
    assert n_params(run.module) == n_params(reference) == cost.params
    if block in ("BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "InstanceNorm2d"):
        # freshly built normalization layers compute the same thing as the hand-written one
        x = random_input(inputs["x"], batch=4, generator=torch.Generator().manual_seed(1))
        run.module.train()
        reference.train()
        torch.testing.assert_close(run(x=x)["out"], reference(x))


def test_generated_constructor_reads_like_handwritten_code():
    def ctor(block, inputs, **params):
        spec = get_block(block)
        from studio.engine.render import call

        return call(spec.module(Values(spec.validate(params)), inputs))

    assert ctor("Conv1d", {"x": T(4, 20)}, out_channels=8, kernel_size=5) == \
        "nn.Conv1d(4, 8, kernel_size=5)"
    assert ctor("ConvTranspose2d", {"x": T(16, 4, 4)}, out_channels=8) == \
        "nn.ConvTranspose2d(16, 8, kernel_size=4, stride=2, padding=1)"
    assert ctor("BatchNorm2d", {"x": T(6, 8, 8)}) == "nn.BatchNorm2d(6)"
    assert ctor("BatchNorm2d", {"x": T(6, 8, 8)}, eps=1e-3) == "nn.BatchNorm2d(6, eps=0.001)"
    assert ctor("LayerNorm", {"x": T(120)}) == "nn.LayerNorm(120)"
    assert ctor("LayerNorm", {"x": T(3, 6, 6)}, dims=3) == "nn.LayerNorm((3, 6, 6))"
    assert ctor("GroupNorm", {"x": T(8, 6, 6)}) == "nn.GroupNorm(4, 8)"
    assert ctor("InstanceNorm2d", {"x": T(4, 6, 6)}) == "nn.InstanceNorm2d(4)"
    assert ctor("Shortcut", {"x": T(8, 6, 6)}, out_channels=16, stride=2) == \
        "Shortcut(8, 16, stride=2)"
    assert ctor("BlurPool2d", {"x": T(8, 6, 6)}) == "BlurPool2d(8)"
    assert ctor("SeparableConv2d", {"x": T(8, 6, 6)}, out_channels=16, padding=1) == \
        "SeparableConv2d(8, 16, 3, padding=1)"


# --------------------------------------------------------------------------------------------
# Non-default settings: the shape rule and the parameter count agree with torch
# --------------------------------------------------------------------------------------------

VARIANTS = [
    ("Conv1d", {"x": T(3, 17)}, dict(out_channels=5, kernel_size=4, stride=2, padding=1,
                                     dilation=2)),
    ("Conv1d", {"x": T(3, 17)}, dict(out_channels=5, kernel_size=5, padding="same")),
    ("ConvTranspose2d", {"x": T(4, 5, 6)}, dict(out_channels=3, kernel_size=(3, 5), stride=3,
                                                 padding=(1, 2), output_padding=(2, 1),
                                                 dilation=2)),
    ("ConvTranspose2d", {"x": T(6, 3, 3)}, dict(out_channels=6, kernel_size=3, stride=1,
                                                 padding=0, groups=3)),
    ("SeparableConv2d", {"x": T(5, 11, 9)}, dict(out_channels=7, kernel_size=(3, 5), stride=2,
                                                  padding=(1, 2), dilation=2, bias=False)),
    ("SeparableConv2d", {"x": T(5, 11, 9)}, dict(out_channels=7, kernel_size=3, padding="same")),
    ("AdaptiveAvgPool2d", {"x": T(3, 7, 9)}, dict(output_size=(3, 5))),
    ("AdaptiveMaxPool2d", {"x": T(3, 4, 4)}, dict(output_size=6)),
    ("BlurPool2d", {"x": T(3, 9, 8)}, dict(filt_size=2)),
    ("BlurPool2d", {"x": T(3, 9, 8)}, dict(filt_size=4, stride=3)),
    ("BlurPool2d", {"x": T(3, 5, 6)}, dict(filt_size=5, stride=1)),
    ("Reshape", {"x": T(4, 3, 5)}, dict(shape=[5, -1, 2])),
    ("Reshape", {"x": T(100)}, dict(shape=[100, 1, 1])),
    ("Unflatten", {"x": T(6, 20)}, dict(dim=-1, sizes=[4, 5])),
    ("Unflatten", {"x": T(400)}, dict(dim=1, sizes=[16, -1, 5])),
    ("Concat", {"x": [T(3, 4, 5), T(3, 4, 2)]}, dict(dim=3)),
    ("Concat", {"x": [T(3, 4, 5), T(3, 6, 5)]}, dict(dim=-2)),
    ("Split", {"x": T(4, 6, 9)}, dict(chunks=3, dim=3)),
    ("Split", {"x": T(12)}, dict(chunks=4, dim=-1)),
    ("Upsample", {"x": T(3, 4, 5)}, dict(scale_factor=3, mode="bilinear")),
    ("Dropout", {"x": T(3, 4)}, dict(p=0.2)),
    ("Dropout2d", {"x": T(3, 4, 4)}, dict(p=0.0)),
    ("OneHot", {"x": T(3, 2, dtype="long")}, dict(num_classes=4)),
    ("Shortcut", {"x": T(8, 9, 9)}, dict(out_channels=8, stride=2)),
    ("Shortcut", {"x": T(8, 9, 9)}, dict(out_channels=8, stride=1)),
    ("LayerNorm", {"x": T(4, 5, 6)}, dict(dims=2)),
    ("GroupNorm", {"x": T(6)}, dict(num_groups=6)),
    ("Multiply", {"x": [T(2, 3), T(2, 3), T(2, 3)]}, {}),
]


@pytest.mark.parametrize("block, inputs, params", VARIANTS,
                         ids=[f"{b}-{i}" for i, (b, *_) in enumerate(VARIANTS)])
def test_non_default_settings_match_torch(block, inputs, params):
    run, p, outs, cost = runner(block, inputs, **params)
    gen = torch.Generator().manual_seed(0)
    tensors = {k: [random_input(t, generator=gen) for t in v] if isinstance(v, list)
               else random_input(v, classes=3, generator=gen) for k, v in inputs.items()}
    got = run(**tensors)
    for port, t in outs.items():
        assert tuple(got[port].shape[1:]) == t.shape, f"{block}.{port}"
        assert got[port].dtype == (torch.int64 if t.dtype == "long" else torch.float32)
    if cost is not None and run.module is not None:
        assert cost.params == n_params(run.module)


def test_every_new_block_has_a_complete_declaration():
    for block in NEW_BLOCKS:
        spec = get_block(block)
        assert spec.help.endswith(".") and len(spec.explanation) > 80, block
        assert spec.examples, block
        for prm in spec.params:
            assert prm.help, f"{block}.{prm.name}"


def test_shape_and_module_rules_accept_symbolic_sizes():
    """A reusable network's class is written from these rules run on expressions: no rule may
    compare or branch on a size."""
    c, h, w, c2 = (Sym(n) for n in ("in_channels", "in_height", "in_width", "skip_channels"))
    image, vector = TensorType((c, h, w)), TensorType((c * h,))
    cases = {
        "Conv1d": {"x": TensorType((c, w))},
        "BatchNorm1d": {"x": TensorType((c, w))},
        "Reshape": {"x": image}, "Unflatten": {"x": vector},
        "Add": {"x": [image, image]}, "Multiply": {"x": [image, image]},
        "Concat": {"x": [image, TensorType((c2, h, w))]},
        "OneHot": {"x": TensorType((), "long")},
        "Dropout": {"x": vector},
        "Reparameterize": {"mu": vector, "logvar": vector},
    }
    for block in NEW_BLOCKS:
        spec = get_block(block)
        p = Values(spec.validate(spec.defaults()))
        ins = cases.get(block, {"x": image})
        outs = spec.shape(p, ins)
        assert outs, block
        if spec.module:
            spec.module(p, ins)
        if spec.rf:
            spec.rf(p, ins)
        if spec.forward:
            args = {k: [f"{k}{i}" for i in range(len(v))] if isinstance(v, list) else k
                    for k, v in ins.items()}
            spec.forward(p, args, "self.layer" if spec.module else None)
    out = get_block("Concat").shape(Values({"dim": 1}), {"x": [image, TensorType((c2, h, w))]})
    assert out["out"].shape[0] == c + c2


# --------------------------------------------------------------------------------------------
# Add, Concat, Split and the other wiring blocks
# --------------------------------------------------------------------------------------------

def test_add_refuses_mismatched_shapes_naming_both():
    spec = get_block("Add")
    with pytest.raises(ShapeError) as err:
        spec.check(Values({}), {"x": [T(6, 28, 28), T(16, 28, 28)]})
    message = str(err.value)
    assert "6 x 28 x 28" in message and "16 x 28 x 28" in message
    assert "Shortcut" in message and err.value.field == "x"


def test_add_mismatch_is_reported_on_the_node_in_a_project():
    project = Project("Mismatch")
    t = project.training
    data = t.add("Dataset", dataset="digits", size=16)
    a = t.stack(data["image"], ("Conv2d", dict(out_channels=6, kernel_size=3, padding=1)))
    b = t.stack(data["image"], ("Conv2d", dict(out_channels=4, kernel_size=3, padding=1)))
    add = t.add("Add", title="join")
    t.connect(a, add)
    t.connect(b, add)
    problems = analyze(project).problems_for("training", add)
    assert problems and "6 x 16 x 16" in problems[0].message and "4 x 16 x 16" in problems[0].message


def test_add_sums_and_residual_gradient_flows_to_both_inputs():
    run, *_ = runner("Add", {"x": [T(3, 4), T(3, 4)]})
    a = torch.randn(2, 3, 4, requires_grad=True)
    b = torch.randn(2, 3, 4, requires_grad=True)
    out = run(x=[a, b])["out"]
    torch.testing.assert_close(out, a + b)
    out.sum().backward()
    assert torch.equal(a.grad, torch.ones_like(a)) and torch.equal(b.grad, torch.ones_like(b))


def test_concat_sums_channels():
    types = {"x": [T(6, 8, 8), T(10, 8, 8), T(3, 8, 8)]}
    run, p, outs, _ = runner("Concat", types)
    assert outs["out"].shape == (19, 8, 8)
    parts = [torch.randn(2, c, 8, 8) for c in (6, 10, 3)]
    got = run(x=parts)["out"]
    assert got.shape == (2, 19, 8, 8)
    torch.testing.assert_close(got[:, 6:16], parts[1])


def test_concat_refuses_other_dims_that_differ():
    with pytest.raises(ShapeError, match="differ in dim 2"):
        get_block("Concat").check(Values({"dim": 1}), {"x": [T(6, 8, 8), T(6, 4, 8)]})
    with pytest.raises(ShapeError, match="batch"):
        get_block("Concat").check(Values({"dim": 0}), {"x": [T(6, 8, 8), T(6, 8, 8)]})


def test_split_outputs_follow_chunks_and_refuse_uneven_sizes():
    spec = get_block("Split")
    p = Values(spec.validate({"chunks": 3}))
    assert [port.name for port in spec.output_ports(p)] == ["out1", "out2", "out3"]
    run, p, outs, _ = runner("Split", {"x": T(9, 4)}, chunks=3)
    x = torch.randn(2, 9, 4)
    got = run(x=x)
    assert set(got) == {"out1", "out2", "out3"}
    torch.testing.assert_close(torch.cat([got["out1"], got["out2"], got["out3"]], 1), x)
    with pytest.raises(ShapeError, match="equal chunks"):
        spec.check(p, {"x": T(8, 4)})


def test_reshape_and_unflatten_check_the_element_count():
    with pytest.raises(ShapeError, match="60 values"):
        get_block("Reshape").check(Values({"shape": (7, -1)}), {"x": T(4, 3, 5)})
    with pytest.raises(ShapeError, match="multiply to 400"):
        get_block("Unflatten").check(Values({"dim": 1, "sizes": (16, 4, 4)}), {"x": T(400)})
    run, _, outs, _ = runner("Unflatten", {"x": T(400)}, sizes=[16, 5, 5])
    assert outs["out"].shape == (16, 5, 5)
    x = torch.randn(3, 400)
    torch.testing.assert_close(run(x=x)["out"], nn.Unflatten(1, (16, 5, 5))(x))


def test_one_hot_turns_labels_into_float_vectors():
    run, _, outs, _ = runner("OneHot", {"x": T(dtype="long")}, num_classes=5)
    assert outs["out"] == T(5)
    got = run(x=torch.tensor([0, 3]))["out"]
    assert got.dtype == torch.float32
    assert got.tolist() == [[1, 0, 0, 0, 0], [0, 0, 0, 1, 0]]
    with pytest.raises(ShapeError, match="class indices"):
        get_block("OneHot").check(Values({"num_classes": 5}), {"x": T(5)})


def test_dropout_is_off_in_evaluation():
    run, *_ = runner("Dropout2d", {"x": T(8, 4, 4)}, p=0.5)
    x = torch.randn(4, 8, 4, 4)
    run.module.eval()
    assert torch.equal(run(x=x)["out"], x)
    run.module.train()
    dropped = run(x=x)["out"]
    zero_maps = (dropped.abs().sum((2, 3)) == 0).sum().item()
    assert 0 < zero_maps < 32


def test_global_pools_reduce_each_channel():
    x = torch.randn(2, 5, 6, 7)
    run, _, outs, _ = runner("GlobalAvgPool", {"x": T(5, 6, 7)})
    assert outs["out"] == T(5)
    torch.testing.assert_close(run(x=x)["out"], nn.AdaptiveAvgPool2d(1)(x).flatten(1))
    run, *_ = runner("GlobalMaxPool", {"x": T(5, 6, 7)})
    torch.testing.assert_close(run(x=x)["out"], nn.AdaptiveMaxPool2d(1)(x).flatten(1))


# --------------------------------------------------------------------------------------------
# BlurPool, SeparableConv2d, Shortcut, Reparameterize
# --------------------------------------------------------------------------------------------

def test_blurpool_halves_and_has_no_trainable_parameters():
    run, p, outs, cost = runner("BlurPool2d", {"x": T(4, 32, 32)})
    assert outs["out"].shape == (4, 16, 16)
    assert cost.params == 0 and n_params(run.module) == 0
    assert get_block("BlurPool2d").rf(p, {"x": T(4, 32, 32)}) == RF((3, 3), (2, 2), None, (1, 1))
    # a constant image stays constant: the filter is normalized and the padding reflects
    flat = torch.full((1, 4, 32, 32), 0.7)
    torch.testing.assert_close(run(x=flat)["out"], torch.full((1, 4, 16, 16), 0.7))


def _shift_error(layer, x: torch.Tensor, shift: int) -> float:
    """How far the output of a shifted input is from the correspondingly shifted output.

    With stride 2 an odd shift moves the output by half a pixel; the reference is then the mean
    of the output shifted by the two nearest whole pixels. Circular shifts, borders cropped.
    """
    out = layer(x)
    shifted = layer(torch.roll(x, shift, dims=3))
    ref = torch.roll(out, shift // 2, dims=3)
    if shift % 2:
        ref = 0.5 * (ref + torch.roll(out, shift // 2 + 1, dims=3))
    inner = (..., slice(3, -3), slice(3, -3))
    ref, shifted = ref[inner], shifted[inner]
    return ((shifted - ref).norm() / (ref - ref.mean()).norm()).item()


def test_blurpool_restores_shift_equivariance_better_than_maxpool():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(8, 4, 32, 32, generator=gen)
    x = nn.functional.avg_pool2d(x, 3, stride=1, padding=1)  # some spatial correlation
    maxpool, *_ = runner("MaxPool2d", {"x": T(4, 32, 32)}, kernel_size=2)
    dense_max, *_ = runner("MaxPool2d", {"x": T(4, 32, 32)}, kernel_size=2, stride=1)
    blur, *_ = runner("BlurPool2d", {"x": T(4, 31, 31)})

    def max_then_blur(t):  # Zhang's MaxBlurPool: max densely, then blur and subsample
        return blur(x=dense_max(x=t)["out"])["out"]

    def plain_max(t):
        return maxpool(x=t)["out"]

    for shift in (1, 3):
        err_max, err_blur = _shift_error(plain_max, x, shift), _shift_error(max_then_blur, x, shift)
        assert err_blur < 0.75 * err_max, (shift, err_blur, err_max)
    # whole-stride shifts stay (nearly) exact for both
    assert _shift_error(max_then_blur, x, 2) < 1e-5


def test_separable_conv_has_fewer_parameters_than_conv2d():
    inputs = {"x": T(32, 16, 16)}
    sep, _, sep_outs, sep_cost = runner("SeparableConv2d", inputs, out_channels=64, kernel_size=3,
                                        padding=1)
    conv, _, conv_outs, conv_cost = runner("Conv2d", inputs, out_channels=64, kernel_size=3,
                                           padding=1)
    assert sep_outs == conv_outs
    assert sep_cost.params == n_params(sep.module) == 32 * 9 + 32 * 64 + 64
    assert conv_cost.params == n_params(conv.module) == 32 * 64 * 9 + 64
    assert n_params(sep.module) * 5 < n_params(conv.module)
    assert sep_cost.macs == 16 * 16 * (32 * 9 + 32 * 64)  # both convolutions count
    assert sep_cost.macs < conv_cost.macs


def test_shortcut_is_identity_when_shapes_match_and_projects_otherwise():
    same, _, outs, cost = runner("Shortcut", {"x": T(16, 8, 8)}, out_channels=16, stride=1)
    x = torch.randn(2, 16, 8, 8)
    assert cost.params == 0 == n_params(same.module)
    assert same(x=x)["out"] is x
    assert outs["out"] == T(16, 8, 8)

    proj, _, outs, cost = runner("Shortcut", {"x": T(16, 8, 8)}, out_channels=32, stride=2)
    assert outs["out"] == T(32, 4, 4)
    assert cost.params == n_params(proj.module) == 16 * 32 + 2 * 32
    assert proj(x=x)["out"].shape == (2, 32, 4, 4)
    convs = [m for m in proj.module.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 1 and convs[0].bias is None and convs[0].stride == (2, 2)

    strided, _, outs, cost = runner("Shortcut", {"x": T(16, 9, 9)}, out_channels=16, stride=2)
    assert outs["out"] == T(16, 5, 5) and cost.params == 16 * 16 + 32


def test_reparameterize_samples_around_mu():
    torch.manual_seed(0)
    n = 20000
    run, _, outs, _ = runner("Reparameterize", {"mu": T(3), "logvar": T(3)})
    assert outs == {"z": T(3)}
    mu = torch.tensor([1.0, -2.0, 0.5])
    logvar = torch.tensor([0.0, -2.0, 1.0])
    z = run(mu=mu.expand(n, 3), logvar=logvar.expand(n, 3))["z"]
    torch.testing.assert_close(z.mean(0), mu, atol=0.05, rtol=0)
    torch.testing.assert_close(z.std(0), torch.exp(0.5 * logvar), atol=0.05, rtol=0)
    # differentiable with respect to both inputs
    m = mu.clone().requires_grad_()
    lv = logvar.clone().requires_grad_()
    run(mu=m.expand(4, 3), logvar=lv.expand(4, 3))["z"].sum().backward()
    assert m.grad is not None and lv.grad is not None
    with pytest.raises(ShapeError, match="mu 3 and logvar 4 differ"):
        get_block("Reparameterize").check(Values({}), {"mu": T(3), "logvar": T(4)})


# --------------------------------------------------------------------------------------------
# A residual network built with the Python API compiles, loads and trains
# --------------------------------------------------------------------------------------------

def _residual_project() -> Project:
    project = Project("TinyResNet")
    net = project.network("ResBlock")
    width = net.arg("width", Int(1, 512), 8)
    stride = net.arg("stride", Int(1, 4), 1)
    x = net.add("Input")
    body = net.stack(
        x,
        ("Conv2d", "conv1", dict(out_channels=width, kernel_size=3, stride=stride, padding=1,
                                 bias=False)),
        ("BatchNorm2d", "bn1", {}), "ReLU",
        ("Conv2d", "conv2", dict(out_channels=width, kernel_size=3, padding=1, bias=False)),
        ("BatchNorm2d", "bn2", {}))
    shortcut = net.add("Shortcut", title="shortcut", out_channels=width, stride=stride)
    net.connect(x, shortcut)
    add = net.add("Add")
    net.connect(body, add)
    net.connect(shortcut, add)
    net.stack(add, "ReLU", "Output")

    t = project.training
    t.configure(batch_size=32, seed=0)
    data = t.add("Dataset", dataset="digits", size=16)
    stem = t.stack(data["image"], ("Conv2d", "stem", dict(out_channels=8, kernel_size=3,
                                                          padding=1)),
                   ("BatchNorm2d", "stem_bn", {}), "ReLU")
    block1 = project.instance(t, "ResBlock", title="block1")  # 8 -> 8: identity shortcut
    block2 = project.instance(t, "ResBlock", title="block2", width=16, stride=2)  # projects
    t.chain(stem, block1, block2)
    logits = t.stack(block2, "GlobalAvgPool", ("Dropout", dict(p=0.1)),
                     ("Linear", "fc", dict(out_features=10)))
    loss = t.add("CrossEntropy", title="loss")
    t.connect(logits, loss["input"])
    t.connect(data["label"], loss["target"])
    opt = t.add("Adam", lr=3e-3)
    t.connect(loss, opt)
    return project


def test_residual_network_compiles_and_trains():
    project = _residual_project()
    analysis = analyze(project)
    assert not analysis.problems, analysis.problems
    block1 = analysis.result("training", "block1")
    block2 = analysis.result("training", "block2")
    assert block1.outputs["output1"] == T(8, 16, 16)
    assert block2.outputs["output1"] == T(16, 8, 8)
    # block1: two 3x3 convs and two batch norms; block2 adds the 1x1 projection and its norm
    assert block1.params == 2 * (8 * 8 * 9) + 2 * 16
    assert block2.params == 8 * 16 * 9 + 16 * 16 * 9 + 2 * 32 + (8 * 16 + 32)

    code = generate(project)
    src = code.model_source
    assert "class Shortcut(nn.Module):" in src  # the helper's source travels with the model
    assert "class ResBlock(nn.Module):" in src
    assert "nn.BatchNorm2d(width)" in src  # one class, sizes as constructor arguments
    assert "Shortcut(in_channels, width, stride=stride)" in src
    assert " + " in src and ".mean((2, 3))" in src

    module = load(code)
    trainer = module.Training("cpu", 0, RESOURCES_DATA, steps=25)
    model_params = sum(n_params(m) for m in trainer.networks.values())
    assert model_params == analysis.total_params
    losses = []
    for step, batch in enumerate(trainer.batches):
        metrics = trainer.train_step(batch)
        losses.append(float(metrics["loss"]))
        if step == 24:
            break
    assert all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5  # it learns
    result = trainer.evaluate()
    assert torch.isfinite(torch.tensor(result["test_loss"]))


def test_generator_style_network_with_upsampling_blocks_compiles():
    """Linear -> Unflatten -> ConvTranspose2d / Upsample -> BatchNorm2d -> Concat -> Split, in a
    network used at two sizes, so its class is written from symbolic sizes."""
    project = Project("Gen")
    net = project.network("Up")
    x = net.add("Input")
    a = net.stack(x, ("ConvTranspose2d", "deconv", dict(out_channels=4)), ("BatchNorm2d", "bn", {}))
    b = net.stack(x, ("Upsample", "up", dict(scale_factor=2)),
                  ("SeparableConv2d", "sep", dict(out_channels=4, padding=1)))
    cat = net.add("Concat", title="cat")
    net.connect(a, cat)
    net.connect(b, cat)
    split = net.add("Split", title="halves")
    net.connect(cat, split)
    mul = net.add("Multiply")
    net.connect(split["out1"], mul)
    net.connect(split["out2"], mul)
    out = net.add("Output")
    net.connect(net.stack(mul, ("BlurPool2d", "blur", dict(stride=1)), ("LayerNorm", "ln",
                                                                        dict(dims=3))), out)

    t = project.training
    z = t.stack(t.add("Noise", size=32), ("Linear", "fc", dict(out_features=8 * 4 * 4)),
                ("Unflatten", "unflatten", dict(sizes=[8, 4, 4])))
    up1 = project.instance(t, "Up", title="up1")  # 8 x 4 x 4 -> 4 x 8 x 8
    up2 = project.instance(t, "Up", title="up2")  # 4 x 8 x 8 -> 4 x 16 x 16
    t.chain(z, up1, up2)
    analysis = analyze(project)
    assert not analysis.problems, analysis.problems
    assert analysis.result("training", "up2").outputs["output1"] == T(4, 16, 16)
    code = generate(project)
    src = code.model_source
    assert "class SeparableConv2d(nn.Module):" in src and "class BlurPool2d(nn.Module):" in src
    assert "nn.ConvTranspose2d(in_channels, 4, kernel_size=4, stride=2, padding=1)" in src
    assert "torch.chunk(x, 2, dim=1)" in src and "torch.cat([" in src
    namespace: dict = {}
    exec(compile(src, "<model>", "exec"), namespace)
    cls = namespace["Up"]
    sizes = {"in_channels": 8, "in_height": 4, "in_width": 4}
    wanted = inspect.signature(cls).parameters
    up = cls(**{k: v for k, v in sizes.items() if k in wanted})
    up.train()
    got = up(torch.randn(3, 8, 4, 4))
    assert got.shape == (3, 4, 8, 8)


def test_resized_contract_inputs_keep_multi_ports_equal():
    from tests.test_block_contract import resized

    rng = random.Random(3)
    for _ in range(5):
        out = resized({"x": [T(6, 8, 8), T(10, 8, 8)]}, rng)
        first, second = out["x"]
        assert first.shape[0] == 6 and second.shape[0] == 10
        assert first.shape[1:] == second.shape[1:]
