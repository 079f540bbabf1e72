"""Standard datasets for the app and the command line: fetch ahead of training, with progress.

The download itself (mirrors, checksums, resumed transfers, atomic placement, the offline
message) is ``fetch_standard`` in ``studio.engine.library.data``: the same code an exported
``train.py`` runs when its data are missing. This module is the app's side of it and is never
copied into an export:

- ``prepare_project(project, progress)`` downloads every standard set a project's training graph
  uses, so the app can show progress (and an offline message) before a run starts;
- ``is_cached(name)`` and ``cache_folder()`` say what is already here;
- ``load_dataset(params, ...)`` loads the data a Dataset block describes, through the block's
  own loader call (what the dataset view shows is what trains);
- ``python -m studio.engine.library.download mnist cifar10`` fetches from a shell.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studio.core import package_files
from studio.core.registry import Raw, Values, block_with, get_block, nodes_with
from studio.engine.library import data

STANDARD_SETS = tuple(data.DatasetSources.FILES)
# loaders of the user's files: they take `root`, the folder relative paths start from
FILE_LOADERS = ("load_idx", "load_arrays", "load_csv", "load_image_folder")
RESOURCES_DATA = package_files.data_folder()


def cache_folder(cache_dir=None) -> Path:
    """Where standard sets are kept: ``cache_dir``, else $STUDIO_DATA_DIR, else
    ~/.cache/studio/datasets."""
    return data._cache_folder(cache_dir)


def is_cached(name: str, cache_dir=None) -> bool:
    """Whether a standard set is complete in the cache (nothing to download)."""
    folder = cache_folder(cache_dir) / name
    if name == "cifar10":
        return all((folder / f).is_file() for f in data.DatasetSources.CIFAR_BATCHES)
    return all((folder / f).is_file() for f in data.DatasetSources.FILES[name])


def fetch(name: str, cache_dir=None, progress=None) -> Path:
    """Download a standard set into the cache (see ``data.fetch_standard``); its folder."""
    return data.fetch_standard(name, cache_dir, progress=progress)


def standard_sets_of(project) -> list[tuple[str, str | None]]:
    """(name, cache folder or None) of each standard set a project's training graph uses."""
    out = []
    for node in nodes_with(project.training, "data"):
        spec = get_block(node.block)
        entry = spec.data.download(Values({**spec.defaults(), **node.params}))
        if entry is not None and entry not in out:
            out.append(entry)
    return out


def prepare_project(project, progress=None) -> list[Path]:
    """Download what the project's datasets need, before training; their cache folders.

    ``progress(label, done, total)`` follows each file. Raises OSError (naming the URL and the
    folder to place files in by hand) when a file cannot be had.
    """
    return [fetch(name, cache_dir, progress) for name, cache_dir in standard_sets_of(project)]


def load_dataset(params: dict, data_dir=RESOURCES_DATA, root=None, device="cpu", progress=None):
    """The SplitData a Dataset block with these parameters loads, by the block's own loader call.

    ``params`` are validated by the declaration (missing ones take their defaults). ``root`` is
    where relative file paths start (the project's folder); ``progress`` follows downloads.
    """
    spec = block_with("data")
    values = Values(spec.validate(dict(params)))
    call = spec.data.load(values)
    names = {"data_dir": Path(data_dir), "device": device}

    def actual(value):
        return names[str(value)] if isinstance(value, Raw) else value

    args = [actual(a) for a in call.args]
    kwargs = {k: actual(v) for k, v in call.kwargs.items()}
    if call.func in FILE_LOADERS and root is not None:
        kwargs["root"] = root
    if call.func == "load_standard" and progress is not None:
        kwargs["progress"] = progress
    return getattr(data, call.func)(*args, **kwargs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m studio.engine.library.download",
        description="Download standard datasets into Studio's dataset cache.")
    parser.add_argument("names", nargs="+", choices=STANDARD_SETS, metavar="NAME",
                        help=f"one or more of {', '.join(STANDARD_SETS)}")
    parser.add_argument("--cache-dir", help="folder to keep them in (default: $STUDIO_DATA_DIR, "
                        "else ~/.cache/studio/datasets)")
    args = parser.parse_args(argv)
    bar = data.ProgressBar()
    for name in args.names:
        try:
            folder = fetch(name, args.cache_dir, progress=bar)
        except (OSError, ValueError) as err:
            print(f"studio: {name}: {err}", file=sys.stderr)
            return 2
        print(f"{name}: {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
