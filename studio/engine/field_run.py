"""A receptive-field job's run, in the training process (``worker.run_job`` with a
``FieldJob``): the project's ``Training`` built as a Train builds it (same data, same probe
batch), the trained weights loaded, then the unit measured as the runner measures it during a
run (``receptive_field.answer``). One ``ReceptiveField`` then ``Finished``; weights that do not
fit or a project that cannot be built become an ``Error``.
"""

from __future__ import annotations

from studio.engine.errors import TrainingError
from studio.engine.events import Error, Finished
from studio.engine.field_job import FieldJob
from studio.engine.prediction_run import PredictionError, _load_weights, answering_runner
from studio.engine.receptive_field import answer
from studio.engine.runner import RunConfig


def run_field(project, config: RunConfig, job: FieldJob, emit) -> str:
    """Answer ``job`` on ``project``; returns the status, "finished" or "failed"."""
    runner = answering_runner(project, config, emit)
    try:
        runner.build()
        _load_weights(runner.training, runner.code, job.weights)
    except (TrainingError, PredictionError) as err:
        node = getattr(err, "node", None)
        emit(Error(getattr(err, "kind", "project"), str(err), list(node) if node else None))
        emit(Finished("failed", 0, {}, 0.0))
        return "failed"
    emit(answer(project, runner.probes, None, job.node, job.unit, job.sample))
    emit(Finished("finished", 0, {}, 0.0))
    return "finished"
