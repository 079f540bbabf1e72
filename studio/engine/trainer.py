"""Running a training from a project: generate, load that source, loop, log, preview, save.

The CLI's ``studio train`` is this; the app's worker process will drive the same ``Training``
class. Failures become ``TrainingError`` with the node at fault where one can be named.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import torch

from studio.core.atomic import write_with
from studio.core.project import Project
from studio.engine.codegen import GeneratedCode
from studio.engine.loader import RESOURCES_DATA, node_at


class TrainingError(RuntimeError):
    """Training stopped; ``node`` is (graph, node id) of the node at fault when known."""

    def __init__(self, message: str, node: tuple | None = None, kind: str = "runtime"):
        super().__init__(message)
        self.node = node
        self.kind = kind  # "runtime", "oom", "shape", "data", "nan"


@dataclass
class RunOptions:
    epochs: int | None = None
    steps: int | None = None
    seed: int | None = None
    device: str = "auto"
    log_path: Path | None = None
    samples_dir: Path | None = None
    save_path: Path | None = None
    progress: bool = True
    data_dir: Path = RESOURCES_DATA


@dataclass
class RunResult:
    steps: int
    seconds: float
    history: list = field(default_factory=list)  # logged metric records
    evaluation: dict = field(default_factory=dict)
    previews: dict = field(default_factory=dict)  # name -> last image batch (CPU tensor)
    device: str = "cpu"


def resolve_device(choice: str) -> str:
    """'auto' picks CUDA, then Apple MPS, then CPU; an explicit choice must be available."""
    if choice == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise TrainingError("device cuda was asked for, but this torch sees no CUDA GPU; use "
                            "--device cpu or auto")
    if choice == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise TrainingError("device mps was asked for, but it is not available here")
    return choice


def locate(code: GeneratedCode, err: BaseException) -> tuple | None:
    """The node whose generated line raised ``err`` (innermost generated frame)."""
    found = None
    for frame in traceback.extract_tb(err.__traceback__):
        hit = node_at(code, frame.filename, frame.lineno)
        if hit:
            found = hit
    return found


def explain(code: GeneratedCode, err: BaseException) -> TrainingError:
    node = locate(code, err)
    where = f"{node[0]}/{node[1]}: " if node else ""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    lowered = text.lower()
    if isinstance(err, (torch.OutOfMemoryError, MemoryError)) or "out of memory" in lowered \
            or "can't allocate memory" in lowered or "cannot allocate memory" in lowered:
        return TrainingError(f"{where}out of memory ({text}); try a smaller batch size", node,
                             "oom")
    kind = "shape" if any(w in lowered for w in ("shape", "size", "dimension")) else "runtime"
    return TrainingError(f"{where}{type(err).__name__}: {text}", node, kind)


class ProgressLine:
    """A progress bar on stderr from progress events: redrawn in place on a terminal, a line
    every few seconds otherwise."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.last = 0.0
        self.tty = sys.stderr.isatty()

    def update(self, event: dict, metrics: dict, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        step, total = event["step"], event["total"]
        frac = step / max(total, 1)
        bar = "#" * int(frac * 30)
        shown = " ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))
        line = (f"[{bar:<30}] {step}/{total} epoch {event['epoch']} {shown} "
                f"{event['samples_per_second']:.0f} samples/s, ETA {event['eta']:.0f}s")
        end = "\r" if self.tty and not force else "\n"
        print(line, end=end, file=sys.stderr, flush=True)


def train_project(project: Project, options: RunOptions | None = None) -> RunResult:
    """Train in this process with the same runner the worker uses (no probes); raises
    TrainingError naming the node at fault."""
    from studio.engine.probes import ProbeRates
    from studio.engine.runner import RunConfig, Runner

    options = options or RunOptions()
    config = RunConfig(steps=options.steps, epochs=options.epochs, seed=options.seed,
                       device=options.device, data_dir=str(options.data_dir),
                       probes=ProbeRates.off(), previews=True,
                       samples_dir=str(options.samples_dir) if options.samples_dir else None,
                       save_weights=str(options.save_path) if options.save_path else None,
                       pause_on_nan=False)
    result = RunResult(0, 0.0)
    log = open(options.log_path, "w", encoding="utf-8") if options.log_path else None
    progress = ProgressLine(options.progress)
    errors: list = []
    latest: dict = {}

    def on_event(event: dict) -> None:
        kind = event["type"]
        if kind == "metrics":
            for point in event["points"]:
                record = dict(point)
                if "lr" in record:
                    rates = record["lr"]
                    record["lr"] = next(iter(rates.values())) if len(rates) == 1 else rates
                result.history.append(record)
                latest.update({k: v for k, v in point.items() if k not in ("step", "epoch")})
                if log:
                    log.write(json.dumps(record) + "\n")
        elif kind == "progress":
            progress.update(event, latest, force=event["step"] == event["total"])
        elif kind == "preview":
            import torch

            result.previews[event["name"]] = torch.from_numpy(event["images"])
        elif kind == "started":
            result.device = event["device"]
        elif kind == "error":
            errors.append(event)
        elif kind == "finished":
            result.steps = event["steps"]
            result.evaluation = event["evaluation"]

    start = time.perf_counter()
    try:
        Runner(project, config, on_event).run()
        result.seconds = time.perf_counter() - start
        if log and not errors:
            log.write(json.dumps({"event": "final", "steps": result.steps, "seconds": round(
                result.seconds, 3), "device": result.device, **result.evaluation}) + "\n")
    finally:
        if log:
            log.close()
    if errors:
        node = errors[0].get("node")
        raise TrainingError(errors[0]["message"], tuple(node) if node else None)
    return result


def save_weights(training, path) -> None:
    """Every network's weights in one file: safetensors, or a weights-only torch file (.pt)."""
    path = Path(path)
    tensors = {f"{net}.{k}": v.detach().cpu().contiguous()
               for net, m in training.networks.items() for k, v in m.state_dict().items()}
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        write_with(path, lambda tmp: save_file(tensors, str(tmp)))
    else:
        write_with(path, lambda tmp: torch.save(tensors, tmp))


def load_weights(path) -> dict:
    """Read weights saved by ``save_weights`` without unpickling arbitrary objects."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)
