"""Classification metrics from scores: top-k accuracy, mean class accuracy, confusion matrix, reports.

Generic (any task with class scores): numpy in, numbers, rows and figures out (`ResultsWriter` writes them).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _check_inputs(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if scores.ndim != 2 or scores.shape[0] != labels.shape[0]:
        raise ValueError(
            f"scores must be (num_samples, num_classes) matching labels (num_samples,); received "
            f"scores.shape={scores.shape}, labels.shape={labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= scores.shape[1]):
        raise ValueError(
            f"labels must lie in [0, {scores.shape[1]}); received min={labels.min()}, max={labels.max()}"
        )
    return scores, labels


def top_k_accuracy(scores: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Fraction of samples whose label is among the k highest scores (ties broken by class order).

    Args:
        scores: (num_samples, num_classes) logits or probabilities.
        labels: (num_samples,) integer labels.
        k: how many top classes count; clipped to the number of classes.

    Example:
        >>> top_k_accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]), k=1)
        0.5
    """
    scores, labels = _check_inputs(scores, labels)
    if k < 1:
        raise ValueError(f"k must be >= 1; received k={k}")
    if labels.size == 0:
        return float("nan")
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(top == labels[:, None], axis=1)))


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts (num_classes, num_classes): row = true class, column = predicted class.

    Example:
        >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2)
        array([[1, 0],
               [1, 1]])
    """
    labels = np.asarray(labels, np.int64).reshape(-1)
    predictions = np.asarray(predictions, np.int64).reshape(-1)
    if labels.shape != predictions.shape:
        raise ValueError(f"labels and predictions differ in shape: {labels.shape} vs {predictions.shape}")
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Recall of each class from a confusion matrix (NaN for a class without samples)."""
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / np.maximum(totals, 1), np.nan)


def mean_class_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the classes present in `labels` of their top-1 accuracy (class-balanced accuracy).

    Example:
        >>> mean_class_accuracy(np.array([[1, 0], [1, 0], [0, 1]]), np.array([0, 0, 0]))
        0.6666666666666666
    """
    scores, labels = _check_inputs(scores, labels)
    matrix = confusion_matrix(labels, scores.argmax(axis=1), scores.shape[1])
    return float(np.nanmean(per_class_accuracy(matrix))) if labels.size else float("nan")


def classification_report(scores: np.ndarray, labels: np.ndarray, class_names: Sequence[str]) -> dict:
    """Top-1, top-5, mean class accuracy, the confusion matrix and per-class rows in one dict.

    Args:
        scores: (num_samples, num_classes) logits or probabilities.
        labels: (num_samples,) integer labels.
        class_names: one name per class.

    Example:
        >>> scores = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1]])
        >>> labels = np.array([0, 1, 2])
        >>> report = classification_report(scores, labels, ["a", "b", "c"])
        >>> report["top1"], report["mean_class_accuracy"]
        (0.666..., 0.666...)
    """
    scores, labels = _check_inputs(scores, labels)
    if len(class_names) != scores.shape[1]:
        raise ValueError(
            f"class_names must have one name per class ({scores.shape[1]}); received {len(class_names)} names"
        )
    matrix = confusion_matrix(labels, scores.argmax(axis=1), scores.shape[1])
    accuracy = per_class_accuracy(matrix)
    rows = [
        {
            "class_id": index,
            "class_name": name,
            "support": int(matrix[index].sum()),
            "correct": int(matrix[index, index]),
            "accuracy": None if np.isnan(accuracy[index]) else float(accuracy[index]),
            "predicted": int(matrix[:, index].sum()),
        }
        for index, name in enumerate(class_names)
    ]
    return {
        "num_samples": int(labels.size),
        "num_classes": int(scores.shape[1]),
        "top1": top_k_accuracy(scores, labels, 1),
        "top5": top_k_accuracy(scores, labels, 5),
        "mean_class_accuracy": float(np.nanmean(accuracy)) if labels.size else float("nan"),
        "confusion_matrix": matrix.tolist(),
        "per_class": rows,
    }


PER_CLASS_FIELDS = ("class_id", "class_name", "support", "correct", "accuracy", "predicted")


def per_class_rows(report: dict) -> list[list]:
    """The report's per-class rows in `PER_CLASS_FIELDS` order, for `ResultsWriter.csv`.

    Example:
        >>> report = classification_report(np.eye(3), np.array([0, 1, 1]), ["a", "b", "c"])
        >>> per_class_rows(report)
        [[0, 'a', 1, 1, '1.0000', 1], [1, 'b', 2, 1, '0.5000', 1], [2, 'c', 0, 0, '', 1]]
        >>> writer.csv("per_class.csv", PER_CLASS_FIELDS, per_class_rows(report))  # doctest: +SKIP
    """
    return [
        [
            *(row[field] for field in PER_CLASS_FIELDS[:4]),
            "" if row["accuracy"] is None else f"{row['accuracy']:.4f}",
            row["predicted"],
        ]
        for row in report["per_class"]
    ]


def confusion_figure(matrix: np.ndarray, class_names: Sequence[str], title: str = ""):
    """A row-normalised confusion-matrix heat map (counts in the cells when they fit), a matplotlib figure.

    Example:
        >>> figure = confusion_figure(np.eye(3, dtype=int), ["a", "b", "c"])
        >>> writer.figure("confusion.png", figure)  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(matrix)
    totals = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    normalised = matrix / totals
    count = len(class_names)
    side = min(4 + 0.35 * count, 40)
    figure, axes = plt.subplots(figsize=(side, side))
    image = axes.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="fraction of the true class")
    if count <= 40:
        axes.set_xticks(range(count), class_names, rotation=90, fontsize=8)
        axes.set_yticks(range(count), class_names, fontsize=8)
    if count <= 20:
        for row in range(count):
            for column in range(count):
                if matrix[row, column]:
                    colour = "white" if normalised[row, column] > 0.5 else "black"
                    axes.text(column, row, str(matrix[row, column]), ha="center", va="center", color=colour)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(title or "confusion matrix")
    figure.tight_layout()
    return figure


def curve_figure(xs: Sequence[float], ys: Sequence[float], xlabel: str, ylabel: str, title: str = ""):
    """A simple line plot (e.g. accuracy against the observed fraction of the video), a matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 4))
    axes.plot(list(xs), list(ys), marker="o")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_ylim(0, 1)
    axes.grid(True, alpha=0.3)
    axes.set_title(title)
    figure.tight_layout()
    return figure
