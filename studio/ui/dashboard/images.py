"""Turning training's arrays into pixels: mosaics, fixed intensity levels and colour maps.

Pure numpy (no Qt), so the pixel arithmetic is tested without a window and the views only wrap
the result in a ``QImage`` (see ``picture.py``). Every function maps values with levels the
caller chooses and keeps, never with the frame's own min and max: with levels that stay put,
two frames of a training run can be compared by eye.
"""

from __future__ import annotations

import math

import numpy as np

# colour of the padding between tiles and of missing values (NaN): a neutral grey that reads as
# "no data" in both the grey and the diverging maps, whose middle is white
PAD_RGB = (150, 155, 163)


# ----------------------------------------------------------------------------------------------
# layout
# ----------------------------------------------------------------------------------------------
def grid_size(count: int, nrow: int) -> tuple[int, int]:
    """(rows, columns) of ``count`` tiles laid out ``nrow`` to a row."""
    columns = max(1, min(int(nrow), int(count))) if count else 1
    return max(1, -(-int(count) // columns)), columns


def tile(images: np.ndarray, nrow: int, pad: int = 1, pad_value=np.nan) -> np.ndarray:
    """Images (N, C, H, W) as one mosaic, ``nrow`` images to a row, in reading order.

    Like torchvision's ``make_grid``, ``pad`` pixels of ``pad_value`` (a number, or one per
    channel) separate the tiles and frame the whole mosaic; the float default NaN lets a colour
    step paint the gaps as "no data". Empty cells of a last, partial row are padding too.
    C == 1 gives (H', W'); any other C gives (H', W', C). uint8 images stay uint8 (pixels ready
    to show), anything else becomes float32. Built channel-first (each tile one block copy) and
    turned channel-last once: 100 RGB images of 64 x 64 take about a millisecond."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"tile wants (N, C, H, W) images, not shape {images.shape}")
    n, c, h, w = images.shape
    dtype = np.uint8 if images.dtype == np.uint8 else np.float32
    rows, columns = grid_size(n, nrow)
    out = np.empty((c, rows * (h + pad) + pad, columns * (w + pad) + pad), dtype)
    out[...] = np.broadcast_to(np.asarray(pad_value, dtype).reshape(-1, 1, 1), (c, 1, 1))
    for i in range(n):
        r, k = divmod(i, columns)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        out[:, top: top + h, left: left + w] = images[i]
    return out[0] if c == 1 else np.ascontiguousarray(np.moveaxis(out, 0, -1))


def near_square_columns(count: int, height: int, width: int, aspect: float = 1.0) -> int:
    """How many tiles of ``height`` x ``width`` to put in a row so that the mosaic's
    width / height comes closest to ``aspect`` (1: square), with a penalty for empty cells in
    the last row (a ragged last row reads as missing data)."""
    if count <= 1:
        return 1
    best, best_score = 1, math.inf
    for columns in range(1, count + 1):
        rows = -(-count // columns)
        shape = (columns * width) / max(rows * height, 1)
        score = abs(math.log(shape / aspect)) + 0.5 * (rows * columns - count) / count
        if score < best_score - 1e-9:
            best, best_score = columns, score
    return best


def channels_grid(maps: np.ndarray, pad: int = 1, aspect: float = 1.0,
                  columns: int | None = None) -> tuple[np.ndarray, int]:
    """Feature maps (C, H, W) as one (H', W') mosaic, a tile per channel in a near-square
    layout (or ``columns`` to a row); returns the mosaic and its column count. Gaps are NaN."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f"channels_grid wants (C, H, W) maps, not shape {maps.shape}")
    c, h, w = maps.shape
    if columns is None:
        columns = near_square_columns(c, h, w, aspect)
    return tile(maps[:, None], columns, pad=pad), columns


def strip(values: np.ndarray, width: int = 64) -> np.ndarray:
    """A vector as a (rows, width) heat strip in reading order; a short vector is one row.
    Cells past the end are NaN."""
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    width = max(1, min(width, len(values)))
    rows = max(1, -(-len(values) // width))
    out = np.full(rows * width, np.nan, np.float32)
    out[: len(values)] = values
    return out.reshape(rows, width)


# ----------------------------------------------------------------------------------------------
# levels
# ----------------------------------------------------------------------------------------------
def round_up(value: float, digits: int = 2) -> float:
    """``value`` rounded away from zero to ``digits`` significant digits (0.8372 -> 0.84), so a
    level reads cleanly in a caption and changes only when the data really grows."""
    if not math.isfinite(value) or value == 0:
        return 0.0
    scale = 10.0 ** (math.floor(math.log10(abs(value))) - digits + 1)
    return math.copysign(math.ceil(abs(value) / scale - 1e-9) * scale, value)


def activation_levels(data_range, held=None) -> tuple[float, float]:
    """Fixed levels for activations whose values lie in ``data_range`` (lo, hi).

    Data with negative values gets symmetric levels -m .. m (m = max |value|, rounded up), so 0
    is always the middle colour; non-negative data (after a ReLU, say) gets 0 .. max. ``held``,
    the levels shown so far, are kept unless the new data falls outside them (then they grow to
    fit, never shrink), so successive frames share one scale."""
    lo, hi = (float(v) for v in data_range)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 0.0
    signed = lo < 0 or (held is not None and held[0] < 0)
    top = round_up(max(abs(lo), abs(hi))) if signed else round_up(hi)
    top = top or 1.0  # all zeros: any non-empty scale shows them as its bottom (or middle)
    levels = (-top, top) if signed else (0.0, top)
    if held is not None and held[0] <= lo and hi <= held[1] and (held[0] < 0) == signed:
        return held
    if held is not None:  # grow, never shrink
        levels = (min(levels[0], held[0]), max(levels[1], held[1]))
        if signed:
            top = max(-levels[0], levels[1])
            levels = (-top, top)
    return levels


# ----------------------------------------------------------------------------------------------
# pixels
# ----------------------------------------------------------------------------------------------
def to_uint8(values: np.ndarray, levels) -> np.ndarray:
    """``values`` mapped linearly so ``levels`` (lo, hi) become 0 and 255 (rounded half up),
    clipped outside them. NaN becomes 0 (callers that must show it apart use ``colourize``).
    Four in-place passes over one float32 copy: about 2 ms for a million values."""
    lo, hi = (float(v) for v in levels)
    k = 255.0 / (hi - lo if hi > lo else 1.0)
    scaled = np.multiply(values, np.float32(k), dtype=np.float32)
    scaled += np.float32(0.5 - lo * k)
    np.fmax(scaled, 0.0, out=scaled)  # fmax drops NaN in favour of 0
    np.minimum(scaled, 255.0, out=scaled)
    return scaled.astype(np.uint8)


def _ramp(stops) -> np.ndarray:
    """A (256, 3) uint8 lookup table through colour ``stops`` [(position 0..1, (r, g, b))]."""
    xs = np.linspace(0.0, 1.0, 256)
    positions = [p for p, _ in stops]
    lut = np.stack([np.interp(xs, positions, [c[k] for _, c in stops]) for k in range(3)], axis=1)
    return np.rint(lut).astype(np.uint8)


# blue (negative) - white (zero) - red (positive), after ColorBrewer's RdBu: zero is the
# background-like middle, so only what the unit responds to stands out
DIVERGING = _ramp([(0.0, (33, 72, 140)), (0.25, (103, 160, 205)), (0.5, (250, 250, 250)),
                   (0.75, (226, 120, 96)), (1.0, (150, 20, 40))])
# white (zero) to dark red: the positive half of DIVERGING, for non-negative activations
SEQUENTIAL = _ramp([(0.0, (250, 250, 250)), (0.5, (226, 120, 96)), (1.0, (110, 10, 30))])
GREY = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)


def colour_map_for(levels) -> np.ndarray:
    """The diverging map for signed levels, the sequential one for 0 .. hi."""
    return DIVERGING if levels[0] < 0 else SEQUENTIAL


def colourize(values: np.ndarray, levels, lut: np.ndarray = GREY,
              missing=PAD_RGB) -> np.ndarray:
    """2-D ``values`` as (H, W, 3) uint8 RGB through ``lut`` with fixed ``levels``; NaN (tile
    gaps, empty cells) in the ``missing`` colour."""
    values = np.asarray(values, dtype=np.float32)
    rgb = lut[to_uint8(values, levels)]
    nan = np.isnan(values)
    if nan.any():
        rgb[nan] = missing
    return np.ascontiguousarray(rgb)


def rgb_grid(images: np.ndarray, nrow: int, levels, gap=PAD_RGB, pad: int = 1) -> np.ndarray:
    """Images (N, C, H, W) as one (H', W', 3) uint8 mosaic with fixed ``levels``: three
    channels are colour, one is grey (any other count shows its first channel in grey). Pixels
    are converted before tiling, so the ``gap`` colour needs no NaN search; NaN values show as
    the bottom level."""
    images = np.asarray(images, dtype=np.float32)
    n, c, h, w = images.shape
    pixels = to_uint8(images if c == 3 else images[:, :1], levels)
    if c != 3:
        pixels = np.broadcast_to(pixels, (n, 3, h, w))
    return tile(pixels, nrow, pad, np.asarray(gap, np.uint8))


def format_level(value: float) -> str:
    """A level for a caption: up to 3 significant digits, a real minus sign."""
    text = f"{value:.3g}"
    if "e" not in text and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace("-", "\u2212")
