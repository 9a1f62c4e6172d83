"""The contract between a task (prediction, action, polygon, demo) and the shared training machinery.

A task says *what* to train (typed config + presets, model, data, test protocol, serving model); the
runner in `deep_rnn_tf.training` says *how* (strategy, run directory, checkpoints, resume, export), the
model's train/test step is `deep_rnn_tf.training.trainer.TaskModel`'s, the test loop is
`deep_rnn_tf.evaluation.driver.gather` and every result file goes through
`deep_rnn_tf.evaluation.results.ResultsWriter`. The CLI's `deep-rnn train|test|export TASK` call these
methods and nothing else.
"""

from __future__ import annotations

import abc
import argparse
import importlib
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from deep_rnn_tf.training.config import TaskConfig


class Task(abc.ABC):
    """One visual sequential task, selected by name on the command line.

    Subclasses set `name` and `config_module` (the TF-free module holding the config dataclass
    `CONFIG`, `PRESETS` and `DEFAULT_PRESET`) and implement the abstract methods. Methods receive a
    `TaskConfig` of the task's class (a plain mapping is converted and checked by :meth:`config`).
    """

    name: str = ""
    config_module: str = ""

    # --- configuration -------------------------------------------------------------------------------------
    @property
    def _configs(self):
        return importlib.import_module(self.config_module)

    @property
    def config_class(self) -> type[TaskConfig]:
        """The task's config dataclass."""
        return self._configs.CONFIG

    @property
    def default_preset(self) -> str:
        return self._configs.DEFAULT_PRESET

    @property
    def presets(self) -> dict[str, dict[str, Any]]:
        """Preset name -> its full config as a plain dict (the dataclass defaults updated by the preset)."""
        return {
            name: self.config_class.from_layers(
                [(f"preset {name!r}", {**preset.values, "preset": name})]
            ).to_dict()
            for name, preset in self._configs.PRESETS.items()
        }

    def config(self, config: Mapping[str, Any] | TaskConfig, source: str = "config") -> Any:
        """`config` as the task's dataclass (checked; a bad value names its key and `source`)."""
        return self.config_class.from_dict(config, source)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:  # noqa: B027
        """Adds task-specific flags (they override config fields of the same name)."""

    def check_config(self, config: Any) -> None:  # noqa: B027
        """Raises a one-line ValueError for a bad task setting (runs before any device is set up).

        `config` is the task's typed dataclass (attribute access); its fields' types are already checked.
        """

    def selection_logs(self, config: Any) -> tuple[str, ...]:
        """Validation logs whose best epochs the run keeps apart from the `select_on` one, for test protocols
        that load their own (`training.best.checkpoint_selected_on`); none by default.

        Example:
            >>> action_task.selection_logs(config)  # with --anticipation-select-on val_anticipation_loss
            ('val_anticipation_loss',)
        """
        return ()

    # --- what each task writes -----------------------------------------------------------------------------
    @abc.abstractmethod
    def build_model(self, config: Any) -> keras.Model:
        """Builds and compiles the model (called inside the distribution strategy's scope)."""

    @abc.abstractmethod
    def datasets(self, config: Any, global_batch_size: int) -> tuple[tf.data.Dataset, tf.data.Dataset | None]:
        """Returns (train, validation or None) datasets batched with the *global* batch size."""

    @abc.abstractmethod
    def example_batch(self, config: Any, batch_size: int = 1) -> tuple[Any, Any]:
        """A zero (inputs, targets) batch shaped and typed as the training data, built without any data:
        what building the model's training state (and loading a checkpoint) needs."""

    @abc.abstractmethod
    def evaluate(self, config: Any, model: keras.Model, run_dir: str) -> dict[str, Any]:
        """Runs the test protocol, writes its result files under `<run_dir>/results`, returns metrics."""

    @abc.abstractmethod
    def serving_model(self, config: Any, model: keras.Model) -> keras.Model | tf.Module:
        """Returns the model to export: named uint8 frame inputs, a dict of named outputs."""

    # --- shared --------------------------------------------------------------------------------------------
    @staticmethod
    def serving_example(serving: keras.Model, seed: int = 0) -> Any:
        """A batch-1 example for a served model: random pixels for uint8 inputs, zeros otherwise.

        Example:
            >>> Task.serving_example(serving_model)["frames"].dtype  # doctest: +SKIP
            dtype('uint8')
        """
        rng = np.random.default_rng(seed)
        examples = {}
        for tensor in serving.inputs:
            shape = tuple(1 if d is None else int(d) for d in tensor.shape)
            dtype = np.dtype(keras.backend.standardize_dtype(tensor.dtype))
            if dtype == np.uint8:
                examples[tensor.name] = rng.integers(0, 256, shape, dtype=np.uint8)
            else:
                examples[tensor.name] = np.zeros(shape, dtype)
        return examples if len(examples) > 1 else next(iter(examples.values()))
