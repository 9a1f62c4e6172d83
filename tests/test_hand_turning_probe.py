"""benchmarks/hand_turning_probe.py: the class subset it reads, the validation it holds out, its models."""

from __future__ import annotations

import numpy as np
import pytest

from deep_rnn_tf.data.synthetic.actions import SynthActionsConfig, write_synthetic_actions
from tests.benchmark_scripts import load_benchmark

probe = load_benchmark("hand_turning_probe")


def test_reads_only_the_named_classes_sampled_as_the_test(tmp_path):
    config = SynthActionsConfig(
        size=16, videos_per_class=2, test_videos_per_class=1, min_frames=20, max_frames=20
    )
    write_synthetic_actions(str(tmp_path), config, show_progress=False)
    videos, labels = probe.load_videos(str(tmp_path), "train", ["rotate_clockwise", "pendulum"])
    assert videos.shape == (4, 16, 16, 16, 3) and videos.max() <= 1.0
    assert sorted(labels.tolist()) == [0, 0, 1, 1]  # labels index the named classes, in their order
    with pytest.raises(SystemExit, match="no test video of the classes"):
        probe.load_videos(str(tmp_path), "test", ["walking"])


def test_validation_is_the_last_tenth_of_each_class():
    labels = np.array([0] * 20 + [1] * 10)
    videos = np.arange(30)
    (train_videos, train_labels), (held_videos, held_labels) = probe.split_validation(videos, labels)
    assert held_videos.tolist() == [18, 19, 29] and held_labels.tolist() == [0, 0, 1]
    assert len(train_videos) == 27 and not set(train_videos) & set(held_videos)


@pytest.mark.parametrize("name", probe.MODELS)
def test_every_model_maps_a_clip_to_class_logits(name):
    model = probe.build_model(name, (16, 16), 3)
    assert model.predict(np.zeros((2, 16, 16, 16, 3), "float32"), verbose=0).shape == (2, 3)
