"""Optimizers: each minimizes one loss by updating the parameters it names, optionally on a
learning-rate schedule. ``extra["scheduler"]`` gives the schedule's constructor."""

from __future__ import annotations

from studio.blocks._common import Call, Param, Port, Raw, declare
from studio.core.params import Bool, Choice, Float, Int, NameList
from studio.core.registry import TRAINING

PARAMETERS = Raw("<parameters>")  # replaced by the generator with the updated parameters
OPTIMIZER = Raw("<optimizer>")
TOTAL_STEPS = Raw("<total_steps>")


def common_params() -> tuple:
    """What every optimizer node has: what it updates, when it steps, and its schedule."""
    return (
        Param("updates", NameList(), (), "nodes or networks it updates (empty: every trainable "
              "node upstream of its loss)"),
        Param("order", Int(0, 100), 1, "steps run in increasing order (a GAN: discriminator 1, "
              "generator 2)"),
        Param("schedule", Choice(("none", "step", "cosine", "onecycle")), "none",
              "learning-rate schedule over the run"),
        Param("step_size", Int(1, 1 << 30), 1000, "steps between decays (step schedule)"),
        Param("gamma", Float(0.0, 1.0), 0.1, "decay factor (step schedule)"),
        Param("pct_start", Float(0.0, 1.0), 0.3, "share of the run spent warming up (one-cycle)"),
    )


def scheduler_call(p) -> Call | None:
    if p.schedule == "step":
        return Call("torch.optim.lr_scheduler.StepLR", (OPTIMIZER,),
                    {"step_size": p.step_size, "gamma": p.gamma})
    if p.schedule == "cosine":
        return Call("torch.optim.lr_scheduler.CosineAnnealingLR", (OPTIMIZER,),
                    {"T_max": TOTAL_STEPS})
    if p.schedule == "onecycle":
        return Call("torch.optim.lr_scheduler.OneCycleLR", (OPTIMIZER,),
                    {"max_lr": p.lr, "total_steps": TOTAL_STEPS, "pct_start": p.pct_start})
    return None


def optimizer_block(id: str, cls: str, help: str, explanation: str, params: tuple, kwargs):
    """Declare an optimizer; ``kwargs(p)`` lists the constructor arguments that differ from torch's
    defaults (lr always given)."""
    return declare(
        id=id, category="optimizer", title=id, where=frozenset({TRAINING}),
        help=help, explanation=explanation, inputs=(Port("loss", kind="loss"),), outputs=(),
        params=params + common_params(),
        shape=lambda p, ins: {},
        module=lambda p, ins: Call(cls, (PARAMETERS,), kwargs(p)),
        extra={"scheduler": scheduler_call},
    )


def _adam_kwargs(p):
    kw = {"lr": p.lr}
    if (p.beta1, p.beta2) != (0.9, 0.999):
        kw["betas"] = (p.beta1, p.beta2)
    if p.eps != 1e-8:
        kw["eps"] = p.eps
    if p.weight_decay:
        kw["weight_decay"] = p.weight_decay
    if p.amsgrad:
        kw["amsgrad"] = True
    return kw


def adam_params(weight_decay: float) -> tuple:
    return (
        Param("lr", Float(0.0, 10.0), 1e-3, "learning rate"),
        Param("beta1", Float(0.0, 0.99999), 0.9, "decay of the gradient average (momentum)"),
        Param("beta2", Float(0.0, 0.99999999), 0.999, "decay of the squared-gradient average"),
        Param("eps", Float(0.0, 1.0), 1e-8, "added to the denominator for stability"),
        Param("weight_decay", Float(0.0, 10.0), weight_decay, "L2 penalty (AdamW: decoupled)"),
        Param("amsgrad", Bool(), False, "use the AMSGrad variant"),
    )


optimizer_block(
    "Adam", "torch.optim.Adam", "Adaptive moments: per-parameter step sizes from gradient history.",
    "Keeps running averages of each parameter's gradient and squared gradient and steps by "
    "their ratio, so every parameter gets a step size suited to its own gradient scale. A good "
    "default; lr 1e-3 for classifiers, 2e-4 with beta1 0.5 for GANs.",
    adam_params(0.0), _adam_kwargs)
