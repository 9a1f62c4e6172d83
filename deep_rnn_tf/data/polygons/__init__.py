"""Instance crops and 28x28 grid vertex sequences for Polygon-RNN, written as TFRecord shards.

Modules: `geometry` (crop box, image <-> crop coordinates), `grid` (points <-> cells <-> tokens), `records`
(the shard format, its writer and readers), `crops` (Cityscapes -> shards). This package re-exports their
public names; the `polygon-crops` command is `deep_rnn_tf.tools.polygon_crops`.

Conventions (decided here, used by training, decoding and evaluation alike):

- **Coordinates.** Pixel centres sit at integer coordinates (Cityscapes' polygons are integer pixel
  positions). A crop box is ``(x0, y0, x1, y1)`` in whole pixels, ``x1``/``y1`` exclusive. Resizing the box to
  ``size x size`` (bilinear, aspect not kept) maps image x to crop u by ``u = (x - x0 + 0.5) * sx - 0.5`` with
  ``sx = size / (x1 - x0)`` (the half-pixel mapping OpenCV's resize uses), and likewise for y.
- **Context.** The polygon's tight box is widened by ``context * width`` on the left and right and by
  ``context * height`` on top and bottom (the original widened the right edge by the height's share, §10.6),
  then clipped to the image. 15 % at evaluation; a random 10-20 % per crop in training.
- **Grid.** A crop point (u, v) falls in cell ``(row, col) = (floor((v + 0.5) / 8), floor((u + 0.5) / 8))`` of
  the 28x28 grid; token = ``row * 28 + col`` (0..783); token 784 is end-of-polygon. A cell decodes to its
  centre ``(8 col + 3.5, 8 row + 3.5)`` in crop pixels.
- **Vertex sequence.** Consecutive vertices in the same cell are merged (cyclically, so the last never equals
  the first). The orientation is made clockwise on screen (positive shoelace area with y pointing down) and
  the sequence starts at the top-most cell, the left-most of those. Sequences longer than ``max_vertices``
  (57 by default: 57 vertices + end-of-polygon = the original's 58 decoder steps) are subsampled uniformly at
  indices ``floor(k * n / max_vertices)`` as the original did.
- **Filtering.** Polygons are clipped to the image first. Instances whose polygon has fewer than 3 vertices,
  a vertex more than the image's size outside it or not a number (a broken annotation), lies outside the
  image, has an area under 100 px (inside the image) or whose crop box is under 8 px on a side are dropped;
  so are crowds of an instance class (``cargroup``, ``persongroup``, ...). Every drop is counted per reason
  in the manifest (``dropped``), group labels also by name (``dropped_labels``). Stuff
  labels (road, sky, ...) are not instances and not counted.

Each split is written to ``<out>/<split>/shard-XXXXX-of-YYYYY.tfrecord`` plus ``<out>/<split>/manifest.json``.
Every record keeps the metadata needed to score IoU at full resolution: the source image and its size, the
crop box, the scale, the class and the original polygon.
"""

from __future__ import annotations

from deep_rnn_tf.data.polygons.crops import (
    DROP_REASONS,
    instance_crops,
    instance_drop_reason,
    write_crop_shards,
)
from deep_rnn_tf.data.polygons.geometry import (
    CELL_SIZE,
    CROP_SIZE,
    DEFAULT_MAX_VERTICES,
    EOS_TOKEN,
    EVAL_CONTEXT,
    GRID_SIZE,
    MIN_AREA,
    MIN_BOX_SIDE,
    MIN_VERTICES,
    TRAIN_CONTEXT_RANGE,
    VOCAB_SIZE,
    CropMeta,
    clip_polygon_to_image,
    crop_and_resize,
    crop_to_image,
    expand_box,
    image_to_crop,
    polygon_area,
    signed_area,
)
from deep_rnn_tf.data.polygons.grid import (
    canonicalize_cells,
    cells_to_crop_points,
    cells_to_tokens,
    crop_points_to_cells,
    decode_tokens,
    encode_polygon,
    subsample_cells,
    tokens_to_cells,
)
from deep_rnn_tf.data.polygons.records import (
    FEATURE_SPEC,
    MANIFEST_NAME,
    ShardWriter,
    crop_dataset,
    crop_example,
    crop_sources,
    iter_crop_records,
    parse_crop_example,
    read_manifest,
    shard_files,
)

__all__ = [
    "CELL_SIZE",
    "CROP_SIZE",
    "DEFAULT_MAX_VERTICES",
    "DROP_REASONS",
    "EOS_TOKEN",
    "EVAL_CONTEXT",
    "FEATURE_SPEC",
    "GRID_SIZE",
    "MANIFEST_NAME",
    "MIN_AREA",
    "MIN_BOX_SIDE",
    "MIN_VERTICES",
    "TRAIN_CONTEXT_RANGE",
    "VOCAB_SIZE",
    "CropMeta",
    "ShardWriter",
    "canonicalize_cells",
    "cells_to_crop_points",
    "cells_to_tokens",
    "clip_polygon_to_image",
    "crop_and_resize",
    "crop_dataset",
    "crop_example",
    "crop_points_to_cells",
    "crop_to_image",
    "decode_tokens",
    "encode_polygon",
    "expand_box",
    "image_to_crop",
    "instance_crops",
    "instance_drop_reason",
    "iter_crop_records",
    "parse_crop_example",
    "polygon_area",
    "crop_sources",
    "read_manifest",
    "shard_files",
    "signed_area",
    "subsample_cells",
    "tokens_to_cells",
    "write_crop_shards",
]
