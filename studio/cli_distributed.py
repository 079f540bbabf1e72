"""``studio train --nproc N``: data-parallel training with DistributedDataParallel, the ranks
started by torchrun (``engine/distributed_session.py``); ``--nnodes``, ``--node-rank`` and
``--rdzv-endpoint`` are torchrun's, for several machines."""

from __future__ import annotations

from studio.cli_common import CliError
from studio.cli_common import positive as _positive
from studio.cli_common import positive_or_zero as _positive_or_zero


def add_train_options(p) -> None:
    p.add_argument("--nproc", type=_positive, metavar="N",
                   help="train with N processes on this machine (torchrun, "
                   "DistributedDataParallel; gloo on the CPU, nccl on GPUs): each trains on its "
                   "share of every batch, the batch size being the whole batch's")
    p.add_argument("--nnodes", type=_positive, default=1, metavar="M",
                   help="with --nproc: machines taking part (run the same command on each)")
    p.add_argument("--node-rank", type=_positive_or_zero, default=0, metavar="R",
                   help="with --nnodes: this machine's number, 0 to M-1 (0 shows the progress "
                   "and writes the files)")
    p.add_argument("--rdzv-endpoint", metavar="HOST:PORT",
                   help="with --nnodes: where the machines meet (node 0's address)")
    p.add_argument("--sync-batchnorm", action="store_true",
                   help="with --nproc: BatchNorm statistics over the whole batch, as in one "
                   "process, not over each process's share (SyncBatchNorm; GPUs only)")


def ranks_session(args, project, config):
    """A ``DistributedSession`` when ``--nproc`` is given, else None."""
    if not getattr(args, "nproc", None):
        if args.nnodes > 1 or args.rdzv_endpoint or args.sync_batchnorm:
            raise CliError("--nnodes, --rdzv-endpoint and --sync-batchnorm go with --nproc N")
        return None
    from studio.engine.distributed_session import DistributedSession, Launch

    if getattr(args, "remote", None):
        raise CliError("--nproc starts its ranks on this machine; it does not go with --remote")

    if args.nnodes > 1 and not args.rdzv_endpoint:
        raise CliError("several nodes (--nnodes) need --rdzv-endpoint HOST:PORT, the same on "
                       "every node")
    if args.node_rank >= args.nnodes:
        raise CliError(f"--node-rank {args.node_rank} is not below --nnodes {args.nnodes}")
    if args.sync_batchnorm:
        _check_sync_batchnorm(project, config)
    return DistributedSession(project, config, Launch(args.nproc, args.nnodes, args.node_rank,
                                                      args.rdzv_endpoint), args.sync_batchnorm)


def _check_sync_batchnorm(project, config) -> None:
    """SyncBatchNorm needs CUDA: torch has no CPU kernels for it (and gloo, the CPU backend,
    would not do), so a CPU run is refused before any rank starts."""
    from studio.engine.errors import TrainingError, resolve_device

    choice = config.device if config.device != "auto" else project.training.settings["device"]
    try:
        device = resolve_device(choice)
    except TrainingError as err:
        raise CliError(str(err)) from None
    if not device.startswith("cuda"):
        raise CliError(f"--sync-batchnorm needs GPUs (torch's SyncBatchNorm runs on CUDA "
                       f"only), and this run trains on {device}; leave it out on the CPU")
