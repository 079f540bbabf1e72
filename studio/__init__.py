"""Studio: design, train and understand neural networks by drawing them."""

__version__ = "0.1.0"


def _load_catalogue() -> None:
    """Import the block catalogue, which registers every declaration (see core.registry)."""
    import studio.blocks  # noqa: F401


def _provide_catalogue() -> None:
    from studio.core import registry

    registry.provide_catalogue(_load_catalogue)


_provide_catalogue()
