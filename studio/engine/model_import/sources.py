"""Where an imported model comes from: ``path/to/file.py:FACTORY`` (runs that file, as any Python
import does), ``torchvision:NAME`` (when torchvision can be imported; never a dependency) or
``model.onnx`` (through onnx2torch, when installed)."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from studio.engine.model_import.source_error import SourceError


@dataclass(frozen=True)
class Source:
    """A parsed SOURCE: its kind ("python", "torchvision", "onnx"), the file or name, and for a
    Python file the factory to call."""

    kind: str
    target: str
    factory: str = ""

    @property
    def runs_code(self) -> bool:
        """Whether building the model runs code from the user's file."""
        return self.kind == "python"

    @property
    def name(self) -> str:
        """A name for the imported project."""
        if self.kind == "python":
            return self.factory
        return Path(self.target).stem if self.kind == "onnx" else self.target


def parse(text: str) -> Source:
    """``file.py:FACTORY``, ``torchvision:NAME`` or ``model.onnx``."""
    if text.startswith("torchvision:"):
        name = text.partition(":")[2]
        if not name.isidentifier():
            raise SourceError(f"{text!r}: name a torchvision model, e.g. torchvision:resnet18")
        return Source("torchvision", name)
    if text.endswith(".onnx"):
        return Source("onnx", text)
    path, colon, factory = text.rpartition(":")
    if not colon or not path.endswith(".py") or not factory.isidentifier():
        raise SourceError(f"{text!r}: expected path/to/file.py:FACTORY (a class or function "
                          "returning an nn.Module), torchvision:NAME or model.onnx")
    return Source("python", path, factory)


def build(source: Source) -> tuple:
    """The model the source names, built (no pretrained weights are downloaded), and the input
    shape its file declares (an ONNX file's; None for the others)."""
    declared = None
    if source.kind == "python":
        model = _from_file(Path(source.target), source.factory)
    elif source.kind == "torchvision":
        model = _from_torchvision(source.target)
    else:
        from studio.engine.model_import.onnx_source import convert

        model, declared = convert(Path(source.target))
    if not isinstance(model, nn.Module):
        raise SourceError(f"{source.factory or source.target} returned {type(model).__name__}, "
                          "not an nn.Module")
    return model, declared


def _from_file(path: Path, factory: str):
    if not path.is_file():
        raise SourceError(f"no Python file at {path}")
    name = f"studio_import_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)  # the file may import its neighbours
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # noqa: BLE001 - the user's code: report whatever it raises
        raise SourceError(f"{path} failed to run: {type(err).__name__}: {err}") from None
    finally:
        sys.path.remove(folder)
    made = getattr(module, factory, None)
    if made is None or not callable(made):
        raise SourceError(f"{path} has no class or function {factory!r}")
    try:
        return made()
    except Exception as err:  # noqa: BLE001
        raise SourceError(f"{factory}() in {path} failed: {type(err).__name__}: {err}") from None


def _from_torchvision(name: str):
    try:
        import torchvision.models as models
    except Exception as err:  # noqa: BLE001 - absent, or a build that cannot load here
        raise SourceError(f"torchvision cannot be imported here ({type(err).__name__}: "
                          f"{' '.join(str(err).split())[:160]}); install a torchvision that "
                          "matches torch, or import the model from a Python file") from None
    factory = getattr(models, name, None)
    if not callable(factory):
        raise SourceError(f"torchvision has no model {name!r}")
    return factory(weights=None)
