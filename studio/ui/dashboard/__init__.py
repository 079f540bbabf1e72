"""The live training dashboard: panel, plots and canvas health, drawn from session events."""
