"""The training half of the generator: ``train.py`` with a ``Training`` class and a ``main``.

``Training`` holds the data, the network instances, the losses and the optimizers. Its
``train_step`` runs the optimizers in their order, each with its own forward pass; the nodes
that cannot reach anything the stepping optimizer updates run under ``torch.no_grad()`` (a GAN's
generator while the discriminator learns). ``evaluate`` measures the held-out split and
``previews`` draws the preview outputs from fixed inputs.
"""

from __future__ import annotations

from studio.core.inference import NodeResult
from studio.core.project import INSTANCE, TRAINING_SETTINGS
from studio.core.registry import get_block, role_of
from studio.engine import library
from studio.engine.forward_code import (
    CodegenError,
    SourceLines,
    VariableNames,
    ancestors,
    attribute_name,
    gather_args,
    instance_attribute,
    instance_input_ports,
    instance_ports,
    preferred_name,
    readable_order,
)
from studio.engine.naming import RESERVED, Namer, identifier
from studio.engine.render import call, shape_comment, value

TRAINING_ATTRS = {"data", "batches", "rng", "networks", "optimizers", "schedulers",
                  "total_steps", "preview_batch", "preview_count", "set_train", "train_step",
                  "evaluate", "previews"}


class _TrainingWriter:
    def __init__(self, gen):
        self.gen = gen
        self.project = gen.project
        self.graph = gen.project.training
        self.rows: dict[str, NodeResult] = {
            r.node.id: r for r in gen.analysis.rows if r.graph == "training" and r.depth == 0}
        self.src: SourceLines = gen.train
        self.attrs = Namer(RESERVED | TRAINING_ATTRS)
        self.attr_of: dict[str, str] = {}
        self.order = readable_order(self.graph)
        self.by_role: dict[str, list[str]] = {}
        for node_id in self.order:
            self.by_role.setdefault(self.role(node_id), []).append(node_id)
        datasets = self.by_role.get("data_set", [])
        if len(datasets) > 1:
            raise CodegenError("a training graph takes its batches from one Dataset; "
                               f"{', '.join(datasets)} are several")
        self.dataset = datasets[0] if datasets else None
        self.metric_names: list[str] = []
        self.shows_confusion = False  # evaluation returns confusion matrices (main prints them)

    def role(self, node_id: str) -> str:
        node = self.graph.nodes[node_id]
        if node.block == INSTANCE:
            return "instance"
        if role_of(node.block, "data") is not None:
            return "data_set"
        return get_block(node.block).category

    def node(self, node_id):
        return self.graph.nodes[node_id]

    def spec(self, node_id):
        return get_block(self.node(node_id).block)

    def origin(self, node_id) -> tuple:
        moved = {v: k for k, v in self.gen.moved.items()}
        return ("training", moved.get(node_id, node_id))

    # ----------------------------------------------------------------------------------------
    def optimizers(self) -> list[str]:
        opts = self.by_role.get("optimizer", [])
        index = {n: i for i, n in enumerate(self.graph.nodes)}
        return sorted(opts, key=lambda n: (self.rows[n].values.order, index[n]))

    def updated(self, opt_id: str) -> list[str]:
        """Entity ids (instance nodes) an optimizer updates."""
        values = self.rows[opt_id].values
        upstream = ancestors(self.graph, [opt_id])
        instances = [n for n in self.order if self.role(n) == "instance"]
        if values.updates:
            out = []
            for name in values.updates:
                hits = [n for n in instances if name in (n, self.node(n).title,
                                                         self.node(n).params.get("network"))]
                if name in self.gen.moved:
                    hits.append(self.gen.moved[name])
                if not hits:
                    raise CodegenError(f"training/{opt_id}: updates: no network instance or layer "
                                       f"named {name!r}")
                for h in hits:
                    if self.entity(h) not in out:
                        out.append(self.entity(h))
            return out
        out = []
        for n in instances:
            if n in upstream and self.entity(n) not in out and self.trainable(self.entity(n)):
                out.append(self.entity(n))
        if not out:
            raise CodegenError(f"training/{opt_id}: nothing with trainable parameters is upstream "
                               "of its loss, so it has nothing to update")
        return out

    def entity(self, node_id: str) -> str:
        return self.node(node_id).shares or node_id

    def trainable(self, node_id: str) -> bool:
        return self.rows[node_id].params > 0

    # ----------------------------------------------------------------------------------------
    def write(self) -> list[str]:
        gen = self.gen
        settings = self.graph.settings
        previews = self.by_role.get("output", [])
        helpers = ["TensorBatches"] + (["save_image_grid"] if previews else [])
        if self.dataset:
            helpers.insert(0, self.load_call().func)
        for n in self.order:
            helpers += [h for h in self.spec(n).helpers] if self.role(n) != "instance" else []
        augment = self.augment_call()
        if augment is not None:
            helpers.append(augment.func)
        body = self.src = SourceLines("train.py")
        body.add('DATA_DIR = Path(__file__).resolve().parent / "data"')
        run_only = ("device", "amp", "channels_last", "compile")  # written as code instead
        kept = {p.name: settings[p.name] for p in TRAINING_SETTINGS if p.name not in run_only}
        body.add("SETTINGS = {")
        for k, v in kept.items():
            body.add(f"    {k!r}: {value(v)},")
        body.add("}")
        if previews:
            body.add(f"PREVIEWS = {value_dict({self.var_name(p): self.preview_meta(p) for p in previews})}")
        body.add("")
        body.add("")
        body.add(library.source_of(helpers).rstrip())
        body.add("")
        body.add("")
        self.write_class()
        self.write_main()
        self.write_studio_only()
        # imports last, from what the text uses, so none is unused
        text = "\n".join(body.lines)
        header = gen.train
        header.add(f'"""Training script of the Studio project {self.gen.original.name!r}.')
        header.add("")
        header.add("Generated by Studio; runs with torch and numpy. Usage:")
        header.add("    python train.py [--epochs N | --steps N] [--device cpu|cuda] [--seed S]")
        header.add('"""')
        header.add("")
        for line in _imports(text, ["argparse", "math", "struct", "time", "zlib"]):
            header.add(line)
        header.add("from pathlib import Path")
        header.add("")
        for line in _imports(text, ["numpy as np", "torch", "torch.nn as nn",
                                    "torch.nn.functional as F"]):
            header.add(line)
        header.add("")
        classes = sorted({gen.classes[self.node(n).params["network"]].name
                          for n in self.by_role.get("instance", [])})
        if classes:
            header.add(f"from model import {', '.join(classes)}")
            header.add("")
        offset = len(header.lines)
        header.lines += body.lines
        header.origin.update({k + offset: v for k, v in body.origin.items()})
        self.src = header
        return self.metric_names

    def data_role(self):
        return self.spec(self.dataset).data

    def load_call(self):
        """The dataset's loader call (a runtime-library function)."""
        return self.data_role().load(self.rows[self.dataset].values)

    def augment_call(self):
        """The dataset's augmentation call (random crops, flips, shifts), or None."""
        if not self.dataset:
            return None
        return self.data_role().augment(self.rows[self.dataset].values)

    def whole_image(self) -> bool:
        """Whether the batches are the pixels of one picture (a coordinate network's data)."""
        return bool(self.dataset) and self.data_role().whole_image(self.rows[self.dataset].values)

    def preview_meta(self, node_id) -> dict:
        return self.spec(node_id).preview.meta(self.rows[node_id].values)

    def fixed_preview(self, node_id):
        """The fixed draw previews use instead of this node's per-step draw, or None."""
        drawn = role_of(self.node(node_id).block, "drawn")
        return drawn.fixed_preview if drawn is not None else None

    def var_name(self, node_id) -> str:
        node = self.node(node_id)
        return identifier(node.title or node.id)

    # ----------------------------------------------------------------------------------------
    def write_class(self) -> None:
        src = self.src
        src.add("class Training:")
        src.add('"""One run: the data, networks, losses and optimizers, and one training step."""',
                indent=1)
        src.add("")
        src.add("def __init__(self, device=\"cpu\", seed=SETTINGS[\"seed\"], data_dir=DATA_DIR, "
                "steps=None, epochs=None):", indent=1)
        b = 2
        src.add("torch.manual_seed(seed)", indent=b)
        if self.graph.settings["deterministic"]:
            src.add("torch.use_deterministic_algorithms(True)  # same run, same numbers, on a "
                    "GPU too", indent=b)
        src.add("self.device = device = torch.device(device)", indent=b)
        src.add("data_dir = Path(data_dir)", indent=b)
        src.add("self.rng = torch.Generator(device=device).manual_seed(seed)  # batch order",
                indent=b)
        if self.dataset:
            row = self.rows[self.dataset]
            src.add(f"self.data = {call(self.load_call())}", self.origin(self.dataset), indent=b)
            src.add('self.batches = TensorBatches(self.data.train, SETTINGS["batch_size"], '
                    'generator=self.rng)', indent=b)
        else:
            src.add("self.data = None", indent=b)
            src.add("self.batches = [()]  # no dataset: every step draws its own inputs",
                    indent=b)
        # networks --------------------------------------------------------------------------
        networks = []
        for n in self.by_role.get("instance", []):
            node = self.node(n)
            if node.shares:
                continue
            attr = self.attrs.take(instance_attribute(node))
            self.attr_of[n] = attr
            ctor = self.gen.constructor(node, self.rows[n])
            src.add(f"self.{attr} = {ctor}.to(device)", self.origin(n), indent=b)
            networks.append(attr)
        for n in self.by_role.get("instance", []):
            if self.node(n).shares:
                self.attr_of[n] = self.attr_of[self.node(n).shares]
        src.add(f"self.networks = {{{', '.join(f'{a!r}: self.{a}' for a in networks)}}}", indent=b)
        self.write_run_options(b)
        # losses ----------------------------------------------------------------------------
        losses = [n for n in self.by_role.get("loss", []) if self.spec(n).module]
        for n in losses:
            c = self.spec(n).module(self.rows[n].values, self.rows[n].inputs)
            if c is None:
                continue
            base = "criterion" if len(losses) == 1 else f"{self.var_name(n)}_fn"
            attr = self.attrs.take(base)
            self.attr_of[n] = attr
            self.gen.need(self.spec(n).helpers)
            src.add(f"self.{attr} = {call(c)}.to(device)", self.origin(n), indent=b)
        # optimizers ------------------------------------------------------------------------
        src.add("batches_per_epoch = len(self.batches)", indent=b)
        src.add("if epochs is None and not steps:", indent=b)
        src.add('steps, epochs = SETTINGS["steps"], SETTINGS["epochs"]', indent=b + 1)
        src.add("self.total_steps = steps or epochs * batches_per_epoch", indent=b)
        opt_attrs, sched_attrs = [], []
        for n in self.optimizers():
            values = self.rows[n].values
            attr = self.attrs.take(attribute_name(self.node(n)))
            self.attr_of[n] = attr
            targets = [self.attr_of[e] for e in self.updated(n)]
            params = (f"self.{targets[0]}.parameters()" if len(targets) == 1 else
                      "[" + ", ".join(f"*self.{t}.parameters()" for t in targets) + "]")
            c = self.spec(n).module(values, {})
            src.add(f"self.{attr} = {call(c, {'<parameters>': params})}", self.origin(n), indent=b)
            opt_attrs.append(attr)
            sched = self.spec(n).optimizer.scheduler(values)
            if sched is not None:
                sattr = self.attrs.take(f"{attr}_schedule")
                self.attr_of[n + ":schedule"] = sattr
                src.add(f"self.{sattr} = " + call(sched, {"<optimizer>": f"self.{attr}",
                                                          "<total_steps>": "self.total_steps"}),
                        self.origin(n), indent=b)
                sched_attrs.append(sattr)
        src.add(f"self.optimizers = {{{', '.join(f'{a!r}: self.{a}' for a in opt_attrs)}}}",
                indent=b)
        src.add(f"self.schedulers = {{{', '.join(f'{a!r}: self.{a}' for a in sched_attrs)}}}",
                indent=b)
        # fixed inputs of previews ----------------------------------------------------------------
        self.write_preview_inputs(b)
        src.add("")
        src.add("def set_train(self, mode):", indent=1)
        src.add('"""Train mode for steps, eval mode (fixed batch-norm, no dropout) to measure."""',
                indent=2)
        src.add("for network in self.networks.values():", indent=2)
        src.add("network.train(mode)", indent=3)
        src.add("")
        self.write_step()
        self.write_evaluate()
        self.write_previews()

    @property
    def amp(self) -> str:
        return self.graph.settings["amp"]

    def write_run_options(self, b: int) -> None:
        """Mixed precision, memory layout and compilation, each written only when the project
        asks for it (so a plain run is plain PyTorch)."""
        src = self.src
        settings = self.graph.settings
        if self.amp != "off":
            dtype = "torch.float16" if self.amp == "fp16" else "torch.bfloat16"
            src.add(f"self.autocast = {{\"device_type\": device.type, \"dtype\": {dtype}}}",
                    indent=b)
        if self.amp == "fp16":
            src.add("self.scaler = torch.amp.GradScaler(device.type)  # small fp16 gradients "
                    "would round to zero", indent=b)
        if settings["channels_last"]:
            src.add("for network in self.networks.values():", indent=b)
            src.add("network.to(memory_format=torch.channels_last)", indent=b + 1)
        if settings["compile"]:
            src.add("for name, network in self.networks.items():  # self.networks keeps the "
                    "modules", indent=b)
            src.add("setattr(self, name, torch.compile(network))", indent=b + 1)

    def image_ports(self) -> list[str]:
        """The dataset's image-shaped outputs (channels x height x width)."""
        if not self.dataset:
            return []
        row = self.rows[self.dataset]
        return [p for p, t in row.outputs.items() if t.rank == 3 and t.dtype == "float"]

    def write_channels_last(self, vars_: VariableNames, indent: int) -> None:
        if not self.graph.settings["channels_last"]:
            return
        for port in self.image_ports():
            var = vars_.read((self.dataset, port))
            self.src.add(f"{var} = {var}.contiguous(memory_format=torch.channels_last)",
                         indent=indent)

    def forward_block(self, region, vars_: VariableNames, mode: str, indent: int, no_grad=frozenset()):
        """The forward code, inside autocast when the project uses mixed precision."""
        if self.amp != "off":
            self.src.add("with torch.autocast(**self.autocast):", indent=indent)
            indent += 1
        self.emit(region, vars_, mode, indent, no_grad)

    def write_preview_inputs(self, b: int) -> None:
        src = self.src
        previews = self.by_role.get("output", [])
        if not previews:
            return
        count = 'SETTINGS["preview_count"]'
        if self.dataset:
            src.add("self.preview_batch = " + ("self.data.test" if self.whole_image() else
                    f"tuple(t[:{count}] for t in self.data.test)"), indent=b)
            src.add("self.preview_count = len(self.preview_batch[0])", indent=b)
        else:
            src.add(f"self.preview_count = {count}", indent=b)
        needed = ancestors(self.graph, previews)
        fixed = [n for n in self.order if n in needed and self.fixed_preview(n)]
        if fixed:
            src.add("fixed = torch.Generator().manual_seed(seed + 1)  # the same samples all run",
                    indent=b)
        for n in fixed:
            attr = self.attrs.take(f"fixed_{self.var_name(n)}")
            self.attr_of[n + ":fixed"] = attr
            draw = self.fixed_preview(n)(self.rows[n].values, "self.preview_count", "fixed")
            src.add(f"self.{attr} = ({draw}).to(device)", self.origin(n), indent=b)

    # ----------------------------------------------------------------------------------------
    def emit(self, node_ids, vars_: VariableNames, mode: str, indent: int, no_grad=frozenset()):
        """Forward code for ``node_ids`` (in order); runs of ``no_grad`` nodes share one block."""
        src = self.src
        in_block = False
        for n in node_ids:
            role = self.role(n)
            if role in ("data_set", "output", "optimizer"):
                continue
            lines = self.node_lines(n, vars_, mode)
            if not lines:
                continue
            wants = n in no_grad
            if wants and not in_block:
                src.add("with torch.no_grad():", indent=indent)
                in_block = True
            elif not wants:
                in_block = False
            for line in lines:
                src.add(line, self.origin(n), indent=indent + (1 if in_block else 0))

    def node_lines(self, n: str, vars_: VariableNames, mode: str) -> list[str]:
        node, row = self.node(n), self.rows[n]
        role = self.role(n)
        if role == "instance":
            net = row.values.network
            ports = instance_input_ports(self.project, net)
            outs = instance_ports(self.project, net, "output")
            args, keys = gather_args(self.graph, n, ports, vars_)
            expr = f"self.{self.attr_of[n]}({', '.join(args[p.name] for p in ports)})"
        else:
            spec = self.spec(n)
            ports = spec.input_ports(row.values)
            outs = [p.name for p in spec.output_ports(row.values)]
            args, keys = gather_args(self.graph, n, ports, vars_)
            if mode == "preview" and self.fixed_preview(n):
                expr = f"self.{self.attr_of[n + ':fixed']}"
            else:
                expr = spec.expression(row.values, dict(args, n="n", device="self.device"),
                                       f"self.{self.attr_of[n]}" if n in self.attr_of else None)
            self.gen.need(spec.helpers)
        vars_.release(keys)
        if role == "loss":
            names = [vars_.bind((n, outs[0]), self.var_name(n))]
        elif node.title:  # in the training graph a title names the value (fake, real_logit)
            base = identifier(node.title)
            names = [vars_.bind((n, p), base if len(outs) == 1 else f"{base}_{identifier(p)}")
                     for p in outs]
        else:
            inherit = vars_.read(keys[0]) if keys else None
            names = [vars_.bind((n, p), preferred_name(node, p, len(outs),
                                                        vars_.uses.get((n, p), 0)), inherit)
                     for p in outs]
        comment = "" if role == "loss" else shape_comment([row.outputs[p] for p in outs])
        return [f"{', '.join(names)} = {expr}{comment}"]

    def bind_batch(self, vars_: VariableNames, source: str, indent: int, count=None,
                   needs_n: bool = True) -> None:
        """``image, label = batch`` and ``n``, the batch size the sources draw."""
        if self.dataset:
            ports = [p.name for p in self.spec(self.dataset).output_ports(
                self.rows[self.dataset].values)]
            names = [vars_.bind((self.dataset, p), identifier(p)) for p in ports]
            self.src.add(f"{', '.join(names)} = {source}", self.origin(self.dataset), indent=indent)
            if needs_n:
                self.src.add(f"n = {names[0]}.shape[0]", indent=indent)
        elif needs_n:
            self.src.add(f"n = {count or 'SETTINGS[' + repr('batch_size') + ']'}", indent=indent)

    def draws(self, nodes) -> bool:
        """Whether any of ``nodes`` draws a batch of its own size ``n`` (noise, class labels)."""
        for n in nodes:
            spec = self.spec(n) if self.role(n) != "instance" else None
            if spec is not None and spec.forward is not None and spec.category == "data":
                probe = spec.forward(self.rows[n].values, {"n": "__batch__", "device": "d"}, None)
                if "__batch__" in probe:
                    return True
        return False

    def write_step(self) -> None:
        src = self.src
        src.add("def train_step(self, batch):", indent=1)
        src.add('"""One training step; returns the losses as tensors (no device sync)."""',
                indent=2)
        opts = self.optimizers()
        everything = ancestors(self.graph, opts)
        vars_ = VariableNames(self.graph, everything)
        self.bind_batch(vars_, "batch", 2, needs_n=self.draws(everything))
        augment = self.augment_call()
        if augment is not None:  # training batches only: never evaluation, previews or probes
            image = vars_.read((self.dataset, "image"))
            src.add(f"{image} = {call(augment, {'<image>': image})}", self.origin(self.dataset),
                    indent=2)
        self.write_channels_last(vars_, 2)
        metrics = []
        for i, opt in enumerate(opts):
            needed = ancestors(self.graph, [opt])
            updates = set(self.updated(opt))
            grad = set()
            for n in self.order:
                if n not in needed:
                    continue
                preds = {e.src for e in self.graph.edges if e.dst == n}
                if self.entity(n) in updates or preds & grad:
                    grad.add(n)
            loss_edge = next(e for e in self.graph.edges if e.dst == opt)
            if loss_edge.src not in grad:
                raise CodegenError(f"training/{opt}: its loss does not depend on anything it "
                                   "updates; wire the networks it should train into the loss")
            # only network calls need the block; a parameter-free one-liner builds no graph
            no_grad = set()
            for n in self.order:
                if n in needed and n not in grad and (
                        self.role(n) == "instance"
                        or any(e.src in no_grad for e in self.graph.edges if e.dst == n)):
                    no_grad.add(n)
            if len(opts) > 1:
                names = ", ".join(self.attr_of[e] for e in self.updated(opt))
                src.add(f"# step {i + 1}: {self.attr_of[opt]} updates {names}", indent=2)
            region = [n for n in self.order if n in needed and (n not in _computed(vars_, n))]
            if i > 0:  # a later optimizer recomputes its own forward pass
                for n in region:
                    for key in list(vars_.var_of):
                        if key[0] == n:
                            del vars_.var_of[key]
                vars_ = VariableNames(self.graph, needed, ())
                self.rebind_batch(vars_)
            self.forward_block(region, vars_, "train", 2, no_grad)
            loss_var = vars_.read((loss_edge.src, loss_edge.src_port))
            attr = self.attr_of[opt]
            src.add(f"self.{attr}.zero_grad(set_to_none=True)", self.origin(opt), indent=2)
            if self.amp == "fp16":
                src.add(f"self.scaler.scale({loss_var}).backward()", self.origin(opt), indent=2)
                src.add(f"self.scaler.step(self.{attr})", self.origin(opt), indent=2)
            else:
                src.add(f"{loss_var}.backward()", self.origin(opt), indent=2)
                src.add(f"self.{attr}.step()", self.origin(opt), indent=2)
            if opt + ":schedule" in self.attr_of:
                src.add(f"self.{self.attr_of[opt + ':schedule']}.step()", self.origin(opt),
                        indent=2)
            for n in region:
                if self.role(n) == "loss":
                    metrics.append((self.var_name(n), vars_.read((n, "loss"))))
        if self.amp == "fp16":
            src.add("self.scaler.update()", indent=2)
        seen = {}
        for name, var in metrics:
            seen.setdefault(name, var)
        self.metric_names = list(seen)
        src.add("return {" + ", ".join(f"{k!r}: {v}.detach()" for k, v in seen.items()) + "}",
                indent=2)
        src.add("")

    def write_studio_only(self) -> None:
        """``Training.inspect(batch)``, after the script's end and never exported: the whole
        graph once, in eval mode, with no gradient and no update. Studio's activation probes
        and the ONNX export watch this pass (so they see exactly this code run)."""
        src = self.src
        opts = self.optimizers()
        needed = ancestors(self.graph, opts)
        src.add("")
        src.add("")
        src.add(STUDIO_ONLY)
        src.add("@torch.no_grad()")
        src.add("def inspect(self, batch):")
        src.add('"""Every value of the graph for one batch, in eval mode, changing nothing; '
                'returns the losses."""', indent=1)
        vars_ = VariableNames(self.graph, needed)
        src.add("self.set_train(False)", indent=1)
        self.bind_batch(vars_, "batch", 1, needs_n=self.draws(needed))
        self.write_channels_last(vars_, 1)
        region = [n for n in self.order if n in needed]
        self.forward_block(region, vars_, "inspect", 1)
        src.add("self.set_train(True)", indent=1)
        losses = [n for n in region if self.role(n) == "loss"]
        src.add("return {" + ", ".join(f"{self.var_name(n)!r}: {vars_.read((n, 'loss'))}"
                                       for n in losses) + "}", indent=1)
        src.add("")
        src.add("")
        src.add("Training.inspect = inspect")

    def rebind_batch(self, vars_: VariableNames) -> None:
        if self.dataset:
            ports = [p.name for p in self.spec(self.dataset).output_ports(
                self.rows[self.dataset].values)]
            for p in ports:
                vars_.var_of[(self.dataset, p)] = identifier(p)
                vars_.live[identifier(p)] = 1 << 30

    def eval_losses(self) -> list[str]:
        if not self.dataset:
            return []
        out = []
        for n in self.by_role.get("loss", []):
            up = ancestors(self.graph, [n])
            if self.dataset in up and not any(role_of(self.node(m).block, "drawn")
                                              for m in up):
                out.append(n)
        return out

    def measures_accuracy(self, loss_id: str) -> bool:
        """A loss on one score vector per sample whose evaluation counts right answers."""
        loss = self.spec(loss_id).loss
        return bool(loss and loss.accuracy) and self.rows[loss_id].inputs["input"].rank == 1

    def write_evaluate(self) -> None:
        src = self.src
        losses = self.eval_losses()
        src.add("@torch.no_grad()", indent=1)
        src.add("def evaluate(self):", indent=1)
        src.add('"""Mean losses (and accuracy) over the held-out split, in eval mode."""', indent=2)
        if not losses:
            src.add("return {}", indent=2)
            src.add("")
            return
        needed = ancestors(self.graph, losses)
        vars_ = VariableNames(self.graph, needed)
        src.add("self.set_train(False)", indent=2)
        src.add("totals, count = {}, 0", indent=2)
        # accuracy reads the scores wired into the loss: keep them alive until then
        acc_losses = [n for n in losses if self.measures_accuracy(n)]
        if acc_losses:
            self.shows_confusion = True
            src.add("confusion = {}", indent=2)
        src.add('for batch in TensorBatches(self.data.test, SETTINGS["batch_size"], '
                'shuffle=False):', indent=2)
        for n in acc_losses:
            for e in self.graph.edges:
                if e.dst == n:
                    vars_.uses[(e.src, e.src_port)] = vars_.uses.get((e.src, e.src_port), 0) + 1
        self.bind_batch(vars_, "batch", 3)
        region = [n for n in self.order if n in needed]
        self.emit(region, vars_, "eval", 3)
        for n in losses:
            name = self.var_name(n)
            src.add(f'totals["test_{name}"] = totals.get("test_{name}", 0) + '
                    f'{vars_.read((n, "loss"))} * n', indent=3)
        for n in acc_losses:
            edges = {e.dst_port: e for e in self.graph.edges if e.dst == n}
            scores = vars_.read((edges["input"].src, edges["input"].src_port))
            target = vars_.read((edges["target"].src, edges["target"].src_port))
            single = len(acc_losses) == 1
            key = "test_accuracy" if single else f"test_accuracy_{self.var_name(n)}"
            matrix = "confusion" if single else f"confusion_{self.var_name(n)}"
            classes = self.rows[n].inputs["input"].shape[0]
            src.add(f"predicted = {scores}.argmax(1)", indent=3)
            src.add(f'totals["{key}"] = totals.get("{key}", 0) + (predicted == {target}).sum()',
                    indent=3)
            src.add(f'confusion["{matrix}"] = confusion.get("{matrix}", 0) + torch.bincount(',
                    indent=3)
            src.add(f"{target} * {classes} + predicted, minlength={classes * classes})",
                    indent=4)
        src.add("count += n", indent=3)
        src.add("self.set_train(True)", indent=2)
        src.add("result = {name: float(total) / count for name, total in totals.items()}",
                indent=2)
        if acc_losses:
            src.add("for name, counts in confusion.items():  # rows: true class, columns: "
                    "predicted", indent=2)
            src.add("side = int(round(counts.numel() ** 0.5))", indent=3)
            src.add("result[name] = counts.reshape(side, side).tolist()", indent=3)
        src.add("return result", indent=2)
        src.add("")

    def write_previews(self) -> None:
        src = self.src
        previews = self.by_role.get("output", [])
        src.add("@torch.no_grad()", indent=1)
        src.add("def previews(self):", indent=1)
        src.add('"""Preview outputs from fixed inputs, in eval mode: name -> images (N, C, H, W)."""',
                indent=2)
        if not previews:
            src.add("return {}", indent=2)
            src.add("")
            return
        needed = ancestors(self.graph, previews)
        vars_ = VariableNames(self.graph, needed)
        src.add("self.set_train(False)", indent=2)
        draws = self.draws([n for n in needed if not self.fixed_preview(n)])
        if self.dataset in needed:
            self.bind_batch(vars_, "self.preview_batch", 2, needs_n=draws)
        elif draws:
            src.add("n = self.preview_count", indent=2)
        region = [n for n in self.order if n in needed]
        self.emit(region, vars_, "preview", 2)
        src.add("self.set_train(True)", indent=2)
        items = []
        field = self.whole_image()
        for p in previews:
            e = next(e for e in self.graph.edges if e.dst == p)
            var = vars_.read((e.src, e.src_port))
            t = self.rows[p].inputs["x"]
            if t.rank == 1 and field:
                var = f"as_image({var})"
            elif t.rank == 2:
                var = f"{var}.unsqueeze(1)"
            elif t.rank == 1:
                var = f"{var}.reshape(1, 1, {var}.shape[0], -1)"
            items.append(f"{self.var_name(p)!r}: {var}")
        src.add("return {" + ", ".join(items) + "}", indent=2)
        src.add("")
        if any("as_image(" in i for i in items):
            src.add("")
            src.add("def as_image(pixels):")
            src.add('"""Every pixel of one square image, (H*W, C), as a (1, C, H, W) batch."""',
                    indent=1)
            src.add("side = int(round(pixels.shape[0] ** 0.5))", indent=1)
            src.add("return pixels.t().reshape(1, pixels.shape[1], side, side)", indent=1)
        src.add("")

    def write_main(self) -> None:
        src = self.src
        text = MAIN
        if self.shows_confusion:
            text = text.replace(PRINT_EVALUATION, PRINT_EVALUATION_WITH_MATRIX)
        if not self.by_role.get("output"):
            text = text.replace(SAVE_PREVIEWS, "\n")
        src.add("")
        src.add(text.strip("\n"))
        src.add("")
        src.add("")
        src.add('if __name__ == "__main__":')
        src.add("main()", indent=1)


def _imports(text: str, modules) -> list[str]:
    """``import m`` lines for the modules (``numpy as np``) whose name the text uses."""
    out = []
    for m in modules:
        name = m.split(" as ")[-1]
        if f"{name}." in text:
            out.append(f"import {m}")
    return out


def _computed(vars_: VariableNames, node_id: str) -> set:
    return set()


def value_dict(d: dict) -> str:
    return "{" + ", ".join(f"{k!r}: {value_dict(v) if isinstance(v, dict) else value(v)}"
                           for k, v in d.items()) + "}"


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
                        help="start from these weights (a weights.pt written by this script or "
                        "exported with trained weights from Studio)")
    args = parser.parse_args()
    training = Training(args.device, args.seed, args.data_dir, args.steps, args.epochs)
    if args.weights:
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
                shown = " ".join(f"{k} {v.item():.4f}" for k, v in metrics.items())
                print(f"step {step}/{training.total_steps} {shown} ({time.time() - start:.1f} s)")
            if step >= training.total_steps:
                break
    for name, result in training.evaluate().items():
        print(f"{name}: {result:.4f}")
    for name, images in training.previews().items():
        save_image_grid(images, out / f"{name}.png", **PREVIEWS[name])
    weights = {f"{net}.{k}": v for net, m in training.networks.items()
               for k, v in m.state_dict().items()}
    torch.save(weights, out / "weights.pt")
'''


# the line that starts what only Studio runs (never exported): see GeneratedCode
STUDIO_ONLY = "# Studio only, never exported: the pass its activation probes watch."
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


def write_training(gen) -> list[str]:
    return _TrainingWriter(gen).write()
