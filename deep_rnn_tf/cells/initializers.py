"""Initializers of the recurrent cells."""

from __future__ import annotations

import keras
import numpy as np

from deep_rnn_tf.validation import check_in_range, check_memory_gate


def xavier_normal(gain: float) -> keras.initializers.Initializer:
    """PyTorch's `xavier_normal_` with `gain`: N(0, gain^2 * 2 / (fan_in + fan_out)).

    The original's action models use gain 3.0 for their RNN convolutions.

    Example:
        >>> init = xavier_normal(3.0)  # VarianceScaling(scale=9, fan_avg, untruncated normal)
    """
    return keras.initializers.VarianceScaling(
        scale=gain**2, mode="fan_avg", distribution="untruncated_normal"
    )


@keras.saving.register_keras_serializable(package="deep_rnn_tf")
class CenterIdentity(keras.initializers.Initializer):
    """`gain` x identity between input and output channels at the kernel's centre tap, zero elsewhere.

    As the RBM cell's recurrent kernel, with the temporal bias at -gain/2, the gate starts as a leaky
    integrator of its input: around s = 1/2, sigmoid(gain * s - gain/2 + a) ~= 1/2 + gain/4 (s - 1/2) + a/4,
    so gain 3 keeps 3/4 of the gate's deviation per step (an LSTM's forget gate with bias 1 keeps 0.73);
    a Glorot kernel starts it almost memoryless. Works for conv (kh, kw, c, c) and dense (c, c) kernels.

    Args:
        gain: the identity's scale (> 0, at most 20).

    Example:
        >>> kernel = CenterIdentity(3.0)((3, 3, 4, 4))
        >>> float(kernel[1, 1, 2, 2]), float(kernel[0, 1, 2, 2]), float(kernel[1, 1, 2, 3])
        (3.0, 0.0, 0.0)
    """

    def __init__(self, gain: float = 3.0):
        self.gain = check_in_range("gain", gain, 0.0, 20.0)
        if self.gain == 0.0:
            raise ValueError(f"gain: must be > 0; received {gain!r}")

    def __call__(self, shape, dtype=None):
        shape = tuple(int(s) for s in shape)
        if len(shape) < 2 or shape[-1] != shape[-2]:
            raise ValueError(f"CenterIdentity needs a square (..., c, c) kernel; received shape {shape}")
        kernel = np.zeros(shape, np.float32)
        centre = tuple(s // 2 for s in shape[:-2])
        kernel[centre] = self.gain * np.eye(shape[-1], dtype=np.float32)
        return keras.ops.convert_to_tensor(kernel, dtype=dtype or "float32")

    def get_config(self) -> dict:
        return {"gain": self.gain}


def memory_gate_kwargs(memory_gain: float, gate_bias: float = 0.0) -> dict:
    """RBM cell keywords whose temporal gates start as leaky integrators (`CenterIdentity`).

    Gain g > 0: the recurrent kernel starts at g x identity and the gate bias at `gate_bias` - g/2, so the
    gate keeps about g/4 of its deviation from 1/2 per step; 0 keeps the cell's default recurrent
    initializer and `gate_bias`. Shared by the tasks' `--rbm-memory-gain` options.

    Args:
        memory_gain: g in [0, 20].
        gate_bias: the gate bias the user asked for; the cell receives gate_bias - g/2.

    Example:
        >>> sorted(memory_gate_kwargs(3.0))
        ['gate_bias', 'recurrent_initializer']
    """
    memory_gain = check_in_range("rbm_memory_gain", memory_gain, 0.0, 20.0)
    check_memory_gate(gate_bias, memory_gain)  # the cells bound their gate bias: say so in the user's terms
    if memory_gain == 0:
        return {"gate_bias": float(gate_bias)}
    return {
        "recurrent_initializer": CenterIdentity(memory_gain),
        "gate_bias": float(gate_bias) - memory_gain / 2,
    }
