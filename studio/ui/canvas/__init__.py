"""The graph canvas: a scene of node, port and wire items drawn from the document, and its view."""
