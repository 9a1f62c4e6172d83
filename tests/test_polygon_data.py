"""Cityscapes json reader, synthetic Cityscapes, crops, 28x28 grid sequences and shards (no model)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from deep_rnn_tf.data import polygons as P
from deep_rnn_tf.data.cityscapes import (
    INSTANCE_CLASSES,
    CityscapesFormatError,
    detect_layout,
    list_samples,
    read_polygons_json,
)
from deep_rnn_tf.data.video_io import write_image
from deep_rnn_tf.evaluation.polygon import polygon_iou
from deep_rnn_tf.tools.polygon_crops import crops_main
from deep_rnn_tf.tools.synth_cityscapes import main as synth_cityscapes_main


def _write_json(path, content) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def _scene(root, split, city, name, objects, size=(120, 200), layout=("leftImg8bit", "gtFine")):
    """Writes one image (flat grey) + its polygons json in `layout`; returns (image path, json path)."""
    image_dir, label_dir = layout
    height, width = size
    image_path = os.path.join(root, image_dir, split, city, f"{name}_leftImg8bit.png")
    os.makedirs(os.path.dirname(image_path), exist_ok=True)
    write_image(image_path, np.full((height, width, 3), 120, np.uint8))
    json_path = os.path.join(root, label_dir, split, city, f"{name}_gtFine_polygons.json")
    _write_json(json_path, {"imgHeight": height, "imgWidth": width, "objects": objects})
    return image_path, json_path


CAR = {"label": "car", "polygon": [[20, 20], [80, 20], [80, 60], [20, 60]]}


# ------------------------------------------------------------------------------------------- json reader
def test_read_polygons_json_parses_schema(tmp_path):
    path = _write_json(
        tmp_path / "a_gtFine_polygons.json",
        {"imgHeight": 10, "imgWidth": 20, "objects": [CAR, {"label": "sky", "polygon": [[0, 0], [1, 1]]}]},
    )
    annotation = read_polygons_json(path)
    assert (annotation.height, annotation.width) == (10, 20)
    assert [obj.label for obj in annotation.objects] == ["car", "sky"]
    assert annotation.objects[0].polygon.shape == (4, 2)
    assert annotation.objects[1].index == 1


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("{not json", "not valid json"),
        ({"imgWidth": 20, "objects": []}, "imgHeight"),
        ({"imgHeight": 10, "imgWidth": 20, "objects": {}}, "'objects' must be a list"),
        (
            {"imgHeight": 10, "imgWidth": 20, "objects": [{"label": "car", "polygon": [[1, 2, 3]]}]},
            "objects[0]",
        ),
        ({"imgHeight": 10, "imgWidth": 20, "objects": [{"polygon": [[1, 2]]}]}, "'label'"),
    ],
)
def test_malformed_json_names_file_and_field(tmp_path, content, fragment):
    path = _write_json(tmp_path / "bad_gtFine_polygons.json", content)
    with pytest.raises(CityscapesFormatError) as error:
        read_polygons_json(path)
    assert path in str(error.value) and fragment in str(error.value)


def test_missing_json_names_file(tmp_path):
    with pytest.raises(CityscapesFormatError, match="no such annotation file"):
        read_polygons_json(tmp_path / "nothing.json")


def test_both_layouts_are_listed(tmp_path):
    _scene(tmp_path / "official", "val", "ulm", "ulm_000000_000019", [CAR])
    _scene(tmp_path / "seed", "val", "ulm", "ulm_000000_000019", [CAR], layout=("img", "label"))
    assert detect_layout(tmp_path / "official") == ("leftImg8bit", "gtFine")
    assert detect_layout(tmp_path / "seed") == ("img", "label")
    for root in ("official", "seed"):
        (sample,) = list_samples(tmp_path / root, "val")
        assert os.path.isfile(sample.image_path) and sample.city == "ulm"
    with pytest.raises(FileNotFoundError, match="no Cityscapes annotation folder"):
        detect_layout(tmp_path)


def test_crops_skip_bad_files_and_count_drops(tmp_path, capsys):
    """A malformed json and a missing image are named and skipped; tiny / 2-point polygons are counted."""
    root, out = str(tmp_path / "cs"), str(tmp_path / "crops")
    two_points = {"label": "person", "polygon": [[5, 5], [50, 50]]}
    tiny = {"label": "person", "polygon": [[5, 5], [12, 5], [12, 12]]}  # area 24.5 px
    other = {"label": "cargroup", "polygon": [[0, 0], [90, 0], [90, 90]]}
    _scene(root, "val", "ulm", "ulm_000000_000019", [CAR, two_points, tiny, other])
    _, broken = _scene(root, "val", "ulm", "ulm_000001_000019", [CAR])
    _write_json(broken, '{"imgHeight": 120, "imgWidth": ')
    missing_image, _ = _scene(root, "val", "ulm", "ulm_000002_000019", [CAR])
    os.remove(missing_image)
    manifest = P.write_crop_shards(root, "val", out, P.EVAL_CONTEXT, quiet=True)
    assert manifest["num_instances"] == 1
    assert manifest["dropped"] == {
        **dict.fromkeys(P.DROP_REASONS, 0),
        "under_3_vertices": 1,
        "under_100_px": 1,
        "group_label": 1,
    }
    assert manifest["dropped_labels"] == {"cargroup": 1}
    assert len(manifest["errors"]) == 2
    assert any(broken in message for message in manifest["errors"])
    assert any(missing_image in message for message in manifest["errors"])
    assert broken in capsys.readouterr().err
    assert P.read_manifest(out, "val") == manifest
    path = os.path.join(out, "val", "manifest.json")
    for edit, says in (
        ({**manifest, "grid_size": 14}, r"crops made with \{'grid_size': 14\}; this package reads"),
        ({"num_instances": 1}, r"not a crop manifest \(no 'shards' list\)"),
    ):
        _write_json(path, json.dumps(edit))
        with pytest.raises(ValueError, match=r"manifest\.json: " + says):
            P.read_manifest(out, "val")


def test_crops_command_refuses_fewer_than_3_vertices_and_warns_when_a_split_keeps_nothing(tmp_path, capsys):
    root, out = str(tmp_path / "cs"), str(tmp_path / "crops")
    with pytest.raises(SystemExit):
        crops_main(["--root", root, "--out", out, "--max-vertices", "2", "--quiet"])
    assert "--max-vertices must be >= 3 (a polygon); received 2" in capsys.readouterr().err
    assert not os.path.exists(out)
    with pytest.raises(SystemExit):  # named once (it was once per split), no empty split folders left
        crops_main(["--root", str(tmp_path / "nowhere"), "--out", out, "--quiet"])
    assert capsys.readouterr().err.count("nowhere: no such folder") == 1 and not os.path.exists(out)
    tiny = {"label": "person", "polygon": [[5, 5], [12, 5], [12, 12]]}  # under 100 px: dropped
    _scene(root, "val", "ulm", "ulm_000000_000019", [tiny])
    assert crops_main(["--root", root, "--out", out, "--splits", "val", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "val: 0 crops" in captured.out and "warning: val: no crops kept" in captured.out


# ---------------------------------------------------------------------------------------- grid sequences
def _meta(polygon, height=1024, width=2048, context=P.EVAL_CONTEXT):
    polygon = np.asarray(polygon, np.float64)
    return P.CropMeta("car", height, width, P.expand_box(polygon, height, width, context), polygon)


def test_expand_box_by_context_and_clip():
    polygon = np.array([[100, 200], [300, 200], [300, 300]])
    assert P.expand_box(polygon, 1000, 1000, 0.1) == (80, 190, 321, 311)  # 20 px sideways, 10 px up/down
    assert P.expand_box(np.array([[0, 0], [99, 0], [99, 49]]), 50, 100, 0.15) == (0, 0, 100, 50)
    with pytest.raises(ValueError, match="context"):
        P.expand_box(polygon, 10, 10, -0.1)


def test_crop_mapping_inverts_and_uses_pixel_centres():
    meta = _meta([[100, 200], [300, 200], [300, 300], [100, 300]])
    points = np.array([[100.0, 200.0], [250.5, 280.25]])
    np.testing.assert_allclose(P.crop_to_image(P.image_to_crop(points, meta), meta), points)
    x0, y0, x1, y1 = meta.box
    corner = P.image_to_crop(np.array([[x0 - 0.5, y0 - 0.5], [x1 - 0.5, y1 - 0.5]]), meta)
    np.testing.assert_allclose(corner, [[-0.5, -0.5], [P.CROP_SIZE - 0.5, P.CROP_SIZE - 0.5]])


def test_canonical_sequence_merges_orients_and_starts_top_left():
    # counter-clockwise on screen, starting bottom-right, with repeats (also across the wrap-around)
    cells = np.array([[20, 20], [20, 20], [20, 5], [5, 5], [5, 20], [20, 20]])
    canonical = P.canonicalize_cells(cells)
    np.testing.assert_array_equal(canonical, [[5, 5], [5, 20], [20, 20], [20, 5]])
    same = P.canonicalize_cells(canonical[::-1])
    np.testing.assert_array_equal(same, canonical)
    np.testing.assert_array_equal(P.canonicalize_cells(np.array([[3, 3], [3, 3]])), [[3, 3]])


def test_subsample_keeps_original_rule():
    cells = np.stack([np.arange(100), np.arange(100)], axis=1)
    kept = P.subsample_cells(cells, 57)
    np.testing.assert_array_equal(kept[:, 0], (np.arange(57) * 100) // 57)


def test_polygon_grid_round_trip_iou_near_one():
    """A large simple polygon survives polygon -> 28x28 tokens -> polygon with IoU > 0.93 at full size."""
    polygon = np.array([[400, 300], [900, 260], [1000, 600], [700, 820], [380, 700]], np.float64)
    meta = _meta(polygon)
    tokens = P.encode_polygon(meta)
    assert tokens.min() >= 0 and tokens.max() < P.EOS_TOKEN and len(tokens) == 5
    decoded = P.decode_tokens(np.append(tokens, P.EOS_TOKEN), meta)
    assert decoded.shape == (5, 2)
    assert polygon_iou(decoded, polygon, (1024, 2048)) > 0.93
    # first vertex = top-most cell: the (900, 260) corner
    assert np.abs(decoded[0] - [900, 260]).max() < 20


def test_long_polygons_are_capped():
    angles = np.linspace(0, 2 * np.pi, 300, endpoint=False)
    circle = np.stack([1000 + 400 * np.cos(angles), 500 + 400 * np.sin(angles)], axis=1)
    tokens = P.encode_polygon(_meta(circle, height=1024), max_vertices=40)
    assert len(tokens) == 40
    assert len(set(tokens.tolist())) == 40


# ----------------------------------------------------------------------------------- synthetic + shards
@pytest.fixture(scope="module")
def synthetic_crops(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("synth"))
    out = str(tmp_path_factory.mktemp("crops"))
    assert (
        synth_cityscapes_main(
            ["--out", root, "--train", "3", "--val", "2", "--width", "256", "--height", "128", "--quiet"]
        )
        == 0
    )
    status = crops_main(["--root", root, "--out", out, "--copies", "2", "--shard-size", "4", "--quiet"])
    assert status == 0
    return root, out


def test_synthetic_set_follows_cityscapes_layout_and_schema(synthetic_crops):
    root, _ = synthetic_crops
    samples = list_samples(root, "train")
    assert len(samples) == 3 and {s.city for s in samples} == {"aachen", "bremen"}
    labels = set()
    for sample in samples:
        assert os.path.isfile(sample.image_path)
        with open(sample.json_path) as handle:
            raw = json.load(handle)
        assert set(raw) == {"imgHeight", "imgWidth", "objects"}
        assert {"label", "polygon", "id", "deleted", "verified", "date", "user"} <= set(raw["objects"][0])
        annotation = read_polygons_json(sample.json_path)
        assert (annotation.height, annotation.width) == (128, 256)
        labels |= {obj.label for obj in annotation.objects}
    assert {"sky", "road"} <= labels and labels & set(INSTANCE_CLASSES)


def test_shards_keep_full_metadata(synthetic_crops):
    root, out = synthetic_crops
    manifest = P.read_manifest(out, "train")
    assert manifest["copies"] == 2 and len(manifest["shards"]) == -(-manifest["num_instances"] // 4)
    records = list(P.iter_crop_records(out, "train"))
    assert len(records) == manifest["num_instances"] > 0
    assert sum(manifest["per_class"].values()) == len(records)
    crop, tokens, meta = records[0]
    assert crop.shape == (224, 224, 3) and crop.dtype == np.uint8
    assert (meta.image_height, meta.image_width) == (128, 256)
    assert 0.1 <= meta.context <= 0.2  # training crops: random context
    json_of_image = {sample.image_path: sample.json_path for sample in list_samples(root, "train")}
    annotation = read_polygons_json(json_of_image[meta.source])
    np.testing.assert_array_equal(meta.polygon, annotation.objects[meta.object_index].polygon)
    assert meta.label == annotation.objects[meta.object_index].label
    np.testing.assert_array_equal(tokens, P.encode_polygon(meta, manifest["max_vertices"]))
    val = list(P.iter_crop_records(out, "val"))
    assert all(m.context == pytest.approx(P.EVAL_CONTEXT) for _, _, m in val)


def test_shape_jitter_moves_template_vertices_by_at_most_its_fraction_of_the_box():
    """The same draws with a larger jitter: vertices move further, never beyond jitter x box (+ rounding)."""
    from deep_rnn_tf.data.synthetic.cityscapes import _object_polygon

    def outline(jitter: float) -> np.ndarray:
        rng = np.random.default_rng(3)
        return _object_polygon(rng, "car", 1024, 512, horizon=200, tiny=False, shape_jitter=jitter)

    still, default, irregular = outline(0.0), outline(0.04), outline(0.3)
    box = still.max(axis=0) - still.min(axis=0)
    small_move = np.abs(default - still).max(axis=0)
    large_move = np.abs(irregular - still).max(axis=0)
    assert np.all(small_move <= 0.04 * box + 2) and np.all(large_move <= 0.3 * box + 2)
    assert large_move.max() > 3 * small_move.max() > 0


def test_shape_jitter_out_of_range_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        synth_cityscapes_main(["--out", str(tmp_path), "--shape-jitter", "0.9", "--quiet"])
    assert "--shape-jitter must be in [0, 0.5]; received 0.9" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        synth_cityscapes_main(["--out", str(tmp_path / "none"), "--train", "0", "--val", "0", "--quiet"])
    assert "--train and --val are both 0: nothing to write" in capsys.readouterr().err
