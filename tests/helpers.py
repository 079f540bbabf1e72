"""Small builders shared by tests."""

from pathlib import Path

from studio.core.project import Project

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def mlp_on_moons(hidden=16, activation="ReLU") -> Project:
    p = Project("Moons")
    t = p.training
    t.configure(batch_size=64, epochs=30)
    data = t.add("Dataset", id="moons", dataset="moons", count=600, noise=0.1)
    logits = t.stack(data["x"], ("Linear", "fc1", dict(out_features=hidden)), activation,
                     ("Linear", "fc2", dict(out_features=2)))
    loss = t.add("CrossEntropy", title="loss", id="loss")
    t.connect(logits, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam", lr=1e-2))
    return p


def nested_blocks_project() -> Project:
    """A reusable network ``Block`` (arguments width and stride) used twice, then a head."""
    p = Project("Nested")
    block = p.network("Block")
    width = block.arg("width", default=8)
    stride = block.arg("stride", default=1)
    x = block.add("Input", id="x")
    block.chain(x, block.add("Conv2d", id="conv", out_channels=width, kernel_size=3,
                             stride=stride, padding=1), block.add("ReLU"),
                block.add("Output", id="y"))
    t = p.training
    data = t.add("Dataset", id="data", dataset="digits", size=16)
    b1 = p.instance(t, "Block", id="b1", width=4)
    b2 = p.instance(t, "Block", id="b2", width=8, stride=2)
    head = t.stack(b2, "Flatten", ("Linear", "fc", dict(out_features=10)))
    t.connect(data["image"], b1)
    t.connect(b1, b2)
    loss = t.add("CrossEntropy", id="loss")
    t.connect(head, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam"))
    return p


def diverging_project() -> Project:
    """A regression whose learning rate is far too high: the loss becomes inf/NaN within a few
    steps (one batch an epoch, so the last good state is one step old)."""
    p = Project("Diverges")
    t = p.training
    t.configure(batch_size=256, log_every=1)
    data = t.add("Dataset", id="image", dataset="image", size=16, channels=3)
    fit = t.stack(data["coords"], ("Linear", "fc1", dict(out_features=64)), "ReLU",
                  ("Linear", "fc2", dict(out_features=3)))
    loss = t.add("MSE", title="fit_loss", id="fit_loss")
    t.connect(fit, loss["input"])
    t.connect(data["pixel"], loss["target"])
    t.chain(loss, t.add("SGD", id="sgd", lr=10.0))
    return p


def show_view(qtbot, view, width: int = 900, height: int = 500):
    """Show a dashboard view at a size, exposed, with everything drawn once."""
    qtbot.addWidget(view)
    view.resize(width, height)
    view.show()
    qtbot.waitExposed(view)
    view.refresh({"all"})
    return view


def started_event(**fields):
    """A worker's Started event for a run of a small model; ``fields`` replace the defaults."""
    from studio.engine.events import Started

    run = dict(device="cpu", total_steps=100, batches_per_epoch=10, metrics=["loss"], step=0,
               seconds=0.1, nodes=[], amp="off")
    return Started(**{**run, **fields})


def rank_pids(session) -> dict:
    """The processes of a data-parallel session's ranks (torchrun's children), by the RANK in
    their environment (Linux's /proc)."""
    pids = {}
    for task in Path(f"/proc/{session._process.pid}/task").iterdir():
        for pid in (task / "children").read_text().split():
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            rank = next(e for e in env if e.startswith(b"RANK="))
            pids[int(rank[5:])] = int(pid)
    return pids
