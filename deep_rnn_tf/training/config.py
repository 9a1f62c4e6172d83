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
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

C = TypeVar("C", bound="TaskConfig")


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
        lr: learning rate.
        seed: seed of everything random (None: random).
        mixed_precision: train in mixed_float16.
        jit: XLA-compile the train step.
        devices: devices to use ("cpu", "gpu:0,1", ...; None: all GPUs or the CPU).
        steps_per_epoch: batches per epoch (None: the whole training set).
        keep_checkpoints: newest checkpoints kept in the run directory.
        preset: the preset this config started from (recorded, not used).
        task, global_batch_size, num_replicas, strategy: written by the runner into the run's config.json.
    """

    epochs: int = 1
    batch_size: int = 8
    lr: float = 1e-3
    seed: int | None = None
    mixed_precision: bool = False
    jit: bool = False
    devices: str | None = None
    steps_per_epoch: int | None = None
    keep_checkpoints: int = 3
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
        for source, layer in layers:
            for key, value in layer.items():
                if key not in known:
                    raise ValueError(f"{source}: unknown key {key!r}; known: {sorted(known)}")
                values[key] = coerce(value, hints[key], key, source)
        config = cls(**values)
        config.check()
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
        """Cross-field checks of a task (raise ValueError naming the fields); the base checks ranges."""
        for name in ("epochs", "batch_size", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1; received {getattr(self, name)!r}")
        if self.lr <= 0:
            raise ValueError(f"lr: must be > 0; received {self.lr!r}")

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
        return value is None, None
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
