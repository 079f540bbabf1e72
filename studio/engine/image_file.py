"""One picture file read as pixels, without Qt or torch: ``read_image(path)`` gives uint8 (H, W, C),
C 1 (grey), 3 (RGB) or 4 (RGBA), for ``studio predict`` and the app's Predict on Image.

PNG (every colour type and bit depth, not interlaced) and BMP (uncompressed 1, 4, 8, 24 and 32
bits) are decoded here with numpy and zlib, so Studio needs no imaging library for them; other
formats (JPEG, GIF, WebP ...) and interlaced PNGs go through Pillow when it is installed. Anything
that is not a readable picture raises ``ImageFileError`` naming the file.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel


class ImageFileError(ValueError):
    """A file that cannot be read as a picture; the message names the file."""


def is_image_path(path) -> bool:
    """Whether the file's name says it is a picture (what a drop onto the window accepts)."""
    return Path(path).suffix.lower() in SUFFIXES


def read_image(path) -> np.ndarray:
    """The file's pixels as uint8 (H, W, C) with C 1, 3 or 4."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageFileError(f"{path}: no such file") from None
    except OSError as err:
        raise ImageFileError(f"{path}: cannot be read ({err.strerror or err})") from None
    try:
        if data.startswith(PNG_SIGNATURE):
            pixels = _decode_png(data)
        elif data.startswith(b"BM"):
            pixels = _decode_bmp(data)
        elif path.suffix.lower() in (".png", ".bmp"):
            raise ImageFileError(f"{path}: not a {path.suffix[1:].upper()} image (its first "
                                 "bytes are not the format's signature)")
        else:
            pixels = None
    except (ValueError, struct.error, zlib.error, IndexError) as err:
        raise ImageFileError(f"{path}: not a readable image ({err})") from None
    if pixels is None:
        pixels = _with_pillow(path, data)
    if pixels.size == 0:
        raise ImageFileError(f"{path}: the image has no pixels")
    return pixels


def _with_pillow(path: Path, data: bytes) -> np.ndarray:
    """Formats this module does not decode itself, through Pillow if it is there."""
    try:
        from PIL import Image
    except ImportError:
        what = "an interlaced PNG" if data.startswith(PNG_SIGNATURE) else \
            "not a PNG or BMP file"
        raise ImageFileError(f"{path}: {what}; Studio reads PNG and BMP itself, other formats "
                             "need Pillow (pip install pillow)") from None
    try:
        with Image.open(path) as image:
            image.load()
            mode = {"1": "L", "L": "L", "LA": "RGBA", "RGB": "RGB", "RGBA": "RGBA"}.get(
                image.mode, "RGBA" if "A" in image.getbands() else "RGB")
            pixels = np.asarray(image.convert(mode), dtype=np.uint8)
    except Exception as err:  # noqa: BLE001 - any decoder failure is this file's fault
        raise ImageFileError(f"{path}: not a readable image ({type(err).__name__}: {err})") \
            from None
    return pixels[:, :, None] if pixels.ndim == 2 else pixels


# PNG -------------------------------------------------------------------------------------------

def _chunks(data: bytes):
    at = len(PNG_SIGNATURE)
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if len(body) != length:
            raise ValueError(f"the {kind.decode('latin-1')} chunk is cut short")
        yield kind, body
        at += 12 + length
        if kind == b"IEND":
            return
    raise ValueError("the file ends before its IEND chunk")


def _decode_png(data: bytes) -> np.ndarray | None:
    header, palette, transparency, compressed = None, None, None, []
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = np.frombuffer(body, dtype=np.uint8).reshape(-1, 3)
        elif kind == b"tRNS":
            transparency = body
        elif kind == b"IDAT":
            compressed.append(body)
    if header is None:
        raise ValueError("no IHDR chunk")
    width, height, depth, colour, _, _, interlace = header
    if colour not in _CHANNELS or depth not in (1, 2, 4, 8, 16) or width == 0 or height == 0:
        raise ValueError(f"unsupported PNG header (colour type {colour}, bit depth {depth}, "
                         f"{width}x{height})")
    if interlace:
        return None  # Adam7: left to Pillow
    samples = _CHANNELS[colour]
    bits = depth * samples
    stride = (width * bits + 7) // 8
    raw = np.frombuffer(zlib.decompress(b"".join(compressed)), dtype=np.uint8)
    if raw.size < height * (stride + 1):
        raise ValueError("the image data are cut short")
    rows = _unfilter(raw[:height * (stride + 1)].reshape(height, stride + 1), max(1, bits // 8))
    if depth == 16:
        values = rows.view(">u2").reshape(height, width, samples)
        pixels = (values.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    elif depth == 8:
        pixels = rows.reshape(height, width, samples)
    else:
        unpacked = np.unpackbits(rows, axis=1).reshape(height, -1, depth)[:, :width]
        weights = (1 << np.arange(depth - 1, -1, -1)).astype(np.uint8)
        values = (unpacked * weights).sum(axis=2).astype(np.uint8)
        pixels = values[:, :, None] if colour == 3 else (values * (255 // ((1 << depth) - 1)))[
            :, :, None].astype(np.uint8)
    if colour == 3:
        return _from_palette(pixels[:, :, 0], palette, transparency)
    if colour == 4:  # grey with alpha: as RGBA, so the alpha can be dropped like a colour's
        return np.concatenate([np.repeat(pixels[:, :, :1], 3, axis=2), pixels[:, :, 1:]], axis=2)
    return np.ascontiguousarray(pixels)


def _from_palette(indices: np.ndarray, palette, transparency) -> np.ndarray:
    if palette is None:
        raise ValueError("a palette image without a PLTE chunk")
    if int(indices.max()) >= len(palette):
        raise ValueError("a pixel names a colour the palette lacks")
    rgb = palette[indices]
    if transparency:
        alpha = np.full(len(palette), 255, dtype=np.uint8)
        given = np.frombuffer(transparency, dtype=np.uint8)[:len(palette)]
        alpha[:len(given)] = given
        return np.concatenate([rgb, alpha[indices][:, :, None]], axis=2)
    return rgb


def _unfilter(rows: np.ndarray, bpp: int) -> np.ndarray:
    """Undo PNG's per-row filters (none, sub, up, average, Paeth)."""
    height, stride = rows.shape[0], rows.shape[1] - 1
    out = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        if kind == 0:
            current = line
        elif kind == 2:
            current = (line + previous) & 0xFF
        elif kind in (1, 3, 4):
            current = _unfilter_left(kind, line, previous, bpp)
        else:
            raise ValueError(f"unknown filter type {kind} in row {y}")
        out[y] = current
        previous = current
    return out


def _unfilter_left(kind: int, line, previous, bpp: int):
    """The filters that depend on the pixel to the left, byte by byte (a pure-Python loop over
    one row; the pictures one predicts on are small)."""
    current = line.tolist()
    above = previous.tolist()
    for i in range(len(current)):
        left = current[i - bpp] if i >= bpp else 0
        if kind == 1:
            current[i] = (current[i] + left) & 0xFF
        elif kind == 3:
            current[i] = (current[i] + ((left + above[i]) >> 1)) & 0xFF
        else:
            corner = above[i - bpp] if i >= bpp else 0
            estimate = left + above[i] - corner
            pa, pb, pc = abs(estimate - left), abs(estimate - above[i]), abs(estimate - corner)
            best = left if pa <= pb and pa <= pc else above[i] if pb <= pc else corner
            current[i] = (current[i] + best) & 0xFF
    return np.array(current, dtype=np.int32)


# BMP -------------------------------------------------------------------------------------------

def _decode_bmp(data: bytes) -> np.ndarray | None:
    offset, = struct.unpack_from("<I", data, 10)
    header_size, = struct.unpack_from("<I", data, 14)
    if header_size < 40:
        return None  # the old OS/2 header: left to Pillow
    width, height, _, bits, compression = struct.unpack_from("<iiHHI", data, 18)
    if compression not in (0, 3) or bits not in (1, 4, 8, 24, 32) or width <= 0 or height == 0:
        return None  # run-length encoded and the rarer layouts: left to Pillow
    if compression == 3 and bits != 32:
        return None
    rows, top_down = abs(height), height < 0
    stride = ((width * bits + 31) // 32) * 4
    body = np.frombuffer(data, dtype=np.uint8, count=rows * stride, offset=offset)
    lines = body.reshape(rows, stride)
    if not top_down:
        lines = lines[::-1]
    if bits >= 24:
        pixels = lines[:, :width * (bits // 8)].reshape(rows, width, bits // 8)
        rgb = pixels[:, :, 2::-1]  # stored blue, green, red
        return np.ascontiguousarray(rgb)
    colours, = struct.unpack_from("<I", data, 46)
    count = colours or (1 << bits)
    palette = np.frombuffer(data, dtype=np.uint8, count=count * 4,
                            offset=14 + header_size).reshape(count, 4)[:, 2::-1]
    indices = np.unpackbits(lines, axis=1).reshape(rows, -1, bits)[:, :width] if bits < 8 \
        else lines[:, :width, None]
    if bits < 8:
        weights = (1 << np.arange(bits - 1, -1, -1)).astype(np.uint8)
        indices = (indices * weights).sum(axis=2, keepdims=True).astype(np.uint8)
    if int(indices.max()) >= count:
        raise ValueError("a pixel names a colour the palette lacks")
    return np.ascontiguousarray(palette[indices[:, :, 0]])
