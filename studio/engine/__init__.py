"""The engine: torch, no Qt. Code generation, training, datasets, probes and checkpoints."""
