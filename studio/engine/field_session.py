"""The session that measures a unit's receptive field on the trained state once no run is
going (``field_run.py`` in a training process, as Predict on Image runs its job); during a run
the runner answers the same request itself (``TrainingSession.request_field``). The app
imports this only when it asks, since the session brings the runner's torch along."""

from __future__ import annotations

from studio.engine.field_job import FieldJob
from studio.engine.session import TrainingSession


class FieldSession(TrainingSession):
    """A training process that answers one ``FieldJob`` instead of training: a
    ``ReceptiveField`` event, then ``Finished`` (or an ``Error``)."""

    def __init__(self, project, job: FieldJob, config=None):
        super().__init__(project, config)
        self.field = job

    def _job(self):
        return self._worker_job("field", self.field).data
