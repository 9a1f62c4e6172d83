"""Task registry: the CLI finds each task here by name, imported lazily.

The core (cells, layers, data formats, training, evaluation, export) never imports a task; only the CLI
and the examples do, through :func:`get_task`. Each task's configuration (dataclass + presets) lives in a
TensorFlow-free ``config`` module, so :func:`presets_of` and :func:`config_class_of` cost no TF import.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Any

# name -> "module:Class"; each module defines one `deep_rnn_tf.training.task.Task` subclass.
TASKS: dict[str, str] = {
    "demo": "deep_rnn_tf.tasks.demo.task:DemoTask",
    "prediction": "deep_rnn_tf.tasks.prediction.task:PredictionTask",
    "action": "deep_rnn_tf.tasks.action.task:ActionTask",
    "polygon": "deep_rnn_tf.tasks.polygon.task:PolygonTask",
}
# name -> "module:ConfigClass"; the module also defines PRESETS and DEFAULT_PRESET (no TensorFlow).
CONFIGS: dict[str, str] = {
    "demo": "deep_rnn_tf.tasks.demo.config:DemoConfig",
    "prediction": "deep_rnn_tf.tasks.prediction.config:PredictionConfig",
    "action": "deep_rnn_tf.tasks.action.config:ActionConfig",
    "polygon": "deep_rnn_tf.tasks.polygon.config:PolygonConfig",
}


def _check_name(name: str) -> None:
    if name not in TASKS:
        raise ValueError(f"Unknown task {name!r}; expected one of {sorted(TASKS)}.")


def get_task(name: str):
    """Returns an instance of the task registered as `name` (see `TASKS`)."""
    _check_name(name)
    module_name, class_name = TASKS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)()


def _config_module(name: str):
    _check_name(name)
    return importlib.import_module(CONFIGS[name].split(":")[0])


def config_class_of(name: str):
    """The config dataclass of task `name` (a `deep_rnn_tf.training.config.TaskConfig` subclass); no TF."""
    _check_name(name)
    module_name, class_name = CONFIGS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def presets_of(name: str) -> dict[str, Any]:
    """Task `name`'s presets: preset name -> `Preset` (`.description`, `.values`); no TensorFlow import.

    Example:
        >>> {k: p.description for k, p in presets_of("demo").items()}["deep"]
        '6 RBM layers with a residual jump every 3, 8 epochs'
    """
    return dict(_config_module(name).PRESETS)


def default_preset_of(name: str) -> str:
    """The preset a command uses without --preset."""
    return _config_module(name).DEFAULT_PRESET


def resolve_config(
    name: str,
    preset: str | None = None,
    layers: Iterable[tuple[str, Mapping[str, Any]]] = (),
    base: Mapping[str, Any] | None = None,
    base_source: str = "run config",
):
    """Task `name`'s typed config: preset (or `base`, e.g. a run's saved config) < each (source, values).

    Args:
        name: task name.
        preset: preset name (None: the task's default); ignored when `base` is given.
        layers: e.g. ``[("--config run.json", {...}), ("command line", {...})]``.
        base: start from these values (a run's config.json) instead of a preset.
        base_source: how errors name `base` (e.g. the config.json's path).

    Raises:
        ValueError: one line naming the source and key of a bad value, or the unknown preset.

    Example:
        >>> resolve_config("demo", "small", [("command line", {"epochs": 2})]).epochs
        2
    """
    cls = config_class_of(name)
    if base is not None:
        start = [(base_source, base)]
    else:
        preset = preset or default_preset_of(name)
        presets = presets_of(name)
        if preset not in presets:
            raise ValueError(f"--preset {preset!r}: task {name!r} has presets {sorted(presets)}")
        start = [(f"preset {preset!r}", {**presets[preset].values, "preset": preset})]
    return cls.from_layers([*start, *layers])
