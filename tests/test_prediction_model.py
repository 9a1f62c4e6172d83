"""MCnet model pieces, a few training steps (plain and GAN), resume through the runner, and export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from deep_rnn_tf.data.synthetic import kth as synth
from deep_rnn_tf.tasks import get_task
from deep_rnn_tf.tasks.prediction.model import (
    MCNet,
    copy_last_frame,
    gradient_difference_loss,
    unpool_zero_filled,
)
from deep_rnn_tf.training import runs


def test_unpool_puts_values_top_left():
    x = tf.reshape(tf.range(1.0, 5.0), (1, 2, 2, 1))
    out = unpool_zero_filled(x)[0, ..., 0].numpy()
    expected = np.zeros((4, 4))
    expected[::2, ::2] = [[1, 2], [3, 4]]
    np.testing.assert_array_equal(out, expected)


def test_gdl_hand_computed():
    # One row [0, 1] vs zeros: |dx| of the target with SAME padding (zero after the last column) is
    # [1, 1] on that row; |dy| is [0, 1] on row 0 (minus the zero padding row) ... computed by hand below.
    target = np.zeros((1, 2, 2, 1), np.float32)
    target[0, 0, 1, 0] = 1.0
    prediction = np.zeros_like(target)
    # dx (x[j+1] - x[j], zero pad right): row0 = [1, -1], row1 = [0, 0] -> |.| sum 2
    # dy (x[i+1] - x[i], zero pad bottom): col0 = [0, 0], col1 = [-1, 0]... row0 col1 = 0-1, row1 col1 = 0-0
    #   -> |.| sum 1; mean over 4 positions of (|dx| + |dy|) = (2 + 1) / 4
    got = float(gradient_difference_loss(tf.constant(prediction), tf.constant(target)))
    assert got == pytest.approx(3 / 4)
    assert float(gradient_difference_loss(tf.constant(target), tf.constant(target))) == 0.0


def test_copy_last_frame_and_argument_checks():
    past = tf.reshape(tf.range(2.0 * 3 * 4), (2, 3, 2, 2, 1))
    out = copy_last_frame(past, 4)
    assert out.shape == (2, 4, 2, 2, 1)
    np.testing.assert_array_equal(out[:, 2].numpy(), past[:, -1].numpy())
    with pytest.raises(ValueError, match="past"):
        MCNet(past=1)
    with pytest.raises(ValueError, match="image_size"):
        MCNet(image_size=30)
    with pytest.raises(ValueError, match="rnn"):
        MCNet(rnn="gru")


def _tiny(**kwargs) -> MCNet:
    config = dict(past=3, future=2, image_size=16, gf_dim=4, rnn_depth=2, rnn_filters=8, seed=0)
    return MCNet(**{**config, **kwargs})


def test_convlstm_core_and_longer_test_horizon():
    model = _tiny(rnn="convlstm", beta=0.0)
    frames = tf.random.uniform((2, 3, 16, 16, 1), -1, 1)
    assert model(frames).shape == (2, 2, 16, 16, 1)
    out = model(frames, num_future=4)
    assert out.shape == (2, 4, 16, 16, 1)
    assert float(tf.reduce_max(tf.abs(out))) <= 1.0  # tanh output
    assert len(model.core.cells) == 1


def test_gan_training_steps_update_both_networks():
    model = _tiny(beta=0.02, df_dim=4)
    model.compile(optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5))
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4, 3, 16, 16, 1)).astype("float32")
    y = rng.uniform(-1, 1, (4, 2, 16, 16, 1)).astype("float32")
    d_before = [v.numpy().copy() for v in model.discriminator.trainable_variables]
    g_before = model.decoder.trainable_variables[0].numpy().copy()
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0, shuffle=False)
    logs = {k: v[-1] for k, v in history.history.items()}
    assert {"loss", "l_p", "gdl", "d_real", "d_fake", "g_gan"} <= set(logs)
    assert all(np.isfinite(v) for v in logs.values())
    assert not np.allclose(g_before, model.decoder.trainable_variables[0].numpy())
    assert any(
        not np.allclose(a, v.numpy())
        for a, v in zip(d_before, model.discriminator.trainable_variables, strict=True)
    )
    assert float(model.update_d.numpy()) in (0.0, 1.0) and float(model.update_g.numpy()) in (0.0, 1.0)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """The tiny preset trained for 1 epoch through the runner, then resumed to 2 epochs."""
    root = tmp_path_factory.mktemp("prediction")
    data_dir = str(root / "kth")
    synth.main(
        ["--out", data_dir, "--train-persons", "1", "--test-persons", "1", "--frames", "30", "--quiet"]
    )
    task = get_task("prediction")
    config = {**task.presets["tiny"], "data_dir": data_dir, "seed": 3}
    run_dir = str(root / "run")
    first = runs.train(task, config, run_dir, verbose=0)
    second = runs.train(task, {**config, "epochs": 2}, run_dir, verbose=0)
    return task, config, run_dir, first, second


def test_training_runs_and_resumes(trained_run):
    _, _, run_dir, first, second = trained_run
    assert first.epochs_done == 1
    assert second.initial_epoch == 1 and second.epochs_done == 2  # resumed, trained only what was left
    assert np.isfinite(second.history["loss"]).all()
    assert os.path.isfile(os.path.join(run_dir, "checkpoints", "epoch-0002.weights.h5"))


def test_evaluate_writes_the_protocol_outputs(trained_run):
    task, config, run_dir, _, second = trained_run
    summary = task.evaluate({**config, "run_name": "t"}, second.model, run_dir)
    folder = os.path.join(run_dir, "results", "quantitative", "KTH", "t")
    model_npz = np.load(os.path.join(folder, "results_model=MCNET_rbm.npz"))
    copy_npz = np.load(os.path.join(folder, "results_model=copy_last_frame.npz"))
    assert model_npz["psnr"].shape == (summary["windows"], config["test_future"]) == copy_npz["ssim"].shape
    assert "psnr_openstl" in model_npz
    # The copy-last-frame baseline is clearly worse than perfect on the synthetic set.
    assert 15 < summary["copy_last_frame/psnr"] < 60
    assert os.path.isfile(os.path.join(folder, "per_step.md")) and os.path.isfile(
        os.path.join(folder, "per_step.png")
    )
    gifs = os.path.join(run_dir, "results", "images", "KTH", "t")
    assert any(name.endswith(".gif") for _, _, files in os.walk(gifs) for name in files)
    assert "| copy_last_frame | PSNR |" in summary["table"]


def test_export_runs_without_the_package(trained_run, tmp_path):
    task, config, _, _, second = trained_run
    export_dir = str(tmp_path / "prediction" / "1")
    task.serving_model({**config, "export_future": 4}, second.model).export(export_dir, verbose=False)
    frames = np.random.default_rng(0).uniform(-1, 1, (2, 3, 16, 16, 1)).astype("float32")
    expected = second.model(frames, num_future=4).numpy()
    np.save(tmp_path / "frames.npy", frames)
    script = textwrap.dedent(
        f"""
        import json, sys
        import numpy as np, tensorflow as tf
        loaded = tf.saved_model.load({export_dir!r})
        frames = tf.constant(np.load({str(tmp_path / "frames.npy")!r}))
        out = loaded.signatures["serving_default"](frames=frames)
        np.save({str(tmp_path / "future.npy")!r}, out["future"].numpy())
        print(json.dumps({{"leaked": [m for m in sys.modules if m.startswith("deep_rnn_tf")]}}))
        """
    )
    env = {**os.environ, "PYTHONPATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=str(tmp_path), env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["leaked"] == []
    future = np.load(tmp_path / "future.npy")
    assert future.shape == (2, 4, 16, 16, 1)
    np.testing.assert_allclose(future, expected, atol=1e-5)
