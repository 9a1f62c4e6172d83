"""benchmarks/gradient_flow.py: the measurement of docs/cells.md runs and reads the right way."""

from __future__ import annotations

import argparse

import numpy as np

from tests.benchmark_scripts import load_benchmark


def _load():
    return load_benchmark("gradient_flow")


def _args(**overrides) -> argparse.Namespace:
    values = dict(
        depth=4, filters=4, time=4, size=4, channels=2, batch=2, p_td=0.0, kernel_gain=0.0, block_pool=None
    )
    return argparse.Namespace(**{**values, **overrides})


def _table_rows(flow, capsys, *flags: str) -> list[str]:
    """The rows of the table that `main` prints for tiny unjumped, unnormalised 2-layer stacks."""
    assert flow.main(["--depth", "2", "--filters", "4", "--time", "3", "--size", "4", "--seeds", "1",
                      "--jumps", "0", "--normalization", "none", *flags]) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    return [line for line in lines if line.startswith("| rbm") or line.startswith("| convlstm")]


def test_unjumped_convlstm_starves_its_bottom_layer_more_than_the_rbm():
    flow = _load()
    rbm = flow._stack_gradients("rbm", "none", 0.0, 0.0, 0, _args(), seed=0)
    convlstm = flow._stack_gradients("convlstm", "-", 0.0, 0.0, 0, _args(), seed=0)
    assert all(np.isfinite(list(r.values())).all() and min(r.values()) > 0 for r in (rbm, convlstm))
    # Measured at 15 layers in docs/cells.md (4.5e-4 against 3e-7); at 4 layers the gap is already there.
    assert rbm["depth"] > 2 * convlstm["depth"], (rbm, convlstm)


def test_memory_gain_carries_the_gradient_back_in_time(capsys):
    flow = _load()
    plain = flow._stack_gradients("rbm", "batch", 0.0, 0.0, 0, _args(time=6), seed=0)
    leaky = flow._stack_gradients("rbm", "batch", 3.0, 0.0, 0, _args(time=6), seed=0)
    assert leaky["time"] > 5 * plain["time"], (plain, leaky)
    rows = _table_rows(flow, capsys)
    assert len(rows) == 2 and all(len(row.split("|")) == 10 for row in rows), rows


def test_an_open_gate_bias_keeps_the_unjumped_rbm_stacks_signal(capsys):
    # Each unnormalised RBM layer multiplies its tanh output by its gate: at sigmoid(0) = 1/2 a stack halves
    # the signal per layer, at sigmoid(4) = 0.98 it keeps almost all of it (docs/cells.md).
    flow = _load()
    closed = flow._stack_gradients("rbm", "none", 0.0, 0.0, 0, _args(depth=6), seed=0)
    opened = flow._stack_gradients("rbm", "none", 0.0, 4.0, 0, _args(depth=6), seed=0)
    assert opened["forward"] > 10 * closed["forward"], (closed, opened)
    biases = [row.split("|")[5].strip() for row in _table_rows(flow, capsys, "--gate-biases", "0", "2")]
    assert biases == ["0", "2", "0", "2"], biases  # RBM, then ConvLSTM, at each bias
