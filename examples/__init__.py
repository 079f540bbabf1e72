"""The example projects. Installed as ``studio.examples`` (see setup.py); listed through
``studio.core.package_files``. The ``.studio`` files are written by scripts/make_examples.py."""
