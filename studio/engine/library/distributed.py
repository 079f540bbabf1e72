"""Data-parallel training under ``torchrun``: torch.distributed's DistributedDataParallel, one
process per rank. In a plain run (no torchrun) none of it does anything.

The batch size is the global batch: every rank draws the same global order and trains on its
share of each batch, and DDP sums the gradients each weighted by its rank's share of the batch,
so a mean loss gets the global batch's mean gradient (a last batch that does not split evenly
too) and N ranks follow the one-process run up to the order of float sums.
"""

from __future__ import annotations

import torch


def rank_device(device):
    """The device to train on; under torchrun, joins the ranks (gloo on CPU, nccl on CUDA)."""
    device = torch.device(device)
    if torch.distributed.is_torchelastic_launched():
        import os

        if device.type == "cuda" and device.index is None:  # this rank's own GPU
            device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
            torch.cuda.set_device(device)
        if not torch.distributed.is_initialized():
            torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


class DataParallel:
    """Under torchrun: the trained networks in DistributedDataParallel (``wrapped`` keeps them
    plain too) and ``training.batches`` this rank's share of each global batch (itself).

    With ``sync_batchnorm``, their BatchNorm layers become SyncBatchNorm: statistics over the
    global batch, as in a one-process run, instead of over each rank's share. torch runs it on
    GPUs only (nccl), so on the CPU (gloo) it is refused."""

    def __init__(self, training, seed, sync_batchnorm=False):
        self.rank, self.size, self.share, self.wrapped = 0, 1, 1.0, {}
        if sync_batchnorm and training.device.type != "cuda":
            raise ValueError(f"sync_batchnorm: torch's SyncBatchNorm runs on GPUs only, not on "
                             f"{training.device.type}; train on cuda, or without it")
        if not torch.distributed.is_initialized() or torch.distributed.get_world_size() == 1:
            return  # one process: its BatchNorm sees the whole batch already
        self.rank, self.size = torch.distributed.get_rank(), torch.distributed.get_world_size()
        self.batches, self.device, training.batches = training.batches, training.device, self
        for name, network in training.networks.items():
            if any(p.requires_grad for p in network.parameters()):
                if sync_batchnorm:  # in place: the layers keep their parameters and statistics
                    torch.nn.SyncBatchNorm.convert_sync_batchnorm(network)
                plain = getattr(training, name)  # compiled, when the project compiles
                ddp = torch.nn.parallel.DistributedDataParallel(network)
                ddp.register_comm_hook(self, DataParallel.weighted_mean)
                self.wrapped[name] = (plain, ddp if plain is network else torch.compile(ddp))
                setattr(training, name, self.wrapped[name][1])
        if self.rank:  # DDP gives every rank rank 0's weights; each draws its own noise
            torch.manual_seed(seed + self.rank)

    @staticmethod
    def weighted_mean(parallel, bucket):
        """DDP's gradient reduction, each rank's gradients weighted by its share of the batch."""
        work = torch.distributed.all_reduce(bucket.buffer().mul_(parallel.share), async_op=True)
        return work.get_future().then(lambda future: future.value()[0])

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        """This rank's rows of each batch (``batches.shares``: streamed data read only those),
        ``share`` its fraction of the batch; without data, every rank's own inputs, 1/size."""
        generator = getattr(self.batches, "generator", None)
        if generator is not None:  # rank 0's order (augmenting a share draws fewer numbers)
            state = generator.get_state().to(self.device)
            torch.distributed.broadcast(state, 0)
            generator.set_state(state.cpu())
        shares = getattr(self.batches, "shares", None)
        epoch = shares(self.rank, self.size) if shares else ((1 / self.size, b) for b in self.batches)
        for self.share, batch in epoch:
            yield batch

    def alone(self, training, alone=True):
        """The networks without DDP (whose forward waits for every rank) while rank 0 works
        alone, or (``alone=False``) with it again."""
        for name, (plain, ddp) in self.wrapped.items():
            setattr(training, name, plain if alone else ddp)

    def mean(self, metrics):
        """The global batch's losses, on every rank."""
        if self.size == 1:
            return metrics
        values = torch.stack(list(metrics.values())) * self.share
        torch.distributed.all_reduce(values)
        return dict(zip(metrics, values))

    def finish(self, training):
        """Leave the ranks after the last step; True on rank 0, which goes on alone."""
        if torch.distributed.is_initialized():
            import gc

            self.alone(training)
            self.wrapped = {}
            # DDP and the futures of its gradient hook freed now, while Python is whole: gloo's
            # threads releasing them during the interpreter's shutdown abort the process
            gc.collect()
            # every rank past its last collective before any tears its connections down
            torch.distributed.barrier()
            torch.distributed.destroy_process_group()
        return self.rank == 0
