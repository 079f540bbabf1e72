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
