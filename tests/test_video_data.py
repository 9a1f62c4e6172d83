"""The generic video-folder reader, the data-set chooser and the camera-like video generator."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from deep_rnn_tf.data import kth, videos
from deep_rnn_tf.data.synthetic import photo_video
from deep_rnn_tf.data.video_io import write_image, write_video
from deep_rnn_tf.tools import synth_video


def _numbered_video(num_frames: int, height: int, width: int, colour: bool = True) -> np.ndarray:
    """Frame t is flat at grey level 4 t (+ a colour tint): the frame index survives resizing and MJPG."""
    levels = (4 * np.arange(num_frames)).astype(np.uint8)
    frames = np.broadcast_to(levels[:, None, None], (num_frames, height, width)).copy()
    if not colour:
        return frames
    rgb = np.stack([frames, frames, frames], axis=-1)
    rgb[..., 0] = np.minimum(255, rgb[..., 0].astype(int) + 40).astype(np.uint8)
    return rgb


def _frame_index(frame: np.ndarray, tint: float = 0.0) -> int:
    """Inverts `_numbered_video`; `tint` is what the red tint adds to the grey level (0.299 * 40 in grey)."""
    return int(round((float(np.mean(frame)) - tint) / 4))


GREY_TINT = 0.299 * 40


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Two colour videos of different sizes (mp4, avi) and one frame folder of PNGs (nested)."""
    root = tmp_path_factory.mktemp("videos")
    write_video(str(root / "a.mp4"), _numbered_video(50, 48, 64))
    write_video(str(root / "b.avi"), _numbered_video(40, 30, 40))
    frames_dir = root / "cam" / "c"
    frames_dir.mkdir(parents=True)
    for t, frame in enumerate(_numbered_video(30, 20, 20, colour=False)):
        write_image(str(frames_dir / f"img_{t + 1}.png"), frame)  # img_2 < img_10: natural order
    return str(root)


def test_find_videos_lists_files_and_frame_folders_in_natural_order(folder):
    found = videos.find_videos(folder)
    assert list(found) == ["a", "b", "cam/c"]
    reader = videos.FolderReader(found, image_size=16)
    frames = reader.frames("cam/c")
    assert frames.shape == (30, 16, 16) and frames.dtype == np.uint8
    assert [_frame_index(f) for f in frames[:12]] == list(range(12))


def test_time_split_trains_on_the_head_and_tests_on_the_tail(folder):
    train = videos.VideoFolderDataset(folder, "train", image_size=16, past=3, future=2)
    test = videos.VideoFolderDataset(folder, "test", image_size=16, past=3, future=2)
    assert train.split_mode == test.split_mode == "time"
    assert [(s.video, s.start, s.end) for s in train.segments] == [
        ("a", 0, 35),
        ("b", 0, 28),
        ("cam/c", 0, 21),
    ]
    assert [(s.video, s.start, s.end) for s in test.segments] == [
        ("a", 35, 50),
        ("b", 28, 40),
        ("cam/c", 21, 30),
    ]
    windows = test.test_windows()
    assert windows and all(seg.start <= start and start + 5 <= seg.end for seg, start in windows)
    # Every test window lies in the tail: its first frame comes after the last training frame.
    first = {seg.video: start for seg, start in reversed(windows)}
    assert first == {"a": 35, "b": 28, "cam/c": 21}
    assert _frame_index(test.window("a", 35)[0], GREY_TINT) == 35
    past, future = next(iter(train.train_dataset(batch_size=4, seed=0)))
    assert past.shape == (4, 3, 16, 16, 1) and future.shape == (4, 2, 16, 16, 1)
    # A training sample never reaches into the tail.
    train_segments = train.train_segments()
    assert all(high - 1 + train.length <= seg.end for seg, _, high in train_segments)


def test_list_split_and_colour(folder, tmp_path):
    for name in ("train.txt", "test.txt"):
        assert not os.path.exists(os.path.join(folder, name))
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "train.txt").write_text("a.mp4\n# a comment\ncam/c\n")
    (lists / "test.txt").write_text("b\n")
    kwargs = {"image_size": 16, "past": 3, "future": 2, "color": True}
    train = videos.VideoFolderDataset(folder, "train", train_list=str(lists / "train.txt"), **kwargs)
    test = videos.VideoFolderDataset(folder, "test", test_list=str(lists / "test.txt"), **kwargs)
    assert train.split_mode == "list"
    assert [s.video for s in train.segments] == ["a", "cam/c"] and [s.video for s in test.segments] == ["b"]
    assert len(test.test_windows()) == len(range(0, 40 - 5 + 1, 2))
    assert test.window("b", 0).shape == (5, 16, 16, 3)
    past, future = next(iter(test.test_dataset(batch_size=3)))
    assert past.shape == (3, 3, 16, 16, 3) and future.shape == (3, 2, 16, 16, 3)
    red, green = float(np.mean(past[..., 0])), float(np.mean(past[..., 1]))
    assert red > green  # the colour tint survives: frames are RGB, not grey
    (lists / "bad.txt").write_text("a\nnope\n")
    with pytest.raises(ValueError, match=r"bad\.txt:2: 'nope' is not a video"):
        videos.VideoFolderDataset(folder, "train", train_list=str(lists / "bad.txt"), **kwargs)


def test_dataset_json_sets_the_split_and_name(folder, tmp_path):
    other = tmp_path / "clips"
    other.mkdir()
    write_video(str(other / "x.mp4"), _numbered_video(40, 24, 24))
    (other / "dataset.json").write_text(json.dumps({"name": "my clips", "train_fraction": 0.5}))
    data = videos.open_video_data(str(other), "test", image_size=16, past=3, future=2)
    assert data.kind == "folder" and data.name == "my clips"
    assert [(s.start, s.end) for s in data.segments] == [(20, 40)]
    for bad, says in (
        ({"split": "sideways"}, "`split` must be one of"),
        ({"train_fraction": 1.5}, r"`train_fraction` must be in \(0, 1\)\. Received: train_fraction=1\.5"),
        ({"train_fraction": "0.7"}, r"`train_fraction` .*Received: train_fraction='0\.7'"),
        ({"color": "yes"}, "`color` must be true or false"),
        ({"train_list": ""}, "`train_list` must be a non-empty string"),
    ):
        (other / "dataset.json").write_text(json.dumps(bad))
        with pytest.raises(ValueError, match=r"clips[/\\]dataset\.json: " + says):  # the file to mend, named
            videos.open_video_data(str(other), "test", image_size=16, past=3, future=2)
    # Every bad value at once, in one line (it reported the first and hid the rest until that was mended).
    (other / "dataset.json").write_text(json.dumps({"name": 3, "split": "bogus", "train_fraction": 7}))
    with pytest.raises(ValueError) as error:
        videos.open_video_data(str(other), "test", image_size=16, past=3, future=2)
    message = str(error.value)
    assert "\n" not in message and message.count("; ") == 2, message
    assert all(f"Received: {key}=" in message for key in ("name", "split", "train_fraction")), message


def test_missing_data_says_which_command_makes_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="synth-video") as error:
        videos.open_video_data(str(tmp_path / "absent"), "train")
    assert "\n" not in str(error.value) and "absent" in str(error.value)
    with pytest.raises(FileNotFoundError, match="no video .* synth-mmnist"):
        videos.open_video_data(str(tmp_path), "train", kind="folder")
    clip = tmp_path / "clip.mp4"  # a video given where its folder goes: it exists, it is a file
    clip.write_bytes(b"")
    for kind in ("auto", "folder"):
        with pytest.raises(FileNotFoundError, match=r"clip\.mp4: a file, not a data folder"):
            videos.open_video_data(str(clip), "train", kind=kind)


@pytest.fixture(scope="module")
def synth_kth(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("video_synth"))
    argv = ["--out", out, "--clips", "2", "--frames", "40", "--width", "40", "--height", "32", "--quiet"]
    assert synth_video.main(argv) == 0
    return out


def test_realistic_generator_writes_a_time_split_kth_layout(synth_kth):
    names = sorted(os.listdir(synth_kth))
    assert names == [
        "person01_boxing_d1_uncomp.avi",
        "person02_handclapping_d1_uncomp.avi",
        "test_data_list.txt",
        "train_data_list.txt",
        "train_data_list_trimmed.txt",
    ]
    train = kth.parse_segment_list(os.path.join(synth_kth, "train_data_list.txt"))
    test = kth.parse_segment_list(os.path.join(synth_kth, "test_data_list.txt"))
    assert [(s.video, s.start, s.end) for s in train] == [
        ("person01_boxing_d1", 0, 28),
        ("person02_handclapping_d1", 0, 28),
    ]
    assert [(s.start, s.end) for s in test] == [(28, 40), (28, 40)]
    data = videos.open_video_data(synth_kth, "test", image_size=16, past=3, future=2)
    assert data.kind == "kth" and data.name == os.path.basename(synth_kth)
    assert data.reader.frames("person01_boxing_d1").shape == (40, 16, 16)
    assert data.test_windows() and all(start >= 28 for _, start in data.test_windows())


def test_realistic_generator_is_deterministic_and_camera_like():
    style = photo_video.VideoStyle(cut_every=0)
    first, cuts = photo_video.render_clip(24, 48, 40, style, seed=(5, 0))
    again, _ = photo_video.render_clip(24, 48, 40, style, seed=(5, 0))
    other, _ = photo_video.render_clip(24, 48, 40, style, seed=(6, 0))
    np.testing.assert_array_equal(first, again)
    assert first.shape == (24, 40, 48, 3) and first.dtype == np.uint8 and cuts == []
    assert np.mean(np.abs(first.astype(int) - other.astype(int))) > 10
    # Consecutive frames differ (motion, noise) but far less than unrelated frames: copy-last is a strong
    # yet imperfect baseline.
    grey = first.astype(np.float64).mean(axis=-1)
    step = np.mean(np.abs(np.diff(grey, axis=0)))
    assert 0.5 < step < 0.5 * np.mean(np.abs(grey - grey.mean()))


def test_realistic_generator_folder_layout_reads_back(tmp_path):
    out = str(tmp_path / "clips")
    summary = photo_video.generate(
        out, layout="folder", clips=2, num_frames=30, width=32, height=32, seed=1, show_progress=False
    )
    assert sorted(os.listdir(out)) == ["clip_000.mp4", "clip_001.mp4", "dataset.json"]
    assert set(summary["cuts"]) == {"clip_000", "clip_001"}
    data = videos.open_video_data(out, "train", image_size=16, past=3, future=2)
    assert data.kind == "folder" and [(s.start, s.end) for s in data.segments] == [(0, 21), (0, 21)]


def test_relative_data_dir_is_stored_absolute(tmp_path, monkeypatch):
    from deep_rnn_tf import cli

    monkeypatch.chdir(tmp_path)
    task, args = cli._parse_task_command("train", ["prediction", "--data-dir", "data/mine"])
    config = cli.resolve_config(task, args)
    assert config["data_dir"] == os.path.join(str(tmp_path), "data", "mine")
    # The stored absolute path is kept as is when the run is tested from elsewhere.
    monkeypatch.chdir("/")
    task, args = cli._parse_task_command("test", ["prediction"])
    assert cli.resolve_config(task, args, base=config.to_dict())["data_dir"] == config["data_dir"]


@pytest.mark.parametrize(
    ("task_name", "flags", "key"),
    [
        ("action", ["--data", "frames/mine"], "data"),
        ("polygon", ["--crops", "frames/mine"], "crops"),
        ("prediction", ["--mix-data", "frames/mine"], "mix_data"),
    ],
)
def test_every_task_stores_its_relative_data_location_absolute(tmp_path, monkeypatch, task_name, flags, key):
    from deep_rnn_tf import cli

    monkeypatch.chdir(tmp_path)
    task, args = cli._parse_task_command("train", [task_name, *flags])
    assert cli.resolve_config(task, args)[key] == os.path.join(str(tmp_path), "frames", "mine")
