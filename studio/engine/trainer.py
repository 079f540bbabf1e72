"""Running a training from a project: generate, load that source, loop, log, preview, save.

The CLI's ``studio train`` is this; the app's worker process will drive the same ``Training``
class. Failures become ``TrainingError`` with the node at fault where one can be named.
"""

from __future__ import annotations

import json
import math
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import torch

from studio.core.project import Project
from studio.engine.codegen import GeneratedCode, generate
from studio.engine.loader import RESOURCES_DATA, load, node_at


class TrainingError(RuntimeError):
    """Training stopped; ``node`` is (graph, node id) of the node at fault when known."""

    def __init__(self, message: str, node: tuple | None = None):
        super().__init__(message)
        self.node = node


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
    if isinstance(err, torch.OutOfMemoryError) or "out of memory" in text.lower():
        return TrainingError(f"{where}out of memory ({text}); try a smaller batch size", node)
    return TrainingError(f"{where}{type(err).__name__}: {text}", node)


class _Progress:
    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled = total, enabled
        self.start = time.perf_counter()
        self.last = 0.0
        self.tty = sys.stderr.isatty()

    def update(self, step: int, metrics: dict, force: bool = False):
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        elapsed = now - self.start
        frac = step / max(self.total, 1)
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        bar = "#" * int(frac * 30)
        shown = " ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        line = f"[{bar:<30}] {step}/{self.total} {shown} {elapsed:.0f}s elapsed, ETA {eta:.0f}s"
        end = "\r" if self.tty and not force else "\n"
        print(line, end=end, file=sys.stderr, flush=True)


def train_project(project: Project, options: RunOptions | None = None) -> RunResult:
    options = options or RunOptions()
    settings = project.training.settings
    code = generate(project)
    module = load(code)
    device = resolve_device(options.device if options.device != "auto" else settings["device"])
    seed = settings["seed"] if options.seed is None else options.seed
    try:
        training = module.Training(device, seed, options.data_dir, options.steps, options.epochs)
    except Exception as err:  # noqa: BLE001 - reported with the node at fault
        raise explain(code, err) from err
    total = training.total_steps
    log = open(options.log_path, "w", encoding="utf-8") if options.log_path else None
    result = RunResult(0, 0.0, device=device)
    progress = _Progress(total, options.progress)
    every = settings["log_every"]
    preview_every = settings["preview_every"]
    start = time.perf_counter()
    step, epoch = 0, 0
    try:
        while step < total:
            epoch += 1
            for batch in training.batches:
                try:
                    metrics = training.train_step(batch)
                except Exception as err:  # noqa: BLE001
                    raise explain(code, err) from err
                step += 1
                if step % every == 0 or step == total:
                    values = {k: float(v) for k, v in metrics.items()}
                    bad = [k for k, v in values.items() if not math.isfinite(v)]
                    if bad:
                        loss_node = _loss_node(project, bad[0])
                        raise TrainingError(
                            f"training/{loss_node or bad[0]}: the loss became {values[bad[0]]} at "
                            f"step {step}; lower the learning rate or check the data", (
                                "training", loss_node) if loss_node else None)
                    record = {"step": step, "epoch": epoch, **values,
                              "lr": _learning_rates(training),
                              "time": round(time.perf_counter() - start, 4)}
                    result.history.append(record)
                    if log:
                        log.write(json.dumps(record) + "\n")
                    progress.update(step, values, force=step == total)
                if options.samples_dir and step % preview_every == 0:
                    _save_previews(module, training, options.samples_dir, step, result)
                if step >= total:
                    break
        result.steps = step
        result.seconds = time.perf_counter() - start
        try:
            result.evaluation = training.evaluate()
        except Exception as err:  # noqa: BLE001
            raise explain(code, err) from err
        if options.samples_dir:
            _save_previews(module, training, options.samples_dir, None, result)
        elif module.PREVIEWS:
            result.previews = {k: v.detach().cpu() for k, v in training.previews().items()}
        if log:
            log.write(json.dumps({"event": "final", "steps": step, "seconds": round(
                result.seconds, 3), "device": device, **result.evaluation}) + "\n")
        if options.save_path:
            save_weights(training, options.save_path)
    finally:
        if log:
            log.close()
    return result


def _learning_rates(training) -> float | dict:
    rates = {name: opt.param_groups[0]["lr"] for name, opt in training.optimizers.items()}
    return next(iter(rates.values())) if len(rates) == 1 else rates


def _loss_node(project: Project, metric: str) -> str | None:
    from studio.engine.naming import identifier

    for node in project.training.nodes.values():
        if identifier(node.title or node.id) == metric:
            return node.id
    return None


def _save_previews(module, training, folder, step, result: RunResult) -> None:
    folder = Path(folder)
    for name, images in training.previews().items():
        meta = module.PREVIEWS[name]
        suffix = f"_step{step:07d}" if step is not None else ""
        module.save_image_grid(images, folder / f"{name}{suffix}.png", **meta)
        result.previews[name] = images.detach().cpu()


def save_weights(training, path) -> None:
    """Every network's weights in one file: safetensors, or a weights-only torch file (.pt)."""
    path = Path(path)
    tensors = {f"{net}.{k}": v.detach().cpu().contiguous()
               for net, m in training.networks.items() for k, v in m.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(tensors, str(path))
    else:
        torch.save(tensors, path)


def load_weights(path) -> dict:
    """Read weights saved by ``save_weights`` without unpickling arbitrary objects."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)
