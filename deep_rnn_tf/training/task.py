"""The contract between a task (prediction, action, polygon, demo) and the shared training machinery.

A task says *what* to train (model, data, losses, evaluation, serving signature); the runner in
`deep_rnn_tf.training` says *how* (strategy, run directory, checkpoints, resume, export). The CLI's
`deep-rnn train|test|export TASK` call these methods and nothing else.
"""

from __future__ import annotations

import abc
import argparse
from typing import Any

import keras
import tensorflow as tf


class Task(abc.ABC):
    """One visual sequential task, selected by name on the command line.

    Subclasses set `name` and `presets` (named configurations; `"small"` for CPU, `"paper"` for the
    original's sizes) and implement the abstract methods. A config is a plain dict: a preset updated
    with the command-line overrides; the runner writes the resolved config to the run directory.
    """

    name: str = ""
    presets: dict[str, dict[str, Any]] = {}
    default_preset: str = "small"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:  # noqa: B027
        """Adds task-specific flags (they override preset fields of the same name)."""

    def check_config(self, config: dict[str, Any]) -> None:  # noqa: B027
        """Raises a one-line ValueError for a bad task setting (runs before any device is set up)."""

    @abc.abstractmethod
    def build_model(self, config: dict[str, Any]) -> keras.Model:
        """Builds and compiles the model (called inside the distribution strategy's scope)."""

    @abc.abstractmethod
    def datasets(
        self, config: dict[str, Any], global_batch_size: int
    ) -> tuple[tf.data.Dataset, tf.data.Dataset | None]:
        """Returns (train, validation or None) datasets batched with the *global* batch size."""

    @abc.abstractmethod
    def evaluate(self, config: dict[str, Any], model: keras.Model, run_dir: str) -> dict[str, Any]:
        """Runs the task's test protocol, writes its result files under `run_dir`, returns metrics."""

    @abc.abstractmethod
    def serving_model(self, config: dict[str, Any], model: keras.Model) -> keras.Model | tf.Module:
        """Returns the model to export: named inputs, a dict of named outputs (see `export`)."""
