"""Video-prediction metrics and outputs: PSNR / SSIM per future step, tables, npz, plots and GIFs.

Two conventions (see the spec's "Metrics conventions"):

- **MCnet** (the paper's, primary): frames in [-1, 1] are mapped to uint8 by truncation ((x + 1) / 2 * 255,
  clipped, cast), cast to float64 *before* subtracting; PSNR per frame with data range 255 (skimage's
  `peak_signal_noise_ratio`); SSIM per frame with a centred 11-tap Gaussian window (sigma 1.5), K1 0.01,
  K2 0.03, L 255, separable correlation with 'reflect' borders, mean over the whole map (pyssim, as the
  original used it, with its Python 3 half-pixel kernel shift fixed).
- **OpenSTL**: frames in [0, 1] as floats (no quantisation), PSNR per frame = -10 log10(mse); SSIM per
  frame with skimage's default 7x7 uniform window and `data_range=2.0` (what skimage inferred for float
  images when OpenSTL published its numbers).

Identical frames give PSNR = inf (as skimage); averages over steps and windows use `finite_mean`, which caps
inf at `PSNR_CAP` dB so that a table stays readable (the npz files keep the raw values).

The table, figure, npz-array and GIF helpers are generic; every file goes through `ResultsWriter`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.ndimage import correlate1d
from skimage.metrics import structural_similarity

from deep_rnn_tf.evaluation.results import ResultsWriter
from deep_rnn_tf.layers.windows import gaussian_kernel

PSNR_CAP = 100.0
GREEN = (0, 255, 0)
RED = (255, 0, 0)


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """[-1, 1] frames -> uint8 by truncation, as the original: ((x + 1) / 2 * 255) clipped to [0, 255], cast.

    Example:
        >>> to_uint8(np.array([-1.0, 0.0, 1.0]))
        array([  0, 127, 255], dtype=uint8)
    """
    scaled = (np.asarray(frames, np.float64) + 1.0) / 2.0 * 255.0
    return np.clip(scaled, 0, 255).astype(np.uint8)


def psnr(prediction: np.ndarray, target: np.ndarray, data_range: float = 255.0) -> float:
    """PSNR of one frame pair in dB (inf for identical frames); arrays are cast to float64 before subtracting.

    Args:
        prediction: a frame (any shape, e.g. uint8 (H, W) or (H, W, 1)).
        target: the ground-truth frame, same shape.
        data_range: the value range (255 for uint8, 1.0 for [0, 1] floats).

    Example:
        >>> psnr(np.zeros((4, 4), np.uint8), np.full((4, 4), 5, np.uint8))  # 10 log10(255^2 / 25)
        34.15...
    """
    _check_same_shape(prediction, target)
    mse = np.mean((np.asarray(prediction, np.float64) - np.asarray(target, np.float64)) ** 2)
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(data_range**2 / mse))


def ssim_mcnet(
    prediction: np.ndarray,
    target: np.ndarray,
    data_range: float = 255.0,
    window: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> float:
    """SSIM of one grey frame pair as the original computed it (pyssim, centred Gaussian, reflect, full mean).

    Args:
        prediction: grey frame (H, W) or (H, W, 1), uint8 or float on the scale of `data_range`.
        target: ground truth, same shape.
        data_range: L in the SSIM constants.
        window: Gaussian window width.
        sigma: Gaussian standard deviation.
        k1, k2: SSIM stability constants.

    Example:
        >>> frame = np.random.default_rng(0).integers(0, 256, (32, 32)).astype(np.uint8)
        >>> ssim_mcnet(frame, frame)
        1.0
    """
    _check_same_shape(prediction, target)
    x, y = _grey(prediction), _grey(target)
    kernel = gaussian_kernel(window, sigma)

    def blur(image: np.ndarray) -> np.ndarray:
        return correlate1d(correlate1d(image, kernel, axis=0, mode="reflect"), kernel, axis=1, mode="reflect")

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(np.mean(ssim_map))


def ssim_openstl(prediction: np.ndarray, target: np.ndarray) -> float:
    """SSIM of one [0, 1] float frame pair as OpenSTL computes it (skimage defaults, data_range 2.0).

    Example:
        >>> frame = np.random.default_rng(0).random((16, 16))
        >>> ssim_openstl(frame, frame)
        1.0
    """
    _check_same_shape(prediction, target)
    return float(structural_similarity(_grey(prediction), _grey(target), data_range=2.0))


def _grey(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame, np.float64)
    if frame.ndim == 3 and frame.shape[-1] == 1:
        frame = frame[..., 0]
    if frame.ndim != 2:
        raise ValueError(f"expected a grey frame (H, W) or (H, W, 1); received shape={frame.shape}")
    return frame


def _check_same_shape(a: np.ndarray, b: np.ndarray) -> None:
    if np.shape(a) != np.shape(b):
        raise ValueError(f"prediction and target shapes differ: {np.shape(a)} vs {np.shape(b)}")


def sequence_metrics(
    prediction: np.ndarray, target: np.ndarray, convention: str = "mcnet"
) -> dict[str, np.ndarray]:
    """Per-window, per-step PSNR and SSIM of predicted sequences.

    Args:
        prediction: (N, T, H, W[, 1]) frames in [-1, 1].
        target: ground truth, same shape.
        convention: `"mcnet"` (uint8, the paper's protocol) or `"openstl"` ([0, 1] floats).

    Returns:
        {"psnr": float64 (N, T), "ssim": float64 (N, T)}.

    Example:
        >>> x = np.zeros((1, 2, 8, 8, 1))
        >>> sequence_metrics(x, x)["ssim"]
        array([[1., 1.]])
    """
    _check_same_shape(prediction, target)
    if np.ndim(prediction) not in (4, 5):
        raise ValueError(f"expected (N, T, H, W[, 1]) sequences; received shape={np.shape(prediction)}")
    if convention == "mcnet":
        pred, true = to_uint8(prediction), to_uint8(target)
        psnr_fn, ssim_fn = (lambda a, b: psnr(a, b, 255.0)), ssim_mcnet
    elif convention == "openstl":
        pred = np.clip((np.asarray(prediction, np.float64) + 1.0) / 2.0, 0.0, 1.0)
        true = np.clip((np.asarray(target, np.float64) + 1.0) / 2.0, 0.0, 1.0)
        psnr_fn, ssim_fn = (lambda a, b: psnr(a, b, 1.0)), ssim_openstl
    else:
        raise ValueError(f"convention must be 'mcnet' or 'openstl'; received convention={convention!r}")
    num, steps = np.shape(prediction)[:2]
    scores = {"psnr": np.empty((num, steps)), "ssim": np.empty((num, steps))}
    for i in range(num):
        for t in range(steps):
            scores["psnr"][i, t] = psnr_fn(pred[i, t], true[i, t])
            scores["ssim"][i, t] = ssim_fn(pred[i, t], true[i, t])
    return scores


def openstl_errors(prediction: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """OpenSTL's MSE and MAE per window and step: squared / absolute error summed over one frame's pixels.

    Frames in [-1, 1] are mapped to [0, 1] floats (no quantisation). OpenSTL's table values are
    `np.mean(err, axis=(0, 1)).sum()` over (batch, time, C, H, W), i.e. these arrays' mean over windows and
    steps (e.g. Moving MNIST 64x64: ConvLSTM-S MSE 29.80, MAE 90.64).

    Args:
        prediction: (N, T, H, W[, C]) frames in [-1, 1].
        target: ground truth, same shape.

    Returns:
        {"mse": float64 (N, T), "mae": float64 (N, T)}.

    Example:
        >>> errors = openstl_errors(np.zeros((1, 2, 4, 4)), np.full((1, 2, 4, 4), -1.0))
        >>> errors["mse"], errors["mae"]  # 16 pixels off by 0.5 each
        (array([[4., 4.]]), array([[8., 8.]]))
    """
    _check_same_shape(prediction, target)
    if np.ndim(prediction) not in (4, 5):
        raise ValueError(f"expected (N, T, H, W[, C]) sequences; received shape={np.shape(prediction)}")
    pred = np.clip((np.asarray(prediction, np.float64) + 1.0) / 2.0, 0.0, 1.0)
    true = np.clip((np.asarray(target, np.float64) + 1.0) / 2.0, 0.0, 1.0)
    pixels = tuple(range(2, pred.ndim))
    diff = pred - true
    return {"mse": np.sum(diff**2, axis=pixels), "mae": np.sum(np.abs(diff), axis=pixels)}


def finite_mean(values: np.ndarray, axis: int | None = None, cap: float = PSNR_CAP) -> np.ndarray:
    """Mean with +inf replaced by `cap` (PSNR of identical frames), so that averages stay finite.

    Example:
        >>> finite_mean(np.array([30.0, np.inf]))
        np.float64(65.0)
    """
    return np.mean(np.minimum(np.asarray(values, np.float64), cap), axis=axis)


def _metric_format(metric: str) -> str:
    """How the Markdown tables print a metric: PSNR in dB to 2 decimals, SSIM to 3."""
    return "{:.2f}" if metric == "psnr" else "{:.3f}"


def per_step_table(
    results: Mapping[str, Mapping[str, np.ndarray]], metrics: Sequence[str] = ("psnr", "ssim")
) -> str:
    """A Markdown table like the paper's: one row per (model, metric), columns T1..Tn and the average.

    Args:
        results: model name -> {"psnr": (N, T), "ssim": (N, T)}.
        metrics: which metrics to show, in order.

    Example:
        >>> print(per_step_table({"copy-last": {"psnr": np.full((2, 2), 30.0), "ssim": np.ones((2, 2))}}))
        | model | metric | T1 | T2 | avg |
        ...
    """
    steps = max(np.shape(scores[m])[1] for scores in results.values() for m in metrics)
    header = "| model | metric | " + " | ".join(f"T{t + 1}" for t in range(steps)) + " | avg |"
    lines = [header, "|" + "---|" * (steps + 3)]
    for name, scores in results.items():
        for metric in metrics:
            per_step = finite_mean(scores[metric], axis=0)
            fmt = _metric_format(metric)
            cells = [fmt.format(v) for v in per_step] + [""] * (steps - len(per_step))
            lines.append(
                f"| {name} | {metric.upper()} | " + " | ".join(cells) + f" | {fmt.format(per_step.mean())} |"
            )
    return "\n".join(lines)


def per_video_table(
    videos: Sequence[str],
    results: Mapping[str, Mapping[str, np.ndarray]],
    metrics: Sequence[str] = ("psnr", "ssim"),
) -> str:
    """A Markdown table of each test video's scores (mean over its windows and steps), one column per
    (model, metric): where a model wins or loses against its peers, which the average over all windows
    hides when one video carries most of a difference.

    Args:
        videos: the video of each window, in the order of the arrays' rows.
        results: model name -> {"psnr": (N, T), "ssim": (N, T)}, N = len(videos).
        metrics: which metrics to show, in order.

    Example:
        >>> scores = {"copy": {"psnr": np.array([[30.0], [20.0]]), "ssim": np.ones((2, 1))}}
        >>> print(per_video_table(["a", "b"], scores))
        | video | windows | copy PSNR | copy SSIM |
        |---|---|---|---|
        | a | 1 | 30.00 | 1.000 |
        | b | 1 | 20.00 | 1.000 |
    """
    videos = list(videos)
    for name, scores in results.items():
        for metric in metrics:
            if np.shape(scores[metric])[0] != len(videos):
                raise ValueError(
                    f"{name} {metric}: {np.shape(scores[metric])[0]} windows for {len(videos)} video names"
                )
    columns = [(name, metric) for name in results for metric in metrics]
    lines = [
        "| video | windows | " + " | ".join(f"{name} {metric.upper()}" for name, metric in columns) + " |",
        "|" + "---|" * (len(columns) + 2),
    ]
    rows = np.asarray(videos)
    for name_of_video in dict.fromkeys(videos):
        mine = rows == name_of_video
        cells = [
            _metric_format(metric).format(finite_mean(np.asarray(results[name][metric])[mine]))
            for name, metric in columns
        ]
        lines.append(f"| {name_of_video} | {int(mine.sum())} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def metrics_arrays(psnr_values: np.ndarray, ssim_values: np.ndarray, **extra: np.ndarray) -> dict:
    """The arrays of a `results_model=<name>.npz` file: `psnr` and `ssim` [windows, T] plus `extra`.

    Example:
        >>> arrays = metrics_arrays(np.zeros((3, 20)), np.zeros((3, 20)))
        >>> sorted(arrays)
        ['psnr', 'ssim']
        >>> writer.npz("results_model=MCNET.npz", **arrays)  # doctest: +SKIP
    """
    if np.shape(psnr_values) != np.shape(ssim_values) or np.ndim(psnr_values) != 2:
        raise ValueError(
            f"psnr and ssim must both be [windows, T]; received {np.shape(psnr_values)} "
            f"and {np.shape(ssim_values)}"
        )
    return {"psnr": psnr_values, "ssim": ssim_values, **extra}


def per_step_figure(results: Mapping[str, Mapping[str, np.ndarray]], title: str = ""):
    """A matplotlib figure of PSNR and SSIM per future step, one line per model (write it with
    `ResultsWriter.figure`).

    Example:
        >>> figure = per_step_figure({"model": {"psnr": np.full((2, 5), 30.0), "ssim": np.ones((2, 5))}})
        >>> writer.figure("per_step.png", figure)  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name, scores in results.items():
        for axis, metric in zip(axes, ("psnr", "ssim"), strict=True):
            per_step = finite_mean(scores[metric], axis=0)
            axis.plot(np.arange(1, len(per_step) + 1), per_step, marker="o", label=name)
    for axis, label in zip(axes, ("PSNR (dB)", "SSIM"), strict=True):
        axis.set_xlabel("future step t")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
        axis.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def add_border(frames: np.ndarray, colour: tuple[int, int, int], width: int = 2) -> np.ndarray:
    """Paints a coloured frame of `width` pixels around each uint8 image; grey input becomes RGB.

    Args:
        frames: uint8 (T, H, W), (T, H, W, 1) or (T, H, W, 3).
        colour: RGB colour.
        width: border width in pixels.

    Example:
        >>> add_border(np.zeros((1, 8, 8), np.uint8), GREEN)[0, 0, 0]
        array([  0, 255,   0], dtype=uint8)
    """
    rgb = _to_rgb(frames).copy()
    rgb[:, :width], rgb[:, -width:], rgb[:, :, :width], rgb[:, :, -width:] = colour, colour, colour, colour
    return rgb


def _to_rgb(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8; received dtype={frames.dtype}")
    if frames.ndim == 4 and frames.shape[-1] == 3:
        return frames
    if frames.ndim == 4 and frames.shape[-1] == 1:
        frames = frames[..., 0]
    if frames.ndim != 3:
        raise ValueError(f"frames must be (T, H, W[, 1|3]); received shape={frames.shape}")
    return np.repeat(frames[..., None], 3, axis=-1)


def framed_sequence(frames: np.ndarray, num_inputs: int, width: int = 2) -> np.ndarray:
    """The original's qualitative colouring: the first `num_inputs` frames framed green, the rest red.

    Example:
        >>> framed_sequence(np.zeros((4, 8, 8), np.uint8), num_inputs=2).shape
        (4, 8, 8, 3)
    """
    return np.concatenate(
        [add_border(frames[:num_inputs], GREEN, width), add_border(frames[num_inputs:], RED, width)], axis=0
    )


def write_prediction_gifs(
    writer: ResultsWriter, inputs: np.ndarray, target: np.ndarray, prediction: np.ndarray, fps: float = 7.0
) -> list:
    """Writes gt.gif, pred.gif (inputs framed green, future frames red) and gt_pred.gif (side by side).

    Args:
        writer: the results writer of the window's folder (e.g. ``images/KTH/<run>/<video>.<j>-<j+T>``).
        inputs: uint8 (K, H, W[, 1]) observed frames.
        target: uint8 (T, H, W[, 1]) ground-truth future.
        prediction: uint8 (T, H, W[, 1]) predicted future.
        fps: frames per second.

    Returns:
        The written paths.

    Example:
        >>> writer = ResultsWriter("out/video.1-21")
        >>> inputs, frames = np.zeros((2, 8, 8), np.uint8), np.zeros((3, 8, 8), np.uint8)
        >>> write_prediction_gifs(writer, inputs, frames, frames)  # doctest: +SKIP
        [PosixPath('out/video.1-21/gt.gif'), PosixPath('out/video.1-21/pred.gif'), ...]
    """
    num_inputs = len(inputs)
    gt = framed_sequence(np.concatenate([_to_rgb(inputs), _to_rgb(target)]), num_inputs)
    pred = framed_sequence(np.concatenate([_to_rgb(inputs), _to_rgb(prediction)]), num_inputs)
    spacer = np.full((len(gt), gt.shape[1], 4, 3), 255, np.uint8)
    sequences = {"gt.gif": gt, "pred.gif": pred, "gt_pred.gif": np.concatenate([gt, spacer, pred], axis=2)}
    return [writer.gif(name, frames, fps) for name, frames in sequences.items()]
