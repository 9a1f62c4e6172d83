"""Polygon IoU against hand-computed cases, summaries, the Markdown table and overlays."""

from __future__ import annotations

import numpy as np
import pytest

from deep_rnn_tf.data.video_io import read_image
from deep_rnn_tf.evaluation.polygon import (
    box_polygon,
    iou_markdown_table,
    overlay_image,
    polygon_iou,
    rasterize_polygon,
    summarize_iou,
)
from deep_rnn_tf.evaluation.results import ResultsWriter

SQUARE = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], np.float64)  # 11 x 11 = 121 pixel centres


def test_rasterize_counts_pixel_centres_on_the_boundary():
    assert rasterize_polygon(SQUARE, (20, 20)).sum() == 121
    assert rasterize_polygon(SQUARE + 5, (10, 10), offset=(5, 5)).sum() == 100  # clipped to the window
    assert rasterize_polygon(np.zeros((0, 2)), (5, 5)).sum() == 0


@pytest.mark.parametrize(
    "pred, expected",
    [
        (SQUARE, 1.0),
        (SQUARE + 5, 36 / (121 + 121 - 36)),  # 6 x 6 overlap
        (SQUARE + 100, 0.0),
        (np.array([[0, 0], [10, 0], [10, 4], [0, 4]]), 55 / 121),  # 11 x 5 inside 11 x 11
        (np.array([[0, 0], [20, 0], [20, 10], [0, 10]]), 121 / 231),  # 21 x 11 around 11 x 11
    ],
)
def test_polygon_iou_hand_computed(pred, expected):
    assert polygon_iou(pred, SQUARE, (200, 200)) == pytest.approx(expected)


def test_polygon_iou_clips_to_image_and_handles_degenerate():
    # Only the part inside a 6 x 6 image counts: 6 x 6 of each square's pixels.
    assert polygon_iou(SQUARE, SQUARE, (6, 6)) == 1.0
    assert polygon_iou(np.zeros((0, 2)), SQUARE, (50, 50)) == 0.0
    assert polygon_iou(np.array([[3, 3], [3, 3], [3, 3]]), SQUARE, (50, 50)) == pytest.approx(1 / 121)
    with pytest.raises(ValueError, match="image_size"):
        polygon_iou(SQUARE, SQUARE, (0, 10))


def test_box_baseline_polygon():
    triangle = np.array([[0, 0], [10, 10], [0, 10]], np.float64)
    np.testing.assert_array_equal(box_polygon(triangle), SQUARE)
    assert polygon_iou(box_polygon(triangle), triangle, (50, 50)) == pytest.approx(66 / 121)


def test_summaries_class_and_instance_means():
    summary = summarize_iou(["car", "car", "car", "bus"], [1.0, 0.5, 0.0, 1.0], ["person", "car", "bus"])
    assert summary.per_class == {"car": 0.5, "bus": 1.0}
    assert summary.counts == {"person": 0, "car": 3, "bus": 1}
    assert summary.class_mean == pytest.approx(0.75)  # Polygon-RNN++ convention
    assert summary.instance_mean == pytest.approx(0.625)  # the original code's
    with pytest.raises(ValueError, match="not in classes"):
        summarize_iou(["tram"], [0.3], ["car"])
    table = iou_markdown_table({"ours": summary}, ["person", "car", "bus"])
    assert "| ours | - | 50.0 | 100.0 | 75.0 | 62.5 |" in table
    assert table.splitlines()[0].startswith("| model | person (0) | car (3) | bus (1)")


def test_overlay_is_written(tmp_path):
    overlay = overlay_image(
        np.zeros((20, 30, 3), np.uint8), [(SQUARE, (0, 255, 0)), (SQUARE + 3, (255, 0, 0))], scale=2
    )
    path = ResultsWriter(tmp_path).image("sub/overlay.png", overlay)
    image = read_image(path)
    assert image.shape == (40, 60, 3) and image[..., 1].max() > 0 and image[..., 0].max() > 0
