"""The polygon task: `deep-rnn train|test|export polygon` (Polygon-RNN with a deep RBM decoder, §5).

Data: the crop shards of `deep-rnn data polygon-crops` (config `crops`: the folder holding `train/` and
`val/`). Evaluation decodes every instance of the evaluation split greedily and scores IoU at full image
resolution against the annotated polygon, next to the tight bounding box as a polygon (the baseline) and
the ground truth snapped to the 28x28 grid (the grid's upper bound), all in the same run.

Example:
    $ deep-rnn data synth-cityscapes --out data/synth_cityscapes
    $ deep-rnn data polygon-crops --root data/synth_cityscapes --out data/polygon_crops --copies 4
    $ deep-rnn train polygon --preset small --crops data/polygon_crops --run-dir runs/polygon_small
    $ deep-rnn test polygon --run-dir runs/polygon_small
"""

from __future__ import annotations

import argparse
import csv
import io
import os
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from deep_rnn_tf.atomic_io import write_json_atomic, write_text_atomic
from deep_rnn_tf.data.cityscapes import INSTANCE_CLASSES
from deep_rnn_tf.data.polygons import (
    CROP_SIZE,
    EOS_TOKEN,
    crop_dataset,
    decode_tokens,
    image_to_crop,
    iter_crop_records,
    read_manifest,
)
from deep_rnn_tf.evaluation.polygon import (
    box_polygon,
    draw_overlay,
    iou_markdown_table,
    polygon_iou,
    summarize_iou,
)
from deep_rnn_tf.tasks.polygon.annotation import PolygonAnnotator
from deep_rnn_tf.tasks.polygon.model import PAPER_FILTERS, PolygonRNN, load_vgg16_weights
from deep_rnn_tf.training.task import Task

_PAPER = {
    "crops": "data/polygon_crops",
    "train_split": "train",
    "eval_split": "val",
    "rnn": "rbm",
    "depth": 15,
    "filters": PAPER_FILTERS[15],
    "encoder_width": 1.0,
    "skip_channels": 128,
    "feature_channels": 128,
    "encoder_weights": "none",
    "head": "dense",
    "max_vertices": 57,
    "num_windows": 8,
    "window_len": None,
    "coherence_weight": 0.8,
    "p_td": 0.5,
    "min_vertices": 3,
    "target_sigma": 0.0,
    "lr": 1e-4,
    "batch_size": 8,
    "epochs": 10,
    "shuffle_buffer": 2048,
    "overlays": 24,
}
_SMALL = {
    **_PAPER,
    "depth": 2,
    "filters": [16, 8],
    "encoder_width": 0.0625,
    "skip_channels": 8,
    "feature_channels": 16,
    "max_vertices": 12,
    "num_windows": 2,
    "target_sigma": 1.0,
    "lr": 2e-3,
    "batch_size": 8,
    "epochs": 4,
    "overlays": 12,
}
_TINY = {
    **_SMALL,
    "filters": [8, 4],
    "feature_channels": 8,
    "batch_size": 4,
    "epochs": 1,
    "overlays": 2,
}


def resolve_filters(config: dict[str, Any]) -> list[int]:
    """The decoder widths: `filters` when it has `depth` entries, else the original's list for `depth`.

    So `--depth 5` on any preset gives the paper's 5-layer decoder [128, 128, 64, 32, 8].

    Example:
        >>> resolve_filters({"depth": 5, "filters": [32, 8]})
        [128, 128, 64, 32, 8]
    """
    depth, filters = int(config["depth"]), config.get("filters")
    if filters is not None and len(filters) == depth:
        return [int(f) for f in filters]
    if depth not in PAPER_FILTERS:
        raise ValueError(
            f"depth {depth} needs --filters with {depth} entries (the original's lists exist for depths "
            f"{sorted(PAPER_FILTERS)}); received filters={filters!r}"
        )
    return list(PAPER_FILTERS[depth])


class PolygonTask(Task):
    """Polygon-RNN annotation with a deep recurrent decoder on Cityscapes instance crops.

    Presets: ``paper`` (15-layer RBM decoder [256, 256, 128x4, 64x6, 32, 32, 8], VGG16-wide encoder,
    57 vertices, 8 OCTS windows, lambda 0.8, Adam 1e-4), ``small`` (CPU: 1/8-wide encoder, 2 RBM layers
    [32, 8], 20 vertices, 3 windows, Adam 1e-3), ``tiny`` (tests). ``--rnn convlstm`` gives Polyg-LSTM;
    ``--depth 2|5|10|15`` the original's decoder widths for that depth.

    Example:
        >>> task = PolygonTask()
        >>> model = task.build_model({**task.presets["tiny"]})  # doctest: +SKIP
    """

    name = "polygon"
    presets = {"paper": dict(_PAPER), "small": dict(_SMALL), "tiny": dict(_TINY)}
    default_preset = "small"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--crops", help="crop shards folder (from `deep-rnn data polygon-crops`)")
        parser.add_argument("--rnn", choices=("rbm", "convlstm"), help="decoder cells (convlstm: Polyg-LSTM)")
        parser.add_argument("--depth", type=int, help="decoder layers (2, 5, 10, 15: the original's widths)")
        parser.add_argument("--filters", type=int, nargs="+", help="decoder widths, one per layer")
        parser.add_argument("--head", choices=("dense", "conv"), help="output head")
        parser.add_argument(
            "--encoder-weights", help="'none', 'imagenet' or a local Keras VGG16 weights file"
        )
        parser.add_argument("--max-vertices", type=int, help="longest vertex sequence (T = this + 1)")
        parser.add_argument("--num-windows", type=int, help="OCTS windows per sequence")
        parser.add_argument("--coherence-weight", type=float, help="OCTS coherence lambda")
        parser.add_argument("--target-sigma", type=float, help="Gaussian target smoothing in cells (0: off)")
        parser.add_argument("--eval-split", help="split scored by `deep-rnn test polygon`")
        parser.add_argument("--overlays", type=int, help="overlay PNGs written by the evaluation")

    # ------------------------------------------------------------------------------------------- model
    def build_model(self, config: dict[str, Any]) -> keras.Model:
        model = PolygonRNN(
            rnn=config["rnn"],
            filters=resolve_filters(config),
            encoder_width=float(config["encoder_width"]),
            skip_channels=int(config["skip_channels"]),
            feature_channels=int(config["feature_channels"]),
            max_vertices=int(config["max_vertices"]),
            num_windows=int(config["num_windows"]),
            window_len=config.get("window_len"),
            coherence_weight=float(config["coherence_weight"]),
            head=config["head"],
            p_td=float(config["p_td"]),
            min_vertices=int(config["min_vertices"]),
            target_sigma=float(config.get("target_sigma") or 0.0),
            seed=config.get("seed"),
            name="polygon_rnn",
        )
        load_vgg16_weights(model.encoder, config.get("encoder_weights"))
        model.compile(optimizer=keras.optimizers.Adam(float(config["lr"])))
        return model

    # -------------------------------------------------------------------------------------------- data
    def _examples(self, config: dict[str, Any], split: str) -> tf.data.Dataset:
        max_vertices = int(config["max_vertices"])

        def to_example(record):
            tokens = tf.cast(record["tokens"][:max_vertices], tf.int32)
            sequence = tf.concat([tokens, [EOS_TOKEN]], axis=0)
            sequence = tf.pad(sequence, [[0, max_vertices + 1 - tf.shape(sequence)[0]]], constant_values=-1)
            return record["image"], tf.ensure_shape(sequence, [max_vertices + 1])

        return crop_dataset(config["crops"], split).map(to_example, num_parallel_calls=tf.data.AUTOTUNE)

    def datasets(
        self, config: dict[str, Any], global_batch_size: int
    ) -> tuple[tf.data.Dataset, tf.data.Dataset | None]:
        seed = int(config.get("seed") or 0)
        train = (
            self._examples(config, config["train_split"])
            .shuffle(int(config["shuffle_buffer"]), seed=seed)
            .batch(global_batch_size, drop_remainder=True)
            .prefetch(2)
        )
        val = None
        if os.path.isdir(os.path.join(config["crops"], config["eval_split"])):
            val = self._examples(config, config["eval_split"]).batch(global_batch_size).prefetch(2)
        return train, val

    # -------------------------------------------------------------------------------------- evaluation
    def evaluate(self, config: dict[str, Any], model: keras.Model, run_dir: str) -> dict[str, Any]:
        split = config["eval_split"]
        manifest = read_manifest(config["crops"], split)
        rows, labels = [], []
        ious = {"model": [], "box": [], "grid oracle": []}
        results_dir = os.path.join(run_dir, "results")
        overlays_dir = os.path.join(results_dir, "polygon_overlays")
        decoded = _decode_records(model, iter_crop_records(config["crops"], split), int(config["batch_size"]))
        progress = tqdm(decoded, total=manifest.get("num_instances"), desc=f"IoU {split}", unit="instance")
        for index, (crop, true_tokens, meta, tokens) in enumerate(progress):
            predicted = decode_tokens(tokens, meta)
            size = (meta.image_height, meta.image_width)
            scores = {
                "model": polygon_iou(predicted, meta.polygon, size),
                "box": polygon_iou(box_polygon(meta.polygon), meta.polygon, size),
                "grid oracle": polygon_iou(decode_tokens(true_tokens, meta), meta.polygon, size),
            }
            for name, value in scores.items():
                ious[name].append(value)
            labels.append(meta.label)
            rows.append([index, meta.label, meta.source, meta.object_index, len(tokens), *scores.values()])
            if index < int(config["overlays"]):
                draw_overlay(
                    crop,
                    [(image_to_crop(meta.polygon, meta), (0, 255, 0)), (decode_tokens(tokens), (255, 0, 0))],
                    os.path.join(overlays_dir, f"{index:05d}_{meta.label}.png"),
                )
        if not labels:
            raise ValueError(f"{os.path.join(config['crops'], split)}: no instance to evaluate")
        summaries = {name: summarize_iou(labels, values, INSTANCE_CLASSES) for name, values in ious.items()}
        decoder = f"{len(model.filters)}-layer {model.rnn_kind.upper()}"
        table_rows = {
            f"{decoder} (ours)": summaries["model"],
            "bounding box": summaries["box"],
            "GT on 28x28 grid (upper bound)": summaries["grid oracle"],
        }
        table = iou_markdown_table(table_rows, INSTANCE_CLASSES)
        os.makedirs(results_dir, exist_ok=True)
        write_text_atomic(os.path.join(results_dir, "polygon_iou.md"), table)
        _write_csv_atomic(
            os.path.join(results_dir, "polygon_instances.csv"),
            ["index", "label", "source", "object_index", "vertices", *(f"iou_{k}" for k in ious)],
            rows,
        )
        metrics = {
            "task": self.name,
            "split": split,
            "instances": len(labels),
            "dropped_in_crops": manifest.get("dropped"),
            "model": summaries["model"].as_dict(),
            "box_baseline": summaries["box"].as_dict(),
            "grid_oracle": summaries["grid oracle"].as_dict(),
            "class_mean_iou": summaries["model"].class_mean,
            "instance_mean_iou": summaries["model"].instance_mean,
            "table": table,
        }
        write_json_atomic(os.path.join(results_dir, "polygon_metrics.json"), metrics)
        print(table)
        return metrics

    # ------------------------------------------------------------------------------------------ serving
    def serving_model(self, config: dict[str, Any], model: keras.Model) -> keras.Model:
        image = keras.Input((CROP_SIZE, CROP_SIZE, 3), dtype="uint8", name="image")
        outputs = model(image)
        serving = keras.Model(
            image, {"vertices": outputs["vertices"], "length": outputs["length"]}, name="polygon_serving"
        )
        # Full image + box -> polygon, and prefix correction, exported next to serving_default.
        serving.extra_endpoints = PolygonAnnotator(model).endpoints()
        return serving


def _decode_records(model: keras.Model, records, batch_size: int, chunk: int = 256):
    """Yields (crop, true tokens, meta, decoded tokens) for every record, decoding `chunk` crops at a time."""
    buffer = []
    for record in records:
        buffer.append(record)
        if len(buffer) == chunk:
            yield from _decode_chunk(model, buffer, batch_size)
            buffer = []
    if buffer:
        yield from _decode_chunk(model, buffer, batch_size)


def _decode_chunk(model: keras.Model, records: list, batch_size: int):
    outputs = model.predict(np.stack([crop for crop, _, _ in records]), batch_size=batch_size, verbose=0)
    for index, (crop, true_tokens, meta) in enumerate(records):
        yield crop, true_tokens, meta, outputs["tokens"][index][: int(outputs["length"][index])]


def _write_csv_atomic(path: str, header: list[str], rows: list[list]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())
