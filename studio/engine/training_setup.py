"""``Training.__init__`` in ``train.py``: the seed, the data and its batches, the network
instances, the run options (mixed precision, memory layout, compilation), the losses, and the
optimizers with their schedules; then ``set_train``. Each module it makes gets a ``Training``
attribute, recorded in ``attr_of`` for the passes that call it.
"""

from __future__ import annotations

from studio.engine.forward_code import (
    SourceLines,
    attribute_name,
    frozen_line,
    instance_attribute,
)
from studio.engine.naming import Namer
from studio.engine.render import call
from studio.engine.training_graph import TrainingGraph

BODY = 2  # the indent of a method's body


class SetupWriter:
    def __init__(self, graph: TrainingGraph, src: SourceLines, attrs: Namer,
                 attr_of: dict[str, str]):
        self.graph = graph
        self.src = src
        self.attrs = attrs
        self.attr_of = attr_of

    def write_init(self) -> None:
        """The class line and ``__init__`` up to the optimizers (the previews' fixed inputs
        follow, written by their own writer)."""
        src = self.src
        src.add("class Training:")
        src.add('"""One run: the data, networks, losses and optimizers, and one training step."""',
                indent=1)
        src.add("")
        src.add("def __init__(self, device=\"cpu\", seed=SETTINGS[\"seed\"], data_dir=DATA_DIR, "
                "steps=None, epochs=None, sync_batchnorm=False):", indent=1)
        src.add("torch.manual_seed(seed)", indent=BODY)
        if self.graph.graph.settings["deterministic"]:
            # cuBLAS is deterministic only with this workspace setting, read when it starts:
            # without it a GPU run stops at its first matrix product
            src.add("import os", indent=BODY)
            src.add("os.environ.setdefault(\"CUBLAS_WORKSPACE_CONFIG\", \":4096:8\")  # cuBLAS's "
                    "deterministic mode", indent=BODY)
            src.add("torch.use_deterministic_algorithms(True)  # same run, same numbers, on a "
                    "GPU too", indent=BODY)
        src.add("self.device = device = rank_device(device)  # under torchrun: joins the ranks",
                indent=BODY)
        src.add("data_dir = Path(data_dir)", indent=BODY)
        src.add("self.rng = torch.Generator(device=device).manual_seed(seed)  # batch order",
                indent=BODY)
        self.write_data()
        self.write_networks()
        self.write_run_options()
        self.write_losses()
        self.write_optimizers()
        self.src.add("self.parallel = DataParallel(self, seed, sync_batchnorm)  # "
                     "DistributedDataParallel under torchrun", indent=BODY)

    def write_data(self) -> None:
        g = self.graph
        if g.dataset:
            self.src.add(f"self.data = {call(g.load_call())}", g.origin(g.dataset), indent=BODY)
            self.src.add(f'self.batches = {g.batches_class()}(self.data.train, '
                         'SETTINGS["batch_size"], generator=self.rng)', indent=BODY)
        else:
            self.src.add("self.data = None", indent=BODY)
            self.src.add("self.batches = [()]  # no dataset: every step draws its own inputs",
                         indent=BODY)

    def write_networks(self) -> None:
        """One attribute per network instance; an instance sharing another's weights uses its."""
        g = self.graph
        instances = g.by_role.get("instance", [])
        networks = []
        for n in instances:
            node = g.node(n)
            if node.shares:
                continue
            attr = self.attrs.take(instance_attribute(node))
            self.attr_of[n] = attr
            ctor = g.gen.constructor(node, g.rows[n])
            self.src.add(f"self.{attr} = {ctor}.to(device)", g.origin(n), indent=BODY)
            if node.frozen:
                self.src.add(frozen_line(f"self.{attr}"), g.origin(n), indent=BODY)
            networks.append(attr)
        for n in instances:
            if g.node(n).shares:
                self.attr_of[n] = self.attr_of[g.node(n).shares]
        self.src.add(f"self.networks = {{{', '.join(f'{a!r}: self.{a}' for a in networks)}}}",
                     indent=BODY)

    def write_run_options(self) -> None:
        """Mixed precision, memory layout and compilation, each written only when the project
        asks for it (so a plain run is plain PyTorch)."""
        src, amp = self.src, self.graph.amp
        settings = self.graph.graph.settings
        if amp != "off":
            dtype = "torch.float16" if amp == "fp16" else "torch.bfloat16"
            src.add(f"self.autocast = {{\"device_type\": device.type, \"dtype\": {dtype}}}",
                    indent=BODY)
        if amp == "fp16":
            src.add("self.scaler = torch.amp.GradScaler(device.type)  # small fp16 gradients "
                    "would round to zero", indent=BODY)
        if settings["channels_last"]:
            src.add("for network in self.networks.values():", indent=BODY)
            src.add("network.to(memory_format=torch.channels_last)", indent=BODY + 1)
        if settings["compile"]:
            src.add("for name, network in self.networks.items():  # self.networks keeps the "
                    "modules", indent=BODY)
            src.add("setattr(self, name, torch.compile(network))", indent=BODY + 1)

    def write_losses(self) -> None:
        """A module attribute per loss that has one (``criterion`` when there is one loss)."""
        g = self.graph
        losses = [n for n in g.by_role.get("loss", []) if g.spec(n).module]
        for n in losses:
            c = g.spec(n).module(g.rows[n].values, g.rows[n].inputs)
            if c is None:
                continue
            base = "criterion" if len(losses) == 1 else f"{g.var_name(n)}_fn"
            attr = self.attrs.take(base)
            self.attr_of[n] = attr
            g.gen.need(g.spec(n).helpers)
            self.src.add(f"self.{attr} = {call(c)}.to(device)", g.origin(n), indent=BODY)

    def write_optimizers(self) -> None:
        """The run's length, then each optimizer on the parameters it updates, and its schedule
        (keyed ``<optimizer>:schedule`` in ``attr_of``)."""
        g, src = self.graph, self.src
        src.add("batches_per_epoch = len(self.batches)", indent=BODY)
        src.add("if epochs is None and not steps:", indent=BODY)
        src.add('steps, epochs = SETTINGS["steps"], SETTINGS["epochs"]', indent=BODY + 1)
        src.add("self.total_steps = steps or epochs * batches_per_epoch", indent=BODY)
        opt_attrs, sched_attrs = [], []
        for n in g.optimizers():
            values = g.rows[n].values
            attr = self.attrs.take(attribute_name(g.node(n)))
            self.attr_of[n] = attr
            targets = [self.attr_of[e] for e in g.updated(n)]
            params = (f"self.{targets[0]}.parameters()" if len(targets) == 1 else
                      "[" + ", ".join(f"*self.{t}.parameters()" for t in targets) + "]")
            if g.gen.any_frozen:  # the frozen parameters are left out of the optimizer
                params = (f"[p for p in self.{targets[0]}.parameters() if p.requires_grad]"
                          if len(targets) == 1 else "[p for m in (" + ", ".join(
                              f"self.{t}" for t in targets) + ") for p in m.parameters() "
                          "if p.requires_grad]")
            c = g.spec(n).module(values, {})
            src.add(f"self.{attr} = {call(c, {'<parameters>': params})}", g.origin(n),
                    indent=BODY)
            opt_attrs.append(attr)
            sched = g.spec(n).optimizer.scheduler(values)
            if sched is not None:
                sattr = self.attrs.take(f"{attr}_schedule")
                self.attr_of[n + ":schedule"] = sattr
                src.add(f"self.{sattr} = " + call(sched, {"<optimizer>": f"self.{attr}",
                                                          "<total_steps>": "self.total_steps"}),
                        g.origin(n), indent=BODY)
                sched_attrs.append(sattr)
        src.add(f"self.optimizers = {{{', '.join(f'{a!r}: self.{a}' for a in opt_attrs)}}}",
                indent=BODY)
        src.add(f"self.schedulers = {{{', '.join(f'{a!r}: self.{a}' for a in sched_attrs)}}}",
                indent=BODY)

    def write_set_train(self) -> None:
        src = self.src
        src.add("")
        src.add("def set_train(self, mode):", indent=1)
        src.add('"""Train mode for steps, eval mode (fixed batch-norm, no dropout) to measure."""',
                indent=2)
        src.add("for network in self.networks.values():", indent=2)
        src.add("network.train(mode)", indent=3)
        src.add("")
