"""Train the generative examples and compose the pictures the README shows.

    python scripts/make_readme_images.py     # writes resources/readme/*.png (a minute or two)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.core.fileformat import load  # noqa: E402
from studio.engine.runner import RunConfig  # noqa: E402
from studio.engine.trainer import train_project  # noqa: E402

OUT = ROOT / "resources" / "readme"


def train(name: str, folder: Path) -> Path:
    project = load(ROOT / "examples" / f"{name}.studio")
    samples = folder / name
    train_project(project, RunConfig(samples_dir=samples), progress=False)
    return samples


def labelled(images: list[tuple[str, Image.Image]], scale: int, path: Path) -> None:
    """Images side by side, each scaled up (nearest) with a caption underneath."""
    pad, caption = 12, 22
    scaled = [(t, im.convert("RGB").resize((im.width * scale, im.height * scale),
                                            Image.NEAREST)) for t, im in images]
    width = sum(im.width for _, im in scaled) + pad * (len(scaled) + 1)
    height = max(im.height for _, im in scaled) + caption + 2 * pad
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    x = pad
    for text, im in scaled:
        canvas.paste(im, (x, pad))
        draw.text((x, pad + im.height + 5), text, fill=(30, 30, 30))
        x += im.width + pad
    canvas.save(path)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        siren = train("siren", tmp)
        original = Image.open(ROOT / "resources" / "data" / "siren.png").resize((64, 64),
                                                                               Image.BILINEAR)
        labelled([("bundled image, 64x64", original),
                  ("SIREN (sine), 600 steps", Image.open(siren / "fit_siren.png")),
                  ("ReLU MLP, same size", Image.open(siren / "fit_relumlp.png"))], 3,
                 OUT / "siren.png")
        gan = train("dcgan", tmp)
        cvae = train("cvae", tmp)
        labelled([("DCGAN samples (fixed noise)", Image.open(gan / "samples.png")),
                  ("CVAE: one row per requested digit", Image.open(cvae / "samples.png"))], 2,
                 OUT / "generative.png")
    for p in sorted(OUT.glob("*.png")):
        print(f"wrote {p.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
