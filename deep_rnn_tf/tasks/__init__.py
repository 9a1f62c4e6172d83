"""Task registry: the CLI finds each task here by name, imported lazily.

The core (cells, layers, data formats, training, evaluation, export) never imports a task; only the CLI
and the examples do, through :func:`get_task`.
"""

from __future__ import annotations

import importlib

# name -> "module:Class"; each module defines one `deep_rnn_tf.training.task.Task` subclass.
TASKS: dict[str, str] = {
    "demo": "deep_rnn_tf.tasks.demo.task:DemoTask",
    "prediction": "deep_rnn_tf.tasks.prediction.task:PredictionTask",
    "action": "deep_rnn_tf.tasks.action.task:ActionTask",
    "polygon": "deep_rnn_tf.tasks.polygon.task:PolygonTask",
}


def get_task(name: str):
    """Returns an instance of the task registered as `name` (see `TASKS`)."""
    if name not in TASKS:
        raise ValueError(f"Unknown task {name!r}; expected one of {sorted(TASKS)}.")
    module_name, class_name = TASKS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)()
