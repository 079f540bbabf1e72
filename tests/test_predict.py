"""Predict on your own pictures: the PNG and BMP reader (against Pillow), bad files named, and
``studio predict`` with a briefly trained LeNet on digits drawn as PNG files."""

import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from studio.cli import main
from studio.engine.image_file import PNG_SIGNATURE, ImageFileError, read_image
from studio.engine.library.data import _write_png
from studio.engine.loader import RESOURCES_DATA
from studio.engine.prediction import refusal
from tests.helpers import EXAMPLES, mlp_on_moons

LENET = str(EXAMPLES / "lenet.studio")
RNG = np.random.default_rng(7)
RGB = RNG.integers(0, 256, (13, 17, 3), dtype=np.uint8)
GREY = RNG.integers(0, 256, (13, 17), dtype=np.uint8)
RGBA = RNG.integers(0, 256, (13, 17, 4), dtype=np.uint8)


@pytest.mark.parametrize("make, expected", [
    (lambda: Image.fromarray(RGB), lambda im: RGB),
    (lambda: Image.fromarray(GREY), lambda im: GREY[:, :, None]),
    (lambda: Image.fromarray(RGBA), lambda im: RGBA),
    (lambda: Image.fromarray(np.stack([GREY, GREY[::-1]], 2), "LA"),
     lambda im: np.stack([GREY, GREY, GREY, GREY[::-1]], 2)),
    (lambda: Image.fromarray(RGB).quantize(7), lambda im: np.asarray(im.convert("RGB"))),
    (lambda: Image.fromarray(GREY > 128), lambda im: np.asarray(im.convert("L"))[:, :, None]),
    (lambda: Image.fromarray(GREY.astype(np.uint16) * 257), lambda im: GREY[:, :, None]),
], ids=["rgb", "grey", "rgba", "grey-alpha", "palette", "1-bit", "16-bit"])
@pytest.mark.parametrize("suffix", [".png", ".bmp"])
def test_pictures_read_as_pillow_reads_them(tmp_path, make, expected, suffix):
    image = make()
    if suffix == ".bmp":
        if image.mode in ("LA", "RGBA", "I;16", "I"):
            pytest.skip("BMP holds no alpha or 16-bit grey")
        want = np.asarray(image.convert("RGB"))
    else:
        want = expected(image)
    path = tmp_path / f"picture{suffix}"
    image.save(path)
    got = read_image(path)
    assert got.dtype == np.uint8 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", [0, 1, 2, 3, 4])
def test_every_png_row_filter_is_undone(tmp_path, kind):
    """Rows written with each of PNG's filters (none, sub, up, average, Paeth) read back."""
    pixels = RGB.astype(np.int32)
    height, width, bpp = pixels.shape[0], pixels.shape[1], 3
    rows = pixels.reshape(height, -1)
    out = bytearray()
    for y in range(height):
        line, above = rows[y], rows[y - 1] if y else np.zeros_like(rows[0])
        left = np.concatenate([np.zeros(bpp, np.int32), line[:-bpp]])
        corner = np.concatenate([np.zeros(bpp, np.int32), above[:-bpp]])
        if kind == 4:
            estimate = left + above - corner
            pa, pb, pc = abs(estimate - left), abs(estimate - above), abs(estimate - corner)
            guess = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, above, corner))
        else:
            guess = [0 * line, left, above, (left + above) // 2][kind]
        out += bytes([kind]) + ((line - guess) & 0xFF).astype(np.uint8).tobytes()

    def chunk(name, body):
        return struct.pack(">I", len(body)) + name + body + struct.pack(
            ">I", zlib.crc32(name + body))

    png = PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(bytes(out))) + chunk(b"IEND", b"")
    (tmp_path / "f.png").write_bytes(png)
    np.testing.assert_array_equal(read_image(tmp_path / "f.png"), RGB)


def test_a_bad_file_is_named(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(ImageFileError, match="notes.png: not a PNG image"):
        read_image(text)
    cut = tmp_path / "cut.png"
    Image.fromarray(RGB).save(cut)
    cut.write_bytes(cut.read_bytes()[:60])
    with pytest.raises(ImageFileError, match="cut.png: not a readable image"):
        read_image(cut)
    with pytest.raises(ImageFileError, match="missing.png: no such file"):
        read_image(tmp_path / "missing.png")


def test_only_a_classifier_of_pictures_can_predict():
    assert "gives no pictures" in refusal(mlp_on_moons())


def _digit_pngs(folder) -> dict:
    """Four of the digits drawn large, in colour (the reader converts them to grey and
    shrinks them to LeNet's 32 pixels): file -> its true class."""
    with np.load(RESOURCES_DATA / "digits.npz") as archive:
        images, labels = archive["images"], archive["labels"]
    out = {}
    for k in range(4):
        big = np.kron((images[k] / 16 * 255).astype(np.uint8), np.ones((6, 6), np.uint8))
        path = folder / f"digit{k}.png"
        _write_png(path, np.stack([big] * 3, axis=2))
        out[str(path)] = str(labels[k])
    return out


@pytest.mark.slow
def test_studio_predict_names_the_digits_drawn(tmp_path, capsys):
    checkpoint = tmp_path / "lenet.ckpt"
    assert main(["train", LENET, "--steps", "120", "--checkpoint", str(checkpoint), "--quiet",
                 "--no-record"]) == 0
    digits = _digit_pngs(tmp_path)
    capsys.readouterr()
    assert main(["predict", LENET, "--weights", str(checkpoint), *digits, "--top", "3",
                 "--json"]) == 0
    answers = json.loads(capsys.readouterr().out)
    assert [a["file"] for a in answers] == list(digits)
    right = 0
    for answer in answers:
        probabilities = [c["probability"] for c in answer["classes"]]
        assert len(probabilities) == 3 and probabilities == sorted(probabilities, reverse=True)
        assert 0 < sum(probabilities) <= 1 + 1e-6
        right += answer["classes"][0]["name"] == digits[answer["file"]]
    assert right >= 3, answers

    bad = tmp_path / "holiday.jpg"
    bad.write_bytes(b"\xff\xd8 not really a JPEG")
    assert main(["predict", LENET, "--weights", str(checkpoint), str(bad)]) == 2
    assert "holiday.jpg: not a readable image" in capsys.readouterr().err


def test_a_grey_picture_meets_a_colour_dataset_and_its_class_names(tmp_path):
    """In this process: LeNet on the colour shapes (4 named classes, 10 scores) with weights
    saved from a fresh build; a grey PNG becomes 3 channels of 32 x 32 in the dataset's range,
    the classes are named as the dataset names them, and weights that do not fit are refused."""
    import torch

    from studio.engine.events import Error, Finished, Prediction
    from studio.engine.prediction import PredictJob
    from studio.engine.prediction_run import run_prediction
    from studio.engine.runner import RunConfig, Runner

    project = load_lenet_on_shapes()
    runner = Runner(project, RunConfig(device="cpu"), lambda e: None)
    runner.build()
    weights = tmp_path / "w.pt"
    torch.save({f"{net}.{k}": v for net, m in runner.training.networks.items()
                for k, v in m.state_dict().items()}, weights)
    picture = tmp_path / "grey.png"
    _write_png(picture, GREY)
    events = []
    job = PredictJob.of_files(weights, [picture], top=10, watch=("training/conv1",))
    assert run_prediction(project, RunConfig(device="cpu"), job, events.append) == "finished"
    (answer,) = [e for e in events if isinstance(e, Prediction)]
    assert answer.image.shape == (3, 32, 32) and answer.value_range[0] >= -1.0
    assert np.allclose(answer.image[0], answer.image[1])  # grey repeated into each channel
    assert {"circle", "square", "triangle", "cross"} <= set(answer.classes)
    assert len(answer.classes) == 10 and abs(sum(answer.probabilities) - 1) < 1e-5
    assert answer.maps["training/conv1"]["kind"] == "maps"
    assert isinstance(events[-1], Finished) and events[-1].status == "finished"

    other = load_lenet_on_shapes(fc1=100)
    events = []
    assert run_prediction(other, RunConfig(device="cpu"), job, events.append) == "failed"
    (error,) = [e for e in events if isinstance(e, Error)]
    assert error.kind == "weights" and "w.pt does not fit the project" in error.message


def load_lenet_on_shapes(fc1: int = 120):
    from studio.core.fileformat import load

    project = load(LENET)
    data = next(n for n in project.training.nodes.values() if n.block == "Dataset")
    data.params.update(dataset="shapes", channels=3, count=64, range="-1..1")
    project.training.nodes["fc1"].params["out_features"] = fc1
    return project
