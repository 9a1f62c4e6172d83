"""The annotation tool's model: a polygon export's `annotate` / `correct` signatures, loaded with plain TF.

Example:
    >>> model = AnnotationModel.load("saved_models/polygon")
    >>> result = model.annotate(image, (100, 50, 300, 200))
    >>> result["vertices"], result["latency_ms"]
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from deep_rnn_tf._tf_import import import_tensorflow

REQUIRED_SIGNATURES = ("annotate", "correct")


def resolve_model_dir(model: str | os.PathLike, version: int | None = None) -> Path:
    """``<model>/<version>`` (the newest integer version if None), or `model` itself if it is a SavedModel.

    Raises:
        FileNotFoundError: no such folder / version, or no ``saved_model.pb`` (one line naming the path).

    Example:
        >>> resolve_model_dir("saved_models/polygon", 2)
        PosixPath('saved_models/polygon/2')
    """
    base = Path(model)
    if not base.is_dir():
        raise FileNotFoundError(
            f"--model {model}: no such folder (export one with `deep-rnn export polygon`)"
        )
    if version is not None:
        path = base / str(version)
        if not (path / "saved_model.pb").is_file():
            raise FileNotFoundError(f"--model {model} --version {version}: no SavedModel at {path}")
        return path
    if (base / "saved_model.pb").is_file():
        return base
    numbered = sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit())
    for number in reversed(numbered):
        if (base / str(number) / "saved_model.pb").is_file():
            return base / str(number)
    raise FileNotFoundError(f"--model {model}: no SavedModel (saved_model.pb) in it or in a version folder")


class AnnotationModel:
    """Calls an export's `annotate` / `correct` (greedy) or `*_beam` signatures on numpy inputs.

    Args:
        loaded: the object `tf.saved_model.load` returned (kept alive here).
        path: the SavedModel folder (for messages).

    Example:
        >>> model = AnnotationModel.load("saved_models/polygon", version=1)
    """

    def __init__(self, loaded: Any, path: Path):
        missing = [name for name in REQUIRED_SIGNATURES if name not in loaded.signatures]
        if missing:
            raise ValueError(
                f"{path}: not a polygon annotation export (signatures {sorted(loaded.signatures)}, no "
                f"{missing}); export a polygon run with `deep-rnn export polygon`"
            )
        self.loaded = loaded
        self.path = path
        self.signatures = loaded.signatures

    @classmethod
    def load(
        cls, model: str | os.PathLike, version: int | None = None, debug: bool = False
    ) -> AnnotationModel:
        """Resolves and loads the export (see :func:`resolve_model_dir`); errors are one line.

        TensorFlow is imported here, without its C++ start-up lines unless `debug`.
        """
        path = resolve_model_dir(model, version)  # before the slow TensorFlow import
        tf = import_tensorflow(debug)

        try:
            loaded = tf.saved_model.load(str(path))
        except (OSError, ValueError, RuntimeError) as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ValueError(f"{path}: cannot load the SavedModel ({first})") from None
        return cls(loaded, path)

    def warm_up(self) -> float:
        """Calls `annotate` and `correct` once on a blank image, so the first real call is not the one
        that pays TensorFlow's one-off graph optimisation (about a second per signature); returns seconds.
        """
        started = time.perf_counter()
        blank = np.zeros((64, 64, 3), np.uint8)
        self.annotate(blank, (8, 8, 56, 56))
        self.annotate(blank, (8, 8, 56, 56), prefix=np.array([[10.0, 10.0]]))
        return time.perf_counter() - started

    def annotate(
        self, image: np.ndarray, box: tuple[float, ...], prefix: np.ndarray | None = None, beam_width: int = 1
    ) -> dict[str, Any]:
        """Box (x0, y0, x1, y1) [+ fixed prefix (K, 2)] -> {"vertices", "scores", "crop_box", "latency_ms"}.

        Raises:
            ValueError: a beam width outside [1, 5] or a box the export refuses (one line).
        """
        import tensorflow as tf

        from deep_rnn_tf.tasks.polygon.annotation import MAX_BEAM_WIDTH

        if not 1 <= int(beam_width) <= MAX_BEAM_WIDTH:
            raise ValueError(f"beam width must be in [1, {MAX_BEAM_WIDTH}]; received {beam_width!r}")
        inputs = {
            "image": tf.constant(np.ascontiguousarray(image, dtype=np.uint8)),
            "box": tf.constant(np.asarray(box, np.float32).reshape(4)),
        }
        name = "annotate"
        if prefix is not None and len(prefix):
            inputs["prefix"] = tf.constant(np.asarray(prefix, np.float32).reshape(-1, 2))
            name = "correct"
        if beam_width > 1:
            inputs["beam_width"] = tf.constant(int(beam_width), tf.int32)
            name += "_beam"
            if name not in self.signatures:
                raise ValueError(f"{self.path}: this export has no {name!r} signature (beam search)")
        started = time.perf_counter()
        try:
            outputs = self.signatures[name](**inputs)
        except tf.errors.InvalidArgumentError as error:
            raise ValueError(_assertion_text(error)) from None
        latency = (time.perf_counter() - started) * 1000.0
        return {
            "vertices": outputs["vertices"].numpy().tolist(),
            "scores": outputs["scores"].numpy().tolist(),
            "crop_box": outputs["crop_box"].numpy().tolist(),
            "signature": name,
            "latency_ms": round(latency, 1),
        }


def _assertion_text(error: Exception) -> str:
    """The message of a failed in-graph assertion, without TF's node and stack lines."""
    for line in str(error).splitlines():
        if "assertion failed:" in line:
            text = line.split("assertion failed:", 1)[1].strip()
            return text.replace("] [", " ").strip("[]")
    return str(error).strip().splitlines()[0]
