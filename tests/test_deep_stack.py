"""A 15-layer RBM stack trains on a tiny synthetic task; jumps vs no jumps are recorded."""

import keras
import numpy as np
import tensorflow as tf

from deep_rnn_tf import DeepRNN


def moving_dot_task(samples=24, steps=5, size=8, seed=0):
    """Classify whether a dot moves right or left: only the motion (not any single frame) tells."""
    rng = np.random.default_rng(seed)
    x = np.zeros((samples, steps, size, size, 1), "float32")
    y = rng.integers(0, 2, samples)
    for i in range(samples):
        row, col = rng.integers(0, size, 2)
        direction = 1 if y[i] else -1
        for t in range(steps):
            x[i, t, row, (col + direction * t) % size, 0] = 1.0
    return x, y


def train_depth15(jump):
    keras.utils.set_random_seed(0)
    frames = keras.Input((5, 8, 8, 1))
    h = DeepRNN("rbm", depth=15, filters=6, jump=jump, activation="relu")(frames)
    logits = keras.layers.Dense(2)(keras.layers.GlobalMaxPooling2D()(h))
    model = keras.Model(frames, logits)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    x, y = moving_dot_task()
    return model.fit(x, y, epochs=5, batch_size=12, verbose=0).history["loss"]


def test_fifteen_layer_rbm_stack_trains_with_jumps():
    with_jumps = train_depth15(jump=5)
    without_jumps = train_depth15(jump=None)
    print(f"\n15-layer RBM, jump 5: losses {np.round(with_jumps, 4).tolist()}")
    print(f"15-layer RBM, no jump: losses {np.round(without_jumps, 4).tolist()}")
    assert np.all(np.isfinite(with_jumps))
    assert with_jumps[-1] < with_jumps[0]


def test_fifteen_layer_gradients_reach_the_bottom_layer():
    layer = DeepRNN("rbm", depth=15, filters=4, jump=5)
    x = tf.random.uniform((2, 3, 6, 6, 4))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True))
    bottom = layer.cell.cells[0].representation_kernel
    grad = tape.gradient(loss, bottom)
    assert float(tf.reduce_max(tf.abs(grad))) > 0
