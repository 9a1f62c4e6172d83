"""The paper's models in one call, as keras.applications does: `mcnet()`, `polygon_rnn()`, `action_model()`.

Each builder resolves a task preset (the typed config of `deep_rnn_tf/tasks/<name>/config.py`) with your
overrides, builds the task's compiled model with all of its training state (layers, metrics, optimizer),
and optionally loads a weights file saved by `deep-rnn train` (a run's ``checkpoints/epoch-*.weights.h5``)
or by ``model.save_weights``. `polygon_rnn` and `action_model` take uint8 frames (pixel preprocessing is
their first layer); `mcnet` takes frames in [-1, 1] (`deep_rnn_tf.data.kth.to_unit_range`), as it trains.

This module is a public door like the `deep-rnn` command: it imports the task packages (lazily, inside the
builders), which the core rooms (cells, layers, data, training, evaluation, export) never do.

Example:
    >>> from deep_rnn_tf import models
    >>> model = models.mcnet("small", core="convlstm")            # MCnet with its own ConvLSTM core
    >>> weights = "runs/polygon-paper/checkpoints/epoch-0050.weights.h5"  # a trained run's file
    >>> model = models.polygon_rnn("paper", weights=weights)  # doctest: +SKIP
    >>> model = models.action_model("small", num_classes=101)
"""

from __future__ import annotations

import os
from typing import Any

from deep_rnn_tf.validation import check_positive_int

__all__ = ["mcnet", "polygon_rnn", "action_model", "build"]


def build(task: str, preset: str = "paper", weights: str | os.PathLike | None = None, **overrides: Any):
    """Any registered task's model: preset + overrides -> compiled, fully built Keras model (+ weights).

    Args:
        task: a task name of `deep_rnn_tf.tasks.TASKS` ("prediction", "polygon", "action", "demo").
        preset: one of the task's presets (`deep-rnn --help` lists them).
        weights: None, or a ``.weights.h5`` file saved from the same configuration.
        **overrides: config fields of the task that replace the preset's values.

    Raises:
        ValueError: unknown task, preset or config field, a bad value, or a weights file that is missing
            or does not fit (one line naming it).

    Example:
        >>> model = build("demo", "small", depth=4)
    """
    return _build(task, task, preset, weights, overrides)


def _build(label: str, task: str, preset: str, weights: str | os.PathLike | None, overrides: dict[str, Any]):
    """`build`, with `label` (the public builder's name) in the error messages."""
    from deep_rnn_tf._tf_import import import_tensorflow
    from deep_rnn_tf.tasks import TASKS, get_task, presets_of, resolve_config

    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; expected one of {sorted(TASKS)}.")
    presets = presets_of(task)
    if preset not in presets:
        raise ValueError(f"{label}: unknown preset {preset!r}; expected one of {sorted(presets)}.")
    if weights is not None and not os.path.isfile(weights):
        raise ValueError(f"{weights}: weights file not found")
    config = resolve_config(task, preset, [(f"{label}() arguments", overrides)])
    import_tensorflow()  # quietly, as the CLI does
    import tensorflow as tf

    from deep_rnn_tf.training.multiworker import build_for_training
    from deep_rnn_tf.training.runs import load_checkpoint

    task_object = get_task(task)
    model = task_object.build_model(config)
    # Every variable (layers, metrics, optimizer) now, so a training checkpoint loads as saved.
    build_for_training(model, task_object.example_batch(config, 1), tf.distribute.get_strategy())
    if weights is not None:
        load_checkpoint(model, weights)
    return model


def mcnet(
    preset: str = "paper", core: str = "rbm", weights: str | os.PathLike | None = None, **overrides: Any
):
    """MCnet for video prediction (paper §7): motion + content encoders, a deep RBM (or ConvLSTM) core.

    Args:
        preset: "paper" (KTH 128x128, K=10 -> T=10, 15-layer RBM core, GAN) or "small" (CPU size).
        core: "rbm" (the paper's deep RBM stack) or "convlstm" (MCnet's own core).
        weights: a weights file saved from the same configuration, or None.
        **overrides: fields of `deep_rnn_tf.tasks.prediction.config.PredictionConfig` (e.g. rnn_depth=10).

    Example:
        >>> model = mcnet("small")
        >>> import tensorflow as tf
        >>> past = tf.zeros((1, 5, 32, 32, 1))  # K = 5 frames of 32x32 in [-1, 1]
        >>> model(past, num_future=10).shape
        TensorShape([1, 10, 32, 32, 1])
    """
    return _build("mcnet", "prediction", preset, weights, {**overrides, "rnn": core})


def polygon_rnn(
    preset: str = "paper", core: str = "rbm", weights: str | os.PathLike | None = None, **overrides: Any
):
    """Polygon-RNN (paper §5): VGG16 skip-feature encoder and a deep RBM (or ConvLSTM) vertex decoder.

    Args:
        preset: "paper" (VGG16, 15-layer RBM decoder, 57 vertices, 8 OCTS windows) or "small".
        core: "rbm" or "convlstm" (Polyg-LSTM).
        weights: a weights file saved from the same configuration, or None.
        **overrides: fields of `deep_rnn_tf.tasks.polygon.config.PolygonConfig` (e.g. depth=10).

    Example:
        >>> model = polygon_rnn("small")
    """
    return _build("polygon_rnn", "polygon", preset, weights, {**overrides, "rnn": core})


def action_model(
    preset: str = "paper",
    core: str | None = None,
    weights: str | os.PathLike | None = None,
    num_classes: int | None = None,
    **overrides: Any,
):
    """The action recognition / anticipation model (paper §4): CNN backbone + deep RBM, trained with OCTS.

    Args:
        preset: "paper" (VGG19 + 15-layer RBM, 7x10 clips), "paper_standalone" (the 17-cell RBM) or "small".
        core: the recurrent stack ("rbm15", "rbm1", "convlstm15", "lstm1"); None keeps the preset's.
        weights: a weights file saved from the same configuration, or None.
        num_classes: number of classes (named class_0 ...) when `class_names` is not given; one of the two
            is needed, since the model is built without reading a data set.
        **overrides: fields of `deep_rnn_tf.tasks.action.config.ActionConfig`.

    Example:
        >>> model = action_model("small", num_classes=101, backbone_weights="none")
    """
    if core is not None:
        overrides["rnn"] = core
    if num_classes is not None and "class_names" not in overrides:
        overrides["class_names"] = tuple(
            f"class_{i}" for i in range(check_positive_int("num_classes", num_classes))
        )
    if not overrides.get("class_names"):
        raise ValueError("action_model: pass num_classes=N or class_names=[...] (the data set is not read)")
    return _build("action_model", "action", preset, weights, overrides)
