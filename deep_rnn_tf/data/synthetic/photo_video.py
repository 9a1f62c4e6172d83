"""Camera-like video from real photographs (`deep-rnn data synth-video --out DIR --layout kth|folder`).

The synthetic KTH figures (`synth-kth`) are flat and noise-free; this generator makes clips that look and
behave like footage from a real camera, built only from the photographs bundled inside scikit-image's wheel
(no download):

- a **scene** is one photograph seen through a virtual camera that stays still (with hand shake), pans or
  zooms, with smooth, slowly changing velocity;
- 1 to `max_objects` **moving objects**: textured patches cut from *other* photographs (ellipses, rounded
  boxes or blobs with soft edges) that drift, turn and grow or shrink slowly, overlap and occlude each other
  in depth order, and move in the world (so a camera pan moves them too);
- **lighting drift** (slow gain oscillation plus a soft moving illumination gradient), light optical blur,
  Gaussian **sensor noise**, JPEG **compression** of every frame (then the container's own codec);
- occasional **scene cuts** to a new scene (on average one every `cut_every` frames).

Layouts:

- `kth`: `personNN_<action>_d1_uncomp.avi` (MJPG) plus `train_data_list.txt` (and an identical
  `train_data_list_trimmed.txt`) and `test_data_list.txt` holding a **time split**: the first
  `train_fraction` of each clip trains, the rest tests (`<video> <start> <end>`: frames [start, end),
  0-based, as the KTH reader uses them).
  The KTH reader (`deep_rnn_tf.data.kth`) reads it unchanged.
- `folder`: `clip_NNN.mp4` (or `.avi`) plus `dataset.json` (`{"split": "time", "train_fraction": ...}`), the
  generic layout of `deep_rnn_tf.data.videos`.

Every clip is a function of (`seed`, clip index) only.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

import cv2
import numpy as np
from tqdm import tqdm

from deep_rnn_tf.atomic_io import write_text_atomic
from deep_rnn_tf.data.kth import ACTIONS
from deep_rnn_tf.data.video_io import write_video
from deep_rnn_tf.validation import check_fraction

# Photographs shipped inside the scikit-image wheel (skimage/data/), usable as scenes and object textures.
SCENE_PHOTOS = (
    "astronaut.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "brick.png",
    "grass.png",
    "gravel.png",
    "coins.png",
    "moon.png",
    "page.png",
    "hubble_deep_field.jpg",
    "ihc.png",
)
TEXTURE_PHOTOS = (*SCENE_PHOTOS, "text.png", "color.png", "cell.png", "motorcycle_right.png")
LAYOUTS = ("kth", "folder")


def photo_dir() -> str:
    """The folder of scikit-image's bundled photographs (inside the installed package)."""
    import skimage.data

    return os.path.dirname(skimage.data.__file__)


def load_photos(names: tuple[str, ...] = TEXTURE_PHOTOS) -> dict[str, np.ndarray]:
    """Reads bundled photographs as uint8 RGB (H, W, 3); names missing from this installation are skipped.

    Raises:
        FileNotFoundError: none of the photographs is present.

    Example:
        >>> photos = load_photos(("astronaut.png", "camera.png"))
    """
    folder = photo_dir()
    photos = {name: _read_rgb(os.path.join(folder, name)) for name in names if _exists(folder, name)}
    if not photos:
        raise FileNotFoundError(f"{folder}: none of the scikit-image photographs {names} is installed")
    return photos


def _read_rgb(path: str) -> np.ndarray:
    # skimage's reader (imageio) rather than OpenCV's: libpng prints a warning for an ICC profile of one
    # bundled photograph.
    import skimage.io

    image = np.asarray(skimage.io.imread(path))
    if image.dtype != np.uint8:
        image = (255 * (image.astype(np.float64) / max(1.0, float(image.max())))).astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def _exists(folder: str, name: str) -> bool:
    return os.path.isfile(os.path.join(folder, name))


@dataclass(frozen=True)
class VideoStyle:
    """The knobs of the generated footage (speeds are fractions of the frame width per frame).

    Args:
        noise: sensor-noise standard deviation in grey levels (each clip draws 0.6x..1.4x this).
        jpeg_quality: JPEG quality of every frame (each clip draws +-15 around it; 0 disables JPEG).
        cut_every: mean number of frames between scene cuts (0: no cut).
        max_objects: at most this many moving objects per scene (at least 1).
        object_speed: typical object speed (fraction of the width per frame).
        pan_speed: typical camera pan speed (fraction of the width per frame).
        shake: hand-shake amplitude of a still camera, in pixels at 160 px width.
        lighting: amplitude of the lighting drift (relative gain).

    Example:
        >>> VideoStyle(noise=2.0, cut_every=300).max_objects
        4
    """

    noise: float = 2.0
    jpeg_quality: int = 75
    cut_every: int = 400
    max_objects: int = 4
    object_speed: float = 0.016
    pan_speed: float = 0.008
    shake: float = 0.25
    lighting: float = 0.06

    def __post_init__(self):
        checks = {
            "noise": self.noise >= 0,
            "jpeg_quality": 0 <= self.jpeg_quality <= 100,
            "cut_every": self.cut_every >= 0,
            "max_objects": self.max_objects >= 1,
            "object_speed": self.object_speed >= 0,
            "pan_speed": self.pan_speed >= 0,
            "shake": self.shake >= 0,
            "lighting": 0 <= self.lighting < 0.5,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"VideoStyle: invalid {name}; received {name}={getattr(self, name)!r}")


def _rotation(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


def _affine(linear: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """3x3 homogeneous matrix of x -> linear @ x + offset."""
    matrix = np.eye(3)
    matrix[:2, :2], matrix[:2, 2] = linear, offset
    return matrix


@dataclass
class MovingObject:
    """A textured patch moving in world coordinates (position, velocity, turn, growth).

    Args:
        texture: float32 (h, w, 3) RGB patch.
        mask: float32 (h, w) alpha in [0, 1] (soft edges).
        position: world position of the patch centre.
        velocity: world pixels per frame.
        angle: orientation in radians; `spin` is added every frame.
        scale: size factor; multiplied by `growth` every frame (kept in [0.6, 1.6]).

    Example:
        >>> obj = MovingObject(np.zeros((8, 8, 3), np.float32), np.ones((8, 8), np.float32),
        ...                    np.zeros(2), np.ones(2))
    """

    texture: np.ndarray
    mask: np.ndarray
    position: np.ndarray
    velocity: np.ndarray
    angle: float = 0.0
    spin: float = 0.0
    scale: float = 1.0
    growth: float = 1.0
    target_speed: float = field(default=1.0)

    def world_from_patch(self) -> np.ndarray:
        """3x3 matrix mapping patch pixel coordinates to world coordinates."""
        h, w = self.mask.shape
        linear = self.scale * _rotation(self.angle)
        centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
        return _affine(linear, self.position - linear @ centre)


@dataclass
class Camera:
    """A virtual camera over the world image: centre, zoom (world px per output px), small roll."""

    centre: np.ndarray
    velocity: np.ndarray
    zoom: float
    zoom_rate: float
    roll: float = 0.0
    shake: np.ndarray = field(default_factory=lambda: np.zeros(2))

    def world_from_output(self, width: int, height: int) -> np.ndarray:
        """3x3 matrix mapping output pixel coordinates to world coordinates."""
        linear = self.zoom * _rotation(self.roll)
        origin = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
        return _affine(linear, self.centre + self.shake - linear @ origin)


class Scene:
    """One shot: a photograph as world, a moving camera and moving objects; `render()` then `step()`.

    Args:
        photos: the photographs (name -> uint8 RGB); the scene draws its world and textures from them.
        width: output frame width in pixels.
        height: output frame height in pixels.
        style: the footage knobs.
        rng: the scene's randomness.

    Example:
        >>> scene = Scene(load_photos(), 160, 120, VideoStyle(), np.random.default_rng(0))
        >>> frame = scene.render()  # float32 (120, 160, 3), before lighting, noise and compression
        >>> scene.step()
    """

    def __init__(
        self,
        photos: dict[str, np.ndarray],
        width: int,
        height: int,
        style: VideoStyle,
        rng: np.random.Generator,
    ):
        self.width, self.height, self.style, self.rng = width, height, style, rng
        scene_names = [n for n in SCENE_PHOTOS if n in photos] or sorted(photos)
        scene_name = scene_names[int(rng.integers(len(scene_names)))]
        self.world = self._world_image(photos[scene_name])
        self.mode = str(rng.choice(["still", "pan", "zoom"], p=[0.4, 0.4, 0.2]))
        self.camera = self._camera()
        others = [n for n in sorted(photos) if n != scene_name] or [scene_name]
        count = int(rng.integers(1, style.max_objects + 1))
        self.objects = [self._object(photos[others[int(rng.integers(len(others)))]]) for _ in range(count)]

    # --- construction ----------------------------------------------------------------------------------
    def _world_image(self, photo: np.ndarray) -> np.ndarray:
        # The world is ~2.4 frame heights tall, so the camera has room to pan and zoom.
        scale = 2.4 * self.height / min(photo.shape[:2]) * float(self.rng.uniform(0.9, 1.2))
        size = (
            max(self.width + 2, round(photo.shape[1] * scale)),
            max(self.height + 2, round(photo.shape[0] * scale)),
        )
        world = cv2.resize(photo, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        return world[:, ::-1].copy() if self.rng.random() < 0.5 else world

    def _camera(self) -> Camera:
        wh, ww = self.world.shape[:2]
        zoom = float(self.rng.uniform(0.8, 1.25))
        centre = np.array([self.rng.uniform(0.35, 0.65) * ww, self.rng.uniform(0.35, 0.65) * wh])
        velocity = np.zeros(2)
        zoom_rate = 0.0
        if self.mode == "pan":
            speed = self.style.pan_speed * self.width * float(self.rng.uniform(0.4, 1.6))
            velocity = speed * _unit(self.rng.uniform(0, 2 * math.pi))
        elif self.mode == "zoom":
            zoom_rate = float(self.rng.choice([-1, 1]) * self.rng.uniform(0.002, 0.006))
            velocity = 0.3 * self.style.pan_speed * self.width * _unit(self.rng.uniform(0, 2 * math.pi))
        roll = float(self.rng.normal(0, 0.02))
        return Camera(centre, velocity, zoom, zoom_rate, roll)

    def _object(self, photo: np.ndarray) -> MovingObject:
        rng = self.rng
        side = int(round(self.height * rng.uniform(0.25, 0.5)))
        h, w = side, int(round(side * rng.uniform(0.6, 1.6)))
        # Cut the patch from a random place of the photo, at a random resolution.
        crop_scale = rng.uniform(0.15, 0.5) * min(photo.shape[:2]) / max(h, w)
        ch, cw = min(photo.shape[0], int(h * crop_scale) + 1), min(photo.shape[1], int(w * crop_scale) + 1)
        y0, x0 = int(rng.integers(0, photo.shape[0] - ch + 1)), int(rng.integers(0, photo.shape[1] - cw + 1))
        texture = cv2.resize(photo[y0 : y0 + ch, x0 : x0 + cw], (w, h), interpolation=cv2.INTER_AREA)
        texture = texture.astype(np.float32) * float(rng.uniform(0.7, 1.3))
        mask = _shape_mask(h, w, rng)
        view = self.camera.world_from_output(self.width, self.height)
        inside = view @ np.array(
            [rng.uniform(0.15, 0.85) * self.width, rng.uniform(0.15, 0.85) * self.height, 1]
        )
        speed = self.style.object_speed * self.width * float(rng.uniform(0.3, 1.7))
        return MovingObject(
            texture=np.clip(texture, 0, 255),
            mask=mask,
            position=inside[:2],
            velocity=speed * _unit(rng.uniform(0, 2 * math.pi)),
            angle=float(rng.uniform(-0.4, 0.4)),
            spin=float(rng.normal(0, 0.006)),
            growth=float(1 + rng.normal(0, 0.002)),
            target_speed=speed,
        )

    # --- dynamics --------------------------------------------------------------------------------------
    def step(self) -> None:
        """Advances camera and objects by one frame (smooth random changes of velocity, bounces)."""
        self._step_camera()
        view = self.camera.world_from_output(self.width, self.height)
        corners = view @ np.array([[0, 0, 1], [self.width - 1, self.height - 1, 1]], float).T
        low, high = corners[:2].min(axis=1), corners[:2].max(axis=1)
        for obj in self.objects:
            self._step_object(obj, low, high)

    def _step_camera(self) -> None:
        cam, rng, wh, ww = self.camera, self.rng, *self.world.shape[:2]
        # Velocity turns slowly (an Ornstein-Uhlenbeck-like drift keeps its magnitude).
        if self.mode != "still":
            cam.velocity = _turn(cam.velocity, rng.normal(0, 0.02))
        cam.centre = cam.centre + cam.velocity
        cam.zoom = float(np.clip(cam.zoom * (1 + cam.zoom_rate), 0.6, 1.5))
        if cam.zoom in (0.6, 1.5):
            cam.zoom_rate = -cam.zoom_rate
        shake = self.style.shake * self.width / 160.0
        cam.shake = 0.7 * cam.shake + rng.normal(0, shake, 2) if self.mode == "still" else 0.8 * cam.shake
        # Keep the view inside the world: bounce the pan at the borders.
        half = cam.zoom * np.array([self.width, self.height]) / 2.0 + 2
        limits = np.array([ww, wh]) - half
        for axis in range(2):
            if not half[axis] <= cam.centre[axis] <= limits[axis]:
                cam.velocity[axis] = -cam.velocity[axis]
                cam.centre[axis] = float(np.clip(cam.centre[axis], half[axis], max(half[axis], limits[axis])))

    def _step_object(self, obj: MovingObject, low: np.ndarray, high: np.ndarray) -> None:
        rng = self.rng
        obj.velocity = _turn(obj.velocity, rng.normal(0, 0.03))
        speed = np.linalg.norm(obj.velocity)
        if speed > 0:  # speed relaxes towards the object's own typical speed, with small accelerations
            new_speed = max(
                0.0, speed + 0.05 * (obj.target_speed - speed) + rng.normal(0, 0.02 * obj.target_speed)
            )
            obj.velocity = obj.velocity * (new_speed / speed)
        obj.position = obj.position + obj.velocity
        obj.angle += obj.spin
        obj.scale = float(np.clip(obj.scale * obj.growth, 0.6, 1.6))
        if obj.scale in (0.6, 1.6):
            obj.growth = 1 / obj.growth
        # Objects bounce off a box a little larger than the view, so they can half-leave the frame.
        margin = 0.15 * (high - low)
        for axis in range(2):
            if obj.position[axis] < low[axis] - margin[axis] and obj.velocity[axis] < 0:
                obj.velocity[axis] = -obj.velocity[axis]
            if obj.position[axis] > high[axis] + margin[axis] and obj.velocity[axis] > 0:
                obj.velocity[axis] = -obj.velocity[axis]

    # --- rendering -------------------------------------------------------------------------------------
    def render(self) -> np.ndarray:
        """The current frame, float32 (height, width, 3) RGB, objects composited in depth order."""
        size = (self.width, self.height)
        view = self.camera.world_from_output(self.width, self.height)
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        frame = cv2.warpAffine(self.world, view[:2], size, flags=flags, borderMode=cv2.BORDER_REFLECT101)
        for obj in self.objects:
            patch_from_output = np.linalg.inv(obj.world_from_patch()) @ view
            texture = cv2.warpAffine(obj.texture, patch_from_output[:2], size, flags=flags)
            alpha = cv2.warpAffine(obj.mask, patch_from_output[:2], size, flags=flags)[..., None]
            frame = frame * (1 - alpha) + texture * alpha
        return frame


def _unit(angle: float) -> np.ndarray:
    return np.array([math.cos(angle), math.sin(angle)])


def _turn(vector: np.ndarray, angle: float) -> np.ndarray:
    return _rotation(angle) @ vector


def _shape_mask(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A soft-edged alpha mask: ellipse, rounded box or irregular blob."""
    mask = np.zeros((h, w), np.uint8)
    kind = int(rng.integers(3))
    centre = (w // 2, h // 2)
    if kind == 0:
        cv2.ellipse(mask, centre, (max(1, w // 2 - 1), max(1, h // 2 - 1)), 0, 0, 360, 255, -1)
    elif kind == 1:
        r = max(1, min(h, w) // 5)
        cv2.rectangle(mask, (r, 0), (w - 1 - r, h - 1), 255, -1)
        cv2.rectangle(mask, (0, r), (w - 1, h - 1 - r), 255, -1)
        for x, y in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
            cv2.circle(mask, (x, y), r, 255, -1)
    else:
        angles = np.sort(rng.uniform(0, 2 * math.pi, int(rng.integers(6, 10))))
        radii = rng.uniform(0.55, 1.0, len(angles))
        points = np.stack(
            [w / 2 + (w / 2 - 1) * radii * np.cos(angles), h / 2 + (h / 2 - 1) * radii * np.sin(angles)], 1
        )
        cv2.fillPoly(mask, [points.round().astype(np.int32)], 255)
    return cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), 0.8)


class CameraEffects:
    """Per-clip lighting drift, optics blur, sensor noise and JPEG compression applied to rendered frames.

    Args:
        width: frame width (the illumination gradient and blur scale with it).
        height: frame height.
        style: the footage knobs.
        rng: the clip's randomness.

    Example:
        >>> effects = CameraEffects(160, 120, VideoStyle(), np.random.default_rng(0))
        >>> frame = effects.apply(np.full((120, 160, 3), 128, np.float32), t=0)  # uint8
    """

    def __init__(self, width: int, height: int, style: VideoStyle, rng: np.random.Generator):
        self.rng = rng
        self.noise = style.noise * float(rng.uniform(0.6, 1.4))
        quality = style.jpeg_quality
        self.quality = int(np.clip(quality + rng.integers(-15, 16), 5, 100)) if quality else 0
        self.gain_amplitude = style.lighting * float(rng.uniform(0.3, 1.0))
        self.gain_period = float(rng.uniform(80, 400))
        self.phase = float(rng.uniform(0, 2 * math.pi))
        self.blur = 0.5 * width / 160.0
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        self.xs, self.ys = (xs - width / 2) / width, (ys - height / 2) / height
        self.gradient_amplitude = 40.0 * style.lighting * float(rng.uniform(0.3, 1.0))
        self.gradient_turn = float(rng.normal(0, 0.01))

    def apply(self, frame: np.ndarray, t: int) -> np.ndarray:
        """float RGB frame -> uint8 RGB frame as a camera would record it at frame index `t`."""
        gain = 1 + self.gain_amplitude * math.sin(2 * math.pi * t / self.gain_period + self.phase)
        direction = self.phase + self.gradient_turn * t
        gradient = self.gradient_amplitude * (math.cos(direction) * self.xs + math.sin(direction) * self.ys)
        lit = frame * gain + gradient[..., None]
        if self.blur > 0.3:
            lit = cv2.GaussianBlur(lit, (0, 0), self.blur)
        noisy = lit + self.rng.normal(0, self.noise, lit.shape).astype(np.float32)
        image = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
        if self.quality:
            ok, encoded = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, self.quality])
            image = cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1] if ok else image
        return np.ascontiguousarray(image)


def render_clip(
    num_frames: int,
    width: int = 160,
    height: int = 120,
    style: VideoStyle | None = None,
    seed: int | tuple[int, ...] = 0,
    photos: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, list[int]]:
    """Renders one clip; returns (uint8 RGB frames (num_frames, height, width, 3), frame indices of cuts).

    Args:
        num_frames: number of frames.
        width: frame width.
        height: frame height.
        style: footage knobs (default `VideoStyle()`).
        seed: the clip's seed (an int or a tuple such as (set seed, clip index)).
        photos: preloaded photographs (default: every bundled one).

    Example:
        >>> frames, cuts = render_clip(30, 64, 64, seed=(0, 1))
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1; received num_frames={num_frames!r}")
    if width < 16 or height < 16:
        raise ValueError(f"width and height must be >= 16; received width={width!r} height={height!r}")
    style = style or VideoStyle()
    photos = photos or load_photos()
    rng = np.random.default_rng(seed)
    scene = Scene(photos, width, height, style, rng)
    effects = CameraEffects(width, height, style, rng)
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    cuts: list[int] = []
    for t in range(num_frames):
        if t and style.cut_every and rng.random() < 1.0 / style.cut_every:
            scene = Scene(photos, width, height, style, rng)
            cuts.append(t)
        frames[t] = effects.apply(scene.render(), t)
        scene.step()
    return frames, cuts


def time_split(num_frames: int, train_fraction: float) -> int:
    """Number of leading frames that train (the rest test): round(train_fraction * num_frames).

    Example:
        >>> time_split(300, 0.7)
        210
    """
    return int(round(check_fraction("train_fraction", train_fraction) * num_frames))


def clip_name(index: int, layout: str) -> str:
    """KTH-style `personNN_<action>_d1` (actions cycle) for the kth layout, `clip_NNN` for folders.

    Example:
        >>> clip_name(0, "kth"), clip_name(7, "folder")
        ('person01_boxing_d1', 'clip_007')
    """
    if layout == "kth":
        return f"person{index + 1:02d}_{ACTIONS[index % len(ACTIONS)]}_d1"
    return f"clip_{index:03d}"


def generate(
    out_dir: str,
    layout: str = "kth",
    clips: int = 8,
    num_frames: int = 300,
    width: int = 160,
    height: int = 120,
    train_fraction: float = 0.7,
    style: VideoStyle | None = None,
    seed: int = 0,
    video_format: str = "mp4",
    show_progress: bool = True,
) -> dict[str, object]:
    """Writes `clips` camera-like clips in the `kth` or `folder` layout; returns a summary (paths, cuts).

    Args:
        out_dir: output directory (created).
        layout: `kth` (avi + MCnet lists, time split) or `folder` (videos + dataset.json, time split).
        clips: number of clips (1..99 for the kth layout: person numbers).
        num_frames: frames per clip.
        width: frame width.
        height: frame height.
        train_fraction: leading fraction of each clip that trains.
        style: footage knobs.
        seed: the set's seed.
        video_format: `mp4` or `avi` (folder layout; the kth layout is always avi).
        show_progress: show a tqdm bar.

    Example:
        >>> summary = generate("/tmp/video_synth", clips=2, num_frames=60, width=64, height=64)
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}; received layout={layout!r}")
    if not 1 <= clips <= 99:
        raise ValueError(f"clips must be in [1, 99]; received clips={clips!r}")
    if video_format not in ("mp4", "avi"):
        raise ValueError(f"video_format must be 'mp4' or 'avi'; received video_format={video_format!r}")
    split = time_split(num_frames, train_fraction)
    if split < 2 or num_frames - split < 2:
        raise ValueError(
            f"num_frames={num_frames} with train_fraction={train_fraction} leaves a split under 2 frames"
        )
    style = style or VideoStyle()
    photos = load_photos()
    os.makedirs(out_dir, exist_ok=True)
    train_lines, test_lines, cuts = [], [], {}
    for index in tqdm(range(clips), desc="synth-video", unit="clip", disable=not show_progress):
        frames, clip_cuts = render_clip(num_frames, width, height, style, seed=(seed, index), photos=photos)
        name = clip_name(index, layout)
        cuts[name] = clip_cuts
        if layout == "kth":
            write_video(os.path.join(out_dir, f"{name}_uncomp.avi"), frames, fps=25.0)
            # The reader takes a segment's frames as [start, min(end, frames)): the two halves never overlap.
            train_lines.append(f"{name} 0 {split}")
            test_lines.append(f"{name} {split} {num_frames}")
        else:
            write_video(os.path.join(out_dir, f"{name}.{video_format}"), frames, fps=25.0)
    paths: dict[str, object] = {"out": out_dir, "cuts": cuts}
    if layout == "kth":
        for file_name, lines in (
            ("train_data_list.txt", train_lines),
            ("train_data_list_trimmed.txt", train_lines),
            ("test_data_list.txt", test_lines),
        ):
            write_text_atomic(os.path.join(out_dir, file_name), "\n".join(lines) + "\n")
            paths[file_name] = os.path.join(out_dir, file_name)
    else:
        spec = {
            "name": os.path.basename(os.path.normpath(out_dir)),
            "split": "time",
            "train_fraction": train_fraction,
        }
        write_text_atomic(os.path.join(out_dir, "dataset.json"), json.dumps(spec, indent=2) + "\n")
        paths["dataset.json"] = os.path.join(out_dir, "dataset.json")
    return paths
