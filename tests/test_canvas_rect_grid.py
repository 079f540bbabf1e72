"""The canvas's grid of rectangles (routing and label placement ask it what an area meets)
answers as a search through every rectangle would, after any puts, moves and drops; rectangles
spanning several cells, on cell borders and at negative coordinates included."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QRectF

from studio.ui.canvas.rect_grid import RectGrid

CELL = 50.0

coord = st.floats(-260, 260, allow_nan=False).map(lambda v: round(v * 4) / 4)  # borders too
size = st.sampled_from([0.0, 1.0, 12.5, 49.75, 50.0, 120.0, 300.0])
rects = st.builds(QRectF, coord, coord, size, size)
steps = st.lists(st.tuples(st.integers(0, 7), st.one_of(st.none(), rects)), max_size=40)


@settings(max_examples=150, deadline=None)
@given(steps=steps, areas=st.lists(rects, min_size=1, max_size=8),
       exclude=st.sets(st.integers(0, 7), max_size=3))
def test_the_grid_answers_as_a_search_of_every_rectangle(steps, areas, exclude):
    grid, truth = RectGrid(CELL), {}
    for key, rect in steps:  # None: drop the key, else put (or move) it
        if rect is None:
            grid.drop(key)
            truth.pop(key, None)
        else:
            grid.put(key, rect)
            truth[key] = rect
    for area in areas:
        meeting = [r for k, r in truth.items() if k not in exclude and r.intersects(area)]
        assert grid.meets(area) == any(r.intersects(area) for r in truth.values())
        assert sorted(r.getRect() for r in grid.meeting(area, exclude)) == \
            sorted(r.getRect() for r in meeting)
