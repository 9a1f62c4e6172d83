"""Strategy selection, batch arithmetic, and MirroredStrategy on two logical CPUs vs one device."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import tensorflow as tf

from deep_rnn_tf.training.strategy import (
    StrategyInfo,
    global_batch_size,
    parse_devices,
    read_tf_config,
    select_strategy,
)


def test_parse_devices_accepts_common_spellings():
    assert parse_devices("GPU:0,gpu1, /device:CPU:3") == ["/gpu:0", "/gpu:1", "/cpu:3"]
    assert parse_devices(["CPU:0"]) == ["/cpu:0"]
    assert parse_devices(None) is None and parse_devices("") is None


@pytest.mark.parametrize("bad", ["TPU:0", "GPU", "gpu:x", "0"])
def test_parse_devices_names_the_flag_and_value(bad):
    with pytest.raises(ValueError, match=r"--devices.*" + bad):
        parse_devices(bad)


def test_tf_config_errors_name_tf_config():
    assert read_tf_config({}) is None
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        read_tf_config({"TF_CONFIG": "{not json"})
    with pytest.raises(ValueError, match="TF_CONFIG must be a JSON object with 'cluster' and 'task'"):
        read_tf_config({"TF_CONFIG": json.dumps({"cluster": {}})})


def test_default_strategy_without_cluster_or_devices():
    info = select_strategy(environ={})
    assert info.kind == "default" and info.is_chief and info.num_replicas == 1
    # A one-worker "cluster" is no cluster: no MultiWorkerMirroredStrategy (it would wait for peers).
    one = {"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 0}}
    assert select_strategy(environ={"TF_CONFIG": json.dumps(one)}).kind == "default"


def test_global_batch_is_per_replica_times_replicas():
    class FourReplicas:
        num_replicas_in_sync = 4

    info = StrategyInfo(FourReplicas(), "mirrored", "test")  # type: ignore[arg-type]
    assert global_batch_size(8, info) == 32
    assert global_batch_size(3, tf.distribute.get_strategy()) == 3
    with pytest.raises(ValueError, match="--batch-size.*received: 0"):
        global_batch_size(0, info)


# Runs in a fresh process: logical devices must be configured before TensorFlow runs any op.
_MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np, keras, tensorflow as tf
    from deep_rnn_tf.training.strategy import select_strategy
    from deep_rnn_tf.training.multiworker import DistributedLoop
    from deep_rnn_tf import DeepRNN
    from deep_rnn_tf.tasks.demo.task import ClipClassifier

    mirrored = select_strategy("CPU:0,CPU:1", environ={})  # splits the CPU into two logical devices
    single = select_strategy("CPU:0", environ={})
    assert mirrored.kind == "mirrored" and mirrored.num_replicas == 2, mirrored
    assert single.num_replicas == 1, single

    rng = np.random.default_rng(0)
    x = rng.uniform(size=(16, 4, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 3, 16).astype("int32")
    GLOBAL_BATCH = 8  # 4 per replica on two replicas, 8 on one

    def build(strategy, shared_trainer=False):
        keras.utils.set_random_seed(1)  # same initial weights for every run
        with strategy.scope():
            frames = keras.Input((4, 8, 8, 1), name="frames")
            h = DeepRNN("rbm", depth=2, filters=4, jump=None)(frames)
            logits = keras.layers.Dense(3)(keras.layers.GlobalMaxPooling2D()(h))
            model = keras.Model(frames, logits)
            if shared_trainer:  # the package's TaskModel step: its own replica scaling
                model = ClipClassifier(model)
                model.compile(keras.optimizers.SGD(0.5))
            else:
                model.compile(keras.optimizers.SGD(0.5),
                              keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    def data():
        return tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH, drop_remainder=True)

    curves = {}
    for name, info in (("single", single), ("mirrored", mirrored)):
        model = build(info.strategy)
        curves[name] = model.fit(data(), epochs=3, verbose=0, shuffle=False).history["loss"]
    model = build(mirrored.strategy)
    curves["mirrored_custom_loop"] = DistributedLoop(model, mirrored.strategy).fit(
        data(), epochs=3, verbose=0).history["loss"]
    for name, info in (("trainer_single", single), ("trainer_mirrored", mirrored)):
        model = build(info.strategy, shared_trainer=True)
        curves[name] = model.fit(data(), epochs=3, verbose=0, shuffle=False).history["loss"]
    print("CURVES " + json.dumps(curves))
    """
)


def test_mirrored_two_cpus_matches_one_device_with_same_global_batch(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(_MIRRORED_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=240, env=_quiet_env()
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("CURVES "))
    curves = json.loads(line[len("CURVES ") :])
    print("loss per epoch:", curves)
    single = curves["single"]
    assert single[-1] < single[0], "the loss should go down at lr 0.5"
    for name in ("mirrored", "mirrored_custom_loop", "trainer_single", "trainer_mirrored"):
        assert curves[name] == pytest.approx(single, rel=1e-4, abs=1e-5), name


def _quiet_env():
    import os

    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
