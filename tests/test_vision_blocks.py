"""The blocks the standard vision families need (MobileNetV2/V3, EfficientNet, ShuffleNetV2,
RegNet, ConvNeXt): each against the torch module or function a person would write, through the
code the generator writes, and the impossible settings refused naming their field."""

import inspect

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from studio.core.import_rules import NotImportable, ParamArg, TensorArg
from studio.core.inference import analyze
from studio.core.project import Project
from studio.core.registry import ShapeError, TensorType, Values, get_block
from studio.engine.blockrun import BlockRunner
from studio.engine.codegen import generate


def T(*shape):
    return TensorType(tuple(shape))


def run_block(block: str, inputs: dict, **params):
    """(BlockRunner, declared output types, declared cost) for a block on input types."""
    spec = get_block(block)
    values = spec.validate(params)
    p = Values(values)
    spec.check(p, inputs)
    outs = spec.shape(p, inputs)
    cost = spec.cost(p, inputs, outs) if spec.cost else None
    return BlockRunner(spec, values, inputs), outs, cost


def refusal(block: str, inputs: dict, **params) -> ShapeError:
    spec = get_block(block)
    with pytest.raises(ShapeError) as err:
        spec.check(Values(spec.validate(params)), inputs)
    return err.value


def n_params(module) -> int:
    return sum(t.numel() for t in module.parameters())


@pytest.mark.parametrize("block, reference", [
    ("Hardswish", nn.Hardswish()), ("Hardsigmoid", nn.Hardsigmoid()), ("SiLU", nn.SiLU())])
def test_activations_equal_torch_and_plot_the_same_curve(block, reference):
    x = torch.randn(4, 3, 5, 5, generator=torch.Generator().manual_seed(0)) * 4
    run, outs, cost = run_block(block, {"x": T(3, 5, 5)})
    torch.testing.assert_close(run(x=x)["out"], reference(x))
    assert outs["out"] == T(3, 5, 5) and cost.params == 0
    grid = np.linspace(-6, 6, 241)
    curve = get_block(block).plot.curve(grid, Values({}))
    want = reference(torch.tensor(grid, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(curve, want, atol=1e-12)


def test_permute_transpose_and_mean_equal_the_torch_calls():
    x = torch.randn(2, 4, 6, 5)
    run, outs, _ = run_block("Permute", {"x": T(4, 6, 5)}, dims=[0, 2, 3, 1])
    assert outs["out"] == T(6, 5, 4)
    torch.testing.assert_close(run(x=x)["out"], x.permute(0, 2, 3, 1))
    run, outs, _ = run_block("Transpose", {"x": T(4, 6, 5)}, dim0=1, dim1=-1)
    assert outs["out"] == T(5, 6, 4)
    torch.testing.assert_close(run(x=x)["out"], torch.transpose(x, 1, 3))
    run, outs, _ = run_block("Mean", {"x": T(4, 6, 5)})  # ShuffleNetV2's x.mean([2, 3])
    assert outs["out"] == T(4)
    torch.testing.assert_close(run(x=x)["out"], x.mean([2, 3]))
    run, outs, _ = run_block("Mean", {"x": T(4, 6, 5)}, dims=[-1, 1], keepdim=True)
    assert outs["out"] == T(1, 6, 1)
    torch.testing.assert_close(run(x=x)["out"], x.mean((3, 1), keepdim=True))
    assert get_block("Mean").rf(Values({"dims": (1,), "keepdim": False}), {"x": T(4, 6, 5)}) \
        is None


def _shuffle_reference(x, groups):
    """ShuffleNetV2's channel_shuffle, written as its paper describes it."""
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, -1, h, w)


def test_channel_shuffle_deals_the_groups_out():
    x = torch.randn(2, 12, 3, 3)
    for groups in (2, 3, 4):
        run, outs, _ = run_block("ChannelShuffle", {"x": T(12, 3, 3)}, groups=groups)
        got = run(x=x)["out"]
        torch.testing.assert_close(got, _shuffle_reference(x, groups))
        torch.testing.assert_close(got, nn.ChannelShuffle(groups)(x))
    labels = torch.arange(4.0).view(1, 4)  # [a1 a2 b1 b2] -> [a1 b1 a2 b2]
    run, *_ = run_block("ChannelShuffle", {"x": T(4)}, groups=2)
    assert run(x=labels)["out"].tolist() == [[0.0, 2.0, 1.0, 3.0]]


def _stochastic_depth_reference(x, p, training, mode="row"):
    """torchvision.ops.stochastic_depth's rule: keep a row (or the batch) with probability
    1 - p, scaled by 1 / (1 - p); identity in evaluation."""
    if not training or p == 0.0:
        return x
    keep = 1.0 - p
    size = [x.shape[0]] + [1] * (x.ndim - 1) if mode == "row" else [1] * x.ndim
    noise = torch.empty(size, dtype=x.dtype).bernoulli_(keep)
    return x * (noise / keep if keep > 0 else noise)


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth_drops_rows_in_training_and_nothing_in_evaluation(mode):
    run, outs, cost = run_block("StochasticDepth", {"x": T(3, 4, 4)}, p=0.5, mode=mode)
    assert cost.params == n_params(run.module) == 0
    x = torch.randn(64, 3, 4, 4)
    run.module.eval()
    assert torch.equal(run(x=x)["out"], x)
    run.module.train()
    torch.manual_seed(5)
    got = run(x=x)["out"]
    torch.manual_seed(5)
    torch.testing.assert_close(got, _stochastic_depth_reference(x, 0.5, True, mode))
    ratio = (got / x).flatten(1)
    per_row = ratio.amin(1), ratio.amax(1)  # each row wholly dropped (0) or kept (x 2)
    torch.testing.assert_close(per_row[0], per_row[1])
    assert set(per_row[0].round().tolist()) <= {0.0, 2.0}
    if mode == "row":
        assert set(per_row[0].round().tolist()) == {0.0, 2.0}


def test_layer_scale_is_a_learned_factor_per_channel():
    run, outs, cost = run_block("LayerScale", {"x": T(8, 5, 5)}, init=0.25)
    assert outs["out"] == T(8, 5, 5)
    (scale,) = run.module.parameters()
    assert scale.shape == (8, 1, 1) and cost.params == 8 and cost.macs == 8 * 25
    gamma = torch.randn(8, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(scale, torch.full((8, 1, 1), 0.25))
        scale.copy_(gamma)
    x = torch.randn(2, 8, 5, 5)
    torch.testing.assert_close(run(x=x)["out"], gamma * x)
    run, _, cost = run_block("LayerScale", {"x": T(6, 9)})
    assert next(run.module.parameters()).shape == (6, 1) and cost.params == 6


def test_layer_norm_2d_is_layer_norm_over_each_pixels_channels():
    run, outs, cost = run_block("LayerNorm2d", {"x": T(6, 4, 5)}, eps=1e-6)
    reference = nn.LayerNorm(6, eps=1e-6)
    with torch.no_grad():
        reference.weight.normal_()
        reference.bias.normal_()
    run.module.load_state_dict(reference.state_dict())  # the same keys as nn.LayerNorm
    x = torch.randn(3, 6, 4, 5)
    want = reference(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    torch.testing.assert_close(run(x=x)["out"], want)
    assert cost.params == n_params(run.module) == 12
    run, _, cost = run_block("LayerNorm2d", {"x": T(6, 4, 5)}, bias=False)
    assert cost.params == n_params(run.module) == 6


def test_multiply_broadcasts_a_channel_gate_over_the_pixels():
    run, outs, _ = run_block("Multiply", {"x": [T(6, 1, 1), T(6, 5, 4)]})
    assert outs["out"] == T(6, 5, 4)
    gate, x = torch.rand(2, 6, 1, 1), torch.randn(2, 6, 5, 4)
    torch.testing.assert_close(run(x=[gate, x])["out"], gate * x)
    for wrong in ([T(6, 2, 1), T(6, 5, 4)], [T(6), T(6, 5, 4)], [T(1), T(3), T(4)]):
        err = refusal("Multiply", {"x": wrong})
        assert err.field == "x" and "a size of 1" in str(err), wrong
    run, outs, _ = run_block("Multiply", {"x": [T(1, 5, 1), T(6, 1, 1), T(6, 1, 4)]})
    assert outs["out"] == T(6, 5, 4)


def test_linear_acts_at_each_position_only_when_asked():
    err = refusal("Linear", {"x": T(4, 4, 8)}, out_features=3)
    assert err.field == "x" and "Each position" in str(err)
    run, outs, cost = run_block("Linear", {"x": T(4, 4, 8)}, out_features=3, per_position=True)
    assert outs["out"] == T(4, 4, 3) and cost.params == n_params(run.module) == 27
    assert get_block("Linear").rf(Values({"per_position": True}), {"x": T(4, 4, 8)}) is None


@pytest.mark.parametrize("block, inputs, params, field", [
    ("Permute", {"x": T(4, 6, 5)}, dict(dims=[0, 2, 1]), "dims"),
    ("Permute", {"x": T(4, 6, 5)}, dict(dims=[0, 2, 2, 1]), "dims"),
    ("Permute", {"x": T(4, 6, 5)}, dict(dims=[1, 0, 2, 3]), "dims"),
    ("Transpose", {"x": T(4, 6)}, dict(dim0=0, dim1=1), "dim0"),
    ("Transpose", {"x": T(4, 6)}, dict(dim0=1, dim1=3), "dim1"),
    ("ChannelShuffle", {"x": T(8, 3, 3)}, dict(groups=3), "groups"),
    ("Mean", {"x": T(4, 6, 5)}, dict(dims=[4]), "dims"),
    ("Mean", {"x": T(4, 6, 5)}, dict(dims=[0]), "dims"),
    ("Mean", {"x": T(4, 6, 5)}, dict(dims=[2, -2]), "dims"),
    ("LayerNorm2d", {"x": T(16)}, {}, "x"),
    ("LayerScale", {"x": T()}, {}, "x"),
])
def test_impossible_settings_are_refused_naming_the_field(block, inputs, params, field):
    assert refusal(block, inputs, **params).field == field


def test_a_refusal_reaches_the_node_in_a_project():
    project = Project("Shuffle")
    t = project.training
    data = t.add("Dataset", dataset="digits", size=8)
    t.stack(data["image"], ("Conv2d", dict(out_channels=6, kernel_size=1)),
            ("ChannelShuffle", "shuffle", dict(groups=4)))
    problems = analyze(project).problems_for("training", "shuffle")
    assert problems and problems[0].field == "groups" and "6 channels" in problems[0].message


# --------------------------------------------------------------------------------------------
# Units of the vision families drawn as reusable networks, generated, against hand-written torch
# --------------------------------------------------------------------------------------------

class SqueezeExcite(nn.Module):
    """MobileNetV3's unit: a gate per channel from the pooled map, then Hardswish."""

    def __init__(self, c, squeeze):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, c, 1)

    def forward(self, x):
        gate = F.hardsigmoid(self.fc2(F.relu(self.fc1(self.pool(x)))))
        return F.hardswish(gate * x)


class ConvNeXtUnit(nn.Module):
    """ConvNeXt's block: depthwise 7x7, channels-last LayerNorm and MLP, layer scale, stochastic
    depth, the skip; then the LayerNorm2d between stages."""

    def __init__(self, c):
        super().__init__()
        self.dwconv = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.fc1 = nn.Linear(c, 4 * c)
        self.fc2 = nn.Linear(4 * c, c)
        self.layer_scale = nn.Parameter(torch.full((c, 1, 1), 1e-6))
        self.down_norm = nn.LayerNorm(c, eps=1e-6)

    def forward(self, x):
        y = self.norm(self.dwconv(x).permute(0, 2, 3, 1))
        y = self.fc2(F.gelu(self.fc1(y))).permute(0, 3, 1, 2)
        y = self.layer_scale * y + x  # stochastic depth is the identity in evaluation
        return self.down_norm(y.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ShuffleUnit(nn.Module):
    """ShuffleNetV2's stride-1 unit with EfficientNet's SiLU, then a mean over the pixels."""

    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c // 2, c // 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(c // 2)

    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        out = torch.cat([a, F.silu(self.bn(self.conv(b)))], 1)
        return _shuffle_reference(out, 2).transpose(2, 3).mean([2, 3])


def _units_project() -> Project:
    project = Project("Units")
    se = project.network("SqueezeExcite")
    x = se.add("Input")
    gate = se.stack(x, ("AdaptiveAvgPool2d", "pool", {}),
                    ("Conv2d", "fc1", dict(out_channels=4, kernel_size=1)), "ReLU",
                    ("Conv2d", "fc2", dict(out_channels=12, kernel_size=1)), "Hardsigmoid")
    mul = se.add("Multiply", title="scale")
    se.connect(gate, mul)
    se.connect(x, mul)
    se.stack(mul, "Hardswish", "Output")

    cn = project.network("ConvNeXtUnit")
    x = cn.add("Input")
    per_pixel = dict(per_position=True)
    branch = cn.stack(
        x, ("Conv2d", "dwconv", dict(out_channels=12, kernel_size=7, padding=3, groups=12)),
        ("Permute", dict(dims=[0, 2, 3, 1])), ("LayerNorm", "norm", dict(eps=1e-6)),
        ("Linear", "fc1", dict(out_features=48, **per_pixel)), "GELU",
        ("Linear", "fc2", dict(out_features=12, **per_pixel)), ("Permute", dict(dims=[0, 3, 1, 2])),
        ("LayerScale", "layer_scale", {}), ("StochasticDepth", dict(p=0.3)))
    add = cn.add("Add")
    cn.connect(branch, add)
    cn.connect(x, add)
    cn.stack(add, ("LayerNorm2d", "down_norm", dict(eps=1e-6)), "Output")

    sh = project.network("ShuffleUnit")
    x = sh.add("Input")
    split = sh.add("Split", title="halves")
    sh.connect(x, split)
    branch = sh.stack(split["out2"], ("Conv2d", "conv", dict(out_channels=6, kernel_size=1,
                                                               bias=False)),
                      ("BatchNorm2d", "bn", {}), "SiLU")
    cat = sh.add("Concat")
    sh.connect(split["out1"], cat)
    sh.connect(branch, cat)
    sh.stack(cat, ("ChannelShuffle", dict(groups=2)), ("Transpose", dict(dim0=2, dim1=3)),
             "Mean", "Output")

    t = project.training
    image = t.stack(t.add("Noise", size=12 * 6 * 6), ("Unflatten", dict(sizes=[12, 6, 6])))
    units = [project.instance(t, name, title=name.lower())
             for name in ("SqueezeExcite", "ConvNeXtUnit", "ShuffleUnit")]
    t.chain(image, *units)
    return project


def _made(cls):
    """A generated network class built for 12 x 6 x 6 inputs (it takes the sizes it uses)."""
    sizes = {"in_channels": 12, "in_height": 6, "in_width": 6}
    return cls(**{k: v for k, v in sizes.items() if k in inspect.signature(cls).parameters})


def test_vision_units_generate_code_equal_to_handwritten_torch():
    project = _units_project()
    analysis = analyze(project)
    assert not analysis.problems, analysis.problems
    assert analysis.result("training", "shuffleunit").outputs["output1"] == T(12)
    src = generate(project).model_source
    for helper in ("StochasticDepth", "LayerScale", "LayerNorm2d"):
        assert f"class {helper}(nn.Module" in src or f"class {helper}(nn.LayerNorm" in src
    namespace: dict = {}
    exec(compile(src, "<model>", "exec"), namespace)
    torch.manual_seed(0)
    for name, reference, key_map in (
            ("SqueezeExcite", SqueezeExcite(12, 4), {}),
            ("ConvNeXtUnit", ConvNeXtUnit(12), {"layer_scale.scale": "layer_scale"}),
            ("ShuffleUnit", ShuffleUnit(12), {})):
        made = _made(namespace[name])
        assert n_params(made) == n_params(reference) == analysis.result(
            "training", name.lower()).params, name
        with torch.no_grad():
            for p in reference.parameters():
                p.normal_(0, 0.5)
        state = reference.state_dict()
        made.load_state_dict({k: state[key_map.get(k, k)] for k in made.state_dict()})
        made.eval()
        reference.eval()
        x = torch.randn(3, 12, 6, 6)
        torch.testing.assert_close(made(x), reference(x), rtol=1e-5, atol=1e-5)


def test_vision_units_script_and_export_to_onnx(tmp_path):
    """The helpers the blocks bring (StochasticDepth, LayerScale, LayerNorm2d) compile with
    TorchScript, in training too, and run the same under onnxruntime."""
    import importlib.util
    import io

    import onnxruntime

    (tmp_path / "units_model.py").write_text(generate(_units_project()).model_source)
    spec = importlib.util.spec_from_file_location("units_model", tmp_path / "units_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    made = _made(module.ConvNeXtUnit).eval()
    x = torch.randn(2, 12, 6, 6)
    scripted = torch.jit.script(made)
    torch.testing.assert_close(scripted(x), made(x))
    scripted.train()
    assert scripted(x).shape == x.shape
    buffer = io.BytesIO()
    torch.onnx.export(made, (x,), buffer, dynamo=False)
    session = onnxruntime.InferenceSession(buffer.getvalue())
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    np.testing.assert_allclose(got, made(x).detach().numpy(), atol=1e-5)


# --------------------------------------------------------------------------------------------
# What each block stands for when a model is imported (its ImportRule, read by studio import)
# --------------------------------------------------------------------------------------------

def _rule(block: str):
    return get_block(block).imports


def _call(kind: str, *args, out_shape=(), **keywords) -> dict:
    shapes = [x.shape for x in args if isinstance(x, (TensorArg, ParamArg))]
    return {"kind": kind, "args": list(args), "in_shape": shapes[0] if shapes else (),
            "in_shapes": shapes, "out_shape": out_shape, **keywords}


def test_import_rules_read_torch_calls_into_parameters():
    x = TensorArg((4, 6, 5))
    for block, kind, name in (("Hardswish", "module", "Hardswish"),
                              ("Hardsigmoid", "function", "torch.nn.functional.hardsigmoid"),
                              ("SiLU", "function", "torch.nn.functional.silu"),
                              ("Permute", "module", "torchvision.ops.misc.Permute"),
                              ("ChannelShuffle", "module", "ChannelShuffle"),
                              ("Mean", "method", "mean"), ("Transpose", "method", "transpose"),
                              ("LayerScale", "function", "operator.mul")):
        rule = _rule(block)
        claimed = rule.claims(kind, name.rsplit(".", 1)[-1], name) if kind == "module" \
            else rule.claims(kind, name)
        assert claimed, (block, name)
    permute = _rule("Permute").params
    assert permute(_call("method", x, 0, 2, 3, 1)) == {"dims": (0, 2, 3, 1)}
    assert permute(_call("function", x, [0, 3, 1, 2])) == {"dims": (0, 3, 1, 2)}
    assert permute({"kind": "module", "dims": [0, 2, 3, 1]}) == {"dims": (0, 2, 3, 1)}
    assert _rule("Transpose").params(_call("method", x, 1, 2)) == {"dim0": 1, "dim1": 2}
    assert _rule("ChannelShuffle").params(_call("function", x, 2)) == {"groups": 2}
    mean = _rule("Mean").params
    assert mean(_call("method", x, [2, 3])) == {"dims": (2, 3), "keepdim": False}
    assert mean(_call("function", x, -1, True)) == {"dims": (-1,), "keepdim": True}
    with pytest.raises(NotImportable):
        mean(_call("method", x))  # over every value, the batch included
    assert _rule("StochasticDepth").params({"kind": "module", "p": 0.25, "mode": "row"}) == \
        {"p": 0.25, "mode": "row"}
    assert _rule("LayerNorm2d").params({"kind": "module", "normalized_shape": (96,), "eps": 1e-6,
                                        "elementwise_affine": True, "bias": (96,)}) == \
        {"eps": 1e-6, "elementwise_affine": True, "bias": True}
    linear = {"kind": "module", "out_features": 3, "bias": (3,), "in_shape": (7, 7, 96)}
    assert _rule("Linear").params(linear)["per_position"] is True


def test_layer_scale_takes_the_learned_tensor_of_a_product():
    rule = _rule("LayerScale")
    assert rule.takes_parameters and not _rule("Multiply").takes_parameters
    gamma, x = ParamArg((96, 1, 1), "layer_scale"), TensorArg((96, 7, 7))
    call = _call("function", gamma, x, out_shape=(96, 7, 7))
    assert rule.params(call) == {}
    assert rule.state(call) == {"layer_scale": "scale"}  # the helper module's tensor
    run, *_ = run_block("LayerScale", {"x": T(96, 7, 7)})
    assert dict(run.module.named_parameters())["scale"].shape == gamma.shape
    with pytest.raises(NotImportable, match="channels x 1"):
        rule.params(_call("function", ParamArg((96, 7, 7), "w"), x, out_shape=(96, 7, 7)))
