"""PSNR / SSIM against independent values, and the table / npz / plot / GIF writers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from deep_rnn_tf.evaluation import video
from deep_rnn_tf.evaluation.results import ResultsWriter


def _frame(seed: int, shape=(32, 40)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8)


def test_to_uint8_truncates_like_the_original():
    values = np.array([-1.0, -0.999, 0.0, 0.999, 1.0, 1.5, -2.0])
    # (x + 1) / 2 * 255: 0, 0.1275, 127.5, 254.87, 255 -> truncated, out of range clipped
    np.testing.assert_array_equal(video.to_uint8(values), [0, 0, 127, 254, 255, 255, 0])


def test_psnr_identical_frames_is_inf_and_averages_are_capped():
    frame = _frame(0)
    assert video.psnr(frame, frame) == math.inf
    assert video.finite_mean(np.array([[30.0, np.inf]]), axis=1)[0] == pytest.approx(
        (30 + video.PSNR_CAP) / 2
    )
    scores = video.sequence_metrics(np.zeros((1, 2, 8, 8, 1)), np.zeros((1, 2, 8, 8, 1)))
    assert np.all(np.isinf(scores["psnr"])) and np.all(scores["ssim"] == 1.0)


def test_psnr_known_noise_and_uint8_cast_before_subtracting():
    target = np.full((16, 16), 100, np.uint8)
    # +-d noise of known magnitude: mse = d^2, PSNR = 10 log10(255^2 / d^2)
    signs = np.where(np.random.default_rng(1).random((16, 16)) < 0.5, -1, 1)
    for d in (1, 5, 20):
        noisy = (target.astype(int) + d * signs).astype(np.uint8)
        assert video.psnr(noisy, target) == pytest.approx(10 * math.log10(255**2 / d**2), abs=1e-9)
    # uint8 wrap-around would give |0 - 255| = 1 instead of 255.
    assert video.psnr(np.zeros((4, 4), np.uint8), np.full((4, 4), 255, np.uint8)) == pytest.approx(0.0)


def test_psnr_matches_skimage():
    a, b = _frame(2), _frame(3)
    assert video.psnr(a, b) == pytest.approx(peak_signal_noise_ratio(b, a, data_range=255))


def test_ssim_hand_computed_constant_frames():
    # Constant frames a and b: every variance/covariance is 0, so SSIM = (2ab + C1) / (a^2 + b^2 + C1).
    a, b = 100.0, 140.0
    c1 = (0.01 * 255) ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    got = video.ssim_mcnet(np.full((20, 20), a, np.uint8), np.full((20, 20), b, np.uint8))
    assert got == pytest.approx(expected, rel=1e-12)
    assert video.ssim_mcnet(_frame(4), _frame(4)) == pytest.approx(1.0)


def test_ssim_mcnet_matches_an_independent_gaussian_filter_implementation():
    x, y = _frame(5).astype(np.float64), _frame(6).astype(np.float64)
    y = 0.6 * x + 0.4 * y  # correlated, so SSIM is well away from 0

    def blur(img):  # scipy's Gaussian with radius 5 = the centred 11-tap sigma 1.5 window, reflect borders
        return gaussian_filter(img, sigma=1.5, truncate=5 / 1.5, mode="reflect")

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ssim_map = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    assert video.ssim_mcnet(y.astype(np.uint8), x.astype(np.uint8)) == pytest.approx(
        float(np.mean(blur(0 * x) + ssim_map)), rel=1e-3
    )
    # skimage uses the same window but averages only the interior (border of 5 cropped).
    interior = float(np.mean(ssim_map[5:-5, 5:-5]))
    skimage_value = structural_similarity(
        x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )
    assert skimage_value == pytest.approx(interior, rel=1e-6)


def test_openstl_convention_differs_from_mcnet():
    rng = np.random.default_rng(7)
    target = rng.uniform(-1, 1, (2, 3, 16, 16, 1))
    prediction = np.clip(target + rng.normal(0, 0.05, target.shape), -1, 1)
    mcnet = video.sequence_metrics(prediction, target, "mcnet")
    openstl = video.sequence_metrics(prediction, target, "openstl")
    assert mcnet["psnr"].shape == (2, 3) == openstl["ssim"].shape
    # OpenSTL's PSNR on [0, 1] floats: -10 log10(mse) of the rescaled frames, no quantisation.
    mse = np.mean(((prediction[0, 0] - target[0, 0]) / 2) ** 2)
    assert openstl["psnr"][0, 0] == pytest.approx(-10 * math.log10(mse))
    assert abs(mcnet["psnr"][0, 0] - openstl["psnr"][0, 0]) < 1.0
    with pytest.raises(ValueError, match="convention"):
        video.sequence_metrics(prediction, target, "psnr-of-my-dreams")
    with pytest.raises(ValueError, match="shapes differ"):
        video.sequence_metrics(prediction, target[:, :2])


def test_table_npz_plot_and_gifs(tmp_path):
    results = {
        "model": {
            "psnr": np.array([[30.0, 25.0], [32.0, np.inf]]),
            "ssim": np.array([[0.9, 0.8], [0.7, 0.6]]),
        },
        "copy-last": {"psnr": np.full((2, 2), 20.0), "ssim": np.full((2, 2), 0.5)},
    }
    table = video.per_step_table(results)
    lines = table.splitlines()
    assert lines[0] == "| model | metric | T1 | T2 | avg |"
    assert lines[2] == "| model | PSNR | 31.00 | 62.50 | 46.75 |"
    assert lines[3] == "| model | SSIM | 0.800 | 0.700 | 0.750 |"
    by_video = video.per_video_table(["clip_b", "clip_a"], results).splitlines()
    assert by_video[0] == "| video | windows | model PSNR | model SSIM | copy-last PSNR | copy-last SSIM |"
    assert by_video[2] == "| clip_b | 1 | 27.50 | 0.850 | 20.00 | 0.500 |"
    assert by_video[3] == "| clip_a | 1 | 66.00 | 0.650 | 20.00 | 0.500 |"
    grouped = video.per_video_table(["clip_a", "clip_a"], results).splitlines()
    assert len(grouped) == 3 and grouped[2].startswith("| clip_a | 2 | 46.75 | 0.750 |")
    with pytest.raises(ValueError, match="2 windows for 3 video names"):
        video.per_video_table(["a", "b", "c"], results)
    writer = ResultsWriter(tmp_path)
    path = writer.npz(
        "q/results_model=MCNET.npz",
        **video.metrics_arrays(results["model"]["psnr"], results["model"]["ssim"]),
    )
    loaded = np.load(path)
    assert loaded["psnr"].shape == (2, 2) and np.isinf(loaded["psnr"][1, 1])
    with pytest.raises(ValueError, match="windows, T"):
        video.metrics_arrays(np.zeros(3), np.zeros(3))
    assert writer.figure("plot.png", video.per_step_figure(results)).stat().st_size > 1000
    # Distinct frames: GIF encoders merge identical consecutive frames.
    inputs = np.stack([np.full((12, 12), 50 + i, np.uint8) for i in range(2)])
    future = np.stack([np.full((12, 12), 200 + i, np.uint8) for i in range(3)])
    paths = video.write_prediction_gifs(writer.sub("gif"), inputs, future, future)
    import imageio.v2 as imageio

    frames = imageio.mimread(paths[1])
    assert len(frames) == 5
    assert tuple(frames[0][0, 0, :3]) == video.GREEN and tuple(frames[4][0, 0, :3]) == video.RED
    assert tuple(frames[4][6, 6, :3]) == (202, 202, 202)
    assert np.asarray(imageio.mimread(paths[2])[0]).shape[1] == 12 * 2 + 4
