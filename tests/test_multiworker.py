"""MultiWorkerMirroredStrategy with Keras 3: two real worker processes on 127.0.0.1 train the demo deep RBM.

Each worker runs `deep-rnn train demo ... --export` (the real CLI) with its own TF_CONFIG, its own run
directory and its own export directory, so the test can see who wrote what: only the chief (worker 0)
may write checkpoints and exports, and both must end with identical weights.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from tests.presets import tiny_args

# The worker: the real CLI, plus a spy on `runs.train` that dumps the final weights for the test.
_WORKER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import deep_rnn_tf.training.runs as runs

    original_train = runs.train

    def spy(*args, **kwargs):
        # Snapshot right after training: `train --export` then loads the best epoch into the chief's model.
        result = original_train(*args, **kwargs)
        model = result.model
        np.savez(sys.argv[1], iterations=model.optimizer.iterations.numpy(),
                 *[np.asarray(w.numpy()) for w in model.weights])
        return result

    runs.train = spy
    from deep_rnn_tf import cli

    sys.exit(cli.main(sys.argv[2:]))
    """
)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _run_two_workers(
    tmp_path, epochs: int, extra: list[str], timeout: float = 300
) -> tuple[float, list[str]]:
    """Starts workers 0 and 1 with TF_CONFIG; waits (bounded); kills what is left; returns (s, logs)."""
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes, logs = [], []
    started = time.monotonic()
    try:
        for index in range(2):
            tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
            env = {**os.environ, "TF_CONFIG": json.dumps(tf_config), "TF_CPP_MIN_LOG_LEVEL": "2"}
            command = [
                sys.executable, str(script), str(tmp_path / f"weights{index}.npz"),
                "train", "demo", *tiny_args("demo", tmp_path),
                "--epochs", str(epochs), "--seed", "0", "--quiet",
                "--run-dir", str(tmp_path / f"run{index}"), *[a.format(index=index) for a in extra],
            ]  # fmt: skip
            log = (tmp_path / f"worker{index}.log").open("w")
            logs.append(log)
            processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
        for process in processes:
            process.wait(timeout=max(1.0, timeout - (time.monotonic() - started)))
    finally:
        for process in processes:  # never leave a worker behind (a lone worker waits for its peer forever)
            if process.poll() is None:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
    elapsed = time.monotonic() - started
    outputs = [(tmp_path / f"worker{i}.log").read_text() for i in range(2)]
    assert [p.returncode for p in processes] == [0, 0], "\n\n".join(o[-3000:] for o in outputs)
    return elapsed, outputs


def _weight_difference(tmp_path) -> tuple[float, int, int]:
    chief, other = (np.load(tmp_path / f"weights{i}.npz") for i in range(2))
    arrays = [k for k in chief.files if k != "iterations"]
    difference = max(float(np.max(np.abs(chief[k] - other[k]))) for k in arrays)
    return difference, int(chief["iterations"]), int(other["iterations"])


def test_two_workers_train_identically_and_only_the_chief_writes(tmp_path):
    export = ["--export", "--export-dir", str(tmp_path / "saved_models{index}")]
    elapsed, outputs = _run_two_workers(tmp_path, epochs=2, extra=export)
    assert "multi_worker" in outputs[0] and "2 replica(s)" in outputs[0]

    difference, chief_steps, other_steps = _weight_difference(tmp_path)
    assert chief_steps == other_steps == 2 * 2  # 64 clips / global batch 32, 2 epochs
    print(f"2-worker run: {elapsed:.1f} s; max |weight difference| = {difference}")
    assert difference == 0.0

    # Only the chief wrote: checkpoints, config, metrics and the export.
    assert sorted(p.name for p in (tmp_path / "run0" / "checkpoints").iterdir()) == [
        "best.json",  # the best epoch by validation loss (what test and export load)
        "best.weights.h5",
        "epoch-0001.weights.h5",
        "epoch-0002.weights.h5",
    ]
    assert (tmp_path / "saved_models0" / "demo" / "1" / "saved_model.pb").is_file()
    assert not (tmp_path / "run1").exists(), sorted(str(p) for p in (tmp_path / "run1").rglob("*"))
    assert not (tmp_path / "saved_models1").exists()


@pytest.mark.slow
def test_two_workers_resume_from_the_chiefs_checkpoint(tmp_path):
    """Worker 1 never sees the chief's run directory: it gets the epoch and the state by broadcast."""
    _run_two_workers(tmp_path, epochs=1, extra=[])
    elapsed, outputs = _run_two_workers(tmp_path, epochs=2, extra=[])
    assert "this invocation started at 1" in outputs[0]
    difference, chief_steps, other_steps = _weight_difference(tmp_path)
    print(f"2-worker resume: {elapsed:.1f} s; max |weight difference| = {difference}")
    assert chief_steps == other_steps == 4 and difference == 0.0
    assert not (tmp_path / "run1").exists()
