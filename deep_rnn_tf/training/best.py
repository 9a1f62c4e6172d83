"""The best checkpoint by a validation log, kept beside the per-epoch ones (which stay for resuming).

    <run_dir>/checkpoints/best.weights.h5  model (+ optimizer) of the epoch with the best `select_on` value
    <run_dir>/checkpoints/best.json  {"epoch": 5, "monitor": "val_loss", "mode": "min", "value": 0.0123}

The monitored log is the config's `select_on` (``--select-on``, default `val_loss`); accuracies, IoU, PSNR
and SSIM are maximised, everything else (losses, errors) minimised (:func:`selection_mode`).

A task whose test protocols want different epochs (action: recognition on the sequence's loss,
anticipation on the first frames', `--anticipation-select-on`) names further logs
(`Task.selection_logs`); each keeps its own pair beside the main one:

    <run_dir>/checkpoints/best-<log>.weights.h5  and  best-<log>.json

`deep-rnn test` and `export` load the best checkpoint when the run has one (a run trained with a validation
set), else the newest; training itself always resumes from the newest epoch checkpoint. The best file's name
does not match the epoch pattern, so resuming and checkpoint rotation never touch it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from pathlib import Path

import keras

from deep_rnn_tf.atomic_io import write_json_atomic
from deep_rnn_tf.training.runs import RunDirectory, save_checkpoint

logger = logging.getLogger(__name__)

BEST_WEIGHTS = "best.weights.h5"
BEST_RECORD = "best.json"
# A log name becomes part of a file name: letters, digits and underscores only (Keras' log names are so).
_LOG_NAME = re.compile(r"^[A-Za-z0-9_]+$")


# Log names whose larger values are better (Keras' own "auto" mode maximises names containing "acc").
MAXIMISED = ("acc", "iou", "psnr", "ssim")


def selection_mode(monitor: str) -> str:
    """ "max" for a validation log where larger is better (accuracy, IoU, PSNR, SSIM), else "min".

    Example:
        >>> selection_mode("val_accuracy"), selection_mode("val_loss")
        ('max', 'min')
    """
    return "max" if any(word in monitor.lower() for word in MAXIMISED) else "min"


def best_files(run: RunDirectory, separate_log: str | None = None) -> tuple[Path, Path]:
    """(weights, record) paths of the run's main best checkpoint, or of the one kept apart for
    `separate_log` (`best-<log>.weights.h5`, `best-<log>.json`).

    Raises:
        ValueError: `separate_log` is not a plain log name (letters, digits, underscores).

    Example:
        >>> best_files(RunDirectory("runs/a"), "val_anticipation_loss")[0].name
        'best-val_anticipation_loss.weights.h5'
    """
    if separate_log is None:
        return run.checkpoint_dir / BEST_WEIGHTS, run.checkpoint_dir / BEST_RECORD
    if not _LOG_NAME.match(separate_log):
        raise ValueError(
            f"a selection log must be a plain log name such as val_loss; received {separate_log!r}"
        )
    stem = f"best-{separate_log}"
    return run.checkpoint_dir / f"{stem}.weights.h5", run.checkpoint_dir / f"{stem}.json"


def best_record(run: RunDirectory, separate_log: str | None = None) -> dict | None:
    """The run's `best.json` ({"epoch", "monitor", "value"}) when it has a best checkpoint, else None;
    with `separate_log`, the record of the checkpoint kept apart for that log (:func:`best_files`).

    Raises:
        ValueError: the record exists but is not valid JSON (names the file).

    Example:
        >>> best_record(RunDirectory("runs/prediction-small"))  # None until validated  # doctest: +SKIP
    """
    weights_path, record_path = best_files(run, separate_log)
    if not record_path.is_file() or not weights_path.is_file():
        return None
    try:
        return json.loads(record_path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{record_path}: malformed JSON ({error.msg}, line {error.lineno})") from None


def write_best_record(
    run: RunDirectory, epoch: int, monitor: str, value: float, separate: bool = False
) -> dict:
    """Writes the run's `best.json` (atomically) for the checkpoint of `epoch` (counted from 1); returns it.
    With `separate`, the record of the checkpoint kept apart for `monitor` (`best-<monitor>.json`).

    Example:
        >>> write_best_record(RunDirectory("runs/demo"), 5, "val_loss", 0.0123)  # doctest: +SKIP
        {'epoch': 5, 'monitor': 'val_loss', 'mode': 'min', 'value': 0.0123}
    """
    record = {"epoch": epoch, "monitor": monitor, "mode": selection_mode(monitor), "value": value}
    write_json_atomic(best_files(run, monitor if separate else None)[1], record)
    return record


def _best_label(record: dict) -> str:
    return f"best (epoch {record['epoch']}, {record['monitor']} {record['value']:.6g})"


def inference_checkpoint(run: RunDirectory) -> tuple[str, Path] | None:
    """The checkpoint `test` / `export` should load: ("best (epoch N, val_loss x)", path) when the run kept
    a best checkpoint, else ("newest (epoch N)", path), or None when there is no checkpoint at all.

    Example:
        >>> label, path = inference_checkpoint(RunDirectory("runs/prediction-small"))  # doctest: +SKIP
    """
    record = best_record(run)
    if record is not None:
        return _best_label(record), best_files(run)[0]
    latest = run.latest_checkpoint()
    if latest is None:
        return None
    return f"newest (epoch {latest[0]})", latest[1]


def checkpoint_selected_on(run: RunDirectory, log: str) -> tuple[str, Path] | None:
    """("best (epoch N, log x)", path) of the run's best checkpoint by `log`: the main one when the run
    selected on `log`, else the one kept apart for it; None when the run kept neither.

    Example:
        >>> checkpoint_selected_on(RunDirectory("runs/a"), "val_anticipation_loss")  # doctest: +SKIP
        ('best (epoch 97, val_anticipation_loss 1.07)', PosixPath('runs/a/checkpoints/best-val_...h5'))
    """
    main = best_record(run)
    if main is not None and main.get("monitor") == log:
        return _best_label(main), best_files(run)[0]
    record = best_record(run, log)
    if record is None:
        return None
    return _best_label(record), best_files(run, log)[0]


def retire_best_checkpoints(run: RunDirectory, epochs_done: int) -> list[Path]:
    """Renames every best checkpoint of `run` (main and separate: `best*.weights.h5` and `best*.json`) to
    ``retired-epoch-<N>-<name>``, so that `test` / `export` no longer load them; returns the new paths.

    Why: a run resumed with settings that change what validation measures (another data set, other
    past/future lengths, another loss) would compare its new validation values with a best value of the
    old set, and keep loading a checkpoint chosen on it. The files stay for the record.

    Example:
        >>> retire_best_checkpoints(RunDirectory("runs/a"), 3)  # doctest: +SKIP
        [PosixPath('runs/a/checkpoints/retired-epoch-3-best.json'), ...]
    """
    if not run.checkpoint_dir.is_dir():
        return []
    retired = []
    for path in sorted(run.checkpoint_dir.iterdir()):
        if path.name.startswith("best") and path.name.endswith((".json", ".weights.h5")):
            target = path.with_name(f"retired-epoch-{epochs_done}-{path.name}")
            os.replace(path, target)
            retired.append(target)
    return retired


class BestCheckpoint(keras.callbacks.Callback):
    """Saves the model whenever the monitored validation value reaches a new best (atomically).

    The best value so far is read back from `best.json`, so a resumed run only replaces the best checkpoint
    with a better one (a record of another monitor starts afresh). With `separate`, the checkpoint is the
    one kept apart for `monitor` (`best-<monitor>.*`, :func:`best_files`), for a test protocol of its own.
    Epochs without validation, or with a non-finite value, are ignored; an epoch that validated but has no
    such log stops training with a one-line error naming the logs there are (that epoch's own checkpoint is
    already saved).

    Args:
        run: the :class:`RunDirectory`.
        monitor: the epoch log to select on (default "val_loss"); :func:`selection_mode` says whether its
            minimum or its maximum is best.
        is_chief: only the chief writes (multi-worker); others do nothing.
        separate: keep this checkpoint apart from the main best one (`best-<monitor>.*`).

    Example:
        >>> callbacks = [BestCheckpoint(RunDirectory("runs/demo"), monitor="val_accuracy")]
    """

    def __init__(
        self, run: RunDirectory, monitor: str = "val_loss", is_chief: bool = True, separate: bool = False
    ):
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"monitor must be a non-empty log name such as 'val_loss'; received {monitor!r}")
        self.run, self.monitor, self.is_chief, self.separate = run, monitor, is_chief, separate
        self.weights_path = best_files(run, monitor if separate else None)[0]
        self.mode = selection_mode(monitor)
        record = best_record(run, monitor if separate else None)
        same_monitor = record is not None and record.get("monitor") == monitor
        self.best = float(record["value"]) if same_monitor else self._worst()

    def _worst(self) -> float:
        return -math.inf if self.mode == "max" else math.inf

    def _improves(self, value: float) -> bool:
        return value > self.best if self.mode == "max" else value < self.best

    def offer_start(self, val_logs: dict) -> None:
        """Offers the model as it starts (validation logs `val_*` of no training) as "epoch 0".

        A log that only the training loop writes (e.g. the action task's `val_anticipation_loss`, from a
        callback) is not among a plain evaluation's: then nothing is offered, and the epochs decide alone.
        """
        if self.monitor not in val_logs:
            logger.info("The start has no %s to offer; the trained epochs decide alone", self.monitor)
            return
        self.on_epoch_end(-1, val_logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None and any(key.startswith("val_") for key in logs):
            known = ", ".join(sorted(key for key in logs if key.startswith("val_")))
            raise ValueError(
                f"select_on {self.monitor!r}: not among this model's validation logs ({known}); epoch "
                f"{epoch + 1} is saved, resume with --select-on one of them"
            )
        if not self.is_chief or value is None or not math.isfinite(float(value)):
            return
        if not self._improves(float(value)):
            return
        self.best = float(value)
        self.run.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        save_checkpoint(self.model, self.weights_path)
        write_best_record(self.run, epoch + 1, self.monitor, self.best, separate=self.separate)
        logger.info("New best %s %.6g at epoch %d", self.monitor, self.best, epoch + 1)
