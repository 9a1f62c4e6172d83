"""Choosing the tf.distribute strategy, and the batch-size arithmetic that goes with it.

One function, :func:`select_strategy`, decides for every entry point (CLI, examples, tests):

* ``TF_CONFIG`` names a cluster with more than one task -> ``MultiWorkerMirroredStrategy``
  (Keras 3's ``model.fit`` is broken there, keras#20585: train with :mod:`deep_rnn_tf.training.multiworker`);
* the user names devices (``--devices GPU:0,GPU:1``) or two or more GPUs are visible -> ``MirroredStrategy``;
* otherwise the default (no-op) strategy on the one device there is.

Batch sizes: the user gives the **per-replica** batch; datasets are batched with the **global** batch
``per_replica * num_replicas_in_sync`` (tf.distribute splits each global batch over the replicas).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass

import tensorflow as tf

logger = logging.getLogger(__name__)

# "GPU:0", "/gpu:0", "/device:GPU:0", "gpu0" (case-insensitive).
_DEVICE_NAME = re.compile(r"^/?(?:device:)?(gpu|cpu):?(\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class StrategyInfo:
    """What :func:`select_strategy` chose, and why.

    Args:
        strategy: the ``tf.distribute.Strategy``.
        kind: ``"multi_worker"``, ``"mirrored"`` or ``"default"``.
        reason: one human sentence (logged at start of a run).
        is_chief: True where this process should write files (checkpoints, exports, logs).
        worker_index: this worker's index in ``TF_CONFIG`` (0 without a cluster).
        num_workers: number of workers in the cluster (1 without one).

    Example:
        >>> info = select_strategy()
        >>> info.kind in ("default", "mirrored", "multi_worker")
        True
    """

    strategy: tf.distribute.Strategy
    kind: str
    reason: str
    is_chief: bool = True
    worker_index: int = 0
    num_workers: int = 1

    @property
    def num_replicas(self) -> int:
        """Number of replicas that share each global batch."""
        return int(self.strategy.num_replicas_in_sync)

    @property
    def is_multi_worker(self) -> bool:
        """True under MultiWorkerMirroredStrategy (use the custom training loop)."""
        return self.kind == "multi_worker"


def read_tf_config(environ: dict[str, str] | None = None) -> dict | None:
    """Parses ``TF_CONFIG`` from the environment; None when unset or empty.

    Args:
        environ: the environment to read (default ``os.environ``).

    Returns:
        The parsed dict, or None.

    Raises:
        ValueError: ``TF_CONFIG`` is not valid JSON or lacks ``cluster``/``task`` (message names it).

    Example:
        >>> read_tf_config({})  # no TF_CONFIG -> None
    """
    environ = os.environ if environ is None else environ
    raw = environ.get("TF_CONFIG", "").strip()
    if not raw:
        return None
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error.msg} at char {error.pos}): {raw!r}") from None
    if not isinstance(config, dict) or "cluster" not in config or "task" not in config:
        raise ValueError(f"TF_CONFIG must be a JSON object with 'cluster' and 'task'; received: {raw!r}")
    return config


def _cluster_size(tf_config: dict) -> int:
    cluster = tf_config.get("cluster", {})
    return sum(len(cluster.get(role, [])) for role in ("chief", "worker"))


def _is_chief(tf_config: dict) -> bool:
    """The chief writes files: the 'chief' task if the cluster has one, else worker 0 (TF's convention)."""
    task = tf_config.get("task", {})
    role, index = task.get("type", "worker"), int(task.get("index", 0))
    if "chief" in tf_config.get("cluster", {}):
        return role == "chief"
    return role == "worker" and index == 0


def parse_devices(devices: str | list[str] | None) -> list[str] | None:
    """Normalises a ``--devices`` value ("GPU:0,GPU:1", "gpu0,gpu1", a list) to TF device names.

    Args:
        devices: comma-separated string, list of names, or None.

    Returns:
        A list like ``["/gpu:0", "/gpu:1"]``, or None when nothing was named.

    Raises:
        ValueError: a name is not of the form TYPE:INDEX (e.g. ``GPU:0``, ``CPU:1``).

    Example:
        >>> parse_devices("GPU:0,gpu1")
        ['/gpu:0', '/gpu:1']
    """
    if devices is None or devices == "" or devices == []:
        return None
    names = devices.split(",") if isinstance(devices, str) else list(devices)
    parsed = []
    for name in (n.strip() for n in names):
        match = _DEVICE_NAME.match(name)
        if match is None:
            raise ValueError(f"--devices: expected names like GPU:0 or CPU:1; received: {name!r}")
        kind, index = match.groups()
        parsed.append(f"/{kind.lower()}:{int(index)}")
    return parsed


def select_strategy(
    devices: str | list[str] | None = None, environ: dict[str, str] | None = None
) -> StrategyInfo:
    """Picks the strategy for this process (see the module docstring for the rules).

    Must be called before any TensorFlow op runs when ``TF_CONFIG`` is set (TF's own requirement for
    MultiWorkerMirroredStrategy).

    Args:
        devices: devices to mirror over (``--devices``); None = automatic.
        environ: environment to read ``TF_CONFIG`` from (default ``os.environ``).

    Returns:
        A :class:`StrategyInfo`.

    Example:
        >>> info = select_strategy()
        >>> with info.strategy.scope():
        ...     pass  # build and compile the model here
    """
    tf_config = read_tf_config(environ)
    if tf_config is not None and _cluster_size(tf_config) > 1:
        task = tf_config["task"]
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        info = StrategyInfo(
            strategy,
            "multi_worker",
            f"TF_CONFIG names a cluster of {_cluster_size(tf_config)} workers; this is "
            f"{task.get('type', 'worker')} {task.get('index', 0)}",
            is_chief=_is_chief(tf_config),
            worker_index=int(task.get("index", 0)),
            num_workers=_cluster_size(tf_config),
        )
    else:
        named = parse_devices(devices)
        # physical, not logical: listing logical devices would initialise TF before a CPU split
        gpus = [f"/gpu:{i}" for i, _ in enumerate(tf.config.list_physical_devices("GPU"))]
        if named is not None:
            check_named_gpus_exist(named, len(gpus))
            _split_cpu_if_needed(named)
            info = _mirrored_or_one(named, "devices named by --devices")
        elif len(gpus) >= 2:
            info = _mirrored_or_one(gpus, f"{len(gpus)} GPUs are visible")
        else:
            where = "one GPU" if gpus else "CPU"
            info = StrategyInfo(tf.distribute.get_strategy(), "default", f"default strategy on {where}")
    logger.info("Strategy: %s (%s), %d replica(s)", info.kind, info.reason, info.num_replicas)
    return info


def check_named_gpus_exist(devices: list[str], visible_gpus: int) -> None:
    """A named GPU must exist: otherwise TF places the "GPU" work on the CPU without a word.

    Raises:
        ValueError: e.g. ``--devices: GPU:0 is not available; this machine has no GPU``.

    Example:
        >>> check_named_gpus_exist(["/cpu:0"], visible_gpus=0)
    """
    for device in devices:
        if device.startswith("/gpu:") and int(device.split(":")[1]) >= visible_gpus:
            have = f"{visible_gpus} GPU(s) (GPU:0..GPU:{visible_gpus - 1})" if visible_gpus else "no GPU"
            raise ValueError(f"--devices: {device[1:].upper()} is not available; this machine has {have}")


def _mirrored_or_one(devices: list[str], why: str) -> StrategyInfo:
    if len(devices) == 1:
        strategy = tf.distribute.OneDeviceStrategy(devices[0])
        return StrategyInfo(strategy, "default", f"one device {devices[0]} ({why})")
    return StrategyInfo(tf.distribute.MirroredStrategy(devices), "mirrored", f"MirroredStrategy over {why}")


def _split_cpu_if_needed(devices: list[str]) -> None:
    """Naming more CPUs than exist (``--devices CPU:0,CPU:1``) splits the CPU into logical devices.

    That is how MirroredStrategy is tried out (and tested) on a machine without GPUs.
    """
    wanted = 1 + max((int(d.split(":")[1]) for d in devices if d.startswith("/cpu:")), default=-1)
    physical = tf.config.list_physical_devices("CPU")  # unlike list_logical_devices, does not initialise TF
    configured = tf.config.get_logical_device_configuration(physical[0])
    if wanted > (len(configured) if configured else len(physical)):
        try:
            split_cpu(wanted)
        except RuntimeError as error:  # TF is already initialised
            raise ValueError(f"--devices: cannot create {wanted} logical CPUs now ({error})") from None


def global_batch_size(per_replica_batch: int, info: StrategyInfo | tf.distribute.Strategy) -> int:
    """Global batch = per-replica batch x replicas in sync; logs both.

    Args:
        per_replica_batch: examples per replica per step (``--batch-size``).
        info: a :class:`StrategyInfo` or a strategy.

    Returns:
        The global batch size to batch datasets with.

    Raises:
        ValueError: ``per_replica_batch`` is not a positive integer.

    Example:
        >>> global_batch_size(8, tf.distribute.get_strategy())
        8
    """
    if not isinstance(per_replica_batch, int) or per_replica_batch <= 0:
        raise ValueError(
            f"--batch-size (per replica) must be a positive integer; received: {per_replica_batch!r}"
        )
    strategy = info.strategy if isinstance(info, StrategyInfo) else info
    replicas = int(strategy.num_replicas_in_sync)
    logger.info(
        "Batch: %d per replica x %d replica(s) = global batch %d",
        per_replica_batch,
        replicas,
        per_replica_batch * replicas,
    )
    return per_replica_batch * replicas


def split_cpu(num_devices: int) -> list[str]:
    """Splits the first CPU into `num_devices` logical devices (for testing MirroredStrategy without GPUs).

    Must run before any TensorFlow op (TF refuses to change devices after initialisation).

    Args:
        num_devices: logical CPU devices to create (>= 1).

    Returns:
        Their names, e.g. ``["/cpu:0", "/cpu:1"]``.

    Example:
        >>> names = split_cpu(2)  # doctest: +SKIP
    """
    if num_devices < 1:
        raise ValueError(f"num_devices must be >= 1; received: {num_devices!r}")
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration()] * num_devices
    )
    return [f"/cpu:{i}" for i in range(num_devices)]
