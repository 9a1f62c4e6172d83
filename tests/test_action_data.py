"""Action data: synthetic motion set, frame-folder and list-file layouts, sampling, tf.data, extract-frames,
classification metrics. No model here (fast)."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest

from deep_rnn_tf.data import frames as F
from deep_rnn_tf.data.synthetic import actions
from deep_rnn_tf.data.video_io import write_image, write_video
from deep_rnn_tf.evaluation import classification as C
from deep_rnn_tf.evaluation.results import ResultsWriter
from deep_rnn_tf.layers.preprocessing import preprocess_pixels
from deep_rnn_tf.tools.extract_frames import extract_frames_main
from deep_rnn_tf.tools.synth_actions import main as synth_actions_main


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    assert synth_actions_main(["--out", str(out), "--size", "32", "--videos-per-class", "2",
                         "--test-videos-per-class", "1", "--min-frames", "6", "--max-frames", "9",
                         "--quiet"]) == 0  # fmt: skip
    return str(out)


def _shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Global translation from frame a to frame b (phase correlation on grey frames)."""
    grey = [cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(np.float32) for x in (a, b)]
    (dx, dy), _ = cv2.phaseCorrelate(grey[0] - grey[0].mean(), grey[1] - grey[1].mean())
    return dx, dy


# ------------------------------------------------------------------------------------------- synthetic


def test_synthetic_classes_differ_by_motion_not_by_appearance():
    rng = np.random.default_rng(3)
    right = actions.render_video("move_right", 6, 64, rng)
    left = actions.render_video("move_left", 6, 64, np.random.default_rng(3))
    # Same seed: the same object, background and start; only the motion differs.
    assert np.abs(right[0].astype(int) - left[0].astype(int)).mean() < 8  # only sensor noise differs
    object_only = [v - np.median(v, axis=0) for v in (right.astype(np.float32), left.astype(np.float32))]
    assert np.abs(object_only[0][3] - object_only[1][3]).max() > 50  # later frames differ a lot
    cw = actions.render_video("rotate_clockwise", 4, 64, np.random.default_rng(5))
    ccw = actions.render_video("rotate_counterclockwise", 4, 64, np.random.default_rng(5))
    assert np.abs(cw[0].astype(int) - ccw[0].astype(int)).mean() < 8
    assert np.abs(cw[3].astype(int) - ccw[3].astype(int)).max() > 100


def test_synthetic_writes_layout_lists_and_is_deterministic(synth, tmp_path):
    split = F.load_split(synth, "train")
    assert split.class_names == actions.CLASS_NAMES and len(split.items) == 20
    assert F.read_class_index(os.path.join(synth, "classes.txt")) == actions.CLASS_NAMES
    again = tmp_path / "again"
    sizes = ["--size", "32", "--videos-per-class", "2", "--test-videos-per-class", "1"]
    synth_actions_main(["--out", str(again), *sizes, "--min-frames", "6", "--max-frames", "9", "--quiet"])
    first = split.items[5].frames[2]
    other = str(again / os.path.relpath(first, synth))
    with open(first, "rb") as a, open(other, "rb") as b:
        assert a.read() == b.read()


def test_synthetic_bad_arguments_exit_2(tmp_path, capsys):
    assert synth_actions_main(["--out", str(tmp_path), "--size", "8"]) == 2
    assert "deep-rnn data synth-actions: error: `size` must be an integer >= 16" in capsys.readouterr().err


def test_synthetic_set_refuses_a_rerun_with_other_settings_into_the_same_folder(tmp_path, capsys):
    # Before: the finished videos of the old settings were kept, and the lists no longer matched the folders.
    out = str(tmp_path / "set")
    small = ["--out", out, "--size", "16", "--videos-per-class", "1", "--test-videos-per-class", "1",
             "--min-frames", "3", "--max-frames", "3", "--quiet"]  # fmt: skip
    assert synth_actions_main(small) == 0
    assert synth_actions_main(small) == 0  # the same settings: resumes (skips the finished videos)
    capsys.readouterr()
    assert synth_actions_main([*small, "--size", "24"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "set: made with other settings (size 16 -> 24); use another --out" in err[0], err
    assert F.load_split(out, "train").items[0].num_frames == 3
    # A folder made before --hand-scale existed was made with its default: it resumes, another value refuses.
    settings = tmp_path / "set" / "synth_actions.json"
    settings.write_text(
        json.dumps({k: v for k, v in json.loads(settings.read_text()).items() if k != "hand_scale"})
    )
    assert synth_actions_main(small) == 0
    assert synth_actions_main([*small, "--hand-scale", "2"]) == 2
    assert "(hand_scale 1.0 -> 2.0)" in capsys.readouterr().err
    settings.write_text(  # and before --turn-speed
        json.dumps({k: v for k, v in json.loads(settings.read_text()).items() if k != "turn_speed"})
    )
    assert synth_actions_main(small) == 0
    assert synth_actions_main([*small, "--turn-speed", "0.5"]) == 2
    assert "(turn_speed 1.0 -> 0.5)" in capsys.readouterr().err


def test_a_larger_hand_draws_more_hand_and_leaves_the_rest(tmp_path):
    from deep_rnn_tf.data.synthetic.actions import render_video

    default = render_video("rotate_clockwise", 4, 32, np.random.default_rng(3)).astype(int)
    again = render_video("rotate_clockwise", 4, 32, np.random.default_rng(3), hand_scale=1.0).astype(int)
    larger = render_video("rotate_clockwise", 4, 32, np.random.default_rng(3), hand_scale=2.0).astype(int)
    assert np.array_equal(default, again)  # scale 1 is the set as before
    changed = np.abs(larger - default).max(axis=-1) > 30
    assert 0 < changed.mean() < 0.1, changed.mean()  # the hand grew; background and disc stayed


def test_turn_speed_scales_only_the_hands_turning():
    trajectory = actions._object_trajectory
    spec = actions.MOTION_CLASSES
    render = actions.render_video
    assert np.array_equal(render("pendulum", 4, 32, np.random.default_rng(3)),
                          render("pendulum", 4, 32, np.random.default_rng(3), turn_speed=1.0))  # fmt: skip
    for name in ("rotate_clockwise", "rotate_counterclockwise"):
        _, full = trajectory(spec[name], 6, 32, np.random.default_rng(1))
        _, half = trajectory(spec[name], 6, 32, np.random.default_rng(1), turn_speed=0.5)
        assert np.allclose(np.diff(half), np.diff(full) / 2) and abs(np.diff(full)[0]) >= 24  # 30 x jitter
    # The pendulum keeps its amplitude and swings half as often: its angle at frame 2t is the full one at t.
    _, full = trajectory(spec["pendulum"], 10, 32, np.random.default_rng(2))
    _, half = trajectory(spec["pendulum"], 20, 32, np.random.default_rng(2), turn_speed=0.5)
    assert np.allclose(half[::2], full)
    for name in ("move_right", "swing_vertical"):  # the disc's own motion is not the hand's
        moved = [trajectory(spec[name], 6, 32, np.random.default_rng(4), turn_speed=s) for s in (1.0, 0.5)]
        assert all(np.array_equal(a, b) for a, b in zip(*moved, strict=True))


def _first_frames(root: str, split: str = "train") -> dict[str, np.ndarray]:
    """video name -> its first frame (float32), for every video of a written synthetic set."""
    frames = {}
    for item in F.load_split(root, split).items:
        frame = cv2.imread(os.path.join(item.frame_dir, "img_00001.jpg"))
        frames[os.path.basename(item.frame_dir)] = frame.astype(np.float32)
    return frames


def _small_set(out: str, scene_cue: float) -> dict[str, np.ndarray]:
    config = actions.SynthActionsConfig(
        size=32, videos_per_class=3, test_videos_per_class=1, min_frames=3, max_frames=3, scene_cue=scene_cue
    )
    actions.write_synthetic_actions(out, config, show_progress=False)
    return _first_frames(out)


def test_scene_cue_gives_each_class_its_background_and_leaves_other_videos_alone(tmp_path):
    plain = _small_set(str(tmp_path / "plain"), 0.0)
    cued = _small_set(str(tmp_path / "cued"), 1.0)
    half = _small_set(str(tmp_path / "half"), 0.5)

    # Background distance: the median pixel's difference (the object covers under a tenth of the frame).
    def distance(a: str, b: str, frames: dict[str, np.ndarray]) -> float:
        return float(np.median(np.abs(frames[a] - frames[b])))

    same_class = [distance(f"{c}_train_0000", f"{c}_train_0001", cued) for c in actions.CLASS_NAMES]
    plain_pairs = [distance(f"{c}_train_0000", f"{c}_train_0001", plain) for c in actions.CLASS_NAMES]
    assert np.median(same_class) < 0.5 * np.median(plain_pairs)  # one scene per class, not a fresh one
    other_class = [
        distance(f"{a}_train_0000", f"{b}_train_0000", cued)
        for a, b in zip(actions.CLASS_NAMES[:-1], actions.CLASS_NAMES[1:], strict=True)
    ]
    assert np.median(other_class) > 2 * np.median(same_class)
    # At 0.5 some videos show their scene, the others are exactly the videos of the set without the cue.
    unchanged = [name for name in half if np.array_equal(half[name], plain[name])]
    assert 0 < len(unchanged) < len(half)


def test_scene_cue_outside_0_1_is_refused_with_the_value():
    with pytest.raises(ValueError, match="scene_cue=1.5"):
        actions.SynthActionsConfig(scene_cue=1.5)


# ------------------------------------------------------------------------------------------- layouts


def test_frame_folders_and_list_file_give_the_same_videos(synth):
    folders = F.load_split(synth, "test")
    listed = F.load_split(os.path.join(synth, "test_list.txt"))
    assert folders.class_names == listed.class_names
    assert sorted((i.frame_dir, i.label, i.num_frames) for i in folders.items) == sorted(
        (os.path.normpath(i.frame_dir), i.label, i.num_frames) for i in listed.items
    )


def _video(folder, count=3, size=8, name="img_{:05d}.jpg"):
    os.makedirs(folder, exist_ok=True)
    for index in range(1, count + 1):
        write_image(os.path.join(folder, name.format(index)), np.full((size, size, 3), index * 20, np.uint8))


def test_kinetics_split_names_and_natural_frame_order(tmp_path):
    _video(tmp_path / "train_frames" / "b" / "v1")
    _video(tmp_path / "train_frames" / "a" / "v2", count=12, name="{}.jpg")  # unpadded: 2 before 10
    _video(tmp_path / "val_frames" / "b" / "v3")
    train = F.load_split(str(tmp_path), "train")
    test = F.load_split(str(tmp_path), "test")
    assert train.class_names == ["a", "b"] and test.class_names == ["a", "b"]
    assert [i.label for i in test.items] == [1]
    frames = next(i for i in train.items if i.label == 0).frames
    assert [os.path.basename(f) for f in frames[:3]] == ["1.jpg", "2.jpg", "3.jpg"]


def test_class_index_file_formats(tmp_path):
    ucf = tmp_path / "classInd.txt"
    ucf.write_text("2 Biking\n1 ApplyEyeMakeup\n")
    assert F.read_class_index(str(ucf)) == ["ApplyEyeMakeup", "Biking"]
    plain = tmp_path / "names.txt"
    plain.write_text("walk\nrun\n\n")
    assert F.read_class_index(str(plain)) == ["walk", "run"]
    gap = tmp_path / "gap.txt"
    gap.write_text("1 a\n3 b\n")
    with pytest.raises(F.FrameDataError, match="gap.txt"):
        F.read_class_index(str(gap))


def test_a_list_file_without_videos_of_a_class_names_the_class(tmp_path, caplog):
    """As the folder layout names its empty class folders: a class of classInd.txt that no line labels."""
    import logging

    _video(tmp_path / "frames" / "v1")
    (tmp_path / "classInd.txt").write_text("1 walk\n2 run\n3 jump\n")
    (tmp_path / "train.txt").write_text("frames/v1 3 0\n")
    with caplog.at_level(logging.WARNING, logger="deep_rnn_tf"):
        split = F.ActionSplit.from_list_file(str(tmp_path / "train.txt"))
    assert split.class_names == ["walk", "run", "jump"]
    assert "train.txt: no video of 2 of the 3 classes of its class list (run, jump)" in caplog.text


def test_bad_inputs_name_the_path(tmp_path):
    _video(tmp_path / "train" / "walk" / "ok")
    os.makedirs(tmp_path / "train" / "walk" / "empty")
    (tmp_path / "train" / "walk" / "empty" / "notes.txt").write_text("no frames here")
    with pytest.raises(F.FrameDataError, match=r"empty: frame folder has no readable frame"):
        F.load_split(str(tmp_path), "train")
    # A class folder that is not in the class list.
    with pytest.raises(F.FrameDataError, match="walk"):
        F.ActionSplit.from_folders(str(tmp_path), "train", ["run"])
    # An empty split and a missing split folder.
    os.makedirs(tmp_path / "other" / "test")
    with pytest.raises(F.FrameDataError, match="empty split"):
        F.load_split(str(tmp_path / "other"), "test")
    with pytest.raises(F.FrameDataError, match="no train split folder"):
        F.load_split(str(tmp_path / "other"), "train")


def test_list_file_errors_name_file_and_line(tmp_path):
    _video(tmp_path / "frames" / "v1")
    (tmp_path / "classes.txt").write_text("a\nb\n")
    bad_label = tmp_path / "bad_label.txt"
    bad_label.write_text("frames/v1 3 0\nframes/v1 3 7\n")
    with pytest.raises(F.FrameDataError, match=r"bad_label.txt:2: label 7 .*outside the class list"):
        F.load_split(str(bad_label))
    malformed = tmp_path / "malformed.txt"
    malformed.write_text("frames/v1 three 0\n")
    with pytest.raises(F.FrameDataError, match=r"malformed.txt:1"):
        F.load_split(str(malformed))
    missing = tmp_path / "missing.txt"
    missing.write_text("frames/nope 3 0\n")
    with pytest.raises(F.FrameDataError, match=r"nope: frame folder does not exist"):
        F.load_split(str(missing))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    with pytest.raises(F.FrameDataError, match="empty split"):
        F.load_split(str(empty))


# ------------------------------------------------------------------------------------------- sampling


def test_uniform_test_sequence_follows_the_original():
    assert F.uniform_frame_indices(90, 30).tolist() == list(range(2, 90, 3))
    # 45 frames: step round(1.5) = 2 -> 22 frames 1, 3, ..., 43, padded by the last one.
    short = F.uniform_frame_indices(45, 30).tolist()
    assert short[:3] == [1, 3, 5] and short[21:] == [43] * 9
    assert F.uniform_frame_indices(4, 6).tolist() == [0, 1, 2, 3, 3, 3]
    assert F.first_frame_indices(1, 2).tolist() == [0, 0]
    clips = F.segment_frame_indices(100, 2, 5)
    assert clips.shape == (2, 5) and clips[0].max() < 50 <= clips[1].min()


# ------------------------------------------------------------------------------------------- tf.data


def test_pipeline_shapes_octs_and_clip_consistent_augmentation(tmp_path):
    # Every frame of the video is the same image, so a clip-consistent augmentation keeps them equal.
    image = np.random.default_rng(0).integers(0, 255, (20, 24, 3), dtype=np.uint8)
    folder = tmp_path / "train" / "a" / "v"
    os.makedirs(folder)
    for index in range(1, 31):
        write_image(str(folder / f"img_{index:05d}.png"), image)
    split = F.load_split(str(tmp_path), "train")
    augmentation = F.ClipAugmentation(crop_prob=1.0, hue=0.2)
    config = F.PipelineConfig((16, 16), 1, augmentation, shuffle=True, seed=3)
    dataset = F.make_dataset(split, F.octs_frame_indices(3, 4, 0.25), config)
    seen = []
    for _ in range(2):  # two epochs: new augmentation draws
        frames, label = next(iter(dataset))
        assert frames.shape == (1, 3, 4, 16, 16, 3) and frames.dtype.name == "uint8" and label.numpy() == [0]
        flat = frames.numpy().reshape(12, 16, 16, 3)
        assert np.all(flat == flat[:1])
        seen.append(flat[0])
    plain = F.make_dataset(split, lambda n: F.uniform_frame_indices(n, 5), F.PipelineConfig((20, 24), 1))
    frames, _ = next(iter(plain))
    assert frames.shape == (1, 5, 20, 24, 3)
    assert np.abs(frames.numpy()[0, 0].astype(int) - image).max() <= 1  # no augmentation: the image
    assert not np.array_equal(seen[0], seen[1])  # a new draw each epoch


def test_preprocessing_modes():
    x = np.full((1, 2, 2, 3), 255.0, np.float32)
    caffe = np.asarray(preprocess_pixels(x, "caffe"))
    assert np.allclose(caffe[0, 0, 0], [255 - 103.939, 255 - 116.779, 255 - 123.68])
    torch = np.asarray(preprocess_pixels(x, "torch"))
    assert np.allclose(torch[0, 0, 0], [(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225])
    with pytest.raises(ValueError, match="mode"):
        preprocess_pixels(x, "bgr")


# ------------------------------------------------------------------------------------------- extract-frames


def test_extract_frames_forks_its_workers_unless_tensorflow_runs_here(monkeypatch):
    """Workers forked from this test process hung once TensorFlow had run in it (the suite in another order);
    a plain `deep-rnn data extract-frames` (no TensorFlow) keeps fork, which needs no __main__ guard."""
    import sys

    from deep_rnn_tf.tools import extract_frames

    monkeypatch.setitem(sys.modules, "tensorflow", object())
    assert extract_frames._start_method() == "forkserver"
    monkeypatch.delitem(sys.modules, "tensorflow")
    assert extract_frames._start_method() == "fork"


def test_extract_frames_on_real_videos_resumable_and_skipping_broken(tmp_path, capsys):
    videos = tmp_path / "videos"
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 255, (12, 48, 64, 3), dtype=np.uint8)
    os.makedirs(videos / "walk")
    os.makedirs(videos / "run")
    write_video(str(videos / "walk" / "v1.avi"), clip)
    write_video(str(videos / "run" / "v2.mp4"), clip[:7])
    (videos / "run" / "broken.avi").write_bytes(b"this is not a video" * 50)
    out = tmp_path / "frames"
    assert (
        extract_frames_main([str(videos), str(out), "--short-side", "24", "--workers", "2", "--quiet"]) == 0
    )
    printed = capsys.readouterr()
    assert "2 extracted, 0 already complete, 1 failed" in printed.out
    assert "broken.avi" in printed.err and "broken.avi" in (out / "extract_failures.txt").read_text()
    walk = F.list_frames(str(out / "walk" / "v1"))
    assert len(walk) == 12 and len(F.list_frames(str(out / "run" / "v2"))) == 7
    first = cv2.imread(walk[0])
    assert first.shape == (24, 32, 3)  # short side 24, aspect kept
    assert not (out / "run" / "broken").exists() and not list(out.rglob("*.partial"))
    stamp = os.path.getmtime(walk[0])
    assert extract_frames_main([str(videos), str(out), "--workers", "1", "--quiet"]) == 0
    assert "0 extracted, 2 already complete, 1 failed" in capsys.readouterr().out
    assert os.path.getmtime(walk[0]) == stamp
    assert extract_frames_main([str(tmp_path / "nowhere"), str(out)]) == 1
    for flags, says in (
        (["--short-side", "0"], "`--short-side` must be a positive integer. Received: --short-side=0"),
        (["--size", "0", "10"], "`--size WIDTH` must be a positive integer"),
        (["--quality", "150"], "`--quality` must be in [0, 100]. Received: --quality=150"),
        (["--workers", "0"], "`--workers` must be a positive integer"),
    ):
        with pytest.raises(SystemExit):  # before any video is read: these would fail or clamp every one
            extract_frames_main([str(videos), str(tmp_path / "other"), *flags, "--quiet"])
        assert says in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


# ------------------------------------------------------------------------------------------- metrics


def test_classification_metrics_by_hand(tmp_path):
    scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.5, 0.3], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7]])
    labels = np.array([0, 2, 1, 2])
    assert C.top_k_accuracy(scores, labels, 1) == 0.5
    assert C.top_k_accuracy(scores, labels, 2) == 1.0
    assert C.top_k_accuracy(scores, labels, 5) == 1.0  # clipped to the number of classes
    # Per class: class 0 1/1, class 1 0/1, class 2 1/2 -> mean 0.5
    assert C.mean_class_accuracy(scores, labels) == pytest.approx(0.5)
    report = C.classification_report(scores, labels, ["a", "b", "c"])
    assert report["confusion_matrix"] == [[1, 0, 0], [1, 0, 0], [0, 1, 1]]
    writer = ResultsWriter(tmp_path)
    writer.csv("per_class.csv", C.PER_CLASS_FIELDS, C.per_class_rows(report))
    lines = (tmp_path / "per_class.csv").read_text().splitlines()
    assert lines[0] == "class_id,class_name,support,correct,accuracy,predicted"
    assert lines[3] == "2,c,2,1,0.5000,1"
    writer.figure("c.png", C.confusion_figure(np.array(report["confusion_matrix"]), ["a", "b", "c"]))
    assert cv2.imread(str(tmp_path / "c.png")) is not None
    with pytest.raises(ValueError, match="labels"):
        C.top_k_accuracy(scores, np.array([0, 1, 2, 3]))
