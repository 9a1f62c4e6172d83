"""The demo task: a small deep RBM stack classifies the direction of a moving blob (generated data).

It exists so that `make demo` and the tests exercise the whole pipeline (strategy, run directory,
resume, export, serving) on CPU in seconds, through exactly the code path every real task uses:
`deep-rnn train|test|export demo`.
"""

from __future__ import annotations

import argparse

import keras
import numpy as np
import tensorflow as tf

from deep_rnn_tf import DeepRNN
from deep_rnn_tf.evaluation.driver import gather
from deep_rnn_tf.evaluation.results import ResultsWriter
from deep_rnn_tf.layers.preprocessing import Preprocessing
from deep_rnn_tf.tasks.demo.config import DemoConfig
from deep_rnn_tf.tasks.demo.data import DIRECTIONS, moving_blobs
from deep_rnn_tf.training.schedules import learning_rate
from deep_rnn_tf.training.task import Task
from deep_rnn_tf.training.trainer import StepLosses, TaskModel


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class ClipClassifier(TaskModel):
    """A clip classifier (frames -> class logits) trained with cross entropy on the shared trainer step.

    Args:
        network: a Keras model mapping clips to logits (batch, classes).

    Example:
        >>> model = ClipClassifier(network)
        >>> model.compile(optimizer="adam")
    """

    def __init__(self, network: keras.Model, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.build(network.input_shape)

    def build(self, input_shape=None):
        """Nothing to create: the wrapped network is a built Functional model."""
        self.built = True

    def call(self, frames, training=False):
        return self.network(frames, training=training)

    def make_metrics(self) -> list[keras.metrics.Metric]:
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def compute_losses(self, data, training: bool) -> StepLosses:
        frames, labels = data[0], data[1]
        logits = self(frames, training=training)
        per_clip = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
        loss = tf.reduce_sum(per_clip) / tf.cast(tf.size(per_clip), per_clip.dtype)
        return StepLosses(loss, targets=labels, predictions=logits)

    def get_config(self):
        return {**super().get_config(), "network": keras.saving.serialize_keras_object(self.network)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["network"] = keras.saving.deserialize_keras_object(config["network"], custom_objects)
        return cls(**config)


class DemoTask(Task):
    """Moving-blob direction classification with a DeepRNN of RBM cells.

    Presets (`deep_rnn_tf.tasks.demo.config`): ``small`` (2 RBM layers x 16 filters, 6 epochs; ~30 s on
    2 CPU cores), ``deep`` (6 layers with a residual jump every 3). Clips are uint8 grey frames.

    Example:
        >>> task = DemoTask()
        >>> model = task.build_model(DemoConfig(filters=4))  # doctest: +SKIP
    """

    name = "demo"
    config_module = "deep_rnn_tf.tasks.demo.config"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--depth", type=int, help="RBM layers in the stack")
        parser.add_argument("--filters", type=int, help="filters per RBM layer")
        parser.add_argument("--train-clips", type=int, help="generated training clips")

    def build_model(self, config) -> keras.Model:
        config: DemoConfig = self.config(config)
        frames = keras.Input((config.frames, config.size, config.size, 1), dtype="uint8", name="frames")
        x = Preprocessing("unit", name="preprocess")(frames)
        features = DeepRNN(
            "rbm",
            depth=config.depth,
            filters=config.filters,
            jump=config.jump,
            seed=config.seed,
            name="deep_rbm",
        )(x)
        # Max, not average: the blob covers a few pixels of 256 and averaging drowns its signal.
        pooled = keras.layers.GlobalMaxPooling2D(name="pool")(features)
        # float32 logits even under mixed precision (stable softmax/cross-entropy).
        logits = keras.layers.Dense(len(DIRECTIONS), dtype="float32", name="logits")(pooled)
        model = ClipClassifier(keras.Model(frames, logits, name="demo_deep_rbm"), name="demo")
        steps = config.train_clips // int(config.global_batch_size or config.batch_size)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate(config, steps)))
        return model

    def _clips(self, config: DemoConfig, split: str) -> tuple[np.ndarray, np.ndarray]:
        offset = {"train": 0, "val": 1, "test": 2}[split]
        clips, labels = moving_blobs(
            getattr(config, f"{split}_clips"),
            frames=config.frames,
            size=config.size,
            noise=config.noise,
            seed=config.data_seed * 3 + offset,
        )
        return to_pixels(clips), labels

    def datasets(self, config, global_batch_size: int) -> tuple[tf.data.Dataset, tf.data.Dataset | None]:
        config = self.config(config)
        x, y = self._clips(config, "train")
        train = (
            tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(len(x), seed=config.seed or 0)
            .batch(global_batch_size, drop_remainder=True)
            .prefetch(2)
        )
        vx, vy = self._clips(config, "val")
        val = tf.data.Dataset.from_tensor_slices((vx, vy)).batch(global_batch_size, drop_remainder=True)
        return train, val

    def example_batch(self, config, batch_size: int = 1):
        config = self.config(config)
        frames = np.zeros((batch_size, config.frames, config.size, config.size, 1), np.uint8)
        return frames, np.zeros((batch_size,), np.int64)

    def evaluate(self, config, model: keras.Model, run_dir: str) -> dict:
        config = self.config(config)
        x, y = self._clips(config, "test")
        test = tf.data.Dataset.from_tensor_slices((x, y)).batch(config.batch_size)
        predict = tf.function(lambda frames: model(frames, training=False), reduce_retracing=True)
        gathered = gather(test, predict, desc="demo test")
        predicted = gathered["outputs"].argmax(-1)
        labels = gathered["targets"]
        per_class = {
            name: float((predicted[labels == index] == index).mean()) if (labels == index).any() else None
            for index, name in enumerate(DIRECTIONS)
        }
        metrics = {
            "task": self.name,
            "test_clips": int(len(labels)),
            "accuracy": float((predicted == labels).mean()),
            "per_class_accuracy": per_class,
        }
        ResultsWriter.for_run(run_dir).json("demo_metrics.json", metrics)
        return metrics

    def serving_model(self, config, model: keras.Model) -> keras.Model:
        config = self.config(config)
        frames = keras.Input((config.frames, config.size, config.size, 1), dtype="uint8", name="frames")
        logits = model(frames, training=False)
        probabilities = keras.layers.Softmax(name="probabilities", dtype="float32")(logits)
        label = keras.layers.Lambda(lambda p: keras.ops.argmax(p, axis=-1), name="label")(probabilities)
        return keras.Model(frames, {"probabilities": probabilities, "label": label}, name="demo_serving")


def to_pixels(clips: np.ndarray) -> np.ndarray:
    """Generated float clips in [0, 1] -> uint8 pixels (what a camera gives and the served model takes)."""
    return np.clip(np.round(clips * 255.0), 0, 255).astype(np.uint8)
