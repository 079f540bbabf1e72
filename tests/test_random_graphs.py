"""Property test: for random layer chains, whenever inference accepts the graph, the generated
code builds and runs, and torch's output shape equals the inferred one."""

import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from studio.core.inference import analyze
from studio.core.project import Project
from studio.engine.codegen import generate
from studio.engine.loader import load as load_code

IMAGE_LAYERS = {
    "Conv2d": lambda d: dict(out_channels=d(st.integers(1, 8)),
                             kernel_size=d(st.sampled_from([1, 3, 5, (1, 3), (3, 1)])),
                             stride=d(st.integers(1, 2)), padding=d(st.integers(0, 2)),
                             dilation=d(st.integers(1, 2))),
    "SeparableConv2d": lambda d: dict(out_channels=d(st.integers(1, 8)), kernel_size=3,
                                      padding=1),
    "ConvTranspose2d": lambda d: dict(out_channels=d(st.integers(1, 6)),
                                      kernel_size=d(st.integers(2, 4)),
                                      stride=d(st.integers(1, 2)), padding=d(st.integers(0, 1))),
    "MaxPool2d": lambda d: dict(kernel_size=d(st.integers(1, 3)), ceil_mode=d(st.booleans())),
    "AvgPool2d": lambda d: dict(kernel_size=d(st.integers(1, 3)), padding=d(st.integers(0, 1))),
    "BlurPool2d": lambda d: dict(),
    "AdaptiveAvgPool2d": lambda d: dict(output_size=d(st.integers(1, 4))),
    "BatchNorm2d": lambda d: dict(),
    "GroupNorm": lambda d: dict(num_groups=1),
    "InstanceNorm2d": lambda d: dict(),
    "Upsample": lambda d: dict(scale_factor=d(st.integers(1, 2))),
    "Dropout2d": lambda d: dict(p=0.1),
    "ReLU": lambda d: dict(),
    "GELU": lambda d: dict(),
    "Sine": lambda d: dict(),
}
VECTOR_LAYERS = {
    "Linear": lambda d: dict(out_features=d(st.integers(1, 12))),
    "LayerNorm": lambda d: dict(),
    "BatchNorm1d": lambda d: dict(),
    "Tanh": lambda d: dict(),
    "Softmax": lambda d: dict(),
    "Dropout": lambda d: dict(p=0.2),
}


@st.composite
def chains(draw):
    p = Project("Random")
    t = p.training
    size = draw(st.integers(6, 20))
    data = t.add("Dataset", id="data", dataset="shapes", size=size, count=40,
                 channels=draw(st.sampled_from([1, 3])))
    prev = data["image"]
    for _ in range(draw(st.integers(1, 5))):
        block = draw(st.sampled_from(sorted(IMAGE_LAYERS)))
        node = t.add(block, **IMAGE_LAYERS[block](draw))
        t.connect(prev, node)
        prev = node
    flat = t.add("Flatten")
    t.connect(prev, flat)
    prev = flat
    for _ in range(draw(st.integers(0, 3))):
        block = draw(st.sampled_from(sorted(VECTOR_LAYERS)))
        node = t.add(block, **VECTOR_LAYERS[block](draw))
        t.connect(prev, node)
        prev = node
    head = t.add("Linear", id="head", out_features=4)
    t.connect(prev, head)
    loss = t.add("CrossEntropy", id="loss")
    t.connect(head, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("SGD", id="sgd"))
    return p


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(chains())
def test_accepted_graphs_run_with_the_inferred_shapes(project):
    analysis = analyze(project)
    event("accepted" if analysis.ok else "refused")
    if not analysis.ok:
        for problem in analysis.problems:
            assert problem.node and problem.message  # refused with a reason, on a node
        return
    module = load_code(generate(project))
    net_cls = next(v for k, v in vars(module.model_module).items()
                   if isinstance(v, type) and issubclass(v, torch.nn.Module)
                   and k == "Random")
    net = net_cls()
    image = analysis.result("training", "data").outputs["image"]
    x = torch.randn(3, *image.shape)
    out = net(x)
    assert tuple(out.shape[1:]) == analysis.result("training", "head").outputs["out"].shape
    total = sum(p.numel() for p in net.parameters())
    assert total == analysis.total_params
