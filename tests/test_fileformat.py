"""Project files: exact round trips, clear errors naming the field, nothing executed."""

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core import atomic, fileformat
from studio.core.fileformat import FileFormatError, dumps, load, load_lenient, loads, save
from studio.core.params import Arg
from studio.core.project import Project
from tests.helpers import EXAMPLES, ROOT, mlp_on_moons

FORMAT_V1 = ROOT / "tests" / "data" / "format_v1"


def test_round_trip_is_exact_for_every_example():
    files = sorted(EXAMPLES.glob("*.studio"))
    assert files
    for path in files:
        text = path.read_text()
        assert dumps(loads(text)) == text, path.name


def test_released_format_files_still_load():
    for version in range(1, fileformat.VERSION):
        files = sorted((ROOT / "tests" / "data" / f"format_v{version}").glob("*.studio"))
        assert files, f"keep format {version}'s example files (tests/data/format_v{version})"
        for path in files:
            load(path)


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "p.studio"
    target.write_text("old contents")
    save(mlp_on_moons(), target)
    assert loads(target.read_text()).name == "Moons"
    assert [p.name for p in tmp_path.iterdir()] == ["p.studio"]


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "p.studio"
    target.write_text("precious")

    def broken_replace(a, b):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)  # the one atomic writer
    with pytest.raises(OSError):
        save(mlp_on_moons(), target)
    assert target.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["p.studio"]


def _doc():
    return json.loads(dumps(mlp_on_moons()))


@pytest.mark.parametrize("mutate, location, words", [
    (lambda d: d.update(format="other"), "format", "not a Studio project"),
    (lambda d: d.update(version=99), "version", "newer Studio"),
    (lambda d: d.update(version="1"), "version", "format version"),
    (lambda d: d.pop("training"), "", "training graph"),
    (lambda d: d["training"]["nodes"][1]["params"].update(out_features=-3),
     "training.nodes[1].params.out_features", "below the minimum"),
    (lambda d: d["training"]["nodes"][1]["params"].update(out_features="16"),
     "training.nodes[1].params.out_features", "whole number"),
    (lambda d: d["training"]["nodes"][1]["params"].update(bias="__import__('os').system('x')"),
     "training.nodes[1].params.bias", "true or false"),
    (lambda d: d["training"]["nodes"][1].update(block="EvilBlock"),
     "training.nodes[1].block", "unknown block type"),
    (lambda d: d["training"]["nodes"][1].update(id="a b; import os"),
     "training.nodes[1].id", "letters"),
    (lambda d: d["training"]["nodes"][1].update(pos=[1e12, 0]),
     "training.nodes[1].pos", "finite"),
    (lambda d: d["training"]["edges"][0].update({"from": ["nope", "x"]}),
     "training.edges[0]", "does not have"),
    (lambda d: d["training"]["nodes"][1]["params"].update(surprise=1),
     "training.nodes[1].params.surprise", "no parameter"),
    (lambda d: d["training"]["settings"].update(batch_size=0),
     "training.settings.batch_size", "below the minimum"),
    (lambda d: d["training"]["nodes"][0]["params"].update(dataset="../../etc/passwd"),
     "training.nodes[0].params.dataset", "one of"),
])
def test_malformed_files_name_the_field(mutate, location, words):
    doc = _doc()
    mutate(doc)
    with pytest.raises(FileFormatError) as info:
        loads(json.dumps(doc))
    assert info.value.location == location
    assert words in str(info.value)


@pytest.mark.parametrize("text, words", [
    ("", "not valid JSON"),
    ('{"format": "studio-project", "version": 1, "name": "x", "networks": [], "tr', "not valid JSON"),
    ("[1, 2, 3]", "JSON object"),
    ('{"a": NaN}', "not valid JSON"),
    ("[" * 100000 + "]" * 100000, "nests too deeply"),
], ids=["empty", "truncated", "not-object", "nan", "deep-nesting"])
def test_truncated_and_hostile_text(text, words):
    with pytest.raises(FileFormatError) as info:
        loads(text)
    assert words in str(info.value)


def test_non_utf8_and_missing_files(tmp_path):
    bad = tmp_path / "bin.studio"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(FileFormatError, match="not UTF-8"):
        load(bad)
    with pytest.raises(FileFormatError, match="cannot open"):
        load(tmp_path / "missing.studio")


def test_lenient_load_keeps_the_rest_of_the_file():
    doc = _doc()
    doc["training"]["nodes"][2]["block"] = "FutureBlock"
    doc["training"]["nodes"][1]["params"]["out_features"] = 0
    project, issues = fileformat.loads_lenient(json.dumps(doc))
    assert len(issues) >= 2
    assert any("FutureBlock" in str(i) for i in issues)
    assert len(project.training.nodes) == len(doc["training"]["nodes"]) - 1
    # the wires that touch the unknown node are reported, the others are kept
    assert len(project.training.edges) > 0


def test_loading_never_executes_code(tmp_path):
    marker = tmp_path / "pwned"
    payload = f"__import__('pathlib').Path({str(marker)!r}).write_text('x')"
    doc = _doc()
    doc["name"] = payload
    with pytest.raises(FileFormatError):
        loads(json.dumps(doc))
    doc = _doc()
    doc["training"]["nodes"][1]["title"] = payload
    project = loads(json.dumps(doc))  # a title is just text
    from studio.engine.codegen import generate

    code = generate(project)
    assert payload not in code.model_source.replace("'", '"') or "write_text" not in code.model_source
    assert not marker.exists()
    assert os.path.exists(tmp_path)


def test_argument_references_round_trip():
    p = Project("Args")
    net = p.network("Block")
    width = net.arg("width", default=8)
    x = net.add("Input", id="x")
    net.chain(x, net.add("Conv2d", out_channels=width, kernel_size=3, padding=1),
              net.add("Output", id="out"))
    again = loads(dumps(p))
    conv = next(n for n in again.networks["Block"].nodes.values() if n.block == "Conv2d")
    assert conv.params["out_channels"] == Arg("width")
    assert again.networks["Block"].args["width"].default == 8
    assert dumps(again) == dumps(p)


# --- property test: random projects survive a save and load unchanged ---------------------------

LAYER_CHOICES = [("Linear", {"out_features": st.integers(1, 64), "bias": st.booleans()}),
                 ("ReLU", {}), ("Tanh", {}),
                 ("LeakyReLU", {"negative_slope": st.floats(0, 1, allow_nan=False)}),
                 ("Softmax", {"dim": st.integers(-2, 2)})]


@st.composite
def projects(draw):
    p = Project(draw(st.from_regex(r"[A-Za-z][A-Za-z0-9 _-]{0,20}", fullmatch=True)))
    t = p.training
    t.configure(batch_size=draw(st.integers(1, 512)), seed=draw(st.integers(0, 2**31 - 1)))
    prev = t.add("Dataset", dataset="moons", count=draw(st.integers(10, 5000)))
    for _ in range(draw(st.integers(0, 8))):
        block, kinds = draw(st.sampled_from(LAYER_CHOICES))
        params = {k: draw(v) for k, v in kinds.items()}
        title = draw(st.one_of(st.just(""), st.text(max_size=20).filter(lambda s: "\n" not in s)))
        node = t.add(block, title=title, pos=(draw(st.floats(-1e4, 1e4)), draw(st.floats(-1e4, 1e4))),
                     **params)
        t.connect(prev, node)
        prev = node
    return p


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(projects())
def test_random_projects_round_trip(project):
    text = dumps(project)
    assert dumps(loads(text)) == text
    again, issues = fileformat.loads_lenient(text)
    assert not issues
    assert dumps(again) == text


def test_lenient_file_api(tmp_path):
    path = tmp_path / "m.studio"
    save(mlp_on_moons(), path)
    project, issues = load_lenient(path)
    assert not issues and project.name == "Moons"


def test_old_block_versions_are_migrated_step_by_step(monkeypatch):
    """A block whose declaration moved to version 3 still opens files written at version 1:
    each migration runs in turn."""
    from studio.core.registry import get_block

    spec = get_block("Linear")
    seen = []

    def v1_to_v2(params):
        seen.append(1)
        params["out_features"] = params.pop("units")
        return params

    def v2_to_v3(params):
        seen.append(2)
        params["bias"] = not params.pop("no_bias", False)
        return params

    monkeypatch.setattr(spec, "version", 3)
    monkeypatch.setattr(spec, "migrations", {1: v1_to_v2, 2: v2_to_v3})
    doc = _doc()
    node = doc["training"]["nodes"][1]
    node["version"] = 1
    node["params"] = {"units": 12, "no_bias": True}
    project = loads(json.dumps(doc))
    assert seen == [1, 2]
    assert project.training.nodes[node["id"]].params["out_features"] == 12
    assert project.training.nodes[node["id"]].params["bias"] is False
    assert json.loads(dumps(project))["training"]["nodes"][1]["version"] == 3


def test_a_block_version_newer_than_this_studio_is_refused():
    doc = _doc()
    doc["training"]["nodes"][1]["version"] = 7
    with pytest.raises(FileFormatError, match="newer than this Studio"):
        loads(json.dumps(doc))
