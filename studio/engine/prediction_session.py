"""The session that runs a ``PredictJob`` (``prediction.py``) in a training process, as Train and
the learning-rate range test run theirs; the app imports it only when it predicts, since the
session brings the runner's torch along."""

from __future__ import annotations

from studio.engine.prediction import PredictJob
from studio.engine.session import TrainingSession


class PredictionSession(TrainingSession):
    """A training process that classifies the job's pictures instead of training; its events
    are a ``Prediction`` per picture, then ``Finished`` (or an ``Error``)."""

    def __init__(self, project, job: PredictJob, config=None):
        super().__init__(project, config)
        self.predict = job

    def _job(self):
        return self._worker_job("predict", self.predict).data
