"""The one error an import's source raises (``sources.py``, ``onnx_source.py``): apart, so that
both can name it without importing each other."""

from __future__ import annotations


class SourceError(ValueError):
    """The source names no model that can be built here; says why."""
