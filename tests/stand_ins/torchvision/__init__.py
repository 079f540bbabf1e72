"""A stand-in for torchvision, put on the path only by the ONNX import tests and only when the
installed torchvision cannot be imported (this machine's wheel is a CUDA build whose C++
operators fail to register beside the CPU torch, so ``import torchvision`` raises).

onnx2torch imports ``torchvision.ops`` at load time for its NMS and RoIAlign converters alone;
the classification models these tests convert never reach them, and the functions here raise if
they ever are. Everything else the tests run (onnx, onnx2torch, torch, Studio) is the real code.
"""

from . import ops  # noqa: F401
