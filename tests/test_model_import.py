"""Importing PyTorch models (``studio import``, ``engine/model_import``): the round trip import ->
export for the eleven vision families of issue 17 (the heavy ones marked slow), the folding into
reusable networks, the refusal before anything is written, and the CLI. The families are our own
definitions (tests/model_zoo) with torchvision's layers, names and parameter counts, since
torchvision cannot be imported here."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
import torch
from torch import nn

from studio.cli import main
from studio.core.fileformat import load
from studio.core.registry import all_blocks
from studio.engine.model_import import ModelImportError, import_model
from studio.engine.network_export import built_networks
from tests.model_zoo import classic, mobile, modern

FAMILIES = [
    pytest.param("resnet18", 32, id="resnet18"),
    pytest.param("squeezenet1_1", 32, id="squeezenet1_1"),
    pytest.param("resnet50", 32, id="resnet50", marks=pytest.mark.slow),
    pytest.param("vgg11_bn", 32, id="vgg11_bn", marks=pytest.mark.slow),
    pytest.param("densenet121", 32, id="densenet121", marks=pytest.mark.slow),
    pytest.param("mobilenet_v2", 32, id="mobilenet_v2"),
    pytest.param("mobilenet_v3_small", 32, id="mobilenet_v3_small", marks=pytest.mark.slow),
    pytest.param("efficientnet_b0", 32, id="efficientnet_b0", marks=pytest.mark.slow),
    pytest.param("shufflenet_v2_x1_0", 32, id="shufflenet_v2_x1_0", marks=pytest.mark.slow),
    pytest.param("regnet_y_400mf", 32, id="regnet_y_400mf", marks=pytest.mark.slow),
    pytest.param("convnext_tiny", 32, id="convnext_tiny", marks=pytest.mark.slow),
]
ZOO = (classic, mobile, modern)


def _randomize_statistics(model: nn.Module) -> None:
    """Batch-norm statistics other than 0 and 1, so a lost running mean would show."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)


@pytest.mark.parametrize("family,size", FAMILIES)
def test_round_trip_through_export_keeps_every_weight_and_output(family, size, tmp_path):
    torch.manual_seed(0)
    model = next(getattr(m, family) for m in ZOO if hasattr(m, family))()
    _randomize_statistics(model)
    imported = import_model(model, (3, size, size))
    paths = imported.write(tmp_path / f"{family}.studio")

    project = load(paths["project"])
    [exported] = built_networks(project, paths["weights"])  # what `studio export --weights` builds
    module = exported.module
    count = sum(p.numel() for p in model.parameters())
    assert sum(p.numel() for p in module.parameters()) == count == imported.stats["params"]

    x = torch.randn(2, 3, size, size)
    model.eval()
    with torch.no_grad():
        expected = model(x)
        got = module(x)
    assert got.shape == expected.shape
    assert (got - expected).abs().max().item() < 1e-4

    # the original state_dict loads into the exported module through the key map beside it
    key_map = json.loads(paths["keys"].read_text())
    assert key_map["network"] == imported.instance
    fresh = type(module)()
    state = model.state_dict()
    fresh.load_state_dict({key_map["keys"][k]: v for k, v in state.items()})
    fresh.eval()
    with torch.no_grad():
        assert torch.equal(fresh(x), got)


def test_resnet_blocks_become_two_networks_with_width_and_stride_arguments():
    imported = import_model(classic.resnet18(), (3, 32, 32))
    project = imported.project
    assert set(project.networks) == {"BasicBlock", "BasicBlock_2", "ResNet"}
    plain, down = project.networks["BasicBlock"], project.networks["BasicBlock_2"]
    assert {n.block for n in plain.nodes.values()} >= {"Conv2d", "BatchNorm2d", "ReLU", "Add"}
    # the widths differ between the uses: an argument; every downsampling block has stride 2
    assert set(plain.args) == set(down.args) == {"out_channels"}
    assert down.nodes["conv1"].params["stride"] == (2, 2)
    assert {n.block for n in down.nodes.values()} - {n.block for n in plain.nodes.values()} == set()
    top = project.networks["ResNet"]
    uses = [n.params["network"] for n in top.nodes.values() if n.block == "Network"]
    assert uses.count("BasicBlock") == 5 and uses.count("BasicBlock_2") == 3
    assert top.nodes["layer2_0"].params == {"network": "BasicBlock_2",
                                            "args": {"out_channels": 128}}
    # training graph: the built-in dataset of the input's shape, a loss and an optimizer
    blocks = {n.block for n in project.training.nodes.values()}
    assert {"Dataset", "Network", "CrossEntropy", "Adam"} <= blocks
    data = project.training.nodes["shapes"].params
    assert (data["channels"], data["size"]) == (3, 32)



class _Mix(nn.Module):
    """Two tensor inputs: relu(a) + b."""

    def forward(self, a, b):
        return torch.relu(a) + b


class _TwoInputUnits(nn.Module):
    """One class with two inputs used twice (one reusable network with two Inputs), a
    one-call wrapper used twice (no network of one block), and a module path too long for a
    node id."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.first_mixing_unit_with_a_very_long_descriptive_attribute_name = _Mix()
        self.second = _Mix()
        self.wrap_a, self.wrap_b = nn.Sequential(nn.ReLU()), nn.Sequential(nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 8 * 8, 5))

    def forward(self, x):
        y = self.stem(x)
        z = self.first_mixing_unit_with_a_very_long_descriptive_attribute_name(y, torch.relu(y))
        z = self.second(self.wrap_a(z), self.wrap_b(y))
        return self.head(z)


def test_a_network_with_two_inputs_gets_each_wire_on_its_own_input(tmp_path):
    torch.manual_seed(0)
    model = _TwoInputUnits().eval()
    imported = import_model(model, (3, 8, 8))
    assert imported.stats["max_diff"] == 0
    project = imported.project
    assert "Mix" in project.networks and "Sequential" not in project.networks
    inputs = [n for n in project.networks["Mix"].nodes.values() if n.block == "Input"]
    assert len(inputs) == 2
    assert all(len(i) <= 64 for net in project.networks.values() for i in net.nodes)
    paths = imported.write(tmp_path / "mix.studio")
    [exported] = built_networks(load(paths["project"]), paths["weights"])
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(exported.module.eval()(x), model(x))


BAD = '''
import torch
from torch import nn


class Odd(nn.Module):
    def forward(self, x):
        return torch.cumsum(x, dim=2)


class Unsupported(nn.Module):
    """Two things Studio has no block for, at two module paths."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3)
        self.odd = nn.Sequential(Odd())
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 6 * 6, 10))

    def forward(self, x):
        x = self.odd(self.stem(x))
        x = torch.sort(x, dim=3).values
        return self.head(x)
'''


def test_unsupported_operations_are_all_listed_with_their_module_path(tmp_path):
    source = tmp_path / "bad.py"
    source.write_text(BAD)
    namespace: dict = {}
    exec(compile(BAD, str(source), "exec"), namespace)
    with pytest.raises(ModelImportError) as caught:
        import_model(namespace["Unsupported"](), (3, 8, 8))
    problems = caught.value.problems
    assert len(problems) == 2
    assert problems[0].startswith("odd.0: torch.cumsum(...) is not supported")
    assert "torch.sort(...) is not supported" in problems[1]
    assert "nothing was written" in str(caught.value)
    # through the CLI: refused, and no file appears
    out = tmp_path / "bad.studio"
    assert main(["import", f"{source}:Unsupported", "--out", str(out), "--input", "3x8x8"]) == 2
    assert list(tmp_path.iterdir()) == [source]


TINY = '''
import torch
from torch import nn


class Unit(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.conv = nn.Conv2d(width, width, 3, padding=1)
        self.bn = nn.BatchNorm2d(width)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)) + x)


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.units = nn.Sequential(Unit(8), Unit(8))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.pool(self.units(self.stem(x)))
        return self.fc(x.view(x.size(0), -1))


def make():
    torch.manual_seed(3)
    return Tiny()
'''


def test_cli_imports_a_python_file_and_exports_it_with_its_weights(tmp_path, capsys):
    source = tmp_path / "tiny.py"
    source.write_text(TINY)
    out = tmp_path / "tiny.studio"
    assert main(["import", f"{source}:make", "--out", str(out), "--input", "3x16x16"]) == 0
    said = capsys.readouterr().out
    assert f"Running {source}" in said  # the user is told that their file runs
    assert (tmp_path / "tiny.ckpt").is_file() and (tmp_path / "tiny.keys.json").is_file()
    assert main(["check", str(out)]) == 0
    exported = tmp_path / "export"
    assert main(["export", str(out), "--out", str(exported), "--weights",
                 str(tmp_path / "tiny.ckpt"), "--onnx"]) == 0
    import onnxruntime

    spec = importlib.util.spec_from_file_location("tiny_source", source)
    original = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(original)
    model = original.make().eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        expected = model(x).numpy()
    session = onnxruntime.InferenceSession(str(exported / "model.onnx"))
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert abs(got - expected).max() < 1e-4


def test_cli_names_a_bad_source_in_one_line(tmp_path, capsys):
    out = tmp_path / "x.studio"
    assert main(["import", "nothing_here", "--out", str(out)]) == 2
    assert "expected path/to/file.py:FACTORY" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "missing.py") + ":make", "--out", str(out)]) == 2
    assert "no Python file at" in capsys.readouterr().err
    loads = subprocess.run([sys.executable, "-c", "import torchvision.models"],
                           capture_output=True).returncode == 0
    if not loads:  # absent, or (here) a build that cannot load beside this torch
        assert main(["import", "torchvision:resnet18", "--out", str(out)]) == 2
        assert "torchvision cannot be imported here" in capsys.readouterr().err
    assert not out.exists()


def test_import_rules_name_real_torch_layers_and_functions():
    """A rule naming a layer or function torch does not have would never match: a typo."""
    import operator

    import torch.nn.functional as F

    roots = {"torch": torch, "torch.nn.functional": F, "operator": operator}
    for spec in all_blocks():
        rule = spec.imports
        if rule is None:
            continue
        for name in rule.modules:
            if "." not in name:
                assert isinstance(getattr(nn, name, None), type), (spec.id, name)
        for name in rule.functions:
            root, _, attr = name.rpartition(".")
            if root in roots or root.startswith("torch."):  # others: another library's function
                assert callable(getattr(roots.get(root), attr, None)), (spec.id, name)
        for name in rule.methods:
            assert callable(getattr(torch.Tensor, name, None)), (spec.id, name)


def test_node_ids_from_names_a_file_could_not_hold_are_made_valid_and_unique():
    """A converter's names may hold dots, slashes or letters an id cannot (this looped forever
    before): each becomes a valid id, numbered when taken."""
    from studio.core.project import NODE_ID
    from studio.engine.model_import.building import short_id

    taken: set = set()
    for name in ("layer1.0/conv", "layer1.0/conv", "/features/0/Conv", "...", "\u00e9t\u00e9",
                 "9", "x" * 200 + ".y"):
        made = short_id(name, taken)
        assert NODE_ID.match(made) and made not in taken, (name, made)
        taken.add(made)
    assert short_id("layer1.0/conv") == "layer1_0_conv"
