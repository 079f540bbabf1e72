"""``main()`` of ``train.py``: the command line, the training loop that prints the metrics, the
evaluation's printout, the preview images and the weights file. One text, trimmed to what the
project uses (a confusion matrix printed as aligned rows, no preview loop without previews).
"""


def main_source(shows_confusion: bool, saves_previews: bool) -> str:
    """``main()`` and the ``__main__`` guard."""
    text = MAIN
    if shows_confusion:
        text = text.replace(PRINT_EVALUATION, PRINT_EVALUATION_WITH_MATRIX)
    if not saves_previews:
        text = text.replace(SAVE_PREVIEWS, "\n")
    return "\n" + text.strip("\n") + '\n\n\nif __name__ == "__main__":\n    main()'


MAIN = '''
def main():
    planned = f"{SETTINGS['steps']} steps" if SETTINGS["steps"] else f"{SETTINGS['epochs']} epochs"
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] + " Trains the networks of model.py, prints the "
        "metrics, then writes the trained weights (weights.pt) and any preview images to --out.",
        epilog=f"Without --epochs or --steps it trains for {planned}, as set in Studio.")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int, metavar="N",
                        help="train for N passes over the training data")
    length.add_argument("--steps", type=int, metavar="N",
                        help="train for N optimizer steps (batches) instead of whole epochs")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="where to train: cpu, cuda, cuda:1, mps (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=SETTINGS["seed"],
                        help="seed of the initial weights and batch order (default: %(default)s)")
    parser.add_argument("--data-dir", default=str(DATA_DIR), metavar="FOLDER",
                        help="folder holding the data files (default: data/ beside this script)")
    parser.add_argument("--out", default=".", metavar="FOLDER",
                        help="folder for weights.pt and preview images (default: this folder)")
    parser.add_argument("--weights", metavar="FILE",
                        help="start from these weights (a weights.pt written by this script, or "
                        "weights.pt or weights.safetensors exported from Studio)")
    parser.add_argument("--sync-batchnorm", action="store_true",
                        help="under torchrun: BatchNorm statistics over the whole batch, not each "
                        "process's share (SyncBatchNorm; GPUs only)")
    args = parser.parse_args()
    training = Training(args.device, args.seed, args.data_dir, args.steps, args.epochs,
                        args.sync_batchnorm)
    if args.weights:
        if args.weights.endswith(".safetensors"):  # needs the safetensors package
            from safetensors.torch import load_file

            saved = load_file(args.weights, device=str(args.device))
        else:
            saved = torch.load(args.weights, map_location=args.device, weights_only=True)
        for net, module in training.networks.items():
            module.load_state_dict({k[len(net) + 1:]: v for k, v in saved.items()
                                    if k.startswith(net + ".")})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    step, start = 0, time.time()
    while step < training.total_steps:
        for batch in training.batches:
            metrics = training.train_step(batch)
            step += 1
            if step % SETTINGS["log_every"] == 0 or step == training.total_steps:
                metrics = training.parallel.mean(metrics)  # under torchrun: every rank's share
                shown = " ".join(f"{k} {v.item():.4f}" for k, v in metrics.items())
                if training.parallel.rank == 0:
                    print(f"step {step}/{training.total_steps} {shown} ({time.time() - start:.1f} s)")
            if step >= training.total_steps:
                break
    if not training.parallel.finish(training):
        return  # rank 0 evaluates and writes alone
    for name, result in training.evaluate().items():
        print(f"{name}: {result:.4f}")
    for name, images in training.previews().items():
        save_image_grid(images, out / f"{name}.png", **PREVIEWS[name])
    weights = {f"{net}.{k}": v for net, m in training.networks.items()
               for k, v in m.state_dict().items()}
    torch.save(weights, out / "weights.pt")
'''


PRINT_EVALUATION = """
    for name, result in training.evaluate().items():
        print(f"{name}: {result:.4f}")
"""
PRINT_EVALUATION_WITH_MATRIX = """
    for name, result in training.evaluate().items():
        if isinstance(result, float):
            print(f"{name}: {result:.4f}")
            continue
        print(f"{name} (a row per true class, a column per predicted class):")
        width = len(str(max(max(row) for row in result)))
        for row in result:
            print("   " + " ".join(f"{count:>{width}}" for count in row))
"""
SAVE_PREVIEWS = """
    for name, images in training.previews().items():
        save_image_grid(images, out / f"{name}.png", **PREVIEWS[name])
"""
