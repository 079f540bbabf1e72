"""Optimizers: each minimizes one loss by updating the parameters it names, optionally on a
learning-rate schedule. Their ``OptimizerRole`` gives the schedule's constructor."""

from __future__ import annotations

from studio.blocks._common import Call, Param, Port, Raw, declare
from studio.core.params import Bool, Choice, Float, FloatTuple, Int, NameList, ParamError
from studio.core.registry import TRAINING, When
from studio.core.roles import OptimizerRole

PARAMETERS = Raw("<parameters>")  # replaced by the generator with the updated parameters
OPTIMIZER = Raw("<optimizer>")
TOTAL_STEPS = Raw("<total_steps>")


def common_params() -> tuple:
    """What every optimizer node has: what it updates, when it steps, and its schedule."""
    return (
        Param("updates", NameList(), (), "nodes or networks it updates (empty: every trainable "
              "node upstream of its loss)", label="Updates"),
        Param("order", Int(0, 100), 1, "steps run in increasing order (a GAN: discriminator 1, "
              "generator 2)", label="Step order"),
        Param("schedule", Choice(("none", "step", "cosine", "onecycle")), "none",
              "learning-rate schedule over the run", label="LR schedule"),
        Param("step_size", Int(1, 1 << 30), 1000, "steps between decays (step schedule)",
              label="Decay every (steps)", applies=When("schedule", "step")),
        Param("gamma", Float(0.0, 1.0), 0.1, "decay factor (step schedule)",
              label="Decay factor", applies=When("schedule", "step")),
        Param("pct_start", Float(0.0, 1.0), 0.3, "share of the run spent warming up (one-cycle)",
              label="Warm-up share", applies=When("schedule", "onecycle")),
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


def optimizer_block(id: str, cls: str, help: str, explanation: str, params: tuple, kwargs,
                    state_slots, scheduler=scheduler_call, **fields):
    """Declare an optimizer; ``kwargs(p)`` lists the constructor arguments that differ from torch's
    defaults (lr always given); ``state_slots(p)`` how many tensors the size of the parameters
    it keeps. ``fields`` go to the declaration (validate_params)."""
    return declare(
        id=id, category="optimizer", title=id, where=frozenset({TRAINING}),
        help=help, explanation=explanation, inputs=(Port("loss", kind="loss"),), outputs=(),
        params=params + common_params(),
        shape=lambda p, ins: {},
        module=lambda p, ins: Call(cls, (PARAMETERS,), kwargs(p)),
        optimizer=OptimizerRole(scheduler=scheduler, state_slots=state_slots),
        **fields,
    )


def _adam_kwargs(p):
    kw = {"lr": p.lr}
    if p.betas != (0.9, 0.999):
        kw["betas"] = p.betas
    if p.eps != 1e-8:
        kw["eps"] = p.eps
    if p.weight_decay:
        kw["weight_decay"] = p.weight_decay
    if p.amsgrad:
        kw["amsgrad"] = True
    return kw


def adam_params(weight_decay: float) -> tuple:
    return (
        Param("lr", Float(0.0, 10.0), 1e-3, "learning rate", label="Learning rate"),
        Param("betas", FloatTuple(2, 0.0, 0.99999999), (0.9, 0.999), "decay rates of the "
              "running averages of the gradient (momentum) and of the squared gradient",
              label="Betas"),
        Param("eps", Float(0.0, 1.0), 1e-8, "added to the denominator for stability",
              label="Epsilon"),
        Param("weight_decay", Float(0.0, 10.0), weight_decay, "L2 penalty (AdamW: decoupled)"),
        Param("amsgrad", Bool(), False, "use the AMSGrad variant", label="AMSGrad"),
    )


def _adam_slots(p) -> int:
    """The running averages of the gradient and of its square (and their maximum: AMSGrad)."""
    return 3 if p.amsgrad else 2


optimizer_block(
    "Adam", "torch.optim.Adam", "Adaptive moments: per-parameter step sizes from gradient history.",
    "Keeps running averages of each parameter's gradient and squared gradient and steps by "
    "their ratio, so every parameter gets a step size suited to its own gradient scale. A good "
    "default; lr 1e-3 for classifiers, 2e-4 with betas (0.5, 0.999) for GANs.",
    adam_params(0.0), _adam_kwargs, _adam_slots)


def _without_momentum_cycle(p) -> Call | None:
    """The schedule of an optimizer whose momentum one-cycle must not touch.

    OneCycleLR cycles momentum between 0.85 and 0.95 by default, which would switch momentum on
    for an SGD or RMSprop that has none and fails for Adagrad, which has no momentum at all.
    """
    c = scheduler_call(p)
    if c is not None and p.schedule == "onecycle" and not getattr(p, "momentum", 0.0):
        c = Call(c.func, c.args, dict(c.kwargs, cycle_momentum=False))
    return c


def _nondefault(p, names_defaults: dict) -> dict:
    """lr, then every argument whose value differs from torch's default."""
    kw = {"lr": p.lr}
    for name, default in names_defaults.items():
        v = getattr(p, name)
        if v != default:
            kw[name] = v
    return kw


def _sgd_validate(p) -> None:
    if p.nesterov and (p.momentum <= 0 or p.dampening != 0):
        raise ParamError("nesterov: Nesterov momentum needs momentum above 0 and dampening 0 "
                         f"(momentum is {p.momentum!r}, dampening {p.dampening!r})")


optimizer_block(
    "SGD", "torch.optim.SGD", "Stochastic gradient descent, with optional momentum.",
    "Steps every parameter against its gradient, times the learning rate. Momentum keeps a "
    "running sum of past steps so that the descent keeps its speed along consistent directions "
    "and damps oscillation across them; Nesterov momentum looks at the gradient one step ahead. "
    "Plain and predictable; with momentum 0.9 and a schedule it is still the choice for many "
    "image classifiers.",
    (
        Param("lr", Float(0.0, 10.0), 0.01, "learning rate", label="Learning rate"),
        Param("momentum", Float(0.0, 1.0), 0.0, "share of the previous step kept (0.9 is usual)"),
        Param("dampening", Float(0.0, 1.0), 0.0, "share of the gradient left out of the momentum"),
        Param("weight_decay", Float(0.0, 10.0), 0.0, "L2 penalty on the parameters"),
        Param("nesterov", Bool(), False, "Nesterov momentum (needs momentum > 0, dampening 0)"),
    ),
    lambda p: _nondefault(p, {"momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0,
                              "nesterov": False}),
    lambda p: 1 if p.momentum else 0,
    scheduler=_without_momentum_cycle, validate_params=_sgd_validate)


def _adamw_kwargs(p):
    kw = _adam_kwargs(p)
    kw.pop("weight_decay", None)
    if p.weight_decay != 0.01:  # AdamW's own default, unlike Adam's 0
        kw["weight_decay"] = p.weight_decay
    return kw


optimizer_block(
    "AdamW", "torch.optim.AdamW", "Adam with decoupled weight decay.",
    "Adam, except that weight decay shrinks the weights directly instead of being added to the "
    "gradient, where Adam's per-parameter scaling would weaken it for parameters with large "
    "gradients. The usual choice for transformers and whenever weight decay matters.",
    adam_params(0.01), _adamw_kwargs, _adam_slots)

optimizer_block(
    "RMSprop", "torch.optim.RMSprop", "Divides each step by a running average of squared gradients.",
    "Keeps a decaying average of each parameter's squared gradient and divides the gradient by "
    "its square root, so parameters with large gradients take smaller steps. centered also "
    "subtracts the squared mean gradient (an estimate of the variance). Long used for "
    "recurrent networks and in reinforcement learning.",
    (
        Param("lr", Float(0.0, 10.0), 0.01, "learning rate", label="Learning rate"),
        Param("alpha", Float(0.0, 1.0), 0.99, "decay of the squared-gradient average",
              label="Alpha"),
        Param("eps", Float(0.0, 1.0), 1e-8, "added to the denominator for stability",
              label="Epsilon"),
        Param("weight_decay", Float(0.0, 10.0), 0.0, "L2 penalty on the parameters"),
        Param("momentum", Float(0.0, 1.0), 0.0, "share of the previous step kept"),
        Param("centered", Bool(), False, "normalize by the gradient's variance estimate"),
    ),
    lambda p: _nondefault(p, {"alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0,
                              "centered": False}),
    lambda p: 1 + bool(p.momentum) + bool(p.centered),
    scheduler=_without_momentum_cycle)

optimizer_block(
    "Adagrad", "torch.optim.Adagrad", "Per-parameter steps that shrink with the gradients seen so far.",
    "Divides each parameter's step by the square root of the sum of all its squared gradients "
    "so far: rarely updated parameters (rare words, rare features) keep large steps, frequent "
    "ones slow down. Because the sum only grows, steps keep shrinking; RMSprop and Adam replace "
    "it with a decaying average.",
    (
        Param("lr", Float(0.0, 10.0), 0.01, "learning rate", label="Learning rate"),
        Param("lr_decay", Float(0.0, 1.0), 0.0, "learning-rate decay per step",
              label="LR decay"),
        Param("weight_decay", Float(0.0, 10.0), 0.0, "L2 penalty on the parameters"),
        Param("initial_accumulator_value", Float(0.0, 1e6), 0.0,
              "starting value of the squared-gradient sums"),
        Param("eps", Float(0.0, 1.0), 1e-10, "added to the denominator for stability",
              label="Epsilon"),
    ),
    lambda p: _nondefault(p, {"lr_decay": 0.0, "weight_decay": 0.0,
                              "initial_accumulator_value": 0.0, "eps": 1e-10}),
    lambda p: 1,
    scheduler=_without_momentum_cycle)
