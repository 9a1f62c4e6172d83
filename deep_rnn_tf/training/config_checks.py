"""Checks of a resolved run config that run before any TensorFlow device is touched.

Each check raises a one-line ``ValueError`` naming the flag or config key, where it came from and the
value received, so `deep-rnn train` fails at once instead of training forever (``--steps-per-epoch 0``),
training backwards (``--lr -1``) or failing deep inside TensorFlow (``{"image_size": "big"}``).
"""

from __future__ import annotations

import math
from typing import Any

# Keys that may change when a run is resumed: they steer the loop, not the shape of the model.
RESUMABLE_KEYS = frozenset(
    {"epochs", "lr", "steps_per_epoch", "keep_checkpoints", "batch_size", "seed", "devices", "jit"}
)
# Keys `train` derives from the strategy; never compared on resume (another machine may differ).
DERIVED_KEYS = frozenset({"task", "global_batch_size", "num_replicas", "strategy"})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_common_config(config: dict[str, Any]) -> None:
    """Validates the keys every task shares (epochs, lr, steps_per_epoch, batch_size, keep_checkpoints).

    Raises:
        ValueError: names the flag and quotes the value.

    Example:
        >>> check_common_config({"epochs": 2, "lr": 1e-3, "steps_per_epoch": None})
    """
    epochs = config.get("epochs")
    if epochs is not None and (not _is_int(epochs) or epochs < 1):
        raise ValueError(f"--epochs must be a positive integer; received: {epochs!r}")
    steps = config.get("steps_per_epoch")
    if steps is not None and (not _is_int(steps) or steps < 1):
        raise ValueError(f"--steps-per-epoch must be a positive integer (or unset); received: {steps!r}")
    lr = config.get("lr")
    if lr is not None and (
        isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0
    ):
        raise ValueError(f"--lr must be a finite number > 0; received: {lr!r}")
    batch = config.get("batch_size")
    if batch is not None and (not _is_int(batch) or batch < 1):
        raise ValueError(f"--batch-size (per replica) must be a positive integer; received: {batch!r}")
    keep = config.get("keep_checkpoints")
    if keep is not None and (not _is_int(keep) or keep < 1):
        raise ValueError(f"keep_checkpoints must be an integer >= 1; received: {keep!r}")


def _same_kind(value: Any, reference: Any) -> bool:
    """Whether `value` may replace `reference` (a preset's value): None and numbers are lenient."""
    if value is None or reference is None:
        return True
    if isinstance(reference, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(reference, bool)
    if isinstance(reference, (int, float)):
        return isinstance(value, (int, float))
    if isinstance(reference, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(reference))


def check_override_types(overrides: dict[str, Any], reference: dict[str, Any], source: str) -> None:
    """Each override must have the kind of value the preset has for that key (number, text, list, bool).

    Args:
        overrides: the keys given by `source`.
        reference: the preset (or saved run config) they override.
        source: where the overrides came from, for the message (e.g. ``--config my.json``).

    Raises:
        ValueError: e.g. ``--config my.json: "image_size" must be a number like 128; received: 'big'``.

    Example:
        >>> check_override_types({"image_size": 64}, {"image_size": 128}, "--config x.json")
    """
    for key, value in overrides.items():
        if key in reference and not _same_kind(value, reference[key]):
            raise ValueError(
                f"{source}: {key!r} must be {_kind_name(reference[key])} like {reference[key]!r}; "
                f"received: {value!r}"
            )


def _kind_name(reference: Any) -> str:
    if isinstance(reference, bool):
        return "true or false"
    if isinstance(reference, (int, float)):
        return "a number"
    if isinstance(reference, (list, tuple)):
        return "a list"
    if isinstance(reference, str):
        return "a string"
    return f"a {type(reference).__name__}"


def resume_changes(saved: dict[str, Any], config: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Keys whose value differs between a run's saved config and the new one: key -> (saved, new).

    Example:
        >>> resume_changes({"lr": 0.1, "epochs": 2}, {"lr": 0.01, "epochs": 2})
        {'lr': (0.1, 0.01)}
    """
    changed = {}
    for key in sorted(set(saved) | set(config)):
        if key in DERIVED_KEYS:
            continue
        before, after = saved.get(key), config.get(key)
        if isinstance(before, (list, tuple)) and isinstance(after, (list, tuple)):
            before, after = list(before), list(after)
        if before != after:
            changed[key] = (saved.get(key), config.get(key))
    return changed


def describe_changes(changes: dict[str, tuple[Any, Any]]) -> str:
    """``lr 0.001 -> 0.0005, epochs 2 -> 4`` (for logs and messages)."""
    return ", ".join(f"{key} {before!r} -> {after!r}" for key, (before, after) in changes.items())
