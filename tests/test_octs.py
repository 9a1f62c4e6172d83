"""OCTS: the original's clip arithmetic, the coherence loss, the trainer's clips, windows and state carry."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from deep_rnn_tf import DeepRNN
from deep_rnn_tf.training.octs import clip_frame_indices, coherence_loss, window_bounds
from deep_rnn_tf.training.trainer import StepLosses, TaskModel, coherence_sum, run_clips, stack_windows


def test_clip_indices_follow_the_original_arithmetic():
    # 300 frames, N=7, L=10, rate .25: need 55, step round(300/55)=5 keeps frames 4, 9, ... (60 of them);
    # stride = min(int(7.5)=7, int((60-10)/7)=7) = 7, overlap 3.
    indices, overlap = clip_frame_indices(300, 7, 10, 0.25)
    assert overlap == 3
    assert indices[0].tolist() == list(range(4, 50, 5))
    assert indices[1, 0] == 4 + 7 * 5
    assert indices.shape == (7, 10)


def test_short_video_pads_with_last_frame_and_can_repeat_clips():
    indices, overlap = clip_frame_indices(8, 7, 10, 0.25)
    assert indices[0].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 7, 7]
    assert (indices == indices[0]).all() and overlap == 10  # stride 0: identical clips, as the original


def test_standalone_defaults():
    indices, overlap = clip_frame_indices(100, 6, 5, 0.25)
    # need = 5*.75*5+5 = 23.75, step round(100/23.75)=4 -> 25 frames; stride = min(3, int(20/6)=3) = 3
    assert overlap == 2 and indices[1, 0] - indices[0, 0] == 3 * 4


def test_polygon_windows():
    assert window_bounds(58, 8) == ([0, 6, 13, 20, 27, 34, 41, 48], 10, [4, 3, 3, 3, 3, 3, 3])
    with pytest.raises(ValueError, match="window_len"):
        window_bounds(5, 2, window_len=9)


def test_coherence_loss_value_and_gradient():
    prev = tf.constant([[[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]]])
    cur = tf.Variable([[[0.4, 0.6], [0.1, 0.9], [0.3, 0.7]]])
    with tf.GradientTape() as tape:
        loss = coherence_loss(prev, cur, overlap=2)
    # cur[:2] vs prev[-2:]: ((0.4-0.6)^2 + (0.6-0.4)^2 + (0.1-0.5)^2 + (0.9-0.5)^2) / 4 = 0.1
    assert float(loss) == pytest.approx(0.1)
    assert tape.gradient(loss, cur) is not None
    assert float(coherence_loss(prev, cur, 0)) == 0.0


def clip_model(carry_state):
    clip = keras.Input((4, 6, 6, 1))
    if not carry_state:
        h = DeepRNN("rbm", depth=2, filters=4, jump=None, return_sequences=True)(clip)
        return keras.Model(clip, keras.layers.Dense(2)(keras.layers.Reshape((4, 144))(h)))
    states = [keras.Input((6, 6, 4)), keras.Input((6, 6, 4))]
    h, *new_states = DeepRNN("rbm", depth=2, filters=4, jump=None, return_sequences=True, return_state=True)(
        clip, initial_state=states
    )
    logits = keras.layers.Dense(2)(keras.layers.Reshape((4, 144))(h))
    return keras.Model([clip, *states], [logits, *new_states])


class ClipOCTS(TaskModel):
    """The smallest OCTS task model: cross entropy on mean clip logits + lambda * coherence."""

    def __init__(self, clips, carry_state, **kwargs):
        super().__init__(**kwargs)
        self.clips, self.carry_state = clips, carry_state

    def call(self, x, training=False):
        return tf.stack(run_clips(self.clips, x, self.carry_state, training), axis=1)

    def logged_names(self):
        return ["coherence"]

    def compute_losses(self, data, training):
        x, y = data
        logits = run_clips(self.clips, x, self.carry_state, training)
        ce = [
            tf.reduce_mean(
                keras.losses.sparse_categorical_crossentropy(y, tf.reduce_mean(z, axis=1), from_logits=True)
            )
            for z in logits
        ]
        coherence = coherence_sum([tf.nn.softmax(z) for z in logits], 2)
        return StepLosses(tf.add_n(ce) / len(ce) + 0.8 * coherence, {"coherence": coherence})


@pytest.mark.parametrize("carry_state", [False, True])
def test_octs_model_fits(carry_state):
    rng = np.random.default_rng(0)
    x = rng.random((8, 3, 4, 6, 6, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3, 4, 5)) > 0.5).astype("int32")
    model = ClipOCTS(clip_model(carry_state), carry_state)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(x, y, epochs=4, batch_size=4, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert "coherence" in history
    assert model(x).shape == (8, 3, 4, 2)


def test_carried_state_is_detached_and_independent_clips_are_not_carried():
    model = clip_model(True)
    clips = tf.random.uniform((2, 3, 4, 6, 6, 1))
    with tf.GradientTape() as tape:
        tape.watch(clips)
        last = run_clips(model, clips, carry_state=True, training=False)[-1]
    gradient = tape.gradient(last, clips).numpy()
    assert np.abs(gradient[:, -1]).sum() > 0 and np.abs(gradient[:, :-1]).sum() == 0  # truncated BPTT
    # The state is carried: the last clip's logits differ from the same clip run from a zero state.
    alone = run_clips(model, clips[:, -1:], carry_state=True, training=False)[0]
    assert not np.allclose(alone.numpy(), last.numpy())


def test_stack_windows_and_coherence_sum():
    steps = tf.reshape(tf.range(10), (1, 10))
    assert stack_windows(steps, [0, 3, 6], 4).numpy().tolist() == [[[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]]
    probs = tf.constant([[[[1.0, 0.0]] * 4, [[0.0, 1.0]] * 4]])  # (1, N=2, L=4, 2)
    # window 1's first o=1 step vs window 0's last: ((0-1)^2 + (1-0)^2) / 2 = 1
    assert float(coherence_sum(probs, [1])) == pytest.approx(1.0)
    assert float(coherence_sum([probs[:, 0]], 1)) == 0.0
