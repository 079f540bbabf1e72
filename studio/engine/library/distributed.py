"""Data-parallel training under ``torchrun``: torch.distributed's DistributedDataParallel, one
process per rank. In a plain run (no torchrun) none of it does anything.

The batch size is the global batch: every rank draws the same global order and trains on its
share of each batch, and DDP sums the gradients each weighted by its rank's share of the batch,
so a mean loss gets the global batch's mean gradient (a last batch that does not split evenly
too) and N ranks follow the one-process run up to the order of float sums.
"""

from __future__ import annotations

import torch

DEPENDS = {"DataParallel": ["RankShares", "weighted_mean_hook"]}


def rank_device(device):
    """The device this process trains on. Under torchrun it joins the process group first (gloo
    on the CPU, nccl on CUDA) and a plain "cuda" becomes its local rank's GPU."""
    device = torch.device(device)
    if not torch.distributed.is_torchelastic_launched():
        return device
    import os

    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def weighted_mean_hook(parallel, bucket):
    """DDP's gradient reduction, each rank's gradients weighted by its share of the batch."""
    grads = bucket.buffer().mul_(parallel.share)
    work = torch.distributed.all_reduce(grads, async_op=True)
    return work.get_future().then(lambda future: future.value()[0])


class RankShares:
    """This rank's share of every global batch: rows [n*rank/size, n*(rank+1)/size). A rank
    whose share is empty trains on the batch's first row with weight 0."""

    def __init__(self, batches, parallel):
        self.batches = batches
        self.parallel = parallel

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        p, generator = self.parallel, getattr(self.batches, "generator", None)
        if generator is not None:  # the same global order as rank 0 (augmenting a share draws less)
            state = generator.get_state().to(p.device)
            torch.distributed.broadcast(state, 0)
            generator.set_state(state.cpu())
        for batch in self.batches:
            count = len(batch[0]) if batch else 0
            start, stop = count * p.rank // p.size, count * (p.rank + 1) // p.size
            p.share = (stop - start) / count if count else 1 / p.size
            if count and start == stop:
                start, stop = 0, 1
            yield tuple(t[start:stop] for t in batch)


class DataParallel:
    """The run's ranks: rank and size, each trained network wrapped in DistributedDataParallel
    (``wrapped`` keeps the plain modules for what rank 0 runs alone), the batches sharded."""

    def __init__(self, training, seed):
        self.rank, self.size, self.share, self.wrapped = 0, 1, 1.0, {}
        if not torch.distributed.is_initialized() or torch.distributed.get_world_size() == 1:
            return
        self.rank, self.size = torch.distributed.get_rank(), torch.distributed.get_world_size()
        self.device = training.device
        training.batches = RankShares(training.batches, self)
        for name, network in training.networks.items():
            if any(p.requires_grad for p in network.parameters()):
                plain = getattr(training, name)  # compiled, when the project compiles
                ddp = torch.nn.parallel.DistributedDataParallel(network)
                ddp.register_comm_hook(self, weighted_mean_hook)
                ddp = ddp if plain is network else torch.compile(ddp)
                self.wrapped[name] = (plain, ddp)
                setattr(training, name, ddp)
        if self.rank:  # the weights are rank 0's (DDP copies them); each rank draws its own noise
            torch.manual_seed(seed + self.rank)

    def alone(self, training, alone=True):
        """Call the networks without DDP (whose forward waits for the other ranks) while rank 0
        evaluates or draws previews alone; ``alone=False`` puts DDP back."""
        for name, (plain, ddp) in self.wrapped.items():
            setattr(training, name, plain if alone else ddp)

    def mean(self, metrics):
        """The global batch's losses on every rank: each rank's weighted by its share, summed."""
        if self.size == 1:
            return metrics
        values = torch.stack(list(metrics.values())) * self.share
        torch.distributed.all_reduce(values)
        return dict(zip(metrics, values))

    def finish(self, training):
        """After the last step: leave the process group; True on the rank that goes on alone
        (evaluation, previews, weights), rank 0."""
        if torch.distributed.is_initialized():
            self.alone(training)
            self.wrapped = {}
            torch.distributed.destroy_process_group()
        return self.rank == 0
