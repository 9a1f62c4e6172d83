"""A Keras-3-compatible training loop for MultiWorkerMirroredStrategy (works for any strategy).

Keras 3's ``model.fit`` fails under ``tf.distribute.MultiWorkerMirroredStrategy`` (keras#20585,
tensorflow#72388): ``TensorFlowTrainer._maybe_symbolic_build`` reduces a PerReplica batch and
``reduce_per_replica`` reduces scalar metrics along axis 0. This module sidesteps both without
patching Keras:

* the model is built (layers, compiled loss/metrics, optimizer) in cross-replica context from one
  *local* batch, with the same ``Trainer._symbolic_build`` that ``fit`` itself uses;
* each step runs the model's **own** ``train_step`` under ``strategy.run`` (so task models that
  override ``train_step``, e.g. a GAN, train the same way as under ``fit``); Keras' TF optimizer
  already all-reduces gradients inside a replica context, and ``compute_loss`` already divides by the
  number of replicas;
* the per-replica logs are reduced with ``strategy.reduce("MEAN", ..., axis=None)``;
* the usual Keras callbacks (progress bar, CSV logger, TensorBoard, our checkpoint and NaN guard) are
  driven through ``keras.callbacks.CallbackList`` exactly as ``fit`` drives them.

Every worker must run the same number of steps: batch with ``drop_remainder=True`` or let
tf.distribute pad the last partial batch (it synchronises end-of-data across workers).
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf


def build_for_training(model: keras.Model, sample_batch: Any, strategy: tf.distribute.Strategy) -> None:
    """Creates every variable of `model` (layers, compiled metrics, optimizer) in cross-replica context.

    Variables must exist before ``strategy.run`` (creating them inside a replica context fails under
    MultiWorkerMirroredStrategy). Uses Keras' own ``Trainer._symbolic_build`` (the call ``fit`` makes,
    but on a plain local batch instead of a reduced PerReplica one: the keras#20585 failure).

    Args:
        model: a compiled Keras model (compiled inside ``strategy.scope()``).
        sample_batch: one batch as the dataset yields it, ``(x, y)`` or ``(x, y, sample_weight)``.
        strategy: the strategy the model was compiled under.

    Example:
        >>> build_for_training(model, next(iter(dataset)), strategy)  # doctest: +SKIP
    """
    with strategy.scope():
        model._symbolic_build(data_batch=sample_batch)
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)


def broadcast_from_chief(strategy: tf.distribute.Strategy, variables: list) -> None:
    """Makes every worker's copy of `variables` equal to the chief's (e.g. after a restore on the chief).

    Under MultiWorkerMirroredStrategy a cross-replica ``assign`` only updates the local worker's copies,
    so a checkpoint loaded on the chief alone would leave the workers different. This sums, over all
    replicas, the chief's first-replica value and zeros from everyone else.

    Args:
        strategy: the strategy (a no-op under a single-worker strategy).
        variables: Keras or tf variables, in the same order on every worker.

    Example:
        >>> broadcast_from_chief(strategy, model.weights)  # doctest: +SKIP
    """
    if not variables or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    values = [np.asarray(keras.ops.convert_to_numpy(v.value)) for v in variables]
    for variable, value in zip(variables, _sum_first_replica(strategy, values), strict=True):
        variable.assign(value)


def broadcast_int(strategy: tf.distribute.Strategy, value: int) -> int:
    """Returns the chief's `value` on every worker (e.g. the epoch to resume from).

    Args:
        strategy: the strategy (returns `value` unchanged without several workers).
        value: this process's value; only the chief's counts.

    Example:
        >>> initial_epoch = broadcast_int(strategy, initial_epoch)  # doctest: +SKIP
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return value
    (total,) = _sum_first_replica(strategy, [np.asarray(value, np.int64)])
    return int(total)


def _sum_first_replica(strategy: tf.distribute.Strategy, values: list[np.ndarray]) -> list:
    """All-reduces `values`: global replica 0 (on the chief) gives them, every other replica zeros."""

    @tf.function
    def all_reduce():
        def step():
            ctx = tf.distribute.get_replica_context()
            # Global replica 0 lives on the chief (worker 0, or the "chief" task, which TF ranks first).
            keep = tf.equal(ctx.replica_id_in_sync_group, 0)
            mine = [tf.where(keep, tf.constant(v), tf.zeros(v.shape, v.dtype)) for v in values]
            # One all-reduce per dtype: TF packs a batch of tensors into one, which needs a single dtype.
            reduced = list(mine)
            for dtype in sorted({v.dtype.name for v in values}):  # same order on every worker
                indices = [i for i, v in enumerate(values) if v.dtype.name == dtype]
                summed = ctx.all_reduce(tf.distribute.ReduceOp.SUM, [mine[i] for i in indices])
                for i, value in zip(indices, summed, strict=True):
                    reduced[i] = value
            return reduced

        return strategy.run(step)

    reduced = all_reduce()
    return [strategy.experimental_local_results(r)[0].numpy() for r in reduced]


class DistributedLoop:
    """``model.fit``'s job for any strategy, built on ``strategy.run(model.train_step)``.

    Args:
        model: a model built and compiled inside ``strategy.scope()``.
        strategy: the strategy (MultiWorkerMirroredStrategy is the reason this exists).

    Example:
        >>> loop = DistributedLoop(model, strategy)  # doctest: +SKIP
        >>> history = loop.fit(train_ds, epochs=3, callbacks=[...])  # doctest: +SKIP
    """

    def __init__(self, model: keras.Model, strategy: tf.distribute.Strategy):
        if not isinstance(model, keras.Model):
            raise ValueError(f"model must be a keras.Model; received: {type(model).__name__}")
        if model.optimizer is None:
            raise ValueError(
                "model must be compiled (model.optimizer is None); compile it in strategy.scope()."
            )
        self.model = model
        self.strategy = strategy
        self._train_fn = None
        self._test_fn = None

    def _make_step(self, step_fn):
        strategy = self.strategy

        @tf.function(reduce_retracing=True)
        def distributed_step(batch):
            logs = strategy.run(step_fn, args=(batch,))
            return {name: strategy.reduce("MEAN", value, axis=None) for name, value in logs.items()}

        return distributed_step

    def _distribute(self, dataset: tf.data.Dataset):
        options = tf.data.Options()
        # Generated and in-memory datasets cannot be sharded by file; shard by element instead.
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return self.strategy.experimental_distribute_dataset(dataset.with_options(options))

    def fit(
        self,
        dataset: tf.data.Dataset,
        *,
        epochs: int = 1,
        initial_epoch: int = 0,
        validation_data: tf.data.Dataset | None = None,
        callbacks: list[keras.callbacks.Callback] | None = None,
        verbose: int = 1,
        steps_per_epoch: int | None = None,
    ) -> keras.callbacks.History:
        """Trains like ``model.fit`` (same callbacks, same logs).

        Args:
            dataset: a ``tf.data.Dataset`` batched with the **global** batch size.
            epochs: index of the last epoch (as in ``fit``: epochs ``initial_epoch..epochs-1`` run).
            initial_epoch: epoch to start from (resume).
            validation_data: optional dataset, evaluated at each epoch end (logs ``val_*``).
            callbacks: Keras callbacks.
            verbose: 0 silent, 1 progress bar, 2 one line per epoch.
            steps_per_epoch: steps per epoch (default: the dataset's cardinality when known).

        Returns:
            The ``History`` callback.
        """
        model = self.model
        build_for_training(model, next(iter(dataset)), self.strategy)
        if steps_per_epoch is None:
            cardinality = int(dataset.cardinality())
            steps_per_epoch = cardinality if cardinality > 0 else None
        if self._train_fn is None:
            self._train_fn = self._make_step(model.train_step)
        callback_list = keras.callbacks.CallbackList(
            callbacks,
            add_history=True,
            add_progbar=verbose != 0,
            model=model,
            verbose=verbose,
            epochs=epochs,
            steps=steps_per_epoch,
        )
        distributed = self._distribute(dataset)
        model.stop_training = False
        callback_list.on_train_begin()
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            model.reset_metrics()
            callback_list.on_epoch_begin(epoch)
            iterator = iter(distributed)
            for step in range(steps_per_epoch) if steps_per_epoch else _count():
                batch = iterator.get_next_as_optional()
                if not batch.has_value():
                    break
                callback_list.on_train_batch_begin(step)
                logs = _to_floats(self._train_fn(batch.get_value()))
                callback_list.on_train_batch_end(step, logs)
                if model.stop_training:
                    break
            epoch_logs = dict(logs)
            if validation_data is not None and not model.stop_training:
                val_logs = self.evaluate(validation_data, callbacks=callback_list)
                epoch_logs.update({f"val_{name}": value for name, value in val_logs.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            logs = epoch_logs
            if model.stop_training:
                break
        callback_list.on_train_end(logs)
        return model.history

    def evaluate(
        self, dataset: tf.data.Dataset, callbacks: keras.callbacks.CallbackList | None = None
    ) -> dict[str, float]:
        """Runs ``model.test_step`` over `dataset` under the strategy; returns the reduced metrics.

        Args:
            dataset: a dataset batched with the global batch size.
            callbacks: an optional ``CallbackList`` to notify (``on_test_*``).

        Returns:
            Metric name -> value.
        """
        build_for_training(self.model, next(iter(dataset)), self.strategy)
        if self._test_fn is None:
            self._test_fn = self._make_step(self.model.test_step)
        self.model.reset_metrics()
        if callbacks is not None:
            callbacks.on_test_begin()
        logs: dict[str, float] = {}
        iterator = iter(self._distribute(dataset))
        for step in _count():
            batch = iterator.get_next_as_optional()
            if not batch.has_value():
                break
            if callbacks is not None:
                callbacks.on_test_batch_begin(step)
            logs = _to_floats(self._test_fn(batch.get_value()))
            if callbacks is not None:
                callbacks.on_test_batch_end(step, logs)
        if callbacks is not None:
            callbacks.on_test_end(logs)
        return logs


def _count():
    step = 0
    while True:
        yield step
        step += 1


def _to_floats(logs: dict[str, tf.Tensor]) -> dict[str, float]:
    return {name: float(value) for name, value in logs.items()}
