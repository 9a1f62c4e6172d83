"""A small synthetic data set in exactly the KTH layout (`deep-rnn data synth-kth --out DIR`).

Writes `personXX_<action>_dN_uncomp.avi` videos (160x120, 25 fps, grey content in an RGB avi, like KTH), the
MCnet segment lists `train_data_list.txt` / `test_data_list.txt` (`<video> <start> <end>`, 1-based) and KTH's
own `00sequences.txt`, so the real KTH reader (`deep_rnn_tf.data.kth`) runs unchanged on it.

Each video shows one articulated stick figure (head, torso, two-segment arms and legs) doing one of the six
KTH actions on a static textured background. Persons differ in size, limb thickness, brightness and tempo;
scenarios (`dN`) differ in background texture and clothing brightness. Limbs move periodically and walkers
translate and turn at the frame border, so copying the last frame is clearly worse than a perfect prediction.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import cv2
import numpy as np
from tqdm import tqdm

from deep_rnn_tf.atomic_io import write_text_atomic
from deep_rnn_tf.data.kth import ACTIONS
from deep_rnn_tf.data.video_io import write_video
from deep_rnn_tf.validation import check_choice, check_in_range, check_positive_int

FRAME_WIDTH = 160
FRAME_HEIGHT = 120
# Horizontal speed (pixels per frame at 160x120) and limb-swing tempo (cycles per frame) of each action.
_SPEED = {"walking": 1.6, "jogging": 2.8, "running": 4.0}
_TEMPO = {
    "walking": 1 / 18,
    "jogging": 1 / 12,
    "running": 1 / 9,
    "boxing": 1 / 10,
    "handwaving": 1 / 14,
    "handclapping": 1 / 8,
}


@dataclass(frozen=True)
class Person:
    """Appearance and tempo of one synthetic actor.

    Args:
        height: figure height in pixels (feet to top of head).
        thickness: limb line width in pixels.
        intensity: grey value of the figure's body.
        tempo_scale: multiplies the action's swing frequency.

    Example:
        >>> Person(height=80.0, thickness=5, intensity=30, tempo_scale=1.0)
    """

    height: float
    thickness: int
    intensity: int
    tempo_scale: float


def random_person(rng: np.random.Generator) -> Person:
    """Draws a person: 70-95 px tall, 4-6 px limbs, dark or bright, tempo within +-15%.

    Example:
        >>> person = random_person(np.random.default_rng(0))
    """
    dark = rng.random() < 0.6
    intensity = int(rng.integers(15, 60)) if dark else int(rng.integers(200, 245))
    return Person(
        height=float(rng.uniform(70, 95)),
        thickness=int(rng.integers(4, 7)),
        intensity=intensity,
        tempo_scale=float(rng.uniform(0.85, 1.15)),
    )


def textured_background(
    rng: np.random.Generator, height: int = FRAME_HEIGHT, width: int = FRAME_WIDTH
) -> np.ndarray:
    """A static grey background: a smooth illumination field, blobs and fine grain (float32, 0..255).

    Example:
        >>> background = textured_background(np.random.default_rng(0))
    """
    coarse = rng.uniform(80, 170, size=(4, 5)).astype(np.float32)
    field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    blobs = rng.normal(0, 18, size=(height // 8, width // 8)).astype(np.float32)
    field += cv2.resize(blobs, (width, height), interpolation=cv2.INTER_LINEAR)
    field += rng.normal(0, 6, size=(height, width)).astype(np.float32)
    # A horizon line: KTH outdoor scenes have a visible ground / background boundary.
    horizon = int(height * rng.uniform(0.55, 0.7))
    field[horizon:] -= 20
    return np.clip(field, 0, 255)


def _limb_end(start: tuple[float, float], length: float, angle: float, facing: int) -> tuple[float, float]:
    """End point of a limb `length` long at `angle` radians from straight down, towards `facing` (+-1)."""
    return (start[0] + facing * length * math.sin(angle), start[1] + length * math.cos(angle))


def _pose(action: str, phase: float) -> dict[str, float]:
    """Limb angles (radians from straight down, positive towards the facing direction) for one frame."""
    s, c = math.sin(phase), math.cos(phase)
    pose = {"l_thigh": 0.0, "l_shin": 0.0, "r_thigh": 0.0, "r_shin": 0.0, "bob": 0.0}
    if action in _SPEED:
        amplitude = {"walking": 0.45, "jogging": 0.6, "running": 0.8}[action]
        pose.update(
            l_thigh=amplitude * s,
            r_thigh=-amplitude * s,
            # The knee bends when the leg swings back.
            l_shin=amplitude * s - 0.9 * amplitude * max(0.0, -c),
            r_shin=-amplitude * s - 0.9 * amplitude * max(0.0, c),
            l_upper=-0.8 * amplitude * s,
            l_fore=-0.8 * amplitude * s + 0.4 + 0.6 * amplitude,
            r_upper=0.8 * amplitude * s,
            r_fore=0.8 * amplitude * s + 0.4 + 0.6 * amplitude,
            bob=2.0 * amplitude * abs(s),
        )
    elif action == "boxing":
        left, right = max(0.0, s), max(0.0, -s)
        pose.update(
            l_upper=0.6 + 0.95 * left,
            l_fore=2.3 - 0.75 * left,
            r_upper=0.5 + 1.05 * right,
            r_fore=2.2 - 0.65 * right,
            bob=1.0 * abs(s),
        )
    elif action == "handwaving":
        # Front view: both arms swing overhead, mirrored.
        raise_angle = 1.9 + 0.9 * s
        pose.update(
            l_upper=raise_angle, l_fore=raise_angle + 0.4, r_upper=-raise_angle, r_fore=-raise_angle - 0.4
        )
    elif action == "handclapping":
        # Front view: forearms meet in front of the chest and open again.
        opening = 0.5 + 0.5 * s
        pose.update(
            l_upper=0.35 + 0.25 * opening,
            l_fore=-1.2 + 1.4 * opening + 1.57,
            r_upper=-0.35 - 0.25 * opening,
            r_fore=1.2 - 1.4 * opening - 1.57,
        )
    else:
        raise ValueError(f"action must be one of {ACTIONS}; received action={action!r}")
    return pose


def draw_figure(
    frame: np.ndarray, person: Person, action: str, phase: float, x: float, facing: int, ground: float
) -> None:
    """Draws the stick figure in place on a uint8 (H, W) frame (anti-aliased lines).

    Args:
        frame: uint8 (H, W) image to draw on.
        person: appearance.
        action: one of `ACTIONS`.
        phase: swing phase in radians.
        x: horizontal position of the hips in pixels.
        facing: +1 (right) or -1 (left); front-view actions ignore it.
        ground: y of the feet in pixels.

    Example:
        >>> draw_figure(np.zeros((120, 160), np.uint8), random_person(np.random.default_rng(0)),
        ...             "walking", 0.3, 80.0, 1, 110.0)
    """
    pose = _pose(action, phase)
    unit = person.height / 8.0  # a classic 8-head-tall figure
    leg, torso, arm = 2.0 * unit, 2.8 * unit, 1.5 * unit
    hip = (x, ground - 2 * leg - pose["bob"])
    shoulder = (x, hip[1] - torso)
    head = (x, shoulder[1] - 1.1 * unit)
    colour = int(person.intensity)
    thick = person.thickness

    def line(a: tuple[float, float], b: tuple[float, float], width: int) -> None:
        cv2.line(frame, _px(a), _px(b), colour, width, cv2.LINE_AA, shift=4)

    for side in ("l", "r"):
        knee = _limb_end(hip, leg, pose[f"{side}_thigh"], facing)
        foot = _limb_end(knee, leg, pose[f"{side}_shin"], facing)
        line(hip, knee, thick + 1)
        line(knee, foot, thick)
        elbow = _limb_end(shoulder, arm, pose[f"{side}_upper"], facing)
        hand = _limb_end(elbow, arm, pose[f"{side}_fore"], facing)
        line(shoulder, elbow, thick)
        line(elbow, hand, max(2, thick - 1))
    line(hip, shoulder, thick + 3)
    cv2.circle(frame, _px(head), int(round(0.8 * unit * 16)), colour, -1, cv2.LINE_AA, shift=4)


def _px(point: tuple[float, float]) -> tuple[int, int]:
    """Sub-pixel coordinates for cv2 drawing with shift=4."""
    return int(round(point[0] * 16)), int(round(point[1] * 16))


def render_video(
    person: Person,
    action: str,
    background: np.ndarray,
    num_frames: int,
    rng: np.random.Generator,
    noise: float = 1.5,
) -> np.ndarray:
    """Renders one video: uint8 (num_frames, 120, 160) grey frames.

    Args:
        person: the actor.
        action: one of `ACTIONS`.
        background: float (H, W) static background.
        num_frames: number of frames.
        rng: randomness for the start position, direction, phase and sensor noise.
        noise: standard deviation of the per-frame Gaussian sensor noise (grey levels).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> video = render_video(random_person(rng), "boxing", textured_background(rng), 30, rng)
    """
    check_choice("action", action, ACTIONS)
    check_positive_int("num_frames", num_frames)
    height, width = background.shape
    tempo = _TEMPO[action] * person.tempo_scale
    phase0 = rng.uniform(0, 2 * math.pi)
    speed = _SPEED.get(action, 0.0)
    facing = 1 if rng.random() < 0.5 else -1
    margin = person.height / 4
    x = rng.uniform(margin, width - margin) if speed else rng.uniform(0.35 * width, 0.65 * width)
    ground = height - rng.uniform(4, 10)
    frames = np.empty((num_frames, height, width), np.uint8)
    for t in range(num_frames):
        canvas = np.clip(background + rng.normal(0, noise, background.shape), 0, 255).astype(np.uint8)
        draw_figure(canvas, person, action, phase0 + 2 * math.pi * tempo * t, x, facing, ground)
        frames[t] = canvas
        if speed:
            x += facing * speed
            # Walkers turn around at the frame border, as KTH's actors do.
            if not margin <= x <= width - margin:
                facing = -facing
                x = float(np.clip(x, margin, width - margin))
    return frames


def segment_bounds(num_frames: int, num_segments: int) -> list[tuple[int, int]]:
    """Splits frames 1..num_frames into `num_segments` 1-based (start, end) ranges, as KTH's lists.

    Example:
        >>> segment_bounds(90, 2)
        [(1, 45), (46, 90)]
    """
    edges = np.linspace(0, num_frames, num_segments + 1).round().astype(int)
    return [(int(edges[i]) + 1, int(edges[i + 1])) for i in range(num_segments)]


def generate(
    out_dir: str,
    train_persons: int = 4,
    test_persons: int = 2,
    scenarios: int = 1,
    num_frames: int = 90,
    num_segments: int = 2,
    noise: float = 1.5,
    seed: int = 0,
    show_progress: bool = True,
) -> dict[str, str]:
    """Writes the synthetic KTH set; returns the paths of the list files.

    Training persons are numbered from 01, test persons from 17 (KTH's own split: 01-16 train, 17-25 test).

    Args:
        out_dir: output directory (created).
        train_persons: number of training persons (1..16).
        test_persons: number of test persons (1..9).
        scenarios: number of scenarios d1..dN per person and action (1..4).
        num_frames: frames per video.
        num_segments: segments per video in the lists.
        noise: sensor noise standard deviation in grey levels.
        seed: random seed (the whole set is a function of it).
        show_progress: show a tqdm bar.

    Example:
        >>> lists = generate("/tmp/kth_synth", train_persons=1, test_persons=1, num_frames=30)
    """
    check_in_range("train_persons", train_persons, 1, 16)
    check_in_range("test_persons", test_persons, 1, 9)
    check_in_range("scenarios", scenarios, 1, 4)
    check_in_range("num_segments", num_segments, 1, 10)
    if num_frames < 2 * num_segments:
        raise ValueError(f"num_frames must be >= 2 * num_segments; received num_frames={num_frames}")
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    backgrounds = [textured_background(rng) for _ in range(scenarios)]
    ids = {"train": list(range(1, train_persons + 1)), "test": list(range(17, 17 + test_persons))}
    lines: dict[str, list[str]] = {"train": [], "test": []}
    sequences: list[str] = []
    jobs = [
        (split, pid, action, d)
        for split in ids
        for pid in ids[split]
        for action in ACTIONS
        for d in range(scenarios)
    ]
    persons = {pid: random_person(rng) for split in ids for pid in ids[split]}
    for split, pid, action, d in tqdm(jobs, desc="synth-kth", disable=not show_progress):
        person = persons[pid]
        # Scenario d3 of KTH changes clothes: shift the figure's brightness.
        if d == 2:
            person = Person(person.height, person.thickness, 255 - person.intensity, person.tempo_scale)
        name = f"person{pid:02d}_{action}_d{d + 1}"
        frames = render_video(person, action, backgrounds[d], num_frames, rng, noise=noise)
        write_video(os.path.join(out_dir, f"{name}_uncomp.avi"), frames, fps=25.0)
        bounds = segment_bounds(num_frames, num_segments)
        lines[split] += [f"{name} {start} {end}" for start, end in bounds]
        sequences.append(f"{name}\t\tframes\t" + ", ".join(f"{start}-{end}" for start, end in bounds))
    paths = {
        "train": os.path.join(out_dir, "train_data_list.txt"),
        "test": os.path.join(out_dir, "test_data_list.txt"),
        "sequences": os.path.join(out_dir, "00sequences.txt"),
    }
    _write_text(paths["train"], lines["train"])
    _write_text(paths["test"], lines["test"])
    _write_text(paths["sequences"], sequences)
    return paths


def _write_text(path: str, lines: list[str]) -> None:
    write_text_atomic(path, "\n".join(lines) + "\n")
