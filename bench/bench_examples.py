"""How well the examples learn, trained in full exactly as `studio train` would.

- LeNet: held-out accuracy on digits and training time.
- DCGAN and CVAE: their samples judged by the trained LeNet: how confidently it recognises them
  (mean top probability) and how evenly the classes come out (entropy of the predicted classes
  over log 10; 1.0 is perfectly even). For the CVAE also whether each digit is the one asked for.
- SIREN against a ReLU MLP of the same size fitting the bundled image: PSNR in dB.

    python bench/bench_examples.py [--quick]
"""

from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn.functional as F
from common import ROOT, set_threads

from studio.core.fileformat import load
from studio.engine.codegen import generate
from studio.engine.loader import RESOURCES_DATA
from studio.engine.loader import load as load_code


def train(name: str, steps: int | None = None, epochs: int | None = None, seed: int = 0):
    module = load_code(generate(load(ROOT / "examples" / f"{name}.studio")))
    training = module.Training("cpu", seed, RESOURCES_DATA, steps=steps, epochs=epochs)
    start, step = time.perf_counter(), 0
    metrics = {}
    while step < training.total_steps:
        for batch in training.batches:
            metrics = training.train_step(batch)
            step += 1
            if step >= training.total_steps:
                break
    seconds = time.perf_counter() - start
    return module, training, seconds, {k: float(v) for k, v in metrics.items()}


def judge(classifier, images01: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """LeNet's class probabilities for images in [0, 1] of any size (resized to 32x32 as the
    digits dataset resizes its 8x8 images)."""
    x = F.interpolate(images01.clamp(0, 1), size=(32, 32), mode="bilinear", align_corners=False)
    classifier.eval()
    with torch.no_grad():
        probs = torch.softmax(classifier(x), dim=1)
    return probs.max(1).values, probs.argmax(1)


def evenness(pred: torch.Tensor) -> float:
    counts = torch.bincount(pred, minlength=10).float()
    p = counts / counts.sum()
    h = -(p[p > 0] * p[p > 0].log()).sum().item()
    return h / math.log(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    args = parser.parse_args()
    quick = args.quick
    threads = set_threads()
    print(f"CPU, {threads} threads, torch {torch.__version__}")

    _, lenet, seconds, _ = train("lenet", epochs=2 if quick else None)
    result = lenet.evaluate()
    print(f"LeNet: held-out accuracy {result['test_accuracy']:.4f} after {lenet.total_steps} "
          f"steps ({seconds:.1f} s)")
    classifier = lenet.lenet

    real_conf, real_pred = judge(classifier, lenet.data.test[0])
    print(f"  reference, real held-out digits: confidence {real_conf.mean():.3f}, evenness "
          f"{evenness(real_pred):.3f}")

    _, gan, seconds, metrics = train("dcgan", steps=100 if quick else None)
    gan.set_train(False)
    with torch.no_grad():
        z = torch.randn(1000, 64, generator=torch.Generator().manual_seed(7))
        fake = gan.generator(z)
    conf, pred = judge(classifier, (fake + 1) / 2)
    print(f"DCGAN ({gan.total_steps} steps, {seconds:.1f} s): LeNet confidence {conf.mean():.3f}, "
          f"share judged with > 0.9 confidence {(conf > 0.9).float().mean():.3f}, evenness "
          f"{evenness(pred):.3f}")

    _, cvae, seconds, _ = train("cvae", steps=100 if quick else None)
    cvae.set_train(False)
    wanted = torch.arange(10).repeat_interleave(100)
    with torch.no_grad():
        z = torch.randn(len(wanted), 16, generator=torch.Generator().manual_seed(7))
        images = cvae.decoder(z, F.one_hot(wanted, 10).float())
    conf, pred = judge(classifier, images)
    print(f"CVAE ({cvae.total_steps} steps, {seconds:.1f} s): LeNet reads the requested digit in "
          f"{(pred == wanted).float().mean():.3f} of samples, confidence {conf.mean():.3f}, "
          f"evenness {evenness(pred):.3f}")

    _, fit, seconds, _ = train("siren", steps=60 if quick else None)
    result = fit.evaluate()
    psnr = {k: 10 * math.log10(4.0 / v) for k, v in result.items()}
    print(f"SIREN vs ReLU MLP ({fit.total_steps} steps each, {seconds:.1f} s): PSNR SIREN "
          f"{psnr['test_mse_siren']:.2f} dB, ReLU {psnr['test_mse_relumlp']:.2f} dB, "
          f"difference {psnr['test_mse_siren'] - psnr['test_mse_relumlp']:.2f} dB")


if __name__ == "__main__":
    main()
