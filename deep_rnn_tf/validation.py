"""Argument checks shared by the whole package: each returns the value or raises a one-line ValueError.

The ground floor: this module imports nothing of deep_rnn_tf (nor TensorFlow), so cells, layers, data,
training, evaluation, export and tasks can all use it. Every message names the argument and quotes the value
received, e.g. "`filters` must be a positive integer. Received: filters=0".

Example:
    >>> from deep_rnn_tf.validation import check_positive_int
    >>> check_positive_int("filters", 8)
    8
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any, Literal, get_args


def _is_int(value: Any) -> bool:
    # numpy integers count (they come out of configs and arrays); bools are not sizes.
    return not isinstance(value, bool) and hasattr(value, "__index__")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, str)


def check_positive_int(name: str, value: Any) -> int:
    """Returns `value` as an int, or raises ValueError naming `name` unless it is an integer >= 1.

    Example:
        >>> check_positive_int("depth", 0)
        Traceback (most recent call last):
        ValueError: `depth` must be a positive integer. Received: depth=0
    """
    if not _is_int(value) or int(value) <= 0:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


def check_non_negative_int(name: str, value: Any) -> int:
    """Returns `value` as an int, or raises ValueError naming `name` unless it is an integer >= 0.

    Example:
        >>> check_non_negative_int("context", 0)
        0
    """
    if not _is_int(value) or int(value) < 0:
        raise ValueError(f"`{name}` must be a non-negative integer. Received: {name}={value!r}")
    return int(value)


def check_int_at_least(name: str, value: Any, minimum: int) -> int:
    """Returns `value` as an int, or raises ValueError unless it is an integer >= `minimum`.

    Example:
        >>> check_int_at_least("past", 2, 2)
        2
    """
    if not _is_int(value) or int(value) < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


def check_choice(name: str, value: Any, choices: Iterable) -> Any:
    """Returns `value` or raises ValueError naming `name` and the allowed `choices`.

    Example:
        >>> check_choice("cell", "rbm", ("rbm", "convlstm"))
        'rbm'
    """
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}. Received: {name}={value!r}")
    return value


def check_probability(name: str, value: Any) -> float:
    """Returns `value` as a float in [0, 1], or raises ValueError naming `name`.

    Example:
        >>> check_probability("p_td", 0.5)
        0.5
    """
    if not _is_number(value) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"`{name}` must be a probability in [0, 1]. Received: {name}={value!r}")
    return float(value)


def check_non_negative(name: str, value: Any) -> float:
    """Returns `value` as a float >= 0 (a loss weight, a noise level), or raises ValueError naming `name`.

    Example:
        >>> check_non_negative("coherence_weight", 0.8)
        0.8
    """
    if not _is_number(value) or not float(value) >= 0.0:  # `not >=` also rejects NaN
        raise ValueError(f"`{name}` must be a number >= 0. Received: {name}={value!r}")
    return float(value)


def check_positive(name: str, value: Any) -> float:
    """Returns `value` as a float > 0 (a learning rate, a scale), or raises ValueError naming `name`.

    Example:
        >>> check_positive("learning_rate", 1e-4)
        0.0001
    """
    if not _is_number(value) or not float(value) > 0.0:
        raise ValueError(f"`{name}` must be a number > 0. Received: {name}={value!r}")
    return float(value)


def check_in_range(name: str, value: Any, low: float, high: float) -> float:
    """Returns `value` as a float in [low, high], or raises ValueError naming `name` and the range.

    Example:
        >>> check_in_range("width", 0.125, 0.0, 1.0)
        0.125
    """
    if not _is_number(value) or not low <= float(value) <= high:
        raise ValueError(f"`{name}` must be in [{low}, {high}]. Received: {name}={value!r}")
    return float(value)


def check_fraction(name: str, value: Any, *, include_zero: bool = False) -> float:
    """Returns `value` as a float in (0, 1), or in [0, 1) with `include_zero`; else raises naming `name`.

    A share of something that must leave a remainder: a split's training part, a batch's mixed-in part, an
    overlap. One home for these checks so that every such message reads the same.

    Example:
        >>> check_fraction("train_fraction", 0.7)
        0.7
        >>> check_fraction("val_fraction", 0, include_zero=True)
        0.0
    """
    number = float(value) if _is_number(value) else float("nan")  # NaN fails both bounds below
    above_low = number >= 0.0 if include_zero else number > 0.0
    if not (above_low and number < 1.0):
        interval = "[0, 1)" if include_zero else "(0, 1)"
        raise ValueError(f"`{name}` must be in {interval}. Received: {name}={value!r}")
    return float(value)


# The normalisations of a cell's pre-activations (`RBMCell`, `ConvLSTMCell`, ... `normalization=`), here
# (TensorFlow-free) so that the cells and the task configs share one list of names.
Normalization = Literal["batch", "layer", "batch_per_step"]
# An RBM stack's merge (cells/rbm.py MERGES): one for every layer, or a list with one per layer.
RBMMerge = Literal["product", "sum", "blend", "accumulate"]
RBMMerges = RBMMerge | list[RBMMerge]
NORMALIZATION_NAMES: tuple[str, ...] = get_args(Normalization)
NORMALIZATIONS = (None, *NORMALIZATION_NAMES)  # None: no normalisation (the cells' default)
# The same as command-line choices: "none" is how a flag says None (configs read it as null).
NORMALIZATION_CHOICES = ("none", *NORMALIZATION_NAMES)


# Bound of every cell's starting gate bias (`gate_bias`): sigmoid(10) is already 1 - 5e-5.
GATE_BIAS_LIMIT = 10.0
# Seeds of NumPy's generators and TensorFlow's ops are unsigned 32-bit: every seed flag is in [0, SEED_LIMIT).
SEED_LIMIT = 2**32


def seed_arg(text: str) -> int:
    """An argparse `type` for seed flags: an integer in [0, 2**32 - 1], else argparse's one-line error
    quoting the value (NumPy would otherwise fail deep inside with "expected non-negative integer").

    Example:
        >>> seed_arg("7")
        7
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a seed is an integer in [0, 2**32 - 1]; received {text!r}"
        ) from None
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"a seed is an integer in [0, 2**32 - 1]; received {value}")
    return value


# Largest starting leak of RBM gates (`RBMCell(leak=...)`): 1 would freeze the gate and has no finite logit.
MAX_RBM_LEAK = 0.99


def check_memory_gate(gate_bias: float, memory_gain: float) -> None:
    """Raises unless gate_bias - memory_gain / 2, the starting gate shift of RBM cells whose gates start as
    leaky integrators, is within the cells' bound; the message names both values the user typed.

    Example:
        >>> check_memory_gate(0.0, 3.0)
    """
    if not -GATE_BIAS_LIMIT <= gate_bias - memory_gain / 2 <= GATE_BIAS_LIMIT:
        raise ValueError(
            "gate_bias - rbm_memory_gain / 2 (the RBM gates' starting shift) must be in "
            f"[{-GATE_BIAS_LIMIT}, {GATE_BIAS_LIMIT}]; received gate_bias={gate_bias!r}, "
            f"rbm_memory_gain={memory_gain!r}"
        )


__all__ = [
    "GATE_BIAS_LIMIT",
    "SEED_LIMIT",
    "seed_arg",
    "check_memory_gate",
    "check_positive_int",
    "check_non_negative_int",
    "check_int_at_least",
    "check_choice",
    "check_probability",
    "check_non_negative",
    "check_positive",
    "check_in_range",
]
