"""Toy tasks with known dynamics (3-bit flip-flop, delay, sine generation) and a trainer for them, so that a
user without a trained model gets one whose fixed points and cycles are known in advance.

Importing this package does not import torch; :func:`train` does.
"""

from rnnviz.tasks.tasks import TASK_NAMES, TrainingError
from rnnviz.tasks.training import LAYER_TYPES, TrainResult, train

__all__ = ["LAYER_TYPES", "TASK_NAMES", "TrainResult", "TrainingError", "train"]
