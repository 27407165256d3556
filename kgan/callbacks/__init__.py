"""Callbacks that answer "is it working?" while a GAN trains.

* `SampleGrid` (`sample_grid.py`): a PNG grid of samples from fixed noise every epoch (and a
  TensorBoard image).
* `TrainingMonitor` (`monitor.py`): reads the tracked metrics and the samples and names the
  known failure modes when they appear, with what usually helps; warns, and optionally stops
  and keeps the last healthy checkpoint. Its checks, one pure function per failure mode, are
  in `health_checks.py`.
* `EvaluationCallback` (`evaluation.py`): FID/KID every N epochs on a held-out set, logged to
  `History` and TensorBoard, keeping the best generator.
"""

from kgan.callbacks.evaluation import EvaluationCallback
from kgan.callbacks.monitor import HealthEvent, TrainingHealthWarning, TrainingMonitor
from kgan.callbacks.sample_grid import SampleGrid
from kgan.callbacks.self_conditioning import SelfConditioning

__all__ = [
    "EvaluationCallback",
    "HealthEvent",
    "SampleGrid",
    "SelfConditioning",
    "TrainingHealthWarning",
    "TrainingMonitor",
]
