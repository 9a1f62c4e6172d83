"""deep_rnn_tf.models: the paper's models in one call from the task presets, weights files, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from deep_rnn_tf import models


def _same_weights(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights(), strict=True))


def test_mcnet_small_builds_and_loads_a_weights_file(tmp_path):
    model = models.mcnet("small", core="rbm", rnn_depth=2)
    assert type(model).__name__ == "MCNet" and model.built and model.optimizer is not None
    path = str(tmp_path / "mcnet.weights.h5")
    model.save_weights(path)
    again = models.mcnet("small", rnn_depth=2, weights=path, seed=7)
    assert _same_weights(model, again)
    fresh = models.mcnet("small", rnn_depth=2, seed=7)
    assert not _same_weights(model, fresh)


def test_mcnet_core_choice_reaches_the_model():
    model = models.mcnet("small", core="convlstm", rnn_depth=1, rnn_filters=8)
    assert "convlstm" in model.name


def test_polygon_and_action_small_presets_build():
    polygon = models.polygon_rnn("small", encoder_width=0.0625, feature_channels=8)
    assert type(polygon).__name__ == "PolygonRNN" and polygon.built
    action = models.action_model("small", num_classes=4)
    assert type(action).__name__ == "ActionOCTSModel" and action.built


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: models.mcnet("huge"), r"mcnet: unknown preset 'huge'; expected one of \['paper', 'small'\]"),
        (lambda: models.polygon_rnn("tiny"), r"polygon_rnn: unknown preset 'tiny'"),
        (lambda: models.action_model("small"), r"pass num_classes=N or class_names"),
        (
            lambda: models.mcnet("small", weights="/no/such.weights.h5"),
            r"/no/such.weights.h5: weights file not found",
        ),
        (lambda: models.mcnet("small", depthh=3), r"mcnet\(\) arguments: unknown key 'depthh'"),
        (lambda: models.build("segmentation"), r"Unknown task 'segmentation'"),
    ],
)
def test_bad_arguments_are_one_clear_line(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_weights_file_of_another_configuration_is_named(tmp_path):
    path = str(tmp_path / "other.weights.h5")
    models.mcnet("small", rnn_depth=1).save_weights(path)
    with pytest.raises(ValueError, match="other.weights.h5: cannot load"):
        models.mcnet("small", rnn_depth=2, weights=path)


def test_build_loads_a_checkpoint_written_by_deep_rnn_train(tmp_path):
    from deep_rnn_tf import cli
    from tests.presets import TINY, tiny_args

    run_dir = tmp_path / "run"
    argv = [
        "train",
        "demo",
        *tiny_args("demo", tmp_path),
        "--epochs",
        "1",
        "--run-dir",
        str(run_dir),
        "--quiet",
    ]
    assert cli.main(argv) == 0
    checkpoint = run_dir / "checkpoints" / "epoch-0001.weights.h5"
    model = models.build("demo", "small", weights=str(checkpoint), **{**TINY["demo"], "epochs": 1})
    assert int(model.optimizer.iterations.numpy()) > 0  # the trained optimizer state came back too
