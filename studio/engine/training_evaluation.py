"""``Training.evaluate`` in ``train.py``: the mean of each loss fed by the dataset over the
held-out split, in eval mode, and for a loss on class scores its accuracy and confusion matrix.
"""

from __future__ import annotations

from studio.engine.forward_code import VariableNames, ancestors
from studio.engine.training_forward import ForwardWriter


class EvaluationWriter:
    def __init__(self, forward: ForwardWriter):
        self.forward = forward
        self.graph = forward.graph
        self.src = forward.src
        self.shows_confusion = False  # evaluate returns confusion matrices (main prints them)

    def write(self) -> None:
        g, src = self.graph, self.src
        losses = g.eval_losses()
        src.add("@torch.no_grad()", indent=1)
        src.add("def evaluate(self):", indent=1)
        src.add('"""Mean losses (and accuracy) over the held-out split, in eval mode."""', indent=2)
        if not losses:
            src.add("return {}", indent=2)
            src.add("")
            return
        needed = ancestors(g.graph, losses)
        vars_ = VariableNames(g.graph, needed)
        src.add("self.set_train(False)", indent=2)
        src.add("totals, count = {}, 0", indent=2)
        acc_losses = [n for n in losses if g.measures_accuracy(n)]
        if acc_losses:
            self.shows_confusion = True
            src.add("confusion = {}", indent=2)
        src.add(f'for batch in {g.batches_class()}(self.data.test, SETTINGS["batch_size"], '
                'shuffle=False):', indent=2)
        # accuracy reads the scores wired into the loss: keep them alive until then
        for n in acc_losses:
            for e in g.graph.edges:
                if e.dst == n:
                    vars_.uses[(e.src, e.src_port)] = vars_.uses.get((e.src, e.src_port), 0) + 1
        self.forward.bind_batch(vars_, "batch", 3)
        self.forward.emit([n for n in g.order if n in needed], vars_, "eval", 3)
        for n in losses:
            name = g.var_name(n)
            src.add(f'totals["test_{name}"] = totals.get("test_{name}", 0) + '
                    f'{vars_.read((n, "loss"))} * n', indent=3)
        for n in acc_losses:
            self.write_accuracy(n, vars_, single=len(acc_losses) == 1)
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

    def write_accuracy(self, loss_id: str, vars_: VariableNames, single: bool) -> None:
        """Right answers and the confusion counts of one batch, from the loss's scores."""
        g, src = self.graph, self.src
        edges = {e.dst_port: e for e in g.graph.edges if e.dst == loss_id}
        scores = vars_.read((edges["input"].src, edges["input"].src_port))
        target = vars_.read((edges["target"].src, edges["target"].src_port))
        key = "test_accuracy" if single else f"test_accuracy_{g.var_name(loss_id)}"
        matrix = "confusion" if single else f"confusion_{g.var_name(loss_id)}"
        classes = g.rows[loss_id].inputs["input"].shape[0]
        src.add(f"predicted = {scores}.argmax(1)", indent=3)
        src.add(f'totals["{key}"] = totals.get("{key}", 0) + (predicted == {target}).sum()',
                indent=3)
        src.add(f'confusion["{matrix}"] = confusion.get("{matrix}", 0) + torch.bincount(',
                indent=3)
        src.add(f"{target} * {classes} + predicted, minlength={classes * classes})", indent=4)
