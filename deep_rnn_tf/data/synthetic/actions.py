"""A synthetic action data set whose classes are defined by *motion*, written in the real frame layout.

Every video shows the same kind of object: a coloured disc with a "clock hand" (so its orientation is
visible) on a textured background. Position and orientation are uniformly random in every frame of every
class (the object wraps around the frame borders), so **no single frame tells the class**; only the motion
does: direction, rotation sense, speed and periodic against one-way motion. Periodic classes start at a
random phase, so their first frames look like a one-way motion: anticipation from two frames is genuinely
harder than recognition from the whole video.

With `scene_cue` > 0 the set is closer to UCF-101, where the scene tells something about the action: each
class owns one background (a fixed low-frequency texture), and a video shows its class's background with
probability `scene_cue` (slightly perturbed), a fresh random one otherwise. A single frame then tells the
class with that probability (plus chance) and the rest still needs the motion; anticipation from the first
frames can read the scene. `scene_cue=0` (the default) writes exactly the set it wrote before the option.

Written layout (the one `deep_rnn_tf.data.frames` reads, and MMAction2 list files for the same frames)::

    OUT/train/<class>/<video>/img_00001.jpg ...
    OUT/test/<class>/<video>/img_00001.jpg ...
    OUT/classes.txt                      # "1 move_right" ... (UCF-101 classInd.txt style)
    OUT/train_list.txt, OUT/test_list.txt  # "<train/class/video> <total_frames> <label>"

Command: `deep-rnn data synth-actions --out DIR [--videos-per-class 24] [--test-videos-per-class 8]`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass

import cv2
import numpy as np
from tqdm import tqdm

from deep_rnn_tf.atomic_io import write_json_atomic, write_text_atomic
from deep_rnn_tf.data.video_io import write_image
from deep_rnn_tf.validation import (
    check_choice,
    check_int_at_least,
    check_positive,
    check_positive_int,
    check_probability,
)

# name -> (kind, parameters). Speeds are in pixels per frame at a 32-pixel frame and scale with the size.
MOTION_CLASSES: dict[str, dict[str, float | str]] = {
    "move_right": {"kind": "translate", "dx": 1.0, "dy": 0.0, "speed": 2.0},
    "move_left": {"kind": "translate", "dx": -1.0, "dy": 0.0, "speed": 2.0},
    "move_up": {"kind": "translate", "dx": 0.0, "dy": -1.0, "speed": 2.0},
    "move_down": {"kind": "translate", "dx": 0.0, "dy": 1.0, "speed": 2.0},
    "move_right_fast": {"kind": "translate", "dx": 1.0, "dy": 0.0, "speed": 4.5},
    "rotate_clockwise": {"kind": "rotate", "omega": 30.0},
    "rotate_counterclockwise": {"kind": "rotate", "omega": -30.0},
    "swing_horizontal": {"kind": "swing", "dx": 1.0, "dy": 0.0, "amplitude": 8.0, "period": 10.0},
    "swing_vertical": {"kind": "swing", "dx": 0.0, "dy": 1.0, "amplitude": 8.0, "period": 10.0},
    "pendulum": {"kind": "pendulum", "amplitude": 70.0, "period": 10.0},
}
CLASS_NAMES: list[str] = sorted(MOTION_CLASSES)


@dataclass(frozen=True)
class SynthActionsConfig:
    """Sizes of the synthetic set.

    Args:
        size: frame height and width in pixels.
        videos_per_class: training videos per class.
        test_videos_per_class: test videos per class.
        min_frames: shortest video.
        max_frames: longest video.
        seed: seed of every random choice (the same seed writes the same set).
        scene_cue: probability in [0, 1] that a video shows its class's own background (0: never, every
            background is random and only the motion tells the class).
        hand_scale: width of the hand and size of its tip relative to the default (1: the set as before).
            At 32x32 the hand is one pixel wide and no model of the `small` preset learns the three
            classes that only its turning tells (docs/log/study.md, "Why recognition stops at 80 %").
        turn_speed: the hand's angular speed relative to the default (1: the set as before): the rotations
            turn `turn_speed` x 30 degrees per frame and the pendulum swings with period 10 / `turn_speed`
            frames. At 1 a test sequence sampled every second frame turns ~60 degrees (up to ~130 for the
            pendulum) between the frames a model sees, so which way it turns is barely visible.

    Example:
        >>> SynthActionsConfig(size=32, videos_per_class=4, scene_cue=0.5)
    """

    size: int = 64
    videos_per_class: int = 24
    test_videos_per_class: int = 8
    min_frames: int = 24
    max_frames: int = 40
    seed: int = 0
    scene_cue: float = 0.0
    hand_scale: float = 1.0
    turn_speed: float = 1.0

    def __post_init__(self) -> None:
        check_probability("scene_cue", self.scene_cue)
        check_positive("hand_scale", self.hand_scale)
        check_positive("turn_speed", self.turn_speed)
        check_int_at_least("size", self.size, 16)
        check_positive_int("videos_per_class", self.videos_per_class)
        check_positive_int("test_videos_per_class", self.test_videos_per_class)
        if not 2 <= self.min_frames <= self.max_frames:
            raise ValueError(
                "need 2 <= min_frames <= max_frames; received "
                f"min_frames={self.min_frames}, max_frames={self.max_frames}"
            )


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth random colour texture (low-frequency noise), float32 (size, size, 3) in [0, 255]."""
    grey = rng.uniform(50, 110)  # darker than every object: the object is easy to see, its motion is not
    # Faint clutter: texture (so a frame is not trivially segmented) that does not drown the object.
    coarse = grey + 0.2 * (rng.uniform(40, 220, size=(4, 4, 3)) - grey)
    smooth = cv2.resize(coarse.astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(smooth, 0, 255)


def class_scenes(config: SynthActionsConfig) -> list[np.ndarray]:
    """Each class's own background (see `scene_cue`), drawn from the set's seed: same seed, same scenes."""
    return [
        _background(np.random.default_rng([config.seed, 1_000_000 + label]), config.size)
        for label in range(len(CLASS_NAMES))
    ]


def _scene_for_video(scene: np.ndarray, scene_cue: float, rng: np.random.Generator) -> np.ndarray | None:
    """The class's scene, perturbed per video, with probability `scene_cue`; None: a random background."""
    if rng.uniform() >= scene_cue:
        return None
    size = scene.shape[0]
    # A faint low-frequency change of tint and layout: the same place on another day, not a copy.
    wobble = cv2.resize(rng.normal(0, 4, size=(4, 4, 3)).astype(np.float32), (size, size))
    return np.clip(scene + rng.uniform(-5, 5) + wobble, 0, 255)


def _object_trajectory(
    spec: dict[str, float | str],
    num_frames: int,
    size: int,
    rng: np.random.Generator,
    turn_speed: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame (x, y) centre offsets in pixels and hand angles in degrees for one video of a class
    (`turn_speed` scales the hand's angular speed: `SynthActionsConfig`)."""
    t = np.arange(num_frames, dtype=np.float64)
    scale = size / 32.0
    start = rng.uniform(0, size, size=2)
    angle0 = rng.uniform(0, 360)
    jitter = rng.uniform(0.8, 1.2)  # speed varies per video, so speed classes overlap only slightly
    kind = spec["kind"]
    positions = np.tile(start, (num_frames, 1))
    angles = np.full(num_frames, angle0)
    if kind == "translate":
        step = float(spec["speed"]) * scale * jitter
        positions = start + np.outer(t * step, [spec["dx"], spec["dy"]])
    elif kind == "swing":
        phase = rng.uniform(0, 2 * math.pi)
        amplitude = float(spec["amplitude"]) * scale * jitter
        offset = amplitude * np.sin(2 * math.pi * t / float(spec["period"]) + phase)
        positions = start + np.outer(offset, [spec["dx"], spec["dy"]])
    elif kind == "rotate":
        angles = angle0 + t * float(spec["omega"]) * turn_speed * jitter
    elif kind == "pendulum":
        phase = rng.uniform(0, 2 * math.pi)
        amplitude = float(spec["amplitude"]) * jitter
        period = float(spec["period"]) / turn_speed
        angles = angle0 + amplitude * np.sin(2 * math.pi * t / period + phase)
    return np.mod(positions, size), angles


def _draw_object(
    canvas: np.ndarray,
    centre: np.ndarray,
    angle_deg: float,
    colour: np.ndarray,
    radius: int,
    hand_scale: float = 1.0,
) -> None:
    """Draws the disc and its hand, wrapping around the borders (drawn at the 9 periodic copies)."""
    size = canvas.shape[0]
    hand = radius * 2.0
    rad = math.radians(angle_deg)
    tip = np.array([math.cos(rad), -math.sin(rad)]) * hand
    hand_colour = tuple(float(255 - c) for c in colour)
    for shift_x in (-size, 0, size):
        for shift_y in (-size, 0, size):
            cx, cy = centre[0] + shift_x, centre[1] + shift_y
            if -3 * radius < cx < size + 3 * radius and -3 * radius < cy < size + 3 * radius:
                centre_px = (round(cx), round(cy))
                cv2.circle(canvas, centre_px, radius, tuple(float(c) for c in colour), -1, cv2.LINE_AA)
                tip_px = (round(cx + tip[0]), round(cy + tip[1]))
                thickness = max(1, round(radius // 3 * hand_scale))
                cv2.line(canvas, centre_px, tip_px, hand_colour, thickness, cv2.LINE_AA)
                tip_radius = max(1, round(radius // 2 * hand_scale))
                cv2.circle(canvas, tip_px, tip_radius, hand_colour, -1, cv2.LINE_AA)


def render_video(
    class_name: str,
    num_frames: int,
    size: int,
    rng: np.random.Generator,
    background: np.ndarray | None = None,
    hand_scale: float = 1.0,
    turn_speed: float = 1.0,
) -> np.ndarray:
    """Renders one video of a motion class.

    Args:
        class_name: one of `CLASS_NAMES`.
        num_frames: number of frames.
        size: frame height and width.
        rng: numpy random generator (object, colours, start position, phase, noise).
        background: float32 (size, size, 3) scene to draw on; None draws a random one from `rng`.
        hand_scale: the hand's width and tip size relative to the default (`SynthActionsConfig`).
        turn_speed: the hand's angular speed relative to the default (`SynthActionsConfig`).

    Returns:
        uint8 array (num_frames, size, size, 3), RGB.

    Example:
        >>> video = render_video("rotate_clockwise", 30, 64, np.random.default_rng(0))
    """
    check_choice("class_name", class_name, CLASS_NAMES)
    random_background = _background(rng, size)  # drawn even when unused: the rest of the video stays the same
    background = random_background if background is None else background
    colour = rng.uniform(170, 255, size=3)  # bright, with a dark hand (255 - colour)
    radius = max(2, round(size * rng.uniform(0.13, 0.17)))
    positions, angles = _object_trajectory(MOTION_CLASSES[class_name], num_frames, size, rng, turn_speed)
    frames = np.empty((num_frames, size, size, 3), np.uint8)
    for index in range(num_frames):
        canvas = background.copy()
        _draw_object(canvas, positions[index], angles[index], colour, radius, hand_scale)
        canvas += rng.normal(0, 4, size=canvas.shape).astype(np.float32)  # sensor noise per frame
        frames[index] = np.clip(canvas, 0, 255).astype(np.uint8)
    return frames


def _write_video_frames(frame_dir: str, frames: np.ndarray) -> None:
    """Writes frames as img_00001.jpg ... (MMAction2 naming); a finished folder is left as it is."""
    done_marker = os.path.join(frame_dir, f"img_{len(frames):05d}.jpg")
    if os.path.isfile(done_marker):
        return
    os.makedirs(frame_dir, exist_ok=True)
    for index, frame in enumerate(frames, start=1):
        write_image(os.path.join(frame_dir, f"img_{index:05d}.jpg"), frame, quality=92)


def _write_lines(path: str, lines: list[str]) -> None:
    write_text_atomic(path, "\n".join(lines) + "\n")


# The settings a folder was made with: a re-run skips finished videos, which is only right with the same ones.
SETTINGS_FILE = "synth_actions.json"
# Settings added after the settings file, with the value every folder made before them was written with.
LATER_SETTINGS = {"hand_scale": 1.0, "turn_speed": 1.0}


def _claim_folder(out_dir: str, config: SynthActionsConfig) -> None:
    """Records `config` in `out_dir`, or raises ValueError when the folder was made with other settings
    (its finished videos would be kept: other sizes and frame counts, stale extra videos)."""
    path = os.path.join(out_dir, SETTINGS_FILE)
    wanted = asdict(config)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            made = json.load(handle)
        made = {**LATER_SETTINGS, **made}  # a folder made before a setting existed was made with its default
        changed = {key: (made.get(key), value) for key, value in wanted.items() if made.get(key) != value}
        if changed:
            shown = ", ".join(f"{key} {was!r} -> {now!r}" for key, (was, now) in changed.items())
            raise ValueError(f"{out_dir}: made with other settings ({shown}); use another --out or delete it")
    os.makedirs(out_dir, exist_ok=True)
    write_json_atomic(path, wanted)


def write_synthetic_actions(out_dir: str, config: SynthActionsConfig, show_progress: bool = True) -> dict:
    """Writes the synthetic set (frames, class index and MMAction2 list files) under `out_dir`.

    Args:
        out_dir: output root; created if missing. Re-running with the same config skips finished videos;
            with another config it raises ValueError (the settings are kept in `synth_actions.json`).
        config: sizes and seed.
        show_progress: show a progress bar.

    Returns:
        {"train": number of train videos, "test": number of test videos, "classes": class names}.

    Example:
        >>> write_synthetic_actions("/tmp/synth", SynthActionsConfig(size=32, videos_per_class=4))
    """
    _claim_folder(out_dir, config)
    jobs = []
    for split, count in (("train", config.videos_per_class), ("test", config.test_videos_per_class)):
        for label, class_name in enumerate(CLASS_NAMES):
            for video in range(count):
                jobs.append((split, label, class_name, f"{class_name}_{split}_{video:04d}"))
    lists: dict[str, list[str]] = {"train": [], "test": []}
    scenes = class_scenes(config) if config.scene_cue > 0 else []
    for job_index, (split, label, class_name, video_name) in enumerate(
        tqdm(jobs, desc="synth-actions", unit="video", disable=not show_progress)
    ):
        # One generator per video, seeded by (seed, index): a resumed run writes identical videos.
        rng = np.random.default_rng([config.seed, job_index])
        num_frames = int(rng.integers(config.min_frames, config.max_frames + 1))
        background = None
        if scenes:  # its own stream: the videos of a set without the cue do not change
            cue_rng = np.random.default_rng([config.seed, job_index, 1])
            background = _scene_for_video(scenes[label], config.scene_cue, cue_rng)
        frames = render_video(
            class_name, num_frames, config.size, rng, background, config.hand_scale, config.turn_speed
        )
        relative = os.path.join(split, class_name, video_name)
        _write_video_frames(os.path.join(out_dir, relative), frames)
        lists[split].append(f"{relative} {num_frames} {label}")
    _write_lines(
        os.path.join(out_dir, "classes.txt"), [f"{i + 1} {name}" for i, name in enumerate(CLASS_NAMES)]
    )
    for split, lines in lists.items():
        _write_lines(os.path.join(out_dir, f"{split}_list.txt"), lines)
    return {"train": len(lists["train"]), "test": len(lists["test"]), "classes": list(CLASS_NAMES)}
