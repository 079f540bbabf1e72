"""The one contract every block declaration passes.

Defaults validate; the shape rule agrees with real torch on the declared example inputs and on
randomly resized variants of them; the parameter count agrees with the module torch builds;
the emitted code builds; the parameters survive a save and load.
"""

import random

import pytest
import torch

from studio.core.registry import LOSS, ShapeError, TensorType, Values, all_blocks
from studio.engine.blockrun import BlockRunner, input_domains, random_input

STRUCTURAL = {"Input", "Output", "Network"}
LAYERS = [b for b in all_blocks() if b.category not in ("data", "optimizer", "output")
          and b.id not in STRUCTURAL]


def resized(types: dict, rng: random.Random) -> dict:
    """The same ports with the non-channel dims changed (channels and features kept)."""
    factor = rng.choice([1, 2, 3])
    extra = rng.randint(0, 5)

    def one(t: TensorType) -> TensorType:
        if t.rank >= 2:
            shape = (t.shape[0],) + tuple(d * factor + extra for d in t.shape[1:])
        else:
            shape = t.shape
        return TensorType(shape, t.dtype, t.kind)

    # ports that must agree (Add, Concat, loss pairs) stay equal: resize all alike, the wires of a
    # multi port (a list) included
    return {port: [one(x) for x in t] if isinstance(t, list) else one(t)
            for port, t in types.items()}


def test_catalogue_is_large_and_unique():
    ids = [b.id for b in all_blocks()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("spec", all_blocks(), ids=lambda s: s.id)
def test_declaration_is_complete(spec):
    assert spec.help and spec.explanation and spec.title
    assert spec.help.strip()[-1] in ".)", f"{spec.id}: help should be a sentence"
    values = spec.validate(spec.defaults())
    names = [p.name for p in spec.params]
    assert len(names) == len(set(names))
    for p in spec.params:
        assert p.help, f"{spec.id}.{p.name} has no help"
        p.kind.validate(p.default)
    spec.input_ports(Values(values))
    spec.output_ports(Values(values))


@pytest.mark.parametrize("spec", LAYERS, ids=lambda s: s.id)
def test_shape_rule_matches_torch(spec):
    assert spec.examples, f"{spec.id} declares no example inputs"
    values = spec.validate(spec.defaults())
    p = Values(values)
    rng = random.Random(spec.id)
    gen = torch.Generator().manual_seed(0)
    checked = 0
    for example in spec.examples:
        for variant in [example] + [resized(example, rng) for _ in range(3)]:
            try:
                if spec.check:
                    spec.check(p, variant)
                expected = spec.shape(p, variant)
            except ShapeError:
                assert variant is not example, f"{spec.id} refuses its own example {example}"
                continue
            runner = BlockRunner(spec, values, variant)
            classes = _classes(variant)
            domains = input_domains(spec, values)
            tensors = {k: ([random_input(x, generator=gen, domain=domains.get(k)) for x in t]
                           if isinstance(t, list)
                           else random_input(t, classes=classes, generator=gen,
                                             domain=domains.get(k)))
                       for k, t in variant.items()}
            if runner.module is not None and hasattr(runner.module, "train"):
                runner.module.train()
            outputs = runner(**tensors)
            for port, t in expected.items():
                got = outputs[port]
                if t == LOSS or t.kind == "loss":
                    assert got.dim() == 0, f"{spec.id}: loss must be a scalar"
                    assert torch.isfinite(got), f"{spec.id}: loss is {got} on valid inputs"
                    continue
                assert tuple(got.shape[1:]) == tuple(t.shape), \
                    f"{spec.id}: rule says {t.shape}, torch gives {tuple(got.shape[1:])}"
                want = torch.int64 if t.dtype == "long" else torch.float32
                assert got.dtype == want, f"{spec.id}.{port}: dtype {got.dtype}, declared {t.dtype}"
            if spec.cost and runner.module is not None and hasattr(runner.module, "parameters"):
                declared = spec.cost(p, variant, expected).params
                actual = sum(t.numel() for t in runner.module.parameters())
                assert declared == actual, f"{spec.id}: cost rule counts {declared} parameters, " \
                                           f"torch has {actual}"
            checked += 1
    assert checked, f"{spec.id}: no example could be checked"


def _classes(types: dict) -> int:
    for t in types.values():
        if isinstance(t, TensorType) and t.dtype == "float" and t.rank >= 1:
            return t.shape[0]
    return 3
