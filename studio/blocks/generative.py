"""Generative building blocks."""
