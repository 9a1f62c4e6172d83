"""SavedModel export for TF Serving: layout, versions, plain-TF reload, saved_model_cli, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from deep_rnn_tf.export.serving import export_for_serving, next_version, resolve_export, versions
from deep_rnn_tf.tasks import get_task
from tests.presets import tiny_config

_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory):
    """The demo task's serving model (a real 2-layer DeepRNN of RBM cells), exported once."""
    task = get_task("demo")
    config = tiny_config("demo", seed=0)
    keras.utils.set_random_seed(0)
    serving = task.serving_model(config, task.build_model(config))
    example = task._clips(config, "test")[0][:2]
    base = tmp_path_factory.mktemp("saved_models")
    result = export_for_serving(serving, base, "demo", example_inputs=example)
    expected = {k: keras.ops.convert_to_numpy(v) for k, v in serving(example, training=False).items()}
    return serving, result, example, expected


def test_layout_files_and_signature(demo_export):
    _, result, example, _ = demo_export
    assert result.path.name == "1" and result.version == 1
    for name in ("saved_model.pb", "variables", "README.txt", "example_request.json", "example_frames.npy"):
        assert (result.path / name).exists(), name
    assert result.inputs == {"frames": ("uint8", [None, 8, 16, 16, 1])}
    assert set(result.outputs) == {"probabilities", "label"}
    assert result.max_abs_diff <= 1e-4
    request = json.loads((result.path / "example_request.json").read_text())
    assert len(request["instances"]) == 2
    np.testing.assert_array_equal(np.asarray(request["instances"][0]["frames"], np.uint8), example[0])
    readme = (result.path / "README.txt").read_text()
    assert "frames: uint8 [None, 8, 16, 16, 1]" in readme and "saved_model_cli run" in readme
    assert not [p for p in result.path.parent.iterdir() if p.name.startswith(".")], (
        "temporary dir left behind"
    )


# Runs in a process that never imports deep_rnn_tf: the export must stand on plain TensorFlow.
_PLAIN_TF = textwrap.dedent(
    """
    import sys, json
    import numpy as np
    import tensorflow as tf
    path, example, out = sys.argv[1:4]
    loaded = tf.saved_model.load(path)
    serve = loaded.signatures["serving_default"]
    x = np.load(example)
    outputs = serve(frames=tf.constant(x))
    np.savez(out, **{k: v.numpy() for k, v in outputs.items()})
    errors = {}
    for name, bad in {
        "rank": x[0],                              # missing batch axis
        "size": np.zeros((1, 8, 12, 16, 1), np.uint8),
        "dtype": x.astype(np.int32),
    }.items():
        try:
            serve(frames=tf.constant(bad))
            errors[name] = "accepted"
        except Exception as error:  # TF's own signature check
            errors[name] = type(error).__name__ + ": " + " ".join(str(error).split())[:400]
    assert not any(m.startswith("deep_rnn_tf") for m in sys.modules), "deep_rnn_tf was imported"
    print("ERRORS " + json.dumps(errors))
    """
)


def test_export_runs_in_plain_tensorflow_and_rejects_bad_input(demo_export, tmp_path):
    _, result, _, expected = demo_export
    script = tmp_path / "plain_tf.py"
    script.write_text(_PLAIN_TF)
    out = tmp_path / "out.npz"
    done = subprocess.run(
        [sys.executable, str(script), str(result.path), str(result.path / "example_frames.npy"), str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        env=_ENV,
        cwd=tmp_path,  # not the repository: `import deep_rnn_tf` must not be what makes it work
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    with np.load(out) as served:
        np.testing.assert_allclose(served["probabilities"], expected["probabilities"], atol=1e-5)
        np.testing.assert_array_equal(served["label"], expected["label"])
    errors = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("ERRORS "))[7:])
    print(errors)
    for case in ("rank", "size", "dtype"):
        assert errors[case] != "accepted", f"bad {case} was accepted"
        assert errors[case].split(":")[0] in ("ValueError", "TypeError", "InvalidArgumentError"), errors[case]
    # Shape errors come from the export's input check, naming the input and the expected shape.
    for case in ("rank", "size"):
        assert "Shape of tensor frames" in errors[case] and "[?,8,16,16,1]" in errors[case], errors[case]
    assert "expected to be a uint8 tensor but is a int32 tensor" in errors["dtype"]


def test_saved_model_cli_run_matches_keras(demo_export, tmp_path):
    _, result, _, expected = demo_export
    cli = Path(sys.executable).with_name("saved_model_cli")
    done = subprocess.run(
        [
            str(cli), "run", "--dir", str(result.path), "--tag_set", "serve",
            "--signature_def", "serving_default",
            "--inputs", f"frames={result.path / 'example_frames.npy'}", "--outdir", str(tmp_path),
        ],
        capture_output=True, text=True, timeout=180, env=_ENV, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "probabilities.npy"), expected["probabilities"], atol=1e-5)
    np.testing.assert_array_equal(np.load(tmp_path / "label.npy"), expected["label"])


def test_next_version_and_explicit_versions(demo_export, tmp_path):
    serving, result, example, _ = demo_export
    base = result.path.parent.parent
    (result.path.parent / "not-a-version").mkdir(exist_ok=True)
    assert versions(result.path.parent) == [1] and next_version(result.path.parent) == 2
    assert resolve_export(result.path.parent) == result.path
    with pytest.raises(ValueError, match="exists; choose another --version or pass --overwrite"):
        export_for_serving(serving, base, "demo", version=1, example_inputs=example)
    assert versions(result.path.parent) == [1]
    assert next_version(tmp_path / "missing") == 1


def test_export_refuses_models_without_dict_outputs(tmp_path):
    frames = keras.Input((3,), name="frames")
    model = keras.Model(frames, keras.layers.Dense(2)(frames))
    with pytest.raises(ValueError, match="dict of named outputs"):
        export_for_serving(model, tmp_path, "plain")
    with pytest.raises(ValueError, match="name must be a plain directory name"):
        export_for_serving(keras.Model(frames, {"y": keras.layers.Dense(2)(frames)}), tmp_path, "../up")
    assert not (tmp_path / "plain").exists() or versions(tmp_path / "plain") == []


def test_coerce_inputs_casts_json_integers_to_uint8_only_when_they_fit():
    from deep_rnn_tf.export.serving import coerce_inputs

    spec = {"frames": ("uint8", [None, 2])}
    got = coerce_inputs({"frames": np.array([[0, 255]])}, spec)
    assert got["frames"].dtype == np.uint8
    with pytest.raises(ValueError, match=r"input 'frames' has values outside uint8"):
        coerce_inputs({"frames": np.array([[0, 256]])}, spec)
    with pytest.raises(ValueError, match=r"has dtype float64; the export expects uint8"):
        coerce_inputs({"frames": np.array([[0.5, 1.0]])}, spec)


def test_integer_outputs_allow_one_rounding_level_and_no_more():
    from deep_rnn_tf.export.serving import output_tolerance

    # uint8 frames are rounded floats: one level is round-off between graph and eager; floats keep atol.
    assert output_tolerance(np.array([127], np.uint8), 1e-4) == 1.0
    assert output_tolerance(np.array([0.5], np.float32), 1e-4) == 1e-4
    assert output_tolerance(np.array([3], np.int64), 2.0) == 2.0
