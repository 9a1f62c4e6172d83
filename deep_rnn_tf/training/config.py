"""Typed task configurations: one dataclass per task, presets as data, no TensorFlow import.

Each task's ``config.py`` defines a dataclass derived from :class:`TaskConfig` (its field defaults are the
one source of defaults) and ``PRESETS`` (name -> ``Preset``: a one-line description and the fields it
changes). Resolution is preset < ``--config`` file < command-line flags; every layer is checked against the
field types here, so a bad value fails with one line naming the key and where it came from::

    --config run.json: image_size: expected int, received 'big'

This module imports nothing of TensorFlow or Keras, so `deep-rnn --help` and `deep-rnn info` can list the
presets without paying TensorFlow's start-up.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeVar

from deep_rnn_tf.validation import SEED_LIMIT, check_fraction

C = TypeVar("C", bound="TaskConfig")

# Fields the runner derives from the strategy when it writes config.json; never compared on resume (another
# machine may differ) and never carried from a saved run into a new config.
DERIVED_KEYS = frozenset({"task", "global_batch_size", "num_replicas", "strategy"})
# Fields that may change when a run is resumed: they steer the loop, not the shape of the model or data.
RESUMABLE_KEYS = frozenset(
    {
        "epochs",
        "lr",
        "steps_per_epoch",
        "keep_checkpoints",
        "batch_size",
        "seed",
        "devices",
        "jit",
        "select_on",
        "select_from_start",
    }
)


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named configuration: what it is for and the fields it changes from the dataclass defaults.

    Args:
        description: one line for `--help` and `deep-rnn info`.
        values: field -> value overrides of the task's config dataclass.

    Example:
        >>> Preset("CPU sizes on the synthetic set", {"image_size": 32}).description
        'CPU sizes on the synthetic set'
    """

    description: str
    values: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class TaskConfig:
    """Fields every task understands (the runner's settings); a task's dataclass adds its own.

    Args:
        epochs: training epochs.
        batch_size: per-replica batch size.
        lr: learning rate (the peak of the schedule).
        lr_schedule, warmup_steps: "constant" (`lr` throughout), or "cosine": a linear warm-up from 0 over
            `warmup_steps`, then a cosine decay to 0 at the end of training (`training.schedules`).
        seed: seed of everything random (None: random).
        mixed_precision: train in mixed_float16.
        jit: XLA-compile the train step.
        devices: devices to use ("cpu", "gpu:0,1", ...; None: all GPUs or the CPU).
        steps_per_epoch: batches per epoch (None: the whole training set).
        keep_checkpoints: newest checkpoints kept in the run directory.
        select_on: the validation log whose best epoch `test` and `export` load ("val_loss"; e.g.
            "val_accuracy", maximised: `training.best.selection_mode`). Needs a validation set.
        select_from_start: also validate the model as it starts, before any training step, as a candidate
            for the best checkpoint ("epoch 0"): a run whose training never beats its start on validation
            tests and exports its start. For a model whose start is a baseline (prediction's change head
            starts as copy-last-frame); a random start never wins. Needs a validation set.
        val_fraction, val_seed: share of the training data held out for validation (0: none; each task
            says what it holds out: segment tails, video groups, images) and the seed of that choice. The
            test split is never scored while training.
        preset: the preset this config started from (recorded, not used).
        task, global_batch_size, num_replicas, strategy: written by the runner into the run's config.json.
    """

    epochs: int = 1
    batch_size: int = 8
    lr: float = 1e-3
    lr_schedule: Literal["constant", "cosine"] = "constant"
    warmup_steps: int = 0
    seed: int | None = None
    mixed_precision: bool = False
    jit: bool = False
    devices: str | None = None
    steps_per_epoch: int | None = None
    keep_checkpoints: int = 3
    val_fraction: float = 0.0
    val_seed: int = 12345
    select_on: str = "val_loss"
    select_from_start: bool = False
    preset: str | None = None
    task: str | None = None
    global_batch_size: int | None = None
    num_replicas: int | None = None
    strategy: str | None = None

    # --- construction ------------------------------------------------------------------------------------
    @classmethod
    def field_names(cls) -> list[str]:
        """Names of every field, in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_layers(cls: type[C], layers: Iterable[tuple[str, Mapping[str, Any]]]) -> C:
        """Builds a config from the defaults updated by each (source, values) layer in turn.

        Args:
            layers: e.g. ``[("preset 'small'", {...}), ("--config run.json", {...}), ("flag", {...})]``.

        Raises:
            ValueError: one line, ``<source>: <key>: <problem>`` (unknown key or bad value).
        """
        hints = typing.get_type_hints(cls)
        known = set(cls.field_names())
        values: dict[str, Any] = {}
        origins: dict[str, str] = {}
        for source, layer in layers:
            for key, value in layer.items():
                if key not in known:
                    raise ValueError(f"{source}: unknown key {key!r}; known: {sorted(known)}")
                values[key] = coerce(value, hints[key], key, source)
                origins[key] = source
        config = cls(**values)
        try:
            config.check()
        except ValueError as error:
            # "batch_size: must be >= 1" says what, not where: name the layer that set the key (a run's
            # config.json, a --config file, the command line).
            key = str(error).split(":", 1)[0].strip("` ")
            if key in origins and not str(error).startswith(origins[key]):
                raise ValueError(f"{origins[key]}: {error}") from None
            raise
        return config

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any] | TaskConfig, source: str = "config") -> C:
        """A config from a plain mapping (e.g. a run's config.json); passes a config of this class through."""
        if isinstance(data, cls):
            return data
        if isinstance(data, TaskConfig):
            data = data.to_dict()
        return cls.from_layers([(source, data)])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def replace(self: C, **changes: Any) -> C:
        """A copy with `changes` (checked like a layer named "replace")."""
        return type(self).from_layers([("config", self.to_dict()), ("replace", changes)])

    def check(self) -> None:
        """Cross-field checks of a task (raise ValueError naming the fields); the base checks ranges.

        They run when the config is resolved, so `deep-rnn train` fails before any device is set up
        instead of training forever (``--steps-per-epoch 0``) or backwards (``--lr -1``).
        """
        for name in ("epochs", "batch_size", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1; received {getattr(self, name)!r}")
        check_fraction("val_fraction", self.val_fraction, include_zero=True)
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError(
                "steps_per_epoch: must be >= 1 (or null: the whole training set); "
                f"received {self.steps_per_epoch!r}"
            )
        if not self.select_on.startswith("val_"):
            raise ValueError(
                f"select_on: must name a validation log such as 'val_loss'; received {self.select_on!r}"
            )
        if not math.isfinite(self.lr) or self.lr <= 0:
            raise ValueError(f"lr: must be a finite number > 0; received {self.lr!r}")
        if self.warmup_steps < 0:
            raise ValueError(f"warmup_steps: must be >= 0; received {self.warmup_steps!r}")
        for name in ("seed", "val_seed"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < SEED_LIMIT:
                raise ValueError(f"{name}: must be in [0, 2**32 - 1]; received {value!r}")
        if self.warmup_steps and self.lr_schedule == "constant":
            raise ValueError(f"warmup_steps: needs lr_schedule 'cosine'; received {self.warmup_steps!r}")

    # --- mapping access (the runner and older callers read configs as dicts) -----------------------------
    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)


def coerce(value: Any, annotation: Any, key: str, source: str) -> Any:
    """`value` checked (and widened: int -> float, list -> tuple) against a field's type annotation.

    Raises:
        ValueError: ``<source>: <key>: expected <type>, received <value>``.
    """
    ok, result = _coerce(value, annotation)
    if not ok:
        raise ValueError(f"{source}: {key}: expected {_type_name(annotation)}, received {value!r}")
    return result


def _coerce(value: Any, annotation: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(annotation):
            ok, result = _coerce(value, option)
            if ok:
                return True, result
        return False, None
    if annotation is type(None):
        # "none" is how a command line or a hand-written JSON says null (e.g. `--rbm-normalization none`
        # turns off what a preset turned on); a field whose type admits the string takes it as a string first.
        return value is None or (isinstance(value, str) and value == "none"), None
    if annotation is Any:
        return True, value
    if origin is typing.Literal:
        return value in typing.get_args(annotation), value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            return False, None
        args = typing.get_args(annotation)
        item = args[0] if args else Any
        coerced = [_coerce(v, item) for v in value]
        if not all(ok for ok, _ in coerced):
            return False, None
        return True, origin(v for _, v in coerced)
    if annotation is bool:
        return isinstance(value, bool), value
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if annotation is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else None
    if annotation is str:
        return isinstance(value, str), value
    return isinstance(value, annotation), value


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    if typing.get_origin(annotation) is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "null"
    return str(annotation).replace("typing.", "") if typing.get_origin(annotation) else annotation.__name__


def resolve_preset(
    config_class: type[C], presets: Mapping[str, Preset], name: str, task_name: str = "task"
) -> C:
    """The config of preset `name` (raises a one-line ValueError naming the known presets)."""
    if name not in presets:
        raise ValueError(f"--preset {name!r}: task {task_name!r} has presets {sorted(presets)}")
    return config_class.from_layers([(f"preset {name!r}", {**presets[name].values, "preset": name})])


# --- resume: what changed between a run's saved config and the new one -----------------------------------
def resume_changes(saved: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
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


def describe_changes(changes: Mapping[str, tuple[Any, Any]]) -> str:
    """``lr 0.001 -> 0.0005, epochs 2 -> 4`` (for logs and messages).

    Example:
        >>> describe_changes({"lr": (0.1, 0.01)})
        'lr 0.1 -> 0.01'
    """
    return ", ".join(f"{key} {before!r} -> {after!r}" for key, (before, after) in changes.items())
