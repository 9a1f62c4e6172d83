"""The KTH reader, the synthetic KTH generator and the tf.data pipelines (no model needed)."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from deep_rnn_tf.data import holdout, kth
from deep_rnn_tf.data.synthetic import kth as synth
from deep_rnn_tf.data.video_io import VideoReadError, write_video
from deep_rnn_tf.tasks.prediction.config import PredictionConfig
from deep_rnn_tf.tools.synth_kth import main as synth_kth_main

SHARED_LISTS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "kth")


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("kth")
    assert (
        synth_kth_main(
            ["--out", str(out), "--train-persons", "1", "--test-persons", "1", "--frames", "40", "--quiet"]
        )
        == 0
    )
    return str(out)


def test_generator_writes_exact_kth_layout(synth_dir):
    names = sorted(os.listdir(synth_dir))
    videos = [n for n in names if n.endswith(".avi")]
    assert len(videos) == 12  # 2 persons x 6 actions x 1 scenario
    assert "person01_boxing_d1_uncomp.avi" in videos and "person17_walking_d1_uncomp.avi" in videos
    assert {"train_data_list.txt", "test_data_list.txt", "00sequences.txt"} <= set(names)
    reader = kth.KTHReader(synth_dir, image_size=32)
    raw = kth.read_video(kth.video_path(synth_dir, "person01_walking_d1"), grayscale=True)
    assert raw.shape == (40, 120, 160)
    assert reader.frames("person01_walking_d1").shape == (40, 32, 32)


def test_generator_is_deterministic_and_not_trivially_predictable(tmp_path):
    rng = np.random.default_rng(3)
    person = synth.random_person(rng)
    background = synth.textured_background(rng)
    for action in kth.ACTIONS:
        video = synth.render_video(person, action, background, 12, np.random.default_rng(1), noise=0.0)
        again = synth.render_video(person, action, background, 12, np.random.default_rng(1), noise=0.0)
        np.testing.assert_array_equal(video, again)
        # Copy-last-frame must be clearly worse than perfect: the figure moves in every action.
        changed = np.mean(np.abs(np.diff(video.astype(np.int16), axis=0)) > 10)
        assert changed > 0.002, (action, changed)


def test_both_list_formats_parse_to_the_same_segments(synth_dir):
    mcnet = kth.parse_segment_list(os.path.join(synth_dir, "train_data_list.txt"))
    mcnet += kth.parse_segment_list(os.path.join(synth_dir, "test_data_list.txt"))
    sequences = kth.parse_segment_list(os.path.join(synth_dir, "00sequences.txt"))
    assert sorted(map(str, mcnet)) == sorted(map(str, sequences))
    assert mcnet[0].action == "boxing" and mcnet[0].person == 1


@pytest.mark.skipif(not os.path.isdir(SHARED_LISTS), reason="../shared/data/kth not beside the clone")
def test_real_kth_lists_parse():
    test = kth.parse_segment_list(os.path.join(SHARED_LISTS, "test_data_list.txt"))
    trimmed = kth.parse_segment_list(os.path.join(SHARED_LISTS, "train_data_list_trimmed.txt"))
    assert len(test) == 863 and len(trimmed) == 1525
    assert {s.person for s in test} == set(range(17, 26))
    assert str(test[0]) == "person17_boxing_d1 1 110"


def test_kth_00sequences_format_and_malformed_line(tmp_path):
    path = tmp_path / "00sequences.txt"
    path.write_text(
        "Sequences of KTH\n\nperson01_boxing_d1\t\tframes\t1-95, 96-185\n"
        "person01_boxing_d2\t\tframes\t1-106\n"
    )
    segments = kth.parse_segment_list(str(path))
    assert [str(s) for s in segments] == [
        "person01_boxing_d1 1 95",
        "person01_boxing_d1 96 185",
        "person01_boxing_d2 1 106",
    ]
    bad = tmp_path / "bad.txt"
    bad.write_text("person01_boxing_d1 1 95\nperson01_boxing_d1 x 9\n")
    with pytest.raises(ValueError, match=r"bad.txt:2"):
        kth.parse_segment_list(str(bad))


def test_original_index_arithmetic():
    seg = kth.Segment("person17_boxing_d1", 1, 110)
    assert kth.test_window_starts(seg, 400, 10, 20) == [1, 21, 41, 61]
    run = kth.Segment("person17_running_d1", 1, 40)
    assert kth.test_window_starts(run, 400, 10, 20) == [1, 4, 7]
    assert kth.test_window_starts(run, 25, 10, 20) == []  # the video ends before any window
    assert kth.train_start_range(kth.Segment("v", 1, 95), 400, 20) == (1, 76)
    assert kth.train_start_range(kth.Segment("v", 1, 20), 400, 20) == (0, 1)  # end-start == K+T-1: frame 0
    assert kth.train_start_range(kth.Segment("v", 1, 10), 400, 20) is None


def test_pipelines_shapes_range_and_determinism(synth_dir):
    data = kth.KTHDataset(synth_dir, "train_data_list.txt", image_size=32, past=3, future=4)
    first = next(iter(data.train_dataset(batch_size=2, seed=5)))
    again = next(iter(data.train_dataset(batch_size=2, seed=5)))
    past, future = first
    assert past.shape == (2, 3, 32, 32, 1) and future.shape == (2, 4, 32, 32, 1)
    assert float(np.min(past)) >= -1.0 and float(np.max(past)) <= 1.0
    np.testing.assert_array_equal(past.numpy(), again[0].numpy())
    tf.random.set_seed(1)  # a run's seed: the stream (the fixed validation windows too) must not follow it
    other_run = next(iter(data.train_dataset(batch_size=2, seed=5)))
    np.testing.assert_array_equal(past.numpy(), other_run[0].numpy())
    assert not np.array_equal(past.numpy(), next(iter(data.train_dataset(batch_size=2, seed=6)))[0].numpy())
    test = kth.KTHDataset(synth_dir, "test_data_list.txt", image_size=32, past=3, future=4)
    windows = test.test_windows()
    batches = list(test.test_dataset(batch_size=4))
    assert sum(len(b[0]) for b in batches) == len(windows) > 0
    segment, start = windows[0]
    clip = kth.to_unit_range(test.window(segment.video, start))
    np.testing.assert_allclose(batches[0][0][0, ..., 0].numpy(), clip[:3], atol=1e-6)


def test_with_segments_shares_the_reader_and_leaves_the_original(synth_dir):
    """The train / validation halves of one opened split: one reader (one decoded-video cache)."""
    data = kth.KTHDataset(synth_dir, "test_data_list.txt", image_size=32, past=3, future=4)
    all_windows = data.test_windows()
    head = data.with_segments(data.segments[:1])
    assert head.reader is data.reader and head.segments == data.segments[:1]
    assert len(data.segments) > 1 and data.test_windows() == all_windows  # the original is untouched
    assert {segment for segment, _ in head.test_windows()} == {data.segments[0]}


def test_short_segment_warned_by_name_and_skipped(synth_dir, tmp_path, caplog):
    listing = tmp_path / "list.txt"
    listing.write_text("person01_boxing_d1 1 40\nperson01_walking_d1 5 9\n")
    data = kth.KTHDataset(synth_dir, str(listing), image_size=16, past=3, future=4)
    with caplog.at_level(logging.WARNING):
        usable = data.train_segments()
    assert [s.video for s, _, _ in usable] == ["person01_boxing_d1"]
    assert "person01_walking_d1 5 9" in caplog.text
    with caplog.at_level(logging.WARNING):
        assert all(s.video == "person01_boxing_d1" for s, _ in data.test_windows())


def test_a_segment_far_past_its_video_is_named_and_a_small_overshoot_is_not(synth_dir, tmp_path, caplog):
    # KTH's own lists overshoot their videos by a few frames; a list written for other videos by many.
    data = kth.KTHDataset(synth_dir, "train_data_list.txt", image_size=16, past=3, future=4)
    with caplog.at_level(logging.WARNING):
        data.train_segments()
        data.test_windows()
    assert "far past" not in caplog.text  # the generated lists (synth_dir's videos have 40 frames)
    listing = tmp_path / "list.txt"
    listing.write_text("person01_boxing_d1 1 45\nperson01_walking_d1 1 4500\n")
    far = kth.KTHDataset(synth_dir, str(listing), image_size=16, past=3, future=4)
    with caplog.at_level(logging.WARNING):
        assert len(far.train_segments()) == 2  # still read, to the video's end
    assert "1 segment(s) end far past their video" in caplog.text
    assert (
        "person01_walking_d1 1 4500 (video has 40 frames)" in caplog.text
        and "boxing_d1 1 45" not in caplog.text
    )


def test_missing_and_corrupt_videos_name_the_file(synth_dir, tmp_path, caplog):
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(os.path.join(synth_dir, "person01_boxing_d1_uncomp.avi"), folder)
    (folder / "person02_boxing_d1_uncomp.avi").write_bytes(b"this is not a video" * 50)
    listing = folder / "list.txt"
    listing.write_text("person01_boxing_d1 1 40\nperson03_boxing_d1 1 40\nperson02_boxing_d1 1 40\n")
    strict = kth.KTHDataset(str(folder), "list.txt", image_size=16, past=3, future=4)
    with pytest.raises(VideoReadError, match="person03_boxing_d1_uncomp.avi"):
        strict.train_segments()
    lenient = kth.KTHDataset(str(folder), "list.txt", image_size=16, past=3, future=4, strict=False)
    with caplog.at_level(logging.WARNING):
        usable = lenient.train_segments()
    assert [s.video for s, _, _ in usable] == ["person01_boxing_d1"]
    assert "person03_boxing_d1_uncomp.avi" in caplog.text and "person02_boxing_d1_uncomp.avi" in caplog.text
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        kth.KTHDataset(str(folder), "nope.txt")


def test_flip_is_horizontal(synth_dir):
    data = kth.KTHDataset(synth_dir, "train_data_list.txt", image_size=16, past=2, future=2)
    segments = [(kth.Segment("person01_walking_d1", 1, 40), 3, 4)]
    clips = [data.sample(np.random.default_rng(seed), segments) for seed in range(8)]
    plain = data.window("person01_walking_d1", 3)
    assert any(np.array_equal(c, plain) for c in clips)
    assert any(np.array_equal(c, plain[:, :, ::-1]) for c in clips)


def test_reverse_time_plays_some_training_samples_backwards_and_is_off_by_default(synth_dir):
    data = kth.KTHDataset(synth_dir, "train_data_list.txt", image_size=16, past=2, future=2)
    data.flip = False
    segments = [(kth.Segment("person01_walking_d1", 1, 40), 3, 4)]
    plain = data.window("person01_walking_d1", 3)
    assert all(np.array_equal(data.sample(np.random.default_rng(s), segments), plain) for s in range(8))
    training = data.with_segments(data.segments)
    training.reverse_time = True
    clips = [training.sample(np.random.default_rng(seed), segments) for seed in range(8)]
    assert any(np.array_equal(c, plain) for c in clips)
    assert any(np.array_equal(c, plain[::-1]) for c in clips)
    assert data.reverse_time is False  # the copy's switch leaves the validation copy's alone


def test_zoom_clip_magnifies_one_crop_of_every_frame_by_at_most_max_zoom():
    # A horizontal ramp: a zoom by z spreads it over z times the pixels (its slope falls to 1/z), on
    # every frame alike.
    ramp = np.tile(np.arange(64, dtype=np.uint8) * 3, (64, 1))
    clip = np.stack([ramp] * 4)
    slopes = []
    for seed in range(12):
        zoomed = kth.zoom_clip(clip, np.random.default_rng(seed), 1.5)
        assert zoomed.shape == clip.shape and zoomed.dtype == np.uint8
        assert all(np.array_equal(frame, zoomed[0]) for frame in zoomed)  # the same crop on every frame
        slopes.append(np.mean(np.diff(zoomed[0, 32, 8:56].astype(float))) / 3)
    assert min(slopes) >= 1 / 1.5 - 0.03 and max(slopes) <= 1.0 + 0.03 and max(slopes) - min(slopes) > 0.1
    assert np.array_equal(kth.zoom_clip(clip, np.random.default_rng(0), 1.0), clip)
    colour = np.zeros((4, 32, 32, 3), np.uint8)
    assert kth.zoom_clip(colour, np.random.default_rng(0), 1.5).shape == colour.shape


def test_max_zoom_zooms_training_samples_only_and_is_checked(synth_dir):
    data = kth.KTHDataset(synth_dir, "train_data_list.txt", image_size=16, past=2, future=2)
    data.flip = False
    segments = [(kth.Segment("person01_walking_d1", 1, 40), 3, 4)]
    plain = data.window("person01_walking_d1", 3)
    training = data.with_segments(data.segments)
    training.max_zoom = 1.5
    clips = [training.sample(np.random.default_rng(seed), segments) for seed in range(8)]
    assert sum(not np.array_equal(c, plain) for c in clips) >= 6
    assert data.max_zoom == 1.0  # the copy's switch leaves the validation copy's alone
    assert all(np.array_equal(data.sample(np.random.default_rng(s), segments), plain) for s in range(4))
    with pytest.raises(ValueError, match="max_zoom=2.5"):
        PredictionConfig(max_zoom=2.5).check()
    with pytest.raises(ValueError, match="max_zoom=0.5"):
        PredictionConfig(max_zoom=0.5).check()


def test_mix_data_joins_training_batches_only_at_its_share(synth_dir, tmp_path):
    from deep_rnn_tf.tasks.prediction.task import PredictionTask
    from tests.presets import tiny_config

    white = tmp_path / "white"  # a folder of two all-white videos: each of its samples is all 1.0
    white.mkdir()
    for name in ("a", "b"):
        write_video(str(white / f"{name}.avi"), np.full((40, 32, 32), 255, np.uint8))

    def white_share(batches):
        flags = [bool(np.all(p.numpy() > 0.99)) for past, _ in batches for p in past]
        return sum(flags) / len(flags)

    task = PredictionTask()
    plain = tiny_config("prediction", data_dir=synth_dir, val_fraction=0.2, batch_size=8)
    mixed = plain.replace(mix_data=str(white), mix_fraction=0.5)
    train, val = task.datasets(plain, 8)
    assert white_share(train.take(4)) == 0.0
    train_mixed, val_mixed = task.datasets(mixed, 8)
    share = white_share(train_mixed.take(8))
    assert 0.3 <= share <= 0.7, share
    assert white_share(val_mixed) == 0.0  # validation is data_dir's alone
    first = [p.numpy() for p, _ in train_mixed.take(2)]
    again = [p.numpy() for p, _ in task.datasets(mixed, 8)[0].take(2)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))  # a function of the seed
    with pytest.raises(ValueError, match=r"`mix_fraction` must be in \(0, 1\)\. Received: mix_fraction=1\.0"):
        mixed.replace(mix_fraction=1.0).check()
    with pytest.raises(FileNotFoundError, match="--mix-data: .*nowhere: data directory does not exist"):
        task.datasets(mixed.replace(mix_data=str(tmp_path / "nowhere")), 8)


def test_a_test_list_that_shares_training_frames_is_warned_of(synth_dir, tmp_path, caplog):
    from deep_rnn_tf.tasks.prediction.task import PredictionTask
    from tests.presets import tiny_config

    whole = kth.Segment("v", 0, 1 << 30)  # a video named in both lists of a folder
    assert holdout.shared_frames([kth.Segment("v", 0, 420)], [kth.Segment("v", 420, 600)]) == []  # half-open
    assert holdout.shared_frames([whole], [whole]) == ["v 0-end"]
    task, config = PredictionTask(), tiny_config("prediction", data_dir=synth_dir)
    with caplog.at_level(logging.WARNING, logger="deep_rnn_tf"):
        task._warn_of_shared_frames(config, task._data(config, "test", 2))
    assert "also training data" not in caplog.text  # the generator's lists: other persons
    leaky = tmp_path / "leaky.txt"  # a hand-written test list that names a training segment
    first_train_line = Path(synth_dir, "train_data_list.txt").read_text().splitlines()[0] + "\n"
    leaky.write_text(first_train_line)
    config = config.replace(test_list=str(leaky))
    with caplog.at_level(logging.WARNING, logger="deep_rnn_tf"):
        task._warn_of_shared_frames(config, task._data(config, "test", 2))
    video = first_train_line.split()[0]
    assert "leaky.txt: 1 test item(s) are also training data" in caplog.text and video in caplog.text


def test_write_video_roundtrip_for_generator_frames(tmp_path):
    frames = np.zeros((3, 120, 160), np.uint8)
    write_video(str(tmp_path / "a_uncomp.avi"), frames)
    assert kth.KTHReader(str(tmp_path), 16).num_frames("a") == 3
