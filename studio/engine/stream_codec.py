"""How Studio's messages cross a byte stream (an SSH connection, a run's event file): the one
place that says what may be read back from another machine.

A message is a frame: an 8-byte big-endian length, then a pickle (protocol 4) of the message.
Reading uses ``Unpickler.find_class`` restricted to ``ALLOWED``: Studio's event classes
(``events.KINDS``), numpy arrays, dtypes and scalars, and a few builtin containers. Anything
else (a class, a function, ``os.system``) is refused before it is looked up, so a remote
machine can send data, never code: a frame naming another global raises ``StreamError``. An
event class this side does not declare (a newer Studio there) is read as an ``UnknownEvent``,
its fields only, and skipped by the session.
The job and the commands going the other way are builtins only (strings, numbers, lists,
dicts, tuples).
"""

from __future__ import annotations

import io
import os
import pickle
import struct

from studio.engine import events

PROTOCOL = 4  # arrays in-band (protocol 5's out-of-band buffers need a second channel)
HEADER = struct.Struct(">Q")
MAX_FRAME = 1 << 34  # 16 GiB: a length beyond this is a corrupt stream, not a checkpoint

_NUMPY = ("numpy._core.multiarray", "numpy.core.multiarray")  # numpy 2 and 1 name it apart
ALLOWED = frozenset(
    {("studio.engine.events", kind.__name__) for kind in events.KINDS}
    | {(module, name) for module in _NUMPY for name in ("_reconstruct", "scalar")}
    | {("numpy", "ndarray"), ("numpy", "dtype")}
    | {("builtins", name) for name in ("set", "frozenset", "complex", "bytearray")})


class StreamError(Exception):
    """The stream holds something that is not one of Studio's messages."""


class UnknownEvent:
    """An event of a kind this Studio does not declare, from a newer Studio on the other side:
    read as its fields only (no code of its class runs), for the reader to skip."""

    type = "unknown"


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in ALLOWED:
            return super().find_class(module, name)
        if module == "studio.engine.events" and name.isidentifier() and name[:1].isupper():
            return UnknownEvent
        raise StreamError(f"refused {module}.{name}: not one of Studio's messages")


def encode(message) -> bytes:
    """``message`` as one frame."""
    body = pickle.dumps(message, protocol=PROTOCOL)
    return HEADER.pack(len(body)) + body


def decode(body: bytes):
    """A frame's body back as the message, with only ``ALLOWED`` globals."""
    try:
        return _Restricted(io.BytesIO(body)).load()
    except StreamError:
        raise
    except Exception as err:  # noqa: BLE001 - a truncated or foreign body is the same answer
        raise StreamError(f"an unreadable message ({type(err).__name__}: {err})") from None


def frame_length(header: bytes) -> int:
    (length,) = HEADER.unpack(header)
    if length > MAX_FRAME:
        raise StreamError(f"a message of {length} bytes: not a Studio stream")
    return length


class FrameReader:
    """Messages read one by one from a file descriptor (a pipe or a socket); ``read`` raises
    EOFError at the end of the stream, also in the middle of a message."""

    def __init__(self, fd: int):
        self.fd = fd

    def _exactly(self, size: int) -> bytes:
        parts, left = [], size
        while left:
            chunk = os.read(self.fd, min(left, 1 << 20))
            if not chunk:
                raise EOFError("the stream ended")
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)

    def read(self):
        return decode(self._exactly(frame_length(self._exactly(HEADER.size))))


def write_frame(fd: int, message) -> None:
    """Write ``message`` as one frame, whole (a short write goes on where it stopped)."""
    view = memoryview(encode(message))
    while view:
        view = view[os.write(fd, view):]
