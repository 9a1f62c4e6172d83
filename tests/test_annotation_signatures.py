"""The polygon export's `annotate` / `correct` signatures: graph crop geometry, decoding, plain-TF reload."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from annotation_fixtures import polygon_export

from deep_rnn_tf.data.polygon_graph import (
    crop_and_resize_tf,
    crop_points_to_tokens_tf,
    crop_to_image_tf,
    expand_box_tf,
    image_to_crop_tf,
    tokens_to_crop_points_tf,
)
from deep_rnn_tf.data.polygons.geometry import (
    EVAL_CONTEXT,
    CropMeta,
    crop_and_resize,
    crop_to_image,
    expand_box,
    image_to_crop,
)
from deep_rnn_tf.data.polygons.grid import (
    cells_to_crop_points,
    cells_to_tokens,
    crop_points_to_cells,
    tokens_to_cells,
)
from deep_rnn_tf.tasks.polygon.annotation import PolygonAnnotator


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return polygon_export(tmp_path_factory)


def test_graph_geometry_matches_the_crop_code():
    rng = np.random.default_rng(0)
    for _ in range(50):
        height, width = (int(v) for v in rng.integers(20, 400, 2))
        points = rng.uniform(-30, [width + 30, height + 30], size=(int(rng.integers(2, 8)), 2))
        points = np.round(points) if rng.random() < 0.5 else points
        context = float(rng.choice([0.0, 0.1, EVAL_CONTEXT, 0.2]))
        box = expand_box(points, height, width, context)
        assert tuple(expand_box_tf(tf.constant(points), height, width, context).numpy()) == box
        meta = CropMeta("car", height, width, box, points)
        crop_points = image_to_crop(points, meta)
        np.testing.assert_allclose(image_to_crop_tf(points, tf.constant(box)).numpy(), crop_points, atol=1e-9)
        np.testing.assert_allclose(crop_to_image_tf(crop_points, tf.constant(box)).numpy(), points, atol=1e-9)
        tokens = cells_to_tokens(crop_points_to_cells(crop_points))
        np.testing.assert_array_equal(crop_points_to_tokens_tf(crop_points).numpy(), tokens)
        np.testing.assert_allclose(
            tokens_to_crop_points_tf(tokens).numpy(), cells_to_crop_points(tokens_to_cells(tokens))
        )
    image = rng.integers(0, 256, (180, 260, 3)).astype(np.uint8)
    for box in [(0, 0, 260, 180), (10, 20, 60, 41), (100, 5, 250, 170), (7, 7, 8, 8)]:
        expected = crop_and_resize(image, box).astype(int)
        got = crop_and_resize_tf(tf.constant(image), tf.constant(box)).numpy().astype(int)
        assert got.shape == expected.shape == (224, 224, 3)
        # OpenCV interpolates uint8 in fixed point: at most one grey level apart.
        assert np.abs(got - expected).max() <= 1, box


def test_greedy_decoding_equals_the_models_decode(export):
    _, model = export
    annotator = PolygonAnnotator(model)
    crops = np.random.default_rng(1).integers(0, 256, (3, 224, 224, 3)).astype(np.uint8)
    expected = model.decode(crops)
    for index, crop in enumerate(crops):
        tokens, scores = annotator.decode_crop(crop, tf.zeros([0], tf.int32), 1)
        length = int(expected["length"][index])
        np.testing.assert_array_equal(tokens.numpy(), expected["tokens"].numpy()[index, :length])
        assert np.all((scores.numpy() > 0) & (scores.numpy() <= 1))
    with pytest.raises(ValueError, match="needs a PolygonRNN"):
        PolygonAnnotator(object())


# Runs where deep_rnn_tf is never imported: the signatures must stand on plain TensorFlow.
_PLAIN_TF = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    loaded = tf.saved_model.load(sys.argv[1])
    sig = loaded.signatures
    rng = np.random.default_rng(0)
    image = tf.constant(rng.integers(0, 256, (150, 260, 3)).astype(np.uint8))
    def call(name, **kwargs):
        try:
            out = sig[name](image=image, **kwargs)
        except tf.errors.InvalidArgumentError as error:
            return {"error": str(error)}
        return {k: v.numpy().tolist() for k, v in out.items()}
    box = tf.constant([40.0, 30.0, 160.0, 120.0])
    prefix = tf.constant([[45.5, 33.0], [150.0, 40.0], [155.0, 100.0]])
    results = {
        "signatures": sorted(sig),
        "modules": sorted(m for m in sys.modules if m.startswith("deep_rnn")),
        "annotate": call("annotate", box=box),
        "reversed": call("annotate", box=tf.constant([160.0, 120.0, 40.0, 30.0])),
        "outside": call("annotate", box=tf.constant([-80.0, -40.0, 900.0, 700.0])),
        "degenerate": call("annotate", box=tf.constant([50.0, 50.0, 52.0, 90.0])),
        "correct": call("correct", box=box, prefix=prefix),
        "beam1": call("annotate_beam", box=box, beam_width=tf.constant(1)),
        "beam3": call("correct_beam", box=box, prefix=prefix[:1], beam_width=tf.constant(3)),
        "beam9": call("annotate_beam", box=box, beam_width=tf.constant(9)),
    }
    print(json.dumps(results))
    """
)


@pytest.fixture(scope="module")
def plain_tf_results(export):
    path, _ = export
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", _PLAIN_TF, str(path)], capture_output=True, text=True, timeout=300, env=env,
        cwd="/",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _check_polygon(out, box_points, height=150, width=260):
    vertices = np.asarray(out["vertices"], np.float64).reshape(-1, 2)
    assert out["length"] == len(vertices) == len(out["scores"]) == len(out["tokens"]) >= 3
    crop_box = expand_box(np.asarray(box_points, np.float64), height, width, EVAL_CONTEXT)
    assert tuple(out["crop_box"]) == crop_box
    # Decoded vertices are cell centres mapped to image pixels through the crop box.
    meta = CropMeta("car", height, width, crop_box, np.zeros((3, 2)))
    return vertices, meta


def test_annotate_returns_image_pixels(plain_tf_results):
    results = plain_tf_results
    assert results["modules"] == []
    assert {"serving_default", "annotate", "correct", "annotate_beam", "correct_beam"} <= set(
        results["signatures"]
    )
    out = results["annotate"]
    vertices, meta = _check_polygon(out, [[40.0, 30.0], [160.0, 120.0]])
    expected = crop_to_image(cells_to_crop_points(tokens_to_cells(out["tokens"])), meta)
    np.testing.assert_allclose(vertices, expected, atol=1e-3)
    x0, y0, x1, y1 = meta.box
    assert np.all((vertices >= [x0 - 0.5, y0 - 0.5]) & (vertices <= [x1 - 0.5, y1 - 0.5]))
    assert np.all((np.asarray(out["scores"]) > 0) & (np.asarray(out["scores"]) <= 1))
    assert results["reversed"] == out  # corners in any order
    assert results["beam1"] == out  # beam width 1 is greedy


def test_box_outside_is_clipped_and_degenerate_refused(plain_tf_results):
    outside = plain_tf_results["outside"]
    assert outside["crop_box"] == [0, 0, 260, 150]
    _check_polygon(outside, [[0.0, 0.0], [259.0, 149.0]])
    assert "box is degenerate" in plain_tf_results["degenerate"]["error"]
    assert "beam_width must be in [1, 5]" in plain_tf_results["beam9"]["error"]


def test_correct_keeps_the_prefix(plain_tf_results):
    out = plain_tf_results["correct"]
    vertices, meta = _check_polygon(out, [[40.0, 30.0], [160.0, 120.0]])
    prefix = np.array([[45.5, 33.0], [150.0, 40.0], [155.0, 100.0]])
    np.testing.assert_allclose(vertices[:3], prefix)
    # The prefix is fed as its grid cells; the rest are decoded cells in image pixels.
    prefix_tokens = cells_to_tokens(crop_points_to_cells(image_to_crop(prefix, meta)))
    np.testing.assert_array_equal(out["tokens"][:3], prefix_tokens)
    rest = crop_to_image(cells_to_crop_points(tokens_to_cells(out["tokens"][3:])), meta)
    np.testing.assert_allclose(vertices[3:], rest, atol=1e-3)
    beam = plain_tf_results["beam3"]
    np.testing.assert_allclose(np.asarray(beam["vertices"])[:1], prefix[:1])
    assert beam["length"] >= 3
