"""Best checkpoint by validation loss (training.best), the time-split validation carve-out (data.holdout) and
the prediction task's learning-rate schedule."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from deep_rnn_tf.data.holdout import (
    MIN_VALIDATION_STARTS,
    split_groups,
    split_segments_by_count,
    split_segments_by_time,
    video_group,
)
from deep_rnn_tf.data.kth import Segment, train_start_range
from deep_rnn_tf.tasks.prediction.config import PredictionConfig
from deep_rnn_tf.training.best import (
    BestCheckpoint,
    best_record,
    checkpoint_selected_on,
    inference_checkpoint,
)
from deep_rnn_tf.training.runs import RunDirectory, save_checkpoint
from deep_rnn_tf.training.schedules import learning_rate


def _model() -> keras.Model:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _epoch(callback: BestCheckpoint, model: keras.Model, epoch: int, val_loss: float | None) -> np.ndarray:
    """Sets the weights to a value that names the epoch, then ends the epoch with `val_loss`."""
    kernel = np.full((3, 2), float(epoch), np.float32)
    model.layers[0].kernel.assign(kernel)
    save_checkpoint(model, callback.run.checkpoint_path(epoch + 1))  # what AtomicCheckpoint does
    callback.on_epoch_end(epoch, {"loss": 1.0} if val_loss is None else {"loss": 1.0, "val_loss": val_loss})
    return kernel


def test_best_checkpoint_keeps_the_lowest_val_loss_and_survives_resume(tmp_path):
    run = RunDirectory(tmp_path / "run")
    model = _model()
    callback = BestCheckpoint(run)
    callback.set_model(model)
    assert inference_checkpoint(run) is None
    _epoch(callback, model, 0, 3.0)
    best_kernel = _epoch(callback, model, 1, 1.0)
    _epoch(callback, model, 2, 2.0)
    _epoch(callback, model, 3, float("nan"))  # a diverged epoch is never "best"
    _epoch(callback, model, 4, None)  # an epoch without validation is ignored
    assert best_record(run) == {"epoch": 2, "monitor": "val_loss", "mode": "min", "value": 1.0}

    # test/export load the best, not the newest (epoch 5), checkpoint.
    label, path = inference_checkpoint(run)
    assert path.name == "best.weights.h5" and label.startswith("best (epoch 2")
    restored = _model()
    restored.load_weights(path)
    np.testing.assert_array_equal(restored.layers[0].kernel.numpy(), best_kernel)
    assert run.latest_checkpoint()[0] == 5  # resuming still starts from the newest epoch

    # A resumed run reads the best value back: a worse epoch does not replace it, a better one does.
    resumed = BestCheckpoint(run)
    resumed.set_model(model)
    assert resumed.best == 1.0
    _epoch(resumed, model, 5, 1.5)
    assert best_record(run)["epoch"] == 2
    _epoch(resumed, model, 6, 0.5)
    assert best_record(run) == {"epoch": 7, "monitor": "val_loss", "mode": "min", "value": 0.5}


def test_a_separate_selection_log_keeps_its_own_best_pair_beside_the_main_one(tmp_path):
    """Two BestCheckpoints on one run (the main by val_loss, one kept apart by another log) never touch each
    other's files; resume reads each one's own record (`Task.selection_logs`)."""
    run = RunDirectory(tmp_path / "run")
    model = _model()
    main, apart = BestCheckpoint(run), BestCheckpoint(run, monitor="val_other_loss", separate=True)
    for callback in (main, apart):
        callback.set_model(model)
    kernels = {}
    for epoch, (loss, other) in enumerate([(2.0, 0.5), (1.0, 0.7), (3.0, 0.9)]):
        kernels[epoch + 1] = np.full((3, 2), float(epoch), np.float32)
        model.layers[0].kernel.assign(kernels[epoch + 1])
        for callback in (main, apart):
            callback.on_epoch_end(epoch, {"val_loss": loss, "val_other_loss": other})
    assert best_record(run)["epoch"] == 2
    assert best_record(run, "val_other_loss") == {
        "epoch": 1, "monitor": "val_other_loss", "mode": "min", "value": 0.5
    }  # fmt: skip
    assert inference_checkpoint(run)[1].name == "best.weights.h5"  # test/export: the main one
    for log, epoch in (("val_loss", 2), ("val_other_loss", 1)):
        label, path = checkpoint_selected_on(run, log)
        assert label.startswith(f"best (epoch {epoch}, {log}")
        restored = _model()
        restored.load_weights(path)
        np.testing.assert_array_equal(restored.layers[0].kernel.numpy(), kernels[epoch])
    assert checkpoint_selected_on(run, "val_accuracy") is None
    assert BestCheckpoint(run, monitor="val_other_loss", separate=True).best == 0.5
    with pytest.raises(ValueError, match="plain log name.*'val/loss'"):
        BestCheckpoint(run, monitor="val/loss", separate=True)


def test_selecting_on_validation_accuracy_keeps_the_highest_and_names_a_missing_log(tmp_path):
    run = RunDirectory(tmp_path / "run")
    model = _model()
    callback = BestCheckpoint(run, monitor="val_accuracy")
    callback.set_model(model)
    for epoch, (loss, accuracy) in enumerate([(2.0, 0.3), (1.0, 0.4), (3.0, 0.6), (2.5, 0.5)]):
        save_checkpoint(model, run.checkpoint_path(epoch + 1))
        callback.on_epoch_end(epoch, {"val_loss": loss, "val_accuracy": accuracy})
    # The lowest loss is epoch 2; the highest accuracy, which this run selects on, is epoch 3.
    assert best_record(run) == {"epoch": 3, "monitor": "val_accuracy", "mode": "max", "value": 0.6}
    resumed = BestCheckpoint(run, monitor="val_accuracy")
    assert resumed.best == 0.6
    # Another monitor does not inherit the record's value: its first epoch becomes the best.
    assert BestCheckpoint(run, monitor="val_loss").best == float("inf")
    typo = BestCheckpoint(run, monitor="val_acc")
    with pytest.raises(
        ValueError, match=r"'val_acc': not among .*\(val_accuracy, val_loss\); epoch 5 is saved"
    ):
        typo.on_epoch_end(4, {"loss": 1.0, "val_loss": 1.0, "val_accuracy": 0.2})
    typo.on_epoch_end(5, {"loss": 1.0})  # an epoch without validation is no error


def test_select_on_must_name_a_validation_log():
    with pytest.raises(ValueError, match=r"select_on: must name a validation log .*received 'accuracy'"):
        PredictionConfig().replace(select_on="accuracy")
    assert PredictionConfig().replace(select_on="val_ssim").select_on == "val_ssim"


def test_without_validation_test_uses_the_newest_checkpoint(tmp_path):
    run = RunDirectory(tmp_path)
    model = _model()
    save_checkpoint(model, run.checkpoint_path(1))
    save_checkpoint(model, run.checkpoint_path(2))
    label, path = inference_checkpoint(run)
    assert path == run.checkpoint_path(2) and label == "newest (epoch 2)"
    (run.checkpoint_dir / "best.json").write_text("{oops")
    assert best_record(run) is None  # no best weights next to it: ignored
    save_checkpoint(model, run.checkpoint_dir / "best.weights.h5")
    with pytest.raises(ValueError, match=r"best\.json: malformed JSON"):
        best_record(run)
    with pytest.raises(ValueError, match="monitor"):
        BestCheckpoint(run, monitor="")


def test_validation_is_the_tail_of_each_training_segment():
    length = 20
    segments = [
        Segment("person01_walking_d1", 1, 200),  # long: 10% tail = 20 frames, but at least length + 3
        Segment("person02_walking_d1", 0, 400),  # segment end beyond the video's 300 frames
        Segment("person03_walking_d1", 0, 30),  # too short to split: stays whole in training
        Segment("person04_walking_d1", 0, 100),  # unreadable video: left to the reader
    ]
    frames = {"person01_walking_d1": 250, "person02_walking_d1": 300, "person03_walking_d1": 30}
    train, val = split_segments_by_time(segments, frames.get, length, 0.1)
    minimum = length + MIN_VALIDATION_STARTS - 1
    assert val == [
        Segment("person01_walking_d1", 200 - minimum, 200),
        Segment("person02_walking_d1", 270, 300),
    ]
    assert train[0] == Segment("person01_walking_d1", 1, 200 - minimum)
    assert train[2:] == segments[2:]
    for head, tail in zip(train[:2], val, strict=True):
        low, high = train_start_range(head, frames[head.video], length)
        assert (high - 1) + length <= tail.start  # the last training window ends before validation starts
        low, high = train_start_range(tail, frames[tail.video], length)
        assert low == tail.start and high - low >= MIN_VALIDATION_STARTS
    assert split_segments_by_time(segments, frames.get, length, 0.0) == (segments, [])
    with pytest.raises(ValueError, match="val_fraction"):
        split_segments_by_time(segments, frames.get, length, 1.0)


def test_short_sequences_are_held_out_whole():
    sequences = [Segment(f"seq{i:05d}", 0, 20) for i in range(10)]
    train, val = split_segments_by_count(sequences, 0.1)
    assert train == sequences[:9] and val == sequences[9:]
    assert split_segments_by_count(sequences, 0.0) == (sequences, [])
    assert split_segments_by_count(sequences[:2], 0.9) == (sequences[:1], sequences[1:2])  # one left to train
    assert split_segments_by_count(sequences[:1], 0.5) == (sequences[:1], [])


def test_learning_rate_warm_up_then_cosine_decay():
    values = {"lr": 1e-3, "lr_schedule": "cosine", "warmup_steps": 10, "epochs": 2, "steps_per_epoch": 55}
    schedule = learning_rate(PredictionConfig.from_dict(values))
    rates = [float(schedule(step)) for step in (0, 5, 10, 60, 110)]
    assert rates[0] == 0.0 and rates[1] == pytest.approx(5e-4) and rates[2] == pytest.approx(1e-3)
    assert rates[3] == pytest.approx(5e-4, rel=1e-3) and rates[4] == pytest.approx(0.0, abs=1e-9)
    assert learning_rate(PredictionConfig(lr=1e-4, lr_schedule="constant")) == 1e-4
    with pytest.raises(ValueError, match="lr_schedule"):
        PredictionConfig.from_dict({"lr": 1e-4, "lr_schedule": "step"})
    with pytest.raises(ValueError, match="warmup_steps"):
        PredictionConfig.from_dict({"lr": 1e-4, "warmup_steps": 10})  # a warm-up needs the cosine schedule
    with pytest.raises(ValueError, match="warmup_steps"):
        learning_rate(PredictionConfig.from_dict({**values, "epochs": 1, "steps_per_epoch": 10}))
    json.dumps(keras.optimizers.schedules.serialize(schedule))  # the optimizer config stays serialisable


def test_split_groups_is_stratified_stable_and_leaves_every_stratum_a_group():
    groups = [(f"{cls}_{i:02d}", cls) for cls in ("walk", "run") for i in range(10)] + [("lone", "jump")]
    held = split_groups(groups, 0.3)
    assert (
        len([k for k in held if k.startswith("walk")]) == 3 == len([k for k in held if k.startswith("run")])
    )
    assert "lone" not in held  # a stratum of one group keeps it for training
    assert held == split_groups(list(reversed(groups)) + groups, 0.3)  # order and repeats do not matter
    assert held != split_groups(groups, 0.3, seed=1)
    assert split_groups(groups, 0.0) == set()
    assert len(split_groups([("a", 0), ("b", 0)], 0.9)) == 1  # never the whole stratum
    with pytest.raises(ValueError, match="val_fraction"):
        split_groups(groups, 1.0)
    assert (
        video_group("v_Biking_g03_c02") == video_group("v_Biking_g03_c05") != video_group("v_Biking_g04_c01")
    )


def test_the_demo_task_honours_the_cosine_schedule():
    """`--lr-schedule cosine` is a TaskConfig field: the demo task built its Adam at the constant rate."""
    from deep_rnn_tf.tasks import get_task
    from tests.presets import tiny_config

    config = tiny_config("demo", lr_schedule="cosine", warmup_steps=1)
    model = get_task("demo").build_model(config)
    assert isinstance(model.optimizer._learning_rate, keras.optimizers.schedules.CosineDecay)


def test_the_start_is_offered_as_epoch_zero_and_skipped_without_its_log(tmp_path):
    run = RunDirectory(tmp_path / "run")
    model = _model()
    start = model.layers[0].kernel.numpy()
    callback = BestCheckpoint(run)
    callback.set_model(model)
    apart = BestCheckpoint(run, monitor="val_anticipation_loss", separate=True)  # a loop-only log
    apart.set_model(model)
    for selector in (callback, apart):
        selector.offer_start({"val_loss": 2.0})
    assert best_record(run) == {"epoch": 0, "monitor": "val_loss", "mode": "min", "value": 2.0}
    assert best_record(run, "val_anticipation_loss") is None  # not offered: the epochs decide alone
    _epoch(callback, model, 0, 3.0)  # training made it worse: the start stays the best
    restored = _model()
    restored.load_weights(inference_checkpoint(run)[1])
    np.testing.assert_array_equal(restored.layers[0].kernel.numpy(), start)
    _epoch(callback, model, 1, 1.0)
    assert best_record(run)["epoch"] == 2


class _StartsTwoWays:
    """A stand-in model whose validation depends on which start was applied last."""

    scores = {
        0.0: {"loss": 0.30, "psnr": 20.0},
        0.5: {"loss": 0.20, "psnr": 21.0},
        1.0: {"loss": 0.25, "psnr": 22.0},
    }

    def __init__(self):
        self.gain = 0.0

    def evaluate(self, data, verbose=0, return_dict=True):
        return dict(self.scores[self.gain])

    def candidates(self):
        return [(f"gain {g}", lambda g=g: setattr(self, "gain", g)) for g in (1.0, 0.5, 0.0)]


def test_the_start_kept_is_the_best_candidate_on_validation_and_is_applied_last():
    from deep_rnn_tf.training.runs import _choose_start

    model = _StartsTwoWays()
    logs = _choose_start(model, None, model.candidates(), "val_loss")
    # The last candidate tried was 0.0; the best (0.5) must be applied again after the search.
    assert model.gain == 0.5 and logs == {"val_loss": 0.20, "val_psnr": 21.0}
    # A maximised log picks the largest; a log an evaluation has not falls back to the loss.
    assert (
        _choose_start(model, None, model.candidates(), "val_psnr")["val_psnr"] == 22.0 and model.gain == 1.0
    )
    _choose_start(model, None, model.candidates(), "val_anticipation_loss")
    assert model.gain == 0.5
    # Without candidates the model is validated as it is.
    assert _choose_start(model, None, [], "val_loss") == {"val_loss": 0.20, "val_psnr": 21.0}
