"""The best checkpoint by a validation log, kept beside the per-epoch ones (which stay for resuming).

    <run_dir>/checkpoints/best.weights.h5  model (+ optimizer) of the epoch with the best `select_on` value
    <run_dir>/checkpoints/best.json  {"epoch": 5, "monitor": "val_loss", "mode": "min", "value": 0.0123}

The monitored log is the config's `select_on` (``--select-on``, default `val_loss`); accuracies, IoU, PSNR
and SSIM are maximised, everything else (losses, errors) minimised (:func:`selection_mode`).

`deep-rnn test` and `export` load the best checkpoint when the run has one (a run trained with a validation
set), else the newest; training itself always resumes from the newest epoch checkpoint. The best file's name
does not match the epoch pattern, so resuming and checkpoint rotation never touch it.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import keras

from deep_rnn_tf.atomic_io import write_json_atomic
from deep_rnn_tf.training.runs import RunDirectory, save_checkpoint

logger = logging.getLogger(__name__)

BEST_WEIGHTS = "best.weights.h5"
BEST_RECORD = "best.json"


# Log names whose larger values are better (Keras' own "auto" mode maximises names containing "acc").
MAXIMISED = ("acc", "iou", "psnr", "ssim")


def selection_mode(monitor: str) -> str:
    """ "max" for a validation log where larger is better (accuracy, IoU, PSNR, SSIM), else "min".

    Example:
        >>> selection_mode("val_accuracy"), selection_mode("val_loss")
        ('max', 'min')
    """
    return "max" if any(word in monitor.lower() for word in MAXIMISED) else "min"


def best_record(run: RunDirectory) -> dict | None:
    """The run's `best.json` ({"epoch", "monitor", "value"}) when it has a best checkpoint, else None.

    Raises:
        ValueError: `best.json` exists but is not valid JSON (names the file).

    Example:
        >>> best_record(RunDirectory("runs/prediction-small"))  # None until validated  # doctest: +SKIP
    """
    record_path = run.checkpoint_dir / BEST_RECORD
    if not record_path.is_file() or not (run.checkpoint_dir / BEST_WEIGHTS).is_file():
        return None
    try:
        return json.loads(record_path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{record_path}: malformed JSON ({error.msg}, line {error.lineno})") from None


def write_best_record(run: RunDirectory, epoch: int, monitor: str, value: float) -> dict:
    """Writes the run's `best.json` (atomically) for the checkpoint of `epoch` (counted from 1); returns it.

    Example:
        >>> write_best_record(RunDirectory("runs/demo"), 5, "val_loss", 0.0123)  # doctest: +SKIP
        {'epoch': 5, 'monitor': 'val_loss', 'mode': 'min', 'value': 0.0123}
    """
    record = {"epoch": epoch, "monitor": monitor, "mode": selection_mode(monitor), "value": value}
    write_json_atomic(run.checkpoint_dir / BEST_RECORD, record)
    return record


def inference_checkpoint(run: RunDirectory) -> tuple[str, Path] | None:
    """The checkpoint `test` / `export` should load: ("best (epoch N, val_loss x)", path) when the run kept
    a best checkpoint, else ("newest (epoch N)", path), or None when there is no checkpoint at all.

    Example:
        >>> label, path = inference_checkpoint(RunDirectory("runs/prediction-small"))  # doctest: +SKIP
    """
    record = best_record(run)
    if record is not None:
        label = f"best (epoch {record['epoch']}, {record['monitor']} {record['value']:.6g})"
        return label, run.checkpoint_dir / BEST_WEIGHTS
    latest = run.latest_checkpoint()
    if latest is None:
        return None
    return f"newest (epoch {latest[0]})", latest[1]


class BestCheckpoint(keras.callbacks.Callback):
    """Saves the model whenever the monitored validation value reaches a new best (atomically).

    The best value so far is read back from `best.json`, so a resumed run only replaces the best checkpoint
    with a better one (a record of another monitor starts afresh). Epochs without validation, or with a
    non-finite value, are ignored; an epoch that validated but has no such log stops training with a
    one-line error naming the logs there are (that epoch's own checkpoint is already saved).

    Args:
        run: the :class:`RunDirectory`.
        monitor: the epoch log to select on (default "val_loss"); :func:`selection_mode` says whether its
            minimum or its maximum is best.
        is_chief: only the chief writes (multi-worker); others do nothing.

    Example:
        >>> callbacks = [BestCheckpoint(RunDirectory("runs/demo"), monitor="val_accuracy")]
    """

    def __init__(self, run: RunDirectory, monitor: str = "val_loss", is_chief: bool = True):
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"monitor must be a non-empty log name such as 'val_loss'; received {monitor!r}")
        self.run, self.monitor, self.is_chief = run, monitor, is_chief
        self.mode = selection_mode(monitor)
        record = best_record(run)
        same_monitor = record is not None and record.get("monitor") == monitor
        self.best = float(record["value"]) if same_monitor else self._worst()

    def _worst(self) -> float:
        return -math.inf if self.mode == "max" else math.inf

    def _improves(self, value: float) -> bool:
        return value > self.best if self.mode == "max" else value < self.best

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
        save_checkpoint(self.model, self.run.checkpoint_dir / BEST_WEIGHTS)
        write_best_record(self.run, epoch + 1, self.monitor, self.best)
        logger.info("New best %s %.6g at epoch %d", self.monitor, self.best, epoch + 1)
