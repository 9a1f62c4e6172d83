"""PolygonTask on a tiny synthetic Cityscapes: datasets, evaluation outputs, and the CLI end to end."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from deep_rnn_tf.data.polygons import EOS_TOKEN, crop_sources, iter_crop_records
from deep_rnn_tf.evaluation.polygon import box_polygon, polygon_iou
from deep_rnn_tf.tasks.polygon.task import PolygonTask
from deep_rnn_tf.tools.polygon_crops import crops_main
from deep_rnn_tf.tools.synth_cityscapes import main as synth_main
from tests.presets import tiny_args, tiny_config


@pytest.fixture(scope="module")
def crops(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("synth"))
    out = str(tmp_path_factory.mktemp("crops"))
    assert (
        synth_main(
            ["--out", root, "--train", "2", "--val", "2", "--width", "256", "--height", "128", "--quiet"]
        )
        == 0
    )
    assert crops_main(["--root", root, "--out", out, "--max-vertices", "12", "--quiet"]) == 0
    return out


def test_datasets_and_evaluation_outputs(crops, tmp_path):
    task = PolygonTask()
    config = tiny_config("polygon", crops=crops, seed=0, val_fraction=0.5)
    model = task.build_model(config)
    train, val = task.datasets(config, 2)
    images, sequences = next(iter(train))
    assert images.shape == (2, 224, 224, 3) and images.dtype.name == "uint8"
    assert sequences.shape == (2, 13) and sequences.dtype.name == "int32"
    for row in sequences.numpy():
        length = int(np.argmax(row == EOS_TOKEN))
        assert length >= 3 and np.all(row[:length] < EOS_TOKEN) and np.all(row[length + 1 :] == -1)
    assert val is not None

    metrics = task.evaluate(config, model, str(tmp_path))
    records = list(iter_crop_records(crops, "val"))
    assert metrics["instances"] == len(records) > 0
    box = [
        polygon_iou(box_polygon(m.polygon), m.polygon, (m.image_height, m.image_width)) for _, _, m in records
    ]
    assert metrics["box_baseline"]["instance_mean"] == pytest.approx(np.mean(box))
    assert 0.9 < metrics["grid_oracle"]["instance_mean"] <= 1.0
    assert 0.0 <= metrics["instance_mean_iou"] <= 1.0
    results = tmp_path / "results"
    table = (results / "polygon_iou.md").read_text()
    assert "| bounding box |" in table and "2-layer RBM (ours)" in table
    with open(results / "polygon_instances.csv") as handle:
        assert len(list(csv.reader(handle))) == len(records) + 1
    assert len(os.listdir(results / "polygon_overlays")) == min(2, len(records))
    assert json.loads((results / "polygon_metrics.json").read_text())["split"] == "val"


def test_validation_is_carved_from_training_images_never_the_eval_split(crops, tmp_path):
    """The validation crops are all the crops of some training images, and no evaluation crop."""
    train_only = tmp_path / "crops"
    shutil.copytree(os.path.join(crops, "train"), train_only / "train")  # no val/ folder at all
    config = tiny_config("polygon", crops=str(train_only), seed=0, val_fraction=0.5)
    task = PolygonTask()
    held, held_crops = task._validation_sources(config)
    sources = crop_sources(str(train_only), "train")
    assert len(held) == 1 and held < set(sources)
    train, val = task.datasets(config, 1)
    validation_crops = sum(int(images.shape[0]) for images, _ in val)
    assert validation_crops == held_crops == sum(source in held for source in sources)
    # Its length is known, so Keras does not warn "Your input ran out of data" after each validation.
    assert int(val.cardinality()) == held_crops
    training_crops = sum(1 for _ in train)  # batches of one: every crop of the images not held out
    assert training_crops == len(sources) - validation_crops
    assert (
        PolygonTask().datasets(tiny_config("polygon", crops=str(train_only), val_fraction=0.0), 1)[1] is None
    )


def test_outlines_longer_than_max_vertices_are_subsampled_not_cut_off(crops, caplog):
    """Crops made with --max-vertices 12, a model of 5: every longer outline keeps 5 vertices spread along
    it by the crops' own rule (`subsample_cells`), not its first 5 (a cut-off outline), with a warning."""
    import logging

    from deep_rnn_tf.data.polygons.grid import subsample_cells

    config = tiny_config("polygon", crops=crops, seed=0, val_fraction=0.0, max_vertices=5)
    with caplog.at_level(logging.WARNING, logger="deep_rnn_tf"):
        train, _ = PolygonTask().datasets(config, 1)
    assert "outlines of up to 12 vertices; --max-vertices 5 keeps 5" in caplog.text
    stored = sorted(tuple(int(t) for t in tokens) for _, tokens, _ in iter_crop_records(crops, "train"))
    assert any(len(tokens) > 5 for tokens in stored)
    expected = sorted(tuple(int(t) for t in subsample_cells(np.array(tokens), 5)) for tokens in stored)
    seen = []
    for _, sequences in train.unbatch():
        row = sequences.numpy()
        seen.append(tuple(int(t) for t in row[: int(np.argmax(row == EOS_TOKEN))]))
    assert sorted(seen) == expected


def test_a_crop_set_without_training_crops_is_one_line_naming_the_manifest(crops, tmp_path):
    empty = tmp_path / "crops"
    shutil.copytree(crops, empty)
    manifest_path = empty / "train" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "num_instances": 0, "shards": []}))
    with pytest.raises(ValueError, match=r"train/manifest.json: no crops in the 'train' split"):
        PolygonTask().datasets(tiny_config("polygon", crops=str(empty)), 1)


def test_cli_train_test_export(crops, tmp_path):
    """`deep-rnn train|test|export polygon` end to end with the tiny test config."""
    run_dir, export_dir = str(tmp_path / "run"), str(tmp_path / "export")

    def deep_rnn(*args):
        command = [sys.executable, "-m", "deep_rnn_tf.cli", *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        return result.stdout

    deep_rnn("train", "polygon", *tiny_args("polygon", tmp_path), "--crops", crops, "--run-dir", run_dir,
             "--epochs", "1", "--steps-per-epoch", "2", "--seed", "0", "--quiet")  # fmt: skip
    out = deep_rnn("test", "polygon", "--run-dir", run_dir)
    assert "| bounding box |" in out
    assert os.path.isfile(os.path.join(run_dir, "results", "polygon_iou.md"))
    out = deep_rnn("export", "polygon", "--run-dir", run_dir, "--export-dir", export_dir)
    assert os.path.isfile(os.path.join(export_dir, "polygon", "1", "saved_model.pb"))
    with open(os.path.join(export_dir, "polygon", "1", "signature.json")) as handle:
        signature = json.load(handle)
    assert set(signature["outputs"]) == {"vertices", "length"}
