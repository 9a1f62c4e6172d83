"""Training runs that survive faults: run directory, atomic checkpoints, resume, NaN guard.

A run directory holds everything one training run produces::

    <run_dir>/config.json                  the resolved config (preset + config file + flags)
    <run_dir>/parameters.json              the model's weight counts (trainable, recurrent, ...)
    <run_dir>/checkpoints/epoch-0003.weights.h5   model + optimizer state after epoch 3 (atomic)
    <run_dir>/logs/                        TensorBoard event files
    <run_dir>/metrics.csv                  one row per finished epoch
    <run_dir>/results/                     what `Task.evaluate` writes

Starting the same command again resumes from the newest checkpoint and trains only the epochs that
are left; a run killed at any moment (even SIGKILL) leaves no half-written checkpoint, because every
file is written under a temporary name and renamed (``os.replace`` is atomic on POSIX).
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from deep_rnn_tf.atomic_io import atomic_path, write_json_atomic
from deep_rnn_tf.cells.deep import DeepCell
from deep_rnn_tf.training.config import (
    DERIVED_KEYS,
    RESUMABLE_KEYS,
    TaskConfig,
    describe_changes,
    resume_changes,
)
from deep_rnn_tf.training.lock import RunLock
from deep_rnn_tf.training.multiworker import (
    DistributedLoop,
    broadcast_from_chief,
    broadcast_int,
    build_for_training,
)
from deep_rnn_tf.training.strategy import StrategyInfo, global_batch_size, select_strategy

logger = logging.getLogger(__name__)

_CHECKPOINT = re.compile(r"^epoch-(\d{4,})\.weights\.h5$")

# Flags every task understands (the CLI adds them once): the runner fields of `TaskConfig`, its one source
# of defaults; a task's dataclass or preset may override them.
COMMON_DEFAULTS: dict[str, Any] = {
    key: value for key, value in TaskConfig().to_dict().items() if key not in DERIVED_KEYS | {"preset"}
}


class TrainingDivergedError(RuntimeError):
    """Raised when the loss became NaN or infinite; the message names the last good checkpoint."""


class RunDirectory:
    """The files of one training run (see the module docstring for the layout).

    Args:
        path: the directory (created on first write).

    Example:
        >>> run = RunDirectory("runs/demo-small")
        >>> run.latest_checkpoint()  # None before the first epoch ends
    """

    def __init__(self, path: str | os.PathLike):
        if not str(path):
            raise ValueError("--run-dir must not be empty")
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def log_dir(self) -> Path:
        return self.path / "logs"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def results_dir(self) -> Path:
        return self.path / "results"

    @property
    def parameters_path(self) -> Path:
        return self.path / "parameters.json"

    def write_config(self, config: dict[str, Any]) -> Path:
        """Writes the resolved config (atomically)."""
        return write_json_atomic(self.config_path, config)

    def read_config(self) -> dict[str, Any]:
        """Reads `config.json`; ValueError naming the file when it is missing or malformed."""
        if not self.config_path.is_file():
            raise ValueError(f"{self.config_path}: no config.json in the run directory (train first?)")
        try:
            return json.loads(self.config_path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{self.config_path}: malformed JSON ({error.msg}, line {error.lineno})"
            ) from None

    def checkpoint_path(self, epoch: int) -> Path:
        """Path of the checkpoint written after `epoch` epochs."""
        return self.checkpoint_dir / f"epoch-{epoch:04d}.weights.h5"

    def checkpoints(self) -> list[tuple[int, Path]]:
        """(epochs done, path) of every complete checkpoint, oldest first (temporary files are ignored)."""
        if not self.checkpoint_dir.is_dir():
            return []
        found = []
        for path in self.checkpoint_dir.iterdir():
            match = _CHECKPOINT.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    def remove_stale_temporaries(self) -> None:
        """Deletes half-written files a killed run left behind (they never carry a final name)."""
        for folder in (self.path, self.checkpoint_dir):
            if folder.is_dir():
                for stale in folder.glob(".tmp-*"):
                    stale.unlink(missing_ok=True)

    def latest_checkpoint(self) -> tuple[int, Path] | None:
        """(epochs done, path) of the newest checkpoint, or None."""
        found = self.checkpoints()
        return found[-1] if found else None


def save_checkpoint(model: keras.Model, path: str | os.PathLike) -> Path:
    """Saves model and optimizer state to `path` (``*.weights.h5``) atomically.

    Args:
        model: a built model (its optimizer, if built, is saved too).
        path: destination ending in ``.weights.h5``.

    Example:
        >>> save_checkpoint(model, "runs/x/checkpoints/epoch-0001.weights.h5")  # doctest: +SKIP
    """
    with atomic_path(path, suffix=".weights.h5") as tmp:
        tmp.unlink()  # Keras' h5 writer wants to create the file itself
        model.save_weights(tmp)
    return Path(path)


def load_checkpoint(model: keras.Model, path: str | os.PathLike) -> None:
    """Restores model (and optimizer) state saved by :func:`save_checkpoint`.

    The model and its optimizer must already be built (see
    :func:`deep_rnn_tf.training.multiworker.build_for_training`).

    Raises:
        ValueError: the file cannot be read or does not fit the model (names the file).
    """
    try:
        model.load_weights(path)
    except Exception as error:  # h5py / Keras raise many types; the file is what the user must know
        raise ValueError(f"{path}: cannot load checkpoint into the model ({error})") from error


class AtomicCheckpoint(keras.callbacks.Callback):
    """Saves model + optimizer after every epoch, atomically; keeps the newest `keep` files.

    Skips the save when the epoch's logs hold a non-finite loss (the last good checkpoint stays).

    Args:
        run: the :class:`RunDirectory`.
        keep: how many checkpoints to keep (>= 1).
        is_chief: only the chief writes (multi-worker); others do nothing.

    Example:
        >>> callbacks = [AtomicCheckpoint(RunDirectory("runs/demo"))]
    """

    def __init__(self, run: RunDirectory, keep: int = 3, is_chief: bool = True):
        super().__init__()
        if not isinstance(keep, int) or keep < 1:
            raise ValueError(f"keep (keep_checkpoints) must be an integer >= 1; received: {keep!r}")
        self.run, self.keep, self.is_chief = run, keep, is_chief

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not self.is_chief or not _finite(logs or {}):
            return
        path = save_checkpoint(self.model, self.run.checkpoint_path(epoch + 1))
        logger.info("Saved checkpoint %s", path)
        for _, old in self.run.checkpoints()[: -self.keep]:
            old.unlink(missing_ok=True)


class NaNGuard(keras.callbacks.Callback):
    """Stops training at the first NaN/inf loss and remembers where (for a clear message).

    Example:
        >>> guard = NaNGuard()
        >>> # after fit: guard.diverged_at is None or (epoch, batch, logs)
    """

    def __init__(self):
        super().__init__()
        self.diverged_at: tuple[int, int, dict] | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.diverged_at is None and not _finite(logs or {}):
            self.diverged_at = (self._epoch, batch, dict(logs or {}))
            self.model.stop_training = True


def _finite(logs: dict) -> bool:
    loss = logs.get("loss")
    return loss is None or math.isfinite(float(loss))


def trim_metrics_csv(path: Path, epochs_done: int) -> None:
    """Drops rows of epochs that a resumed run will train again (killed after logging, before saving)."""
    if not path.is_file():
        return
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return
    header, body = rows[0], rows[1:]
    kept = [row for row in body if row and row[0].isdigit() and int(row[0]) < epochs_done]
    if len(kept) == len(body):
        return
    with atomic_path(path) as tmp, tmp.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *kept])


@dataclass
class RunResult:
    """What :func:`train` returns.

    Args:
        model: the trained model.
        run: its run directory.
        initial_epoch: epochs already done when this invocation started (resume point).
        epochs_done: epochs done when it finished.
        history: the Keras history dict of this invocation (per-epoch logs).
    """

    model: keras.Model
    run: RunDirectory
    initial_epoch: int
    epochs_done: int
    history: dict[str, list[float]] = field(default_factory=dict)


def configure_determinism(seed: int | None) -> None:
    """Seeds Python, NumPy and TF (``keras.utils.set_random_seed``) and enables op determinism.

    Args:
        seed: None leaves everything random.

    Example:
        >>> configure_determinism(0)
    """
    if seed is None:
        return
    keras.utils.set_random_seed(int(seed))
    # Some GPU kernels are nondeterministic; CPU runs become repeatable with this on.
    tf.config.experimental.enable_op_determinism()


def configure_precision(mixed_precision: bool) -> None:
    """Sets Keras' global dtype policy (mixed_float16 or float32)."""
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed_precision else "float32")


def build_model(task: Any, config: dict[str, Any], info: StrategyInfo) -> keras.Model:
    """Builds and compiles the task's model inside the strategy's scope (and applies ``jit``)."""
    with info.strategy.scope():
        model = task.build_model(config)
        if not isinstance(model, keras.Model) or model.optimizer is None:
            raise ValueError(f"task {task.name!r}: build_model must return a compiled keras.Model")
        if config.get("jit"):
            model.jit_compile = True
    return model


def parameter_counts(model: keras.Model) -> dict[str, int]:
    """The built model's weight counts: trainable, non-trainable, and the trainable weights of its
    recurrent stacks (every `DeepCell`, jump projections included), which is what depth tables compare.

    Counted from the model, not from a checkpoint file: a checkpoint holds the batch-norm moving statistics
    too, which `normalization="batch_per_step"` keeps per time step (32 rows per channel).

    Example:
        >>> counts = parameter_counts(model)  # doctest: +SKIP
        >>> counts["recurrent_trainable"] <= counts["trainable"]  # doctest: +SKIP
        True
    """
    return {
        "trainable": _count(model.trainable_weights),
        "non_trainable": _count(model.non_trainable_weights),
        "recurrent_trainable": _count(
            {id(w): w for cell in _deep_cells(model) for w in cell.trainable_weights}.values()
        ),
    }


def _count(weights: Any) -> int:
    return int(sum(math.prod(w.shape) for w in weights))


def _deep_cells(layer: Any) -> list[DeepCell]:
    """Every `DeepCell` inside `layer`, through nested models (`.layers`), RNN layers (`.cell`) and
    wrappers (`.layer`): the public attributes, as Keras has no public walk over nested layers."""
    if isinstance(layer, DeepCell):
        return [layer]
    found = []
    for child in [*getattr(layer, "layers", []), getattr(layer, "cell", None), getattr(layer, "layer", None)]:
        if isinstance(child, keras.layers.Layer) and child is not layer:
            found += _deep_cells(child)
    return found


def restore_latest(model: keras.Model, run: RunDirectory, info: StrategyInfo, sample_batch: Any) -> int:
    """Builds all state, loads the newest checkpoint (if any) and returns the epochs it had done.

    Under several workers the chief's values and epoch count are broadcast, so workers that cannot see
    the chief's run directory still start from the same state.
    """
    build_for_training(model, sample_batch, info.strategy)
    latest = run.latest_checkpoint()
    epochs_done = 0
    if latest is not None:
        epochs_done, path = latest
        load_checkpoint(model, path)
        logger.info("Resuming from %s (%d epochs done)", path, epochs_done)
    if info.is_multi_worker:
        epochs_done = broadcast_int(info.strategy, epochs_done)
        variables = list(model.weights) + list(model.optimizer.variables)
        broadcast_from_chief(info.strategy, variables)
    return epochs_done


def train(
    task: Any,
    config: dict[str, Any],
    run_dir: str | os.PathLike,
    *,
    info: StrategyInfo | None = None,
    verbose: int = 1,
) -> RunResult:
    """Trains `task` with `config` in `run_dir`, resuming from its newest checkpoint.

    Args:
        task: a :class:`deep_rnn_tf.training.task.Task`.
        config: the resolved config (must hold the keys of ``COMMON_DEFAULTS``).
        run_dir: the run directory.
        info: the strategy (default: :func:`select_strategy` with ``config["devices"]``).
        verbose: Keras verbosity (1 progress bar, 2 one line per epoch, 0 silent).

    Returns:
        A :class:`RunResult`.

    Raises:
        TrainingDivergedError: the loss became NaN/inf (the message names the last good checkpoint).
        RunLockedError: another live process trains in `run_dir` (names it).
        ValueError: a bad common setting, or a resumed checkpoint that does not fit the new config (names
            the changed keys; nothing in the run directory was changed).

    Example:
        >>> result = train(get_task("demo"), config, "runs/demo")  # doctest: +SKIP
    """
    config = {**COMMON_DEFAULTS, **_plain(config)}
    check_config(task, config)
    info = info or select_strategy(config.get("devices"))
    lock = RunLock(run_dir) if info.is_chief else None  # workers share the chief's run, never write it
    created = info.is_chief and not os.path.exists(run_dir)
    if lock is not None:
        lock.acquire()
    try:
        return _train_locked(task, config, run_dir, info, verbose)
    except Exception:
        if created:  # the lock file goes with the directory; release() below tolerates that
            _remove_unstarted_run(RunDirectory(run_dir))
        raise
    finally:
        if lock is not None:
            lock.release()


def _remove_unstarted_run(run: RunDirectory) -> None:
    """Removes a run directory that this call created and that failed before training began.

    Why: a refused data set or model must not leave an empty run behind that a later `train` would treat
    as a run to resume. config.json is written just before the first epoch, so a directory without it (and
    without any checkpoint) holds no work.
    """
    if run.config_path.is_file() or run.latest_checkpoint() is not None:
        return
    shutil.rmtree(run.path, ignore_errors=True)


def check_config(task: Any, config: Any) -> None:
    """The checks that need no device: the config's fields and ranges, then the task's own `check_config`.

    `config` is a task config or a plain mapping. A task with a typed config (``config_module``) gets its
    dataclass checked and passed to its hook; a task without one (a plain-dict toy task) gets the runner
    fields checked.

    Raises:
        ValueError: one line naming the key and the value received.
    """
    if getattr(task, "config_module", ""):
        typed = task.config(config)
    else:
        common = set(TaskConfig.field_names())
        typed = TaskConfig.from_dict({k: v for k, v in _plain(config).items() if k in common})
    check_task_config = getattr(task, "check_config", None)
    if check_task_config is not None:
        check_task_config(typed)


def _train_locked(
    task: Any, config: dict[str, Any], run_dir: str | os.PathLike, info: StrategyInfo, verbose: int
) -> RunResult:
    configure_determinism(config["seed"])
    configure_precision(bool(config["mixed_precision"]))
    run = RunDirectory(run_dir)
    batch = global_batch_size(int(config["batch_size"]), info)
    resolved = {
        **config,
        "task": task.name,
        "global_batch_size": batch,
        "num_replicas": info.num_replicas,
        "strategy": info.kind,
    }
    changes = _changes_on_resume(task, run, resolved) if info.is_chief else {}
    if info.is_chief:
        run.path.mkdir(parents=True, exist_ok=True)
        run.remove_stale_temporaries()
    model = build_model(task, resolved, info)
    train_data, val_data = task.datasets(resolved, batch)
    train_data = _endless_when_steps_are_given(train_data, config["steps_per_epoch"])
    learning_rates = _learning_rates(model)
    try:
        epochs_done = restore_latest(model, run, info, next(iter(train_data)))
    except ValueError as error:
        if not changes:
            raise
        raise ValueError(
            f"{run.path}: the run was trained with other settings ({describe_changes(changes)}) and its "
            f"checkpoint does not fit them; config.json is unchanged. Resume with the run's settings or use "
            f"another --run-dir ({error})"
        ) from None
    _restore_learning_rates(model, learning_rates)  # the checkpoint brought back the old ones
    if changes:
        logger.info("Resuming with changed settings (applied): %s", describe_changes(changes))
        if info.is_chief:
            _retire_stale_best(run, changes, epochs_done)
    if info.is_chief:  # only now: the new config has been checked against the checkpoint
        run.write_config(resolved)
        write_json_atomic(run.parameters_path, parameter_counts(model))
    epochs = int(config["epochs"])
    if epochs_done >= epochs:
        logger.info("Run %s already has %d of %d epochs; nothing to train", run.path, epochs_done, epochs)
        return RunResult(model, run, epochs_done, epochs_done)
    guard = NaNGuard()
    callbacks: list[keras.callbacks.Callback] = [guard]
    if info.is_chief:
        trim_metrics_csv(run.metrics_path, epochs_done)
        callbacks += [
            keras.callbacks.CSVLogger(str(run.metrics_path), append=True),
            keras.callbacks.TensorBoard(str(run.log_dir), write_graph=False),
        ]
    callbacks.append(AtomicCheckpoint(run, keep=int(config["keep_checkpoints"]), is_chief=info.is_chief))
    if val_data is not None:  # test/export load the best epoch by `select_on` (training.best)
        from deep_rnn_tf.training.best import BestCheckpoint  # imported here: best.py imports this module

        select_on = str(config["select_on"])
        monitored = [select_on, *_separate_selection_logs(task, resolved, select_on)]
        if not info.is_multi_worker:
            _check_selection_logs_exist(model, val_data, monitored)
        selectors = [BestCheckpoint(run, monitor=select_on, is_chief=info.is_chief)]
        for log in monitored[1:]:
            selectors.append(BestCheckpoint(run, monitor=log, is_chief=info.is_chief, separate=True))
        candidates = model.start_candidates() if hasattr(model, "start_candidates") else []
        if (config.get("select_from_start") or candidates) and epochs_done == 0:
            if info.is_multi_worker:  # Keras' evaluate is not the distributed loop's
                logger.warning(
                    "select_from_start / start candidates: not under a multi-worker strategy; the start "
                    "is neither chosen nor offered"
                )
            else:
                start_logs = _choose_start(model, val_data, candidates, select_on)
                if config.get("select_from_start"):
                    _offer_start(start_logs, selectors, model)
        callbacks += selectors
    elif config.get("select_from_start"):
        logger.warning(
            "select_from_start: the run has no validation set (val_fraction 0?); nothing to select"
        )
    fit_kwargs = dict(
        epochs=epochs,
        initial_epoch=epochs_done,
        validation_data=val_data,
        callbacks=callbacks,
        verbose=verbose,
        steps_per_epoch=config["steps_per_epoch"],
    )
    if info.is_multi_worker:
        history = DistributedLoop(model, info.strategy).fit(train_data, **fit_kwargs)
    else:  # the task's dataset is already shuffled (with its seed)
        history = model.fit(train_data, shuffle=False, **fit_kwargs)
    if guard.diverged_at is not None:
        if info.is_chief:  # Keras' CSVLogger wrote the diverged epoch's row; keep rows of saved epochs
            good = run.latest_checkpoint()
            trim_metrics_csv(run.metrics_path, good[0] if good else 0)
        raise TrainingDivergedError(_divergence_message(guard.diverged_at, run))
    latest = run.latest_checkpoint()
    done = latest[0] if latest else epochs_done
    if info.is_multi_worker:
        done = broadcast_int(info.strategy, done)
    return RunResult(model, run, epochs_done, done, dict(history.history))


def _check_selection_logs_exist(model: keras.Model, val_data: Any, monitored: list[str]) -> None:
    """Refuses a selection log the model does not write before any training (a typo in --select-on was
    found at the first epoch's end). The names are known once the model has validated: one batch does."""
    if monitored == ["val_loss"]:  # every compiled model logs it: no batch spent
        return
    known = set(_validate(model, val_data.take(1) if hasattr(val_data, "take") else val_data))
    missing = [log for log in monitored if log not in known]
    if missing:
        # monitored[0] is select_on; the others are a task's own selection logs (e.g. anticipation_select_on)
        what = "select_on" if missing[0] == monitored[0] else "selection log"
        raise ValueError(
            f"{what} {missing[0]!r}: not among this model's validation logs ({', '.join(sorted(known))}); "
            "nothing was trained"
        )


def _validate(model: keras.Model, val_data: Any) -> dict[str, float]:
    logs = model.evaluate(val_data, verbose=0, return_dict=True)
    return {f"val_{key}": float(value) for key, value in logs.items()}


def _log_items(logs: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.6g}" for k, v in logs.items())


def _choose_start(
    model: keras.Model, val_data: Any, candidates: list[tuple[str, Any]], select_on: str
) -> dict[str, float]:
    """Validates each way the model can start (`model.start_candidates()`: label, apply) and keeps the best
    by `select_on`; the validation logs of the start kept (of the model as built when it has no candidates).

    Why: a model whose start is a choice between baselines (prediction's flow prior: gain 0 is
    copy-last-frame, 0.5 half the measured flow) lets the run's own held-out frames choose, never the test.
    """
    from deep_rnn_tf.training.best import selection_mode  # imported here: best.py imports this module

    if not candidates:
        return _validate(model, val_data)
    scored = []
    for label, apply in candidates:
        apply()
        logs = _validate(model, val_data)
        logger.info("Start candidate %s: %s", label, _log_items(logs))
        scored.append((label, apply, logs))
    # A log that only the training loop writes is not among an evaluation's: then the loss decides.
    monitor = select_on if select_on in scored[0][2] else "val_loss"
    sign = 1.0 if selection_mode(monitor) == "min" else -1.0
    label, apply, logs = min(scored, key=lambda item: sign * item[2][monitor])
    apply()
    logger.info("Starting from %s (the best %s of %d candidates)", label, monitor, len(scored))
    return logs


def _offer_start(val_logs: dict[str, float], selectors: list[keras.callbacks.Callback], model: Any) -> None:
    """Offers the untrained model (its validation logs `val_logs`) to every best-checkpoint selector as
    epoch 0.

    Why: a model that starts as a baseline (prediction's change head: copy-last-frame) should not ship
    something worse than its start when training does not pay on held-out frames.
    """
    logger.info("The start, before training: %s", _log_items(val_logs))
    for selector in selectors:
        selector.set_model(model)
        selector.offer_start(val_logs)


def _separate_selection_logs(task: Any, config: dict[str, Any], select_on: str) -> list[str]:
    """The task's further selection logs (`Task.selection_logs`) other than `select_on`, each once."""
    # The plain dict, as `datasets` and `build_model` get it: the task converts it itself. A plain toy
    # task need not derive from Task.
    hook = getattr(task, "selection_logs", None)
    logs = hook(config) if hook else ()
    return [log for log in dict.fromkeys(logs) if log != select_on]


def _endless_when_steps_are_given(train_data: Any, steps_per_epoch: int | None) -> Any:
    """The training set repeated without end when epochs are counted in steps.

    Keras ends an epoch early where a finite dataset runs out, and again at the end of every later pass,
    so `epochs x steps_per_epoch` trained fewer steps than asked (the 640-step polygon study took 624: every
    fourth epoch of 40 stopped at 36, the end of its 156-batch training set) and the cosine schedule never
    reached its end. A repeated dataset (reshuffled on each pass) makes the count exact; one that is
    already endless is unchanged.
    """
    if not steps_per_epoch or not isinstance(train_data, tf.data.Dataset):
        return train_data
    if train_data.cardinality() == tf.data.INFINITE_CARDINALITY:
        return train_data
    return train_data.repeat()


def _changes_on_resume(task: Any, run: RunDirectory, resolved: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Settings that differ from the saved config of a run that has a checkpoint (else none)."""
    if run.latest_checkpoint() is None or not run.config_path.is_file():
        return {}
    saved = run.read_config()
    # A setting the package gained after the run was saved is no change while it keeps its default.
    defaults = task.config_class().to_dict() if getattr(task, "config_module", "") else COMMON_DEFAULTS
    saved = {**{key: value for key, value in defaults.items() if key not in saved}, **saved}
    changes = resume_changes(saved, resolved)
    structural = _structural(changes)
    if structural:
        logger.warning(
            "Resumed run %s changes settings that shape the model or data: %s", run.path, structural
        )
    return changes


def _structural(changes: dict[str, tuple[Any, Any]]) -> list[str]:
    """The changed settings beyond the training loop's own (RESUMABLE_KEYS), sorted."""
    return sorted(set(changes) - RESUMABLE_KEYS)


def _retire_stale_best(run: RunDirectory, changes: dict[str, tuple[Any, Any]], epochs_done: int) -> None:
    """Retires the best checkpoints of a run resumed with settings beyond the loop's own (RESUMABLE_KEYS):
    another data set, window, loss or model changes what validation measures, so the best is chosen anew
    among the epochs from here on (the start candidates are not validated again: their weights, e.g. the
    flow prior's gain, come back from the checkpoint like any other)."""
    from deep_rnn_tf.training.best import retire_best_checkpoints  # best.py imports this module

    structural = _structural(changes)
    if not structural:
        return
    retired = retire_best_checkpoints(run, epochs_done)
    if retired:
        logger.warning(
            "%s: %s changed, so validation losses before and after epoch %d measure different things; the "
            "best checkpoint so far is kept as %s and the best is chosen again from the next epoch",
            run.path, ", ".join(structural), epochs_done, ", ".join(p.name for p in retired),
        )  # fmt: skip


def _optimizers(model: keras.Model) -> list[keras.optimizers.Optimizer]:
    """The model's optimizer and any other optimizer it holds (e.g. a GAN's discriminator optimizer)."""
    found = [model.optimizer] if isinstance(model.optimizer, keras.optimizers.Optimizer) else []
    for value in vars(model).values():
        if isinstance(value, keras.optimizers.Optimizer) and all(value is not o for o in found):
            found.append(value)
    return found


def _learning_rates(model: keras.Model) -> list[tuple[keras.optimizers.Optimizer, float]]:
    """(optimizer, learning rate) of every optimizer with a settable (non-schedule) rate."""
    rates = []
    for optimizer in _optimizers(model):
        inner = getattr(optimizer, "inner_optimizer", optimizer)  # LossScaleOptimizer under mixed precision
        if isinstance(inner._learning_rate, keras.Variable):
            rates.append((inner, float(inner._learning_rate.numpy())))
    return rates


def _restore_learning_rates(
    model: keras.Model, rates: list[tuple[keras.optimizers.Optimizer, float]]
) -> None:
    """Puts back the learning rates the config gave (a checkpoint's optimizer state carries its own)."""
    for optimizer, rate in rates:
        loaded = float(optimizer._learning_rate.numpy())
        if not math.isclose(loaded, rate, rel_tol=1e-6):
            optimizer._learning_rate.assign(rate)
            logger.info("Learning rate %g from the config replaces the checkpoint's %g", rate, loaded)


def _divergence_message(where: tuple[int, int, dict], run: RunDirectory) -> str:
    epoch, batch, logs = where
    latest = run.latest_checkpoint()
    kept = f"last good checkpoint: {latest[1]}" if latest else "no checkpoint was written before it"
    return (
        f"loss became {logs.get('loss')} at epoch {epoch + 1}, batch {batch + 1}; training stopped ({kept}). "
        "Lower --lr or check the data."
    )


def load_trained(
    task: Any, config: dict[str, Any], run_dir: str | os.PathLike, info: StrategyInfo
) -> keras.Model:
    """Builds the task's model and loads the best checkpoint by validation loss of `run_dir`, or its newest
    when it kept none (for test/export; see `deep_rnn_tf.training.best`).

    Raises:
        ValueError: the run directory has no checkpoint (names it).
    """
    from deep_rnn_tf.training.best import inference_checkpoint  # imported here: best.py imports this module

    run = RunDirectory(run_dir)
    chosen = inference_checkpoint(run)
    if chosen is None:
        raise ValueError(f"{run.checkpoint_dir}: no checkpoint found (train first, or check --run-dir)")
    config = {**COMMON_DEFAULTS, **_plain(config)}
    model = build_model(task, config, info)
    # A zero batch shaped as the training data: test/export never read the data set to build the model.
    batch_size = int(config.get("global_batch_size") or config["batch_size"])
    build_for_training(model, task.example_batch(config, batch_size), info.strategy)
    logger.info("Loading the %s checkpoint %s", *chosen)
    load_checkpoint(model, chosen[1])
    return model


def _plain(config: Any) -> dict[str, Any]:
    """A task config (dataclass or mapping) as a plain dict."""
    return config.to_dict() if isinstance(config, TaskConfig) else dict(config)
