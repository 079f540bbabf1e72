"""The three ``torchvision.ops`` functions onnx2torch names; none is called by the tests."""


def _absent(name: str):
    def call(*args, **kwargs):
        raise NotImplementedError(f"torchvision.ops.{name} is not available in this test stand-in")
    return call


nms = _absent("nms")
roi_align = _absent("roi_align")
box_convert = _absent("box_convert")
