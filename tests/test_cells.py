"""RBM / ConvLSTM / LSTM cells against independent references; temporal dropout semantics."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from deep_rnn_tf import ConvLSTMCell, ConvRNN, DeepCell, DeepRNN, DenseRBMCell, LSTMCell, RBMCell


def conv_same(x, kernel, stride=1):
    """Plain NumPy 'same' 2-D convolution (TF's padding convention), (B, H, W, C) x (k, k, C, F)."""
    k = kernel.shape[0]
    height, width = x.shape[1:3]
    out_h, out_w = -(-height // stride), -(-width // stride)
    pad_h = max((out_h - 1) * stride + k - height, 0)
    pad_w = max((out_w - 1) * stride + k - width, 0)
    xp = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    out = np.zeros((x.shape[0], out_h, out_w, kernel.shape[-1]))
    for i in range(k):
        for j in range(k):
            patch = xp[:, i : i + stride * out_h : stride, j : j + stride * out_w : stride, :]
            out += np.einsum("bhwc,cf->bhwf", patch, kernel[i, j])
    return out


def max_pool_same(x, size, stride):
    height, width = x.shape[1:3]
    out_h, out_w = -(-height // stride), -(-width // stride)
    pad_h = max((out_h - 1) * stride + size - height, 0)
    pad_w = max((out_w - 1) * stride + size - width, 0)
    xp = np.pad(
        x,
        ((0, 0), (pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)),
        constant_values=-np.inf,
    )
    out = np.full((x.shape[0], out_h, out_w, x.shape[3]), -np.inf)
    for i in range(size):
        for j in range(size):
            out = np.maximum(out, xp[:, i : i + stride * out_h : stride, j : j + stride * out_w : stride, :])
    return out


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def rbm_reference(x_seq, weights, stride=1, activation=np.tanh, merge=np.multiply, keep=None):
    """The RBM equations of original.md §1.1, step by step, W_T applied to the concatenation [x; s].

    `keep`: the per-channel share of s_{t-1} that a leaky gate keeps (`RBMCell(leak=...)`), None: none.
    `merge="blend"`: h_t = (1 - s) r + s h_{t-1} (`RBMCell(merge="blend")`); `merge="accumulate"`:
    h_t = r + s h_{t-1}.
    """
    w_r, b_r, w_tx, b_t, w_ts = weights
    w_t = np.concatenate([w_tx, w_ts], axis=2)  # one kernel over [x; s], as the paper writes it
    batch, steps, height, width, _ = x_seq.shape
    s = np.zeros((batch, height, width, w_r.shape[-1]))
    outputs = []
    for t in range(steps):
        x = x_seq[:, t]
        r = activation(conv_same(x, w_r, stride) + b_r)
        fresh = sigmoid(conv_same(np.concatenate([x, s], axis=-1), w_t) + b_t)
        s = fresh if keep is None else keep * s + (1.0 - keep) * fresh
        gate = s if stride == 1 else max_pool_same(s, 3, stride)
        previous = outputs[-1] if outputs else np.zeros_like(r)
        if merge == "blend":
            outputs.append((1.0 - gate) * r + gate * previous)
        elif merge == "accumulate":
            outputs.append(r + gate * previous)
        else:
            outputs.append(merge(r, gate))
    return np.stack(outputs, axis=1), s


def rbm_weights_in_reference_order(cell):
    return [
        cell.representation_kernel.numpy(),
        cell.representation_bias.numpy(),
        cell.temporal_kernel.numpy(),
        cell.temporal_bias.numpy(),
        cell.recurrent_kernel.numpy(),
    ]


def randomize(layer, scale=0.5):
    layer.set_weights(
        [np.random.uniform(-scale, scale, w.shape).astype("float32") for w in layer.get_weights()]
    )


@pytest.mark.parametrize("stride", [1, 2])
def test_rbm_cell_equals_numpy_reference(stride):
    x = np.random.uniform(-1, 1, (2, 4, 6, 6, 3)).astype("float32")
    layer = ConvRNN(
        RBMCell(5, kernel_size=3, strides=stride, activation="tanh"), return_sequences=True, return_state=True
    )
    layer(x)
    randomize(layer)
    outputs, state = layer(x)
    expected_outputs, expected_state = rbm_reference(x, rbm_weights_in_reference_order(layer.cell), stride)
    np.testing.assert_allclose(outputs.numpy(), expected_outputs, atol=1e-5)
    np.testing.assert_allclose(state.numpy(), expected_state, atol=1e-5)
    assert state.shape == (2, 6, 6, 5)  # the state is the gate, at input resolution


@pytest.mark.parametrize("merge", ["blend", "accumulate"])
@pytest.mark.parametrize("stride", [1, 2])
def test_rbm_output_memory_merges_carry_the_previous_output(stride, merge):
    """blend h_t = (1 - s) r + s h_{t-1} and accumulate h_t = r + s h_{t-1}: the previous output is a
    second state (at the output's resolution); the cell, its config, the DeepRNN fast path and the dense
    cell agree with the reference."""
    x = np.random.uniform(-1, 1, (2, 4, 6, 6, 3)).astype("float32")
    cell = RBMCell(5, strides=stride, activation="tanh", merge=merge)
    layer = ConvRNN(cell, return_sequences=True, return_state=True)
    layer(x)
    randomize(layer)
    outputs, gate, last = layer(x)
    expected_outputs, expected_gate = rbm_reference(
        x, rbm_weights_in_reference_order(cell), stride, merge=merge
    )
    np.testing.assert_allclose(outputs.numpy(), expected_outputs, atol=1e-5)
    np.testing.assert_allclose(gate.numpy(), expected_gate, atol=1e-5)
    np.testing.assert_allclose(last.numpy(), expected_outputs[:, -1], atol=1e-6)  # the carried output
    product, _ = rbm_reference(x, rbm_weights_in_reference_order(cell), stride)
    assert np.abs(outputs.numpy() - product).max() > 0.1
    assert RBMCell.from_config(cell.get_config()).num_states == 2 and cell.state_size == [-1, -1]
    fast = DeepRNN(
        "rbm", depth=2, filters=5, jump=None, strides=stride, activation="tanh", merge=merge,
        return_sequences=True,
    )  # fmt: skip
    stacked = ConvRNN(
        DeepCell([RBMCell(5, strides=stride, activation="tanh", merge=merge),
                  RBMCell(5, strides=stride, activation="tanh", merge=merge)], jump=None),
        return_sequences=True,
    )  # fmt: skip
    fast(x), stacked(x)
    stacked.set_weights(fast.get_weights())
    np.testing.assert_allclose(fast(x).numpy(), stacked(x).numpy(), atol=1e-5)  # fast path = step loop
    dense = keras.layers.RNN(DenseRBMCell(4, merge=merge), return_sequences=True, return_state=True)
    dense_out, dense_gate, dense_last = dense(np.random.uniform(-1, 1, (2, 5, 3)).astype("float32"))
    assert dense_gate.shape == dense_last.shape == (2, 4)
    np.testing.assert_allclose(dense_last.numpy(), dense_out.numpy()[:, -1], atol=1e-6)


def test_a_deep_rbm_stack_takes_one_merge_per_layer():
    """`merge` as a list gives each layer its own (bottom first): the blend layer carries two states, the
    others one, and the stack equals the hand-built DeepCell; a list of another length, or an unknown
    merge on the command line, is refused with the value received."""
    import argparse

    from deep_rnn_tf.cells.deep import build_deep_cell
    from deep_rnn_tf.cells.rbm import parse_merges

    x = np.random.uniform(-1, 1, (2, 4, 6, 6, 3)).astype("float32")
    deep = build_deep_cell("rbm", depth=3, filters=5, jump=None, merge=["blend", "product", "sum"])
    assert [cell.merge for cell in deep.cells] == ["blend", "product", "sum"]
    assert [cell.num_states for cell in deep.cells] == [2, 1, 1]
    built = ConvRNN(deep, return_sequences=True)
    by_hand = ConvRNN(
        DeepCell([RBMCell(5, merge="blend"), RBMCell(5), RBMCell(5, merge="sum")], jump=None),
        return_sequences=True,
    )
    built(x), by_hand(x)
    randomize(built)
    by_hand.set_weights(built.get_weights())
    np.testing.assert_allclose(built(x).numpy(), by_hand(x).numpy(), atol=1e-6)
    fast = DeepRNN("rbm", depth=3, filters=5, jump=None, merge=["blend", "product", "sum"])
    assert [cell.merge for cell in DeepRNN.from_config(fast.get_config()).cell.cells] == [
        "blend", "product", "sum",
    ]  # fmt: skip
    assert {cell.merge for cell in build_deep_cell("rbm", depth=2, merge="sum").cells} == {"sum"}
    with pytest.raises(ValueError, match=r"one per layer \(3\); received \['blend', 'product'\]"):
        build_deep_cell("rbm", depth=3, merge=["blend", "product"])
    with pytest.raises(ValueError, match="'max'"):
        build_deep_cell("rbm", depth=2, merge=["blend", "max"])
    assert parse_merges("blend, product,product") == ["blend", "product", "product"]
    assert parse_merges("sum") == "sum"
    with pytest.raises(argparse.ArgumentTypeError, match="unknown merge 'prod' in 'blend,prod'"):
        parse_merges("blend,prod")


@pytest.mark.parametrize("stride", [1, 2])
def test_rbm_sum_merge_adds_the_state_to_the_representation(stride):
    x = np.random.uniform(-1, 1, (2, 4, 6, 6, 3)).astype("float32")
    cell = RBMCell(5, strides=stride, activation="tanh", merge="sum")
    layer = ConvRNN(cell, return_sequences=True, return_state=True)
    layer(x)
    randomize(layer)
    outputs, state = layer(x)
    expected_outputs, expected_state = rbm_reference(
        x, rbm_weights_in_reference_order(cell), stride, merge=np.add
    )
    np.testing.assert_allclose(outputs.numpy(), expected_outputs, atol=1e-5)
    np.testing.assert_allclose(state.numpy(), expected_state, atol=1e-5)
    product, _ = rbm_reference(x, rbm_weights_in_reference_order(cell), stride)
    assert np.abs(outputs.numpy() - product).max() > 0.1  # not the product merge by accident
    assert RBMCell.from_config(cell.get_config()).merge == "sum"
    fast = DeepRNN(
        "rbm", depth=1, filters=5, jump=None, strides=stride, activation="tanh", merge="sum",
        return_sequences=True,
    )  # fmt: skip
    fast(x)
    fast.cell.cells[0].set_weights(cell.get_weights())
    np.testing.assert_allclose(fast(x).numpy(), outputs.numpy(), atol=1e-5)  # the fast path merges alike
    with pytest.raises(ValueError, match="merge.*'max'"):
        RBMCell(5, merge="max")


@pytest.mark.parametrize("stride", [1, 2])
def test_rbm_leak_keeps_a_learnt_share_of_the_previous_gate(stride):
    x = np.random.uniform(-1, 1, (2, 5, 6, 6, 3)).astype("float32")
    cell = RBMCell(5, strides=stride, activation="tanh", leak=0.6)
    layer = ConvRNN(cell, return_sequences=True, return_state=True)
    layer(x)
    np.testing.assert_allclose(sigmoid(cell.leak_logit.numpy()), 0.6, rtol=1e-5)  # starts at `leak`
    randomize(layer)
    keep = sigmoid(cell.leak_logit.numpy())
    assert keep.shape == (5,) and np.ptp(keep) > 0  # one learnt share per channel
    outputs, state = layer(x)
    weights = rbm_weights_in_reference_order(cell)
    expected_outputs, expected_state = rbm_reference(x, weights, stride, keep=keep)
    np.testing.assert_allclose(outputs.numpy(), expected_outputs, atol=1e-5)
    np.testing.assert_allclose(state.numpy(), expected_state, atol=1e-5)
    plain, _ = rbm_reference(x, weights, stride)
    assert np.abs(outputs.numpy() - plain).max() > 0.05  # the leak changes what the cell computes
    assert RBMCell.from_config(cell.get_config()).leak == 0.6
    fast = DeepRNN("rbm", depth=1, filters=5, jump=None, strides=stride, activation="tanh", leak=0.6)
    fast(x)
    fast.cell.cells[0].set_weights(cell.get_weights())
    np.testing.assert_allclose(fast(x).numpy(), outputs.numpy()[:, -1], atol=1e-5)  # the fast path too
    assert "leak_logit" in [w.name for w in cell.trainable_weights]
    original = ConvRNN(RBMCell(5, strides=stride))
    original(x)
    assert original.cell.leak == 0.0 and original.cell.leak_logit is None  # the original: no weight
    assert "leak_logit" not in [w.name for w in original.cell.weights]
    with pytest.raises(ValueError, match="leak.*1.0"):
        RBMCell(5, leak=1.0)


def test_dense_rbm_cell_equals_numpy_reference():
    x = np.random.uniform(-1, 1, (3, 5, 4)).astype("float32")
    layer = ConvRNN(DenseRBMCell(6), return_sequences=True)
    layer(x)
    randomize(layer)
    cell = layer.cell
    w_r, b_r, w_tx, b_t, w_ts = rbm_weights_in_reference_order(cell)
    s = np.zeros((3, 6))
    expected = []
    for t in range(5):
        r = np.maximum(x[:, t] @ w_r + b_r, 0)
        s = sigmoid(np.concatenate([x[:, t], s], -1) @ np.concatenate([w_tx, w_ts], 0) + b_t)
        expected.append(r * s)
    np.testing.assert_allclose(layer(x).numpy(), np.stack(expected, 1), atol=1e-5)


def gate_gradient_wrt_input(cell, x, training):
    """d(sum of the new state)/dx: the state depends on x only through the temporal branch."""
    state = [tf.zeros(x.shape[:-1] + (cell.filters,))]
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        _, (new_state,) = cell(x, state, training=training)
        total = tf.reduce_sum(new_state)
    return tape.gradient(total, x), tape.gradient(total, cell.temporal_kernel)


def test_temporal_dropout_p1_cuts_gradient_into_x_but_not_into_w_t():
    x = tf.random.uniform((2, 5, 5, 3))
    cell = RBMCell(4, p_td=1.0)
    cell.build(x.shape)
    grad_x, grad_w = gate_gradient_wrt_input(cell, x, training=True)
    assert float(tf.reduce_max(tf.abs(grad_x))) == 0.0
    assert float(tf.reduce_max(tf.abs(grad_w))) > 0.0  # W_T still learns
    grad_x_inference, _ = gate_gradient_wrt_input(cell, x, training=False)
    assert float(tf.reduce_max(tf.abs(grad_x_inference))) > 0.0  # no effect at inference


def test_temporal_dropout_p0_keeps_gradient():
    x = tf.random.uniform((2, 5, 5, 3))
    cell = RBMCell(4, p_td=0.0)
    cell.build(x.shape)
    grad_x, _ = gate_gradient_wrt_input(cell, x, training=True)
    assert float(tf.reduce_max(tf.abs(grad_x))) > 0.0


def test_temporal_dropout_does_not_change_forward_values():
    x = tf.random.uniform((2, 3, 5, 5, 3))
    layer = ConvRNN(RBMCell(4, p_td=0.7, seed=3), return_sequences=True)
    reference = layer(x, training=False)
    np.testing.assert_allclose(layer(x, training=True).numpy(), reference.numpy(), atol=1e-6)


def test_temporal_dropout_draws_anew_in_every_traced_call():
    x = tf.random.uniform((4, 5, 5, 3))
    cell = RBMCell(4, p_td=0.5, seed=7)
    cell.build(x.shape)

    @tf.function
    def grad_norm():
        grad_x, _ = gate_gradient_wrt_input(cell, x, training=True)
        return tf.reduce_max(tf.abs(grad_x))

    norms = [float(grad_norm()) for _ in range(30)]
    assert any(n == 0.0 for n in norms) and any(n > 0.0 for n in norms), norms


def test_temporal_dropout_sample_mode_draws_per_sample():
    x = tf.random.uniform((32, 5, 5, 3))
    cell = RBMCell(4, p_td=0.5, td_mode="sample", seed=11)
    cell.build(x.shape)
    grad_x, _ = gate_gradient_wrt_input(cell, x, training=True)
    per_sample = tf.reduce_max(tf.abs(grad_x), axis=[1, 2, 3]).numpy()
    assert (per_sample == 0).any() and (per_sample > 0).any(), per_sample


def test_conv_lstm_cell_equals_keras_conv_lstm2d():
    x = np.random.uniform(-1, 1, (2, 5, 7, 7, 3)).astype("float32")
    reference = keras.layers.ConvLSTM2D(6, 3, padding="same", return_sequences=True)
    expected = reference(x)
    ours = ConvRNN(ConvLSTMCell(6, kernel_size=3), return_sequences=True)
    ours(x)
    ours.set_weights(reference.get_weights())
    np.testing.assert_allclose(ours(x).numpy(), expected.numpy(), atol=1e-5)
    fast = DeepRNN("convlstm", depth=1, filters=6, jump=None, return_sequences=True)
    fast(x)
    fast.set_weights(reference.get_weights())
    np.testing.assert_allclose(fast(x).numpy(), expected.numpy(), atol=1e-5)


def lstm_reference(x_seq, kernel, recurrent_kernel, bias, normalize):
    """The (dense) LSTM equations step by step; `normalize(name, z)` is applied to the input and
    recurrent pre-activations (before the bias) and to the cell state that h reads (recurrent BN)."""
    units = recurrent_kernel.shape[0]
    h = c = np.zeros((x_seq.shape[0], units))
    outputs = []
    for t in range(x_seq.shape[1]):
        z = normalize("x", x_seq[:, t] @ kernel) + normalize("h", h @ recurrent_kernel) + bias
        z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
        c = sigmoid(z_f) * c + sigmoid(z_i) * np.tanh(z_c)
        h = sigmoid(z_o) * np.tanh(normalize("c", c))
        outputs.append(h)
    return np.stack(outputs, axis=1)


def batch_moments_normalize(_name, z, epsilon=1e-5):
    """Training-mode batch normalisation with gamma 1 and beta 0 (the layers' initial values)."""
    return (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + epsilon)


@pytest.mark.parametrize("normalization", ["batch", "batch_per_step"])
def test_normalised_lstm_cell_equals_numpy_reference(normalization):
    """Recurrent batch normalisation (Cooijmans et al.): N(W x) + N(U h) + b, and h reads N(c); in training
    every step is normalised with its own batch's moments (the per-step zero recurrent term at t = 0 has
    zero variance and normalises to 0)."""
    x = np.random.uniform(-1, 1, (16, 5, 3)).astype("float32")
    cell = LSTMCell(4, normalization=normalization)
    layer = keras.layers.RNN(cell, return_sequences=True)
    layer(x)
    kernel, recurrent_kernel, bias = (w.numpy() for w in (cell.kernel, cell.recurrent_kernel, cell.bias))
    expected = lstm_reference(x, kernel, recurrent_kernel, bias, batch_moments_normalize)
    np.testing.assert_allclose(layer(x, training=True).numpy(), expected, atol=1e-4)
    unnormalised = lstm_reference(x, kernel, recurrent_kernel, bias, lambda _name, z: z)
    assert np.abs(expected - unnormalised).max() > 0.05  # the check above can tell the two apart


@pytest.mark.parametrize("normalization", ["batch", "layer", "batch_per_step"])
def test_normalised_conv_lstm_cell_round_trips_and_leaves_the_default_alone(normalization):
    cell = ConvLSTMCell(4, normalization=normalization)
    layer = ConvRNN(cell, return_sequences=True)
    x = tf.random.stateless_normal((2, 3, 6, 6, 2), seed=(5, 6))
    layer(x)
    copy = ConvRNN.from_config(layer.get_config())
    copy(x)
    copy.set_weights(layer.get_weights())
    assert copy.cell.normalization == normalization
    np.testing.assert_allclose(copy(x).numpy(), layer(x).numpy(), atol=1e-6)
    assert ConvLSTMCell(4).get_config()["normalization"] is None
    with pytest.raises(ValueError, match="normalization.*'group'"):
        ConvLSTMCell(4, normalization="group")


def test_lstm_cell_equals_keras_lstm():
    x = np.random.uniform(-1, 1, (3, 6, 4)).astype("float32")
    reference = keras.layers.LSTM(5, return_sequences=True)
    expected = reference(x)
    ours = keras.layers.RNN(LSTMCell(5), return_sequences=True)
    ours(x)
    ours.set_weights(reference.get_weights())
    np.testing.assert_allclose(ours(x).numpy(), expected.numpy(), atol=1e-5)


@pytest.mark.parametrize("cell_class", [RBMCell, DenseRBMCell])
def test_gate_bias_opens_the_gate_at_the_start_and_round_trips(cell_class):
    cell = cell_class(4, gate_bias=1.0)
    inputs = keras.random.normal((2, 3, 5, 5, 2) if cell_class is RBMCell else (2, 3, 2), seed=0)
    layer = ConvRNN(cell, return_sequences=True) if cell_class is RBMCell else keras.layers.RNN(cell)
    layer(inputs)
    np.testing.assert_allclose(cell.temporal_bias.numpy(), 1.0)
    np.testing.assert_allclose(cell.representation_bias.numpy(), 0.0)  # only b_T moves
    assert cell_class.from_config(cell.get_config()).gate_bias == 1.0
    assert cell_class(4).get_config()["gate_bias"] == 0.0  # the original's default
    with pytest.raises(ValueError, match="gate_bias"):
        cell_class(4, gate_bias=float("nan"))


@pytest.mark.parametrize("normalization", ["batch", "layer", "batch_per_step"])
@pytest.mark.parametrize("cell_class", [RBMCell, DenseRBMCell])
def test_gate_bias_opens_the_gate_of_a_normalised_cell(cell_class, normalization):
    """A normalisation subtracts b_T, so the opening goes into its shift: gates start near sigmoid(2)."""
    shape = (8, 3, 5, 5, 2) if cell_class is RBMCell else (8, 3, 2)
    inputs = keras.random.normal(shape, seed=0)
    gates = {}
    for bias in (0.0, 2.0):
        cell = cell_class(4, normalization=normalization, gate_bias=bias, seed=0)
        layer = (
            ConvRNN(cell, return_state=True)
            if cell_class is RBMCell
            else keras.layers.RNN(cell, return_state=True)
        )
        _, gate = layer(inputs, training=True)
        gates[bias] = float(keras.ops.mean(gate))
        np.testing.assert_allclose(cell.temporal_norm.beta.numpy(), bias)
        np.testing.assert_allclose(cell.representation_norm.beta.numpy(), 0.0)  # only the gate moves
    assert abs(gates[0.0] - 0.5) < 0.05 and abs(gates[2.0] - 0.88) < 0.05, gates


def test_center_identity_makes_the_rbm_gate_a_leaky_integrator():
    from deep_rnn_tf.cells.initializers import CenterIdentity

    kernel = CenterIdentity(3.0)((3, 3, 4, 4)).numpy()
    assert kernel[1, 1].tolist() == (3.0 * np.eye(4)).tolist() and np.abs(kernel).sum() == 12.0
    assert CenterIdentity(2.0)((4, 4)).numpy().tolist() == (2.0 * np.eye(4)).tolist()  # dense kernels
    with pytest.raises(ValueError, match="square"):
        CenterIdentity(3.0)((3, 3, 2, 4))
    with pytest.raises(ValueError, match="gain"):
        CenterIdentity(0.0)
    # With zero input kernels, s_t = sigmoid(3 s_{t-1} - 1.5): from s_0 = 0 the gate climbs towards 1/2 and
    # keeps about 3/4 of its distance to 1/2 per step, the integrator `CenterIdentity` documents.
    cell = RBMCell(2, kernel_size=1, gate_bias=-1.5, kernel_initializer="zeros",
                   recurrent_initializer=CenterIdentity(3.0))  # fmt: skip
    layer = ConvRNN(cell, return_sequences=True, return_state=True)
    layer(tf.zeros((1, 1, 1, 1, 1)))
    gates, state = [], [tf.zeros((1, 1, 1, 2))]
    for _ in range(6):
        _, state = cell(tf.zeros((1, 1, 1, 1)), state)
        gates.append(float(state[0][0, 0, 0, 0]))
    distances = 0.5 - np.array(gates)
    assert np.all(distances > 0) and np.all(np.diff(distances) < 0)
    ratios = distances[1:] / distances[:-1]  # 3/4 near 1/2, a little less further away (the sigmoid bends)
    assert np.all((ratios > 0.65) & (ratios < 0.75)) and abs(ratios[-1] - 0.75) < 0.01
    restored = RBMCell.from_config(cell.get_config())
    assert isinstance(restored.recurrent_initializer, CenterIdentity)
    assert restored.recurrent_initializer.gain == 3.0


def test_lstm_gate_bias_opens_input_and_output_gates():
    """gate_bias is added to the i and o biases (f keeps its +1, c its 0); 0 is Keras' start; the range is
    checked."""
    cell = LSTMCell(3, gate_bias=1.5)
    cell.build((None, 2))
    np.testing.assert_array_equal(cell.bias.numpy(), [1.5] * 3 + [1.0] * 3 + [0.0] * 3 + [1.5] * 3)
    assert LSTMCell.from_config(cell.get_config()).gate_bias == 1.5
    plain = LSTMCell(3)
    plain.build((None, 2))
    np.testing.assert_array_equal(plain.bias.numpy(), [0.0] * 3 + [1.0] * 3 + [0.0] * 6)
    with pytest.raises(ValueError, match="gate_bias"):
        ConvLSTMCell(4, gate_bias=11.0)


@pytest.mark.parametrize(
    "initializer",
    [
        None,  # the cells' default, glorot_uniform
        keras.initializers.VarianceScaling(9.0, mode="fan_avg", distribution="untruncated_normal"),
        keras.initializers.GlorotUniform(seed=7),
    ],
)
def test_weights_sharing_an_initializer_start_different(initializer):
    # A Keras 3 random initializer fixes its seed when made: filled from one instance, the RBM cell's R and T
    # kernels started equal, and so did every layer of a stack given one instance.
    from deep_rnn_tf.cells.deep import build_deep_cell

    kwargs = (
        {}
        if initializer is None
        else {"kernel_initializer": initializer, "recurrent_initializer": initializer}
    )
    stack = build_deep_cell("rbm", depth=2, filters=4, jump=None, **kwargs)
    stack.build((None, 5, 5, 4))
    kernels = (
        [cell.representation_kernel.numpy() for cell in stack.cells]
        + [cell.temporal_kernel.numpy() for cell in stack.cells]
        + [stack.cells[0].recurrent_kernel.numpy()]
    )
    for i, a in enumerate(kernels):
        for b in kernels[i + 1 :]:
            assert not np.allclose(a, b)
    if initializer is not None:  # the distribution is the one asked for
        expected = np.sqrt(initializer.get_config().get("scale", 1.0) * 2 / (9 * 4 + 9 * 4))
        if isinstance(initializer, keras.initializers.GlorotUniform):
            expected = np.sqrt(2 / (9 * 4 + 9 * 4))
        assert abs(np.std(np.concatenate([k.ravel() for k in kernels])) / expected - 1) < 0.15
    lstm = LSTMCell(4, kernel_initializer="glorot_uniform", recurrent_initializer="glorot_uniform")
    lstm.build((None, 4))
    assert not np.allclose(lstm.kernel.numpy(), lstm.recurrent_kernel.numpy())


def test_seeded_initializers_stay_reproducible():
    def weights():
        seeded = keras.initializers.GlorotUniform(seed=3)
        cell = RBMCell(4, kernel_initializer=seeded, recurrent_initializer=seeded, name="rbm_a")
        cell.build((None, 5, 5, 4))
        return [w.numpy() for w in cell.weights]

    assert all(np.array_equal(a, b) for a, b in zip(weights(), weights(), strict=True))


def test_stepwise_batch_normalization_keeps_one_row_of_statistics_per_step():
    from deep_rnn_tf.cells.step_normalization import StepwiseBatchNormalization

    norm = StepwiseBatchNormalization(steps=3, momentum=0.0)  # momentum 0: a row is the last batch's moments
    x = tf.random.stateless_normal((16, 4, 4, 2), seed=(1, 2)) * 3.0 + 5.0
    trained = norm(x, step=tf.constant(1), training=True).numpy()
    mean, variance = norm.moving_mean.numpy(), norm.moving_variance.numpy()
    np.testing.assert_allclose(mean[1], x.numpy().mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(variance[1], x.numpy().var(axis=(0, 1, 2)), rtol=1e-4)
    assert (mean[[0, 2]] == 0).all() and (variance[[0, 2]] == 1).all()  # other steps untouched
    # Inference at that step normalises as training did; at step 0 (its own, untrained row) it does not.
    np.testing.assert_allclose(norm(x, step=tf.constant(1)).numpy(), trained, atol=1e-3)
    assert np.abs(norm(x, step=tf.constant(0)).numpy() - trained).mean() > 1.0
    # Steps after the last one trained share its row (row 2 was never filled); so do steps beyond the rows.
    np.testing.assert_allclose(norm(x, step=tf.constant(2)).numpy(), trained, atol=1e-3)
    norm(x, step=tf.constant(2), training=True)
    np.testing.assert_allclose(norm(x, step=tf.constant(9)).numpy(), trained, atol=1e-3)
    assert float(norm.trained_steps.numpy()) == 3.0
    restored = StepwiseBatchNormalization.from_config(norm.get_config())
    assert (restored.steps, restored.momentum) == (3, 0.0)
    with pytest.raises(ValueError, match="steps"):
        StepwiseBatchNormalization(steps=0)
    with pytest.raises(ValueError, match="momentum=1.5"):
        StepwiseBatchNormalization(momentum=1.5)


@pytest.mark.parametrize(("normalization", "agrees"), [("batch", False), ("batch_per_step", True)])
@pytest.mark.parametrize("cell", ["rbm", "convlstm"])
def test_stack_with_per_step_statistics_tests_as_it_trained(cell, normalization, agrees):
    """The state starts at zero (and the RBM's leaky-integrator gates fill slowly), so the statistics
    change over the first steps: with one moving average per layer the test's early steps are normalised
    with the late steps' statistics; with one per step, inference reproduces the training-mode output at
    every step. Both cells: the ConvLSTM's recurrent normalisation is the RBM's fair peer."""
    from deep_rnn_tf.cells.initializers import memory_gate_kwargs

    keras.utils.set_random_seed(0)
    cell_kwargs = {"activation": "tanh", **memory_gate_kwargs(3.0)} if cell == "rbm" else {}
    stack = DeepRNN(
        cell, depth=3, filters=8, jump=None, return_sequences=True, normalization=normalization,
        **cell_kwargs,
    )  # fmt: skip
    x = tf.random.stateless_normal((16, 6, 5, 5, 4), seed=(3, 4))
    run = tf.function(stack)
    for _ in range(70):  # the moving averages (momentum 0.9) converge to this batch's statistics
        run(x, training=True)
    gap = np.abs(run(x, training=True).numpy() - run(x, training=False).numpy()).mean(axis=(0, 2, 3, 4))
    assert (gap.max() < 0.02) == agrees, gap
    assert (gap[0] > 0.05) != agrees, gap


def test_per_step_statistics_reach_a_stack_driven_one_step_per_call():
    """Driven step by step (as MCnet's core), a stack told each step's index reads the same rows as the
    sequence path; without the index every step reads row 0."""
    keras.utils.set_random_seed(0)
    stack = DeepRNN(
        "rbm", depth=2, filters=4, jump=None, return_sequences=True, normalization="batch_per_step"
    )
    x = tf.random.stateless_normal((4, 5, 6, 6, 3), seed=(1, 2))
    stack(x, training=True)  # fills rows 0-4 of every layer's statistics
    sequence = stack(x, training=False).numpy()
    deep_cell = stack.cell

    def stepwise(with_index: bool) -> np.ndarray:
        states, outputs = deep_cell.get_initial_state(4), []
        for t in range(5):
            step = {"step": tf.constant(t)} if with_index else {}
            output, states = deep_cell(x[:, t], states, training=False, **step)
            outputs.append(output)
        return np.stack(outputs, axis=1)

    np.testing.assert_allclose(stepwise(True), sequence, atol=1e-5)
    assert not np.allclose(stepwise(False)[:, 1:], sequence[:, 1:], atol=1e-3)


@pytest.mark.parametrize("depth, changes", [(3, False), (5, True), (7, True)])
def test_a_jump_joins_whole_blocks_only(depth, changes):
    """`jump=5` on a 3-layer stack is no jump (the prediction `small` preset's depth 3 relies on it)."""
    inputs = tf.random.stateless_normal((2, 3, 6, 6, 4), seed=(1, depth))

    def output(jump):
        cells = [RBMCell(4, seed=i) for i in range(depth)]
        layer = ConvRNN(DeepCell(cells, jump=jump), return_sequences=True)
        return layer, layer(inputs)

    plain_layer, plain = output(None)
    jumped_layer, _ = output(5)
    jumped_layer.set_weights(plain_layer.get_weights())  # identity jumps: the same weights, one list
    jumped = jumped_layer(inputs)
    assert bool(np.allclose(plain, jumped)) is not changes
