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
import logging
import os
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from deep_rnn_tf.data.cityscapes import INSTANCE_CLASSES
from deep_rnn_tf.data.holdout import split_groups
from deep_rnn_tf.data.polygons import (
    CROP_SIZE,
    EOS_TOKEN,
    MANIFEST_NAME,
    crop_dataset,
    crop_sources,
    decode_tokens,
    image_to_crop,
    iter_crop_records,
    read_manifest,
)
from deep_rnn_tf.evaluation.driver import gather
from deep_rnn_tf.evaluation.polygon import (
    box_polygon,
    iou_markdown_table,
    overlay_image,
    polygon_iou,
    summarize_iou,
)
from deep_rnn_tf.evaluation.results import ResultsWriter
from deep_rnn_tf.tasks.polygon.annotation import PolygonAnnotator
from deep_rnn_tf.tasks.polygon.config import PolygonConfig
from deep_rnn_tf.tasks.polygon.model import PolygonRNN, load_vgg16_weights
from deep_rnn_tf.training.schedules import learning_rate
from deep_rnn_tf.training.task import Task

logger = logging.getLogger(__name__)

DECODE_CHUNK = 256  # crops decoded per model.predict call


def resolve_filters(config) -> list[int]:
    """The decoder widths of a polygon config (see `PolygonConfig.resolved_filters`).

    Example:
        >>> resolve_filters({"depth": 5, "filters": [32, 8]})
        [128, 128, 64, 32, 8]
    """
    return PolygonConfig.from_dict(config).resolved_filters()


class PolygonTask(Task):
    """Polygon-RNN annotation with a deep recurrent decoder on Cityscapes instance crops.

    Presets (`deep_rnn_tf.tasks.polygon.config`): ``paper`` (15-layer RBM decoder, VGG16-wide encoder,
    57 vertices, 8 OCTS windows, lambda 0.8, Adam 1e-4), ``small`` (CPU). ``--rnn convlstm`` gives
    Polyg-LSTM; ``--depth 2|5|10|15`` the original's decoder widths for that depth.

    Example:
        >>> task = PolygonTask()
        >>> config = PolygonConfig(depth=2, filters=(8, 4), encoder_width=0.0625)
        >>> model = task.build_model(config)  # doctest: +SKIP
    """

    name = "polygon"
    config_module = "deep_rnn_tf.tasks.polygon.config"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--crops", help="crop shards folder (from `deep-rnn data polygon-crops`)")
        parser.add_argument("--rnn", choices=("rbm", "convlstm"), help="decoder cells (convlstm: Polyg-LSTM)")
        parser.add_argument("--depth", type=int, help="decoder layers (2, 5, 10, 15: the original's widths)")
        parser.add_argument("--filters", type=int, nargs="+", help="decoder widths, one per layer")
        parser.add_argument(
            "--jump",
            type=int,
            help="residual jump every N decoder layers (default or 0: none, the original)",
        )
        parser.add_argument("--head", choices=("dense", "conv"), help="output head")
        parser.add_argument(
            "--gate-bias",
            type=float,
            help="initial bias of the RBM temporal gate / ConvLSTM input and output gates (0: default)",
        )
        parser.add_argument(
            "--encoder-weights", help="'none', 'imagenet' or a local Keras VGG16 weights file"
        )
        parser.add_argument("--max-vertices", type=int, help="longest vertex sequence (T = this + 1)")
        parser.add_argument("--num-windows", type=int, help="OCTS windows per sequence")
        parser.add_argument("--coherence-weight", type=float, help="OCTS coherence lambda")
        parser.add_argument("--target-sigma", type=float, help="Gaussian target smoothing in cells (0: off)")
        parser.add_argument("--eval-split", help="split scored by `deep-rnn test polygon`")
        parser.add_argument("--overlays", type=int, help="overlay PNGs written by the evaluation")
        parser.add_argument(
            "--val-fraction", type=float, help="share of the training images whose crops validate (0: none)"
        )

    # ------------------------------------------------------------------------------------------- model
    def build_model(self, config) -> keras.Model:
        config: PolygonConfig = self.config(config)
        model = PolygonRNN(
            rnn=config.rnn,
            filters=config.resolved_filters(),
            encoder_width=config.encoder_width,
            skip_channels=config.skip_channels,
            feature_channels=config.feature_channels,
            max_vertices=config.max_vertices,
            num_windows=config.num_windows,
            window_len=config.window_len,
            coherence_weight=config.coherence_weight,
            head=config.head,
            p_td=config.p_td,
            gate_bias=config.gate_bias,
            min_vertices=config.min_vertices,
            target_sigma=config.target_sigma,
            seed=config.seed,
            jump=config.jump or None,  # 0: no jumps
            name="polygon_rnn",
        )
        load_vgg16_weights(model.encoder, config.encoder_weights)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate(config, self._steps_per_epoch(config))))
        return model

    def _steps_per_epoch(self, config: PolygonConfig) -> int | None:
        """Batches per epoch for the cosine schedule's length: the flag, or the training split's crops
        (manifest count, less the validation share: an estimate, the carve-out goes by image) per batch."""
        if config.steps_per_epoch or config.lr_schedule == "constant":
            return config.steps_per_epoch
        count = read_manifest(config.crops, config.train_split)["num_instances"] * (1.0 - config.val_fraction)
        return max(1, int(count) // int(config.global_batch_size or config.batch_size))

    # -------------------------------------------------------------------------------------------- data
    def _examples(self, config: PolygonConfig, split: str, where=None) -> tf.data.Dataset:
        max_vertices = config.max_vertices

        def to_example(record):
            # A longer outline (crops made with a larger --max-vertices) keeps max_vertices of its vertices
            # at floor(k * n / max_vertices), the crops' own rule (`subsample_cells`), not its first ones.
            tokens = tf.cast(record["tokens"], tf.int32)
            count = tf.shape(tokens)[0]
            kept = tf.minimum(count, max_vertices)
            tokens = tf.gather(tokens, tf.range(kept) * count // tf.maximum(kept, 1))
            sequence = tf.concat([tokens, [EOS_TOKEN]], axis=0)
            sequence = tf.pad(sequence, [[0, max_vertices + 1 - tf.shape(sequence)[0]]], constant_values=-1)
            return record["image"], tf.ensure_shape(sequence, [max_vertices + 1])

        return crop_dataset(config.crops, split, where).map(to_example, num_parallel_calls=tf.data.AUTOTUNE)

    def datasets(self, config, global_batch_size: int) -> tuple[tf.data.Dataset, tf.data.Dataset | None]:
        config = self.config(config)
        self._check_training_crops(config)
        held, held_crops = self._validation_sources(config)
        if held:
            held_out = tf.constant(sorted(held))

            def in_validation(source):
                return tf.reduce_any(tf.equal(source, held_out))

            examples = self._examples(config, config.train_split, lambda s: tf.logical_not(in_validation(s)))
            validation = self._examples(config, config.train_split, in_validation)
            # A filtered dataset's length is unknown, and Keras then warns "Your input ran out of data"
            # at the end of every validation pass; the count is known from the sources.
            validation = validation.apply(tf.data.experimental.assert_cardinality(held_crops))
            val = validation.batch(global_batch_size).prefetch(2)
        else:
            examples, val = self._examples(config, config.train_split), None
        train = (
            examples.shuffle(config.shuffle_buffer, seed=config.seed or 0)
            .batch(global_batch_size, drop_remainder=True)
            .prefetch(2)
        )
        return train, val

    def _check_training_crops(self, config: PolygonConfig) -> None:
        """The training split has crops (else a one-line error, not an empty dataset's StopIteration), and
        a note when its outlines are longer than the model's `max_vertices` (they are subsampled)."""
        manifest = read_manifest(config.crops, config.train_split)
        path = os.path.join(config.crops, config.train_split, MANIFEST_NAME)
        if not manifest.get("num_instances"):
            raise ValueError(
                f"{path}: no crops in the {config.train_split!r} split (polygon-crops kept none; its "
                f"'dropped' counts say why: {manifest.get('dropped')})"
            )
        made = manifest.get("max_vertices")
        if isinstance(made, int) and made > config.max_vertices:
            logger.warning(
                "%s: outlines of up to %d vertices; --max-vertices %d keeps %d of every longer one, spread "
                "evenly (the crops' own rule)", path, made, config.max_vertices, config.max_vertices,
            )  # fmt: skip

    def _validation_sources(self, config: PolygonConfig) -> tuple[set[str], int]:
        """(source images whose crops validate, their number of crops): `val_fraction` of the training
        split's images, never the evaluation split (a source image's crops all go one way, so no object is
        seen in both)."""
        if not config.val_fraction:
            return set(), 0
        per_crop = crop_sources(config.crops, config.train_split)
        sources = set(per_crop)
        held = split_groups(((source, 0) for source in sources), config.val_fraction, config.val_seed)
        if held:
            logger.info(
                "Validation: the crops of %d of %d training images (never the %r split)",
                len(held),
                len(sources),
                config.eval_split,
            )
        else:
            logger.warning("%s: too few training images to carve a validation split", config.crops)
        return held, sum(source in held for source in per_crop)

    def example_batch(self, config, batch_size: int = 1):
        """(uint8 crops, target sequences) as the crop shards give them: zeros, end-of-polygon first."""
        config = self.config(config)
        crops = np.zeros((batch_size, CROP_SIZE, CROP_SIZE, 3), np.uint8)
        sequences = np.full((batch_size, config.max_vertices + 1), -1, np.int32)
        sequences[:, 0] = EOS_TOKEN
        return crops, sequences

    # -------------------------------------------------------------------------------------- evaluation
    def evaluate(self, config, model: keras.Model, run_dir: str) -> dict[str, Any]:
        """Greedy decoding of every instance of `eval_split`, IoU at full resolution vs the box baseline
        and the grid oracle; writes polygon_iou.md, polygon_instances.csv, polygon_metrics.json and
        overlay PNGs under `<run_dir>/results`."""
        config = self.config(config)
        split = config.eval_split
        manifest = read_manifest(config.crops, split)
        results = ResultsWriter.for_run(run_dir)
        chunks = _chunks(iter_crop_records(config.crops, split), DECODE_CHUNK)
        total = -(-int(manifest.get("num_instances") or 0) // DECODE_CHUNK) or None

        def decode(crops):
            return model.predict(crops, batch_size=config.batch_size, verbose=0)

        def keep(batch, outputs):
            records = batch[1]
            tokens = [outputs["tokens"][i][: int(outputs["length"][i])] for i in range(len(records))]
            return {"records": records, "tokens": tokens}

        decoded = gather(chunks, decode, keep, total=total, desc=f"decode {split}")
        return self._score(config, model, manifest, decoded["records"], decoded["tokens"], results)

    def _score(self, config, model, manifest, records, tokens, results: ResultsWriter) -> dict[str, Any]:
        """IoU of every decoded instance (and of the two references), the tables, CSV, JSON and overlays."""
        if not records:
            raise ValueError(f"{os.path.join(config.crops, config.eval_split)}: no instance to evaluate")
        rows, labels = [], []
        ious = {"model": [], "box": [], "grid oracle": []}
        for index, ((crop, true_tokens, meta), predicted_tokens) in enumerate(
            zip(records, tokens, strict=True)
        ):
            size = (meta.image_height, meta.image_width)
            scores = {
                "model": polygon_iou(decode_tokens(predicted_tokens, meta), meta.polygon, size),
                "box": polygon_iou(box_polygon(meta.polygon), meta.polygon, size),
                "grid oracle": polygon_iou(decode_tokens(true_tokens, meta), meta.polygon, size),
            }
            for name, value in scores.items():
                ious[name].append(value)
            labels.append(meta.label)
            rows.append(
                [index, meta.label, meta.source, meta.object_index, len(predicted_tokens), *scores.values()]
            )
            if index < config.overlays:
                polygons = [
                    (image_to_crop(meta.polygon, meta), (0, 255, 0)),
                    (decode_tokens(predicted_tokens), (255, 0, 0)),
                ]
                overlay = overlay_image(crop, polygons)
                results.image(f"polygon_overlays/{index:05d}_{meta.label}.png", overlay)
        summaries = {name: summarize_iou(labels, values, INSTANCE_CLASSES) for name, values in ious.items()}
        decoder = f"{len(model.filters)}-layer {model.rnn_kind.upper()}"
        table_rows = {
            f"{decoder} (ours)": summaries["model"],
            "bounding box": summaries["box"],
            "GT on 28x28 grid (upper bound)": summaries["grid oracle"],
        }
        table = iou_markdown_table(table_rows, INSTANCE_CLASSES)
        results.text("polygon_iou.md", table)
        results.csv(
            "polygon_instances.csv",
            ["index", "label", "source", "object_index", "vertices", *(f"iou_{k}" for k in ious)],
            rows,
        )
        metrics = {
            "task": self.name,
            "split": config.eval_split,
            "instances": len(labels),
            "dropped_in_crops": manifest.get("dropped"),
            "model": summaries["model"].as_dict(),
            "box_baseline": summaries["box"].as_dict(),
            "grid_oracle": summaries["grid oracle"].as_dict(),
            "class_mean_iou": summaries["model"].class_mean,
            "instance_mean_iou": summaries["model"].instance_mean,
            "table": table,
        }
        results.json("polygon_metrics.json", metrics)
        print(table)
        return metrics

    # ------------------------------------------------------------------------------------------ serving
    def serving_model(self, config, model: keras.Model) -> keras.Model:
        image = keras.Input((CROP_SIZE, CROP_SIZE, 3), dtype="uint8", name="image")
        outputs = model(image)
        serving = keras.Model(
            image, {"vertices": outputs["vertices"], "length": outputs["length"]}, name="polygon_serving"
        )
        # Full image + box -> polygon, and prefix correction, exported next to serving_default.
        serving.extra_endpoints = PolygonAnnotator(model).endpoints()
        return serving


def _chunks(records, size: int):
    """(crops, records) for up to `size` records at a time (decoding a chunk at a time bounds memory)."""
    buffer = []
    for record in records:
        buffer.append(record)
        if len(buffer) == size:
            yield np.stack([crop for crop, _, _ in buffer]), buffer
            buffer = []
    if buffer:
        yield np.stack([crop for crop, _, _ in buffer]), buffer
