"""Which packages the build ships. Everything else is declared in pyproject.toml.

The repository keeps the app's run-time files at its top level: ``resources/`` (bundled data,
icons, the guide) and ``examples/``. The build maps them into the package as ``studio.resources``
and ``studio.examples``, so a wheel carries them and ``studio.core.package_files`` reads them the
same way from a wheel and from an editable checkout. Every folder under them is listed as a
package of its own, or setuptools would warn that it ships an importable folder as mere data.
"""

from pathlib import Path

from setuptools import find_namespace_packages, setup

HERE = Path(__file__).resolve().parent
DATA_PACKAGES = {"studio.resources": "resources", "studio.examples": "examples"}


def _data_packages(package: str, folder: str) -> list[str]:
    root = HERE / folder
    subfolders = sorted(p for p in root.rglob("*") if p.is_dir() and p.name != "__pycache__")
    return [package] + [".".join((package, *p.relative_to(root).parts)) for p in subfolders]


packages = find_namespace_packages(where=str(HERE), include=["studio", "studio.*"],
                                  exclude=["*.__pycache__"])
for package, folder in DATA_PACKAGES.items():
    packages += _data_packages(package, folder)

setup(packages=packages, package_dir=dict(DATA_PACKAGES),
      package_data={package: ["**/*"] for package in DATA_PACKAGES})
