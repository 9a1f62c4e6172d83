"""The one evaluation loop: iterate a test set with progress, run the model, gather what the metrics need.

Every task's test protocol is: batches -> model outputs -> (per-sample values kept) -> its metric function
-> files through :class:`deep_rnn_tf.evaluation.results.ResultsWriter`. This module is the first three
arrows; the task supplies `predict` (inputs -> outputs) and, when it should not keep every raw output
(e.g. 20 predicted 128x128 frames per KTH window), `keep` (batch, outputs -> per-sample values).

Example:
    >>> gathered = gather(dataset, lambda x: model(x, training=False), desc="test")  # doctest: +SKIP
    >>> accuracy = (gathered["outputs"].argmax(-1) == gathered["targets"]).mean()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
from tqdm import tqdm


def _numpy(value: Any) -> Any:
    """Tensors (or nests of them) -> numpy; other values unchanged."""
    if hasattr(value, "numpy"):
        return value.numpy()
    if isinstance(value, Mapping):
        return {k: _numpy(v) for k, v in value.items()}
    return value


def default_keep(batch: Any, outputs: Any) -> dict[str, Any]:
    """Keeps the model outputs and, for (inputs, targets[, ...]) batches, the targets."""
    kept = dict(outputs) if isinstance(outputs, Mapping) else {"outputs": outputs}
    if isinstance(batch, (tuple, list)) and len(batch) > 1:
        kept["targets"] = _numpy(batch[1])
    return kept


def gather(
    batches: Iterable,
    predict: Callable[[Any], Any],
    keep: Callable[[Any, Any], Mapping[str, Any]] = default_keep,
    *,
    total: int | None = None,
    desc: str = "evaluate",
    unit: str = "batch",
) -> dict[str, Any]:
    """Runs `predict` on every batch (with a progress bar) and concatenates what `keep` returns.

    Args:
        batches: an iterable of batches (a tf.data.Dataset, a list, a generator).
        predict: model inputs -> outputs; it receives the batch's first element when the batch is a
            (inputs, targets, ...) tuple, else the whole batch.
        keep: (batch, numpy outputs) -> {name: per-sample array or list}; arrays are concatenated along
            axis 0, lists extended (e.g. per-sample metadata objects).
        total: number of batches, for the progress bar.
        desc, unit: progress-bar labels.

    Returns:
        {name: concatenated array or list}.

    Raises:
        ValueError: the test set was empty.
    """
    kept: dict[str, list] = {}
    for batch in tqdm(batches, total=total, desc=desc, unit=unit, leave=False):
        inputs = batch[0] if isinstance(batch, (tuple, list)) else batch
        outputs = _numpy(predict(inputs))
        for name, value in keep(batch, outputs).items():
            kept.setdefault(name, []).append(value)
    if not kept:
        raise ValueError(f"{desc}: the test set gave no batch")
    return {name: _concatenate(values) for name, values in kept.items()}


def _concatenate(values: list) -> Any:
    if all(isinstance(v, list) for v in values):
        return [item for value in values for item in value]
    return np.concatenate([np.asarray(v) for v in values])
