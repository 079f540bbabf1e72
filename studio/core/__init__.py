"""The project model, parameter kinds, block registry, inference and file format (no Qt, no torch)."""
