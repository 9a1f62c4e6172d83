"""Box -> polygon and prefix correction inside the graph: the `annotate` / `correct` export signatures.

`PolygonAnnotator` wraps a trained :class:`PolygonRNN` in a `tf.Module` whose functions take a **full
image** (H, W, 3) uint8 of any size and a **box** (x0, y0, x1, y1) in image pixels, and return the polygon
in image pixels, so a tool or TF Serving needs no Python around the model:

1. the box's corners are ordered and clipped to the image; a box under `MIN_BOX_SIDE` pixels wide or high
   (after clipping) is refused with an InvalidArgument error naming it;
2. the context box is the box widened by 15 % per side (`expand_box` with the evaluation context), then
   cut and resized to 224x224 bilinear: the graph twins in `deep_rnn_tf.data.polygon_graph`, the same
   arithmetic as the crop shards used in training and evaluation;
3. decoding runs in a `tf.while_loop`: `correct` first feeds the person's fixed vertices (image pixels,
   mapped to grid cells) as the decoder's previous vertices, teacher forcing as in training, then predicts
   the rest (Polygon-RNN++'s correction); `annotate` is `correct` with an empty prefix;
4. decoded cells map back to image pixels (cell centres through the crop mapping); the fixed prefix is
   returned exactly as given.

Decoding is greedy by default; the `*_beam` signatures take `beam_width` in [1, 5] (1 = greedy). The beam
search ranks by summed log-probability (no length normalisation), the end-of-polygon token is barred
before the model's `min_vertices` and before the end of the prefix, and a polygon has at most
max(max_vertices, prefix length) vertices (the longest sequence the model was trained on).

Outputs (one image, no batch axis): `vertices` (N, 2) float32 image pixels, `length` () int32 = N,
`scores` (N,) float32 (the model's probability of each vertex at its step; for the prefix, of the forced
vertex), `tokens` (N,) int32 grid cells and `crop_box` (4,) int32 (the context box that was cropped).

Example:
    >>> annotator = PolygonAnnotator(model)
    >>> out = annotator.annotate(image, tf.constant([100.0, 50.0, 300.0, 200.0]))
    >>> out["vertices"][: out["length"]]
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from deep_rnn_tf.data.polygon_graph import (
    crop_and_resize_tf,
    crop_points_to_tokens_tf,
    crop_to_image_tf,
    expand_box_tf,
    image_to_crop_tf,
    tokens_to_crop_points_tf,
)
from deep_rnn_tf.data.polygons.geometry import CROP_SIZE, EOS_TOKEN, EVAL_CONTEXT, GRID_SIZE, VOCAB_SIZE
from deep_rnn_tf.validation import check_fraction

MAX_BEAM_WIDTH = 5
MIN_BOX_SIDE = 4.0
ANNOTATION_SIGNATURES = ("annotate", "correct", "annotate_beam", "correct_beam")

_IMAGE = tf.TensorSpec([None, None, 3], tf.uint8, name="image")
_BOX = tf.TensorSpec([4], tf.float32, name="box")
_PREFIX = tf.TensorSpec([None, 2], tf.float32, name="prefix")
_BEAM = tf.TensorSpec([], tf.int32, name="beam_width")


def clip_box(box: tf.Tensor, height: tf.Tensor, width: tf.Tensor) -> tf.Tensor:
    """Orders a box's corners and clips them to the image: float64 (x0, y0, x1, y1), x0 <= x1, y0 <= y1.

    Example:
        >>> clip_box(tf.constant([300.0, -20.0, 100.0, 50.0]), 200, 250).numpy()
        array([100.,   0., 249.,  50.])
    """
    box = tf.cast(box, tf.float64)
    high_x, high_y = tf.cast(width - 1, tf.float64), tf.cast(height - 1, tf.float64)
    x0 = tf.clip_by_value(tf.minimum(box[0], box[2]), 0.0, high_x)
    x1 = tf.clip_by_value(tf.maximum(box[0], box[2]), 0.0, high_x)
    y0 = tf.clip_by_value(tf.minimum(box[1], box[3]), 0.0, high_y)
    y1 = tf.clip_by_value(tf.maximum(box[1], box[3]), 0.0, high_y)
    return tf.stack([x0, y0, x1, y1])


class PolygonAnnotator(tf.Module):
    """The annotation signatures of a Polygon-RNN (module docstring): full image + box -> polygon.

    Args:
        model: a built :class:`deep_rnn_tf.tasks.polygon.model.PolygonRNN`.
        context: the context fraction added around the box (0.15, the evaluation crops').
        name: the module name.

    Example:
        >>> annotator = PolygonAnnotator(model)
        >>> annotator.correct(image, box, prefix=tf.constant([[120.0, 60.0]]))["vertices"]
        >>> serving.extra_endpoints = annotator.endpoints()  # exported next to serving_default
    """

    def __init__(self, model: keras.Model, context: float = EVAL_CONTEXT, name: str = "polygon_annotator"):
        super().__init__(name=name)
        for attribute in ("encode", "rnn", "logits_from_hidden", "max_vertices", "min_vertices"):
            if not hasattr(model, attribute):
                raise ValueError(
                    f"PolygonAnnotator needs a PolygonRNN; received {type(model).__name__} "
                    f"without {attribute!r}"
                )
        self.model = model
        self.context = check_fraction("context", context, include_zero=True)

    # ------------------------------------------------------------------------------------- signatures
    def annotate(self, image: tf.Tensor, box: tf.Tensor, beam_width: Any = 1) -> dict[str, tf.Tensor]:
        """Full image + box -> polygon (module docstring), greedy unless `beam_width` > 1."""
        return self.correct(image, box, tf.zeros([0, 2], tf.float32), beam_width)

    def correct(
        self, image: tf.Tensor, box: tf.Tensor, prefix: tf.Tensor, beam_width: Any = 1
    ) -> dict[str, tf.Tensor]:
        """Full image + box + fixed prefix (K, 2) image pixels -> polygon starting with that prefix."""
        image = tf.convert_to_tensor(image, tf.uint8)
        shape = tf.shape(image)
        height, width = shape[0], shape[1]
        clipped = clip_box(box, height, width)
        sides = clipped[2:] - clipped[:2]
        check = tf.debugging.Assert(
            tf.reduce_min(sides) >= MIN_BOX_SIDE,
            [
                f"box is degenerate: under {MIN_BOX_SIDE:g} pixels wide or high after clipping to the image;"
                " (x0, y0, x1, y1) =",
                clipped,
            ],
            summarize=4,
        )
        beam_width = tf.convert_to_tensor(beam_width, tf.int32)
        check_beam = tf.debugging.Assert(
            (beam_width >= 1) & (beam_width <= MAX_BEAM_WIDTH),
            [f"beam_width must be in [1, {MAX_BEAM_WIDTH}]; received", beam_width],
        )
        with tf.control_dependencies([check, check_beam]):
            crop_box = expand_box_tf(tf.reshape(clipped, [2, 2]), height, width, self.context)
        crop = crop_and_resize_tf(image, crop_box, CROP_SIZE)
        prefix = tf.reshape(tf.cast(prefix, tf.float32), [-1, 2])
        prefix_tokens = crop_points_to_tokens_tf(image_to_crop_tf(prefix, crop_box))
        tokens, scores = self.decode_crop(crop, prefix_tokens, beam_width)
        length = tf.size(tokens)
        num_fixed = tf.shape(prefix)[0]
        decoded = tf.cast(
            crop_to_image_tf(tokens_to_crop_points_tf(tokens[num_fixed:]), crop_box), tf.float32
        )
        return {
            "vertices": tf.concat([prefix, decoded], axis=0),
            "length": length,
            "scores": scores,
            "tokens": tokens,
            "crop_box": crop_box,
        }

    # ---------------------------------------------------------------------------------------- decoding
    def decode_crop(
        self, crop: tf.Tensor, prefix_tokens: tf.Tensor, beam_width: Any = 1
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """One 224x224 crop -> (tokens (N,), scores (N,)) of the best beam, end-of-polygon excluded.

        The first K = len(prefix_tokens) steps are forced to the prefix; beam width 1 is exactly
        `PolygonRNN.decode` (greedy) when the prefix is empty.
        """
        model = self.model
        features = model.encode(tf.convert_to_tensor(crop)[None], training=False)
        dtype = features.dtype
        beams = tf.convert_to_tensor(beam_width, tf.int32)
        features = tf.repeat(features, beams, axis=0)
        cell = model.rnn.cell
        states = [tf.cast(s, dtype) for s in cell.get_initial_state(beams)]
        num_fixed = tf.size(prefix_tokens)
        # The longest polygon: the model's own limit, or the whole prefix if that is longer.
        max_total = tf.maximum(model.max_vertices, num_fixed)
        num_steps = max_total + 1
        padded_prefix = tf.concat([tf.cast(prefix_tokens, tf.int32), [EOS_TOKEN]], axis=0)
        eos_only = tf.one_hot(EOS_TOKEN, VOCAB_SIZE, on_value=True, off_value=False)
        not_eos = tf.logical_not(eos_only)
        everything = tf.ones([VOCAB_SIZE], tf.bool)
        minus_inf = tf.constant(-float("inf"), tf.float32)
        zero_map = tf.zeros([beams, GRID_SIZE, GRID_SIZE], dtype)
        steps_axis = tf.range(num_steps)

        def allowed_tokens(t):
            forced = tf.one_hot(
                padded_prefix[tf.minimum(t, num_fixed)], VOCAB_SIZE, on_value=True, off_value=False
            )
            return tf.case(
                [
                    (t < num_fixed, lambda: forced),
                    (t >= max_total, lambda: eos_only),
                    (t < model.min_vertices, lambda: not_eos),
                ],
                default=lambda: everything,
            )

        def body(t, states, first, before_previous, previous, log_prob, done, tokens, scores):
            step_input = tf.concat([features, tf.stack([first, before_previous, previous], axis=-1)], -1)
            hidden, new_states = cell(step_input, states, training=False)
            logits = model.logits_from_hidden(hidden, tf.stack([before_previous, previous], axis=-1))
            step_log_prob = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
            step_log_prob = tf.where(allowed_tokens(t)[None], step_log_prob, minus_inf)
            # A finished beam only continues with end-of-polygon, at no cost.
            step_log_prob = tf.where(done[:, None], tf.where(eos_only, 0.0, minus_inf)[None], step_log_prob)
            candidates = tf.reshape(log_prob[:, None] + step_log_prob, [-1])
            best, index = tf.math.top_k(candidates, k=beams)
            parent, token = index // VOCAB_SIZE, index % VOCAB_SIZE
            token_prob = tf.exp(tf.gather_nd(step_log_prob, tf.stack([parent, token], axis=1)))
            new_map = model._vertex_maps(token, dtype)
            at_t = tf.equal(steps_axis, t)[None, :]
            tokens = tf.where(at_t, token[:, None], tf.gather(tokens, parent))
            scores = tf.where(at_t, token_prob[:, None], tf.gather(scores, parent))
            first = tf.cond(tf.equal(t, 0), lambda: new_map, lambda: tf.gather(first, parent))
            done = tf.gather(done, parent) | tf.equal(token, EOS_TOKEN) | tf.math.is_inf(best)
            return (
                t + 1,
                [tf.gather(s, parent) for s in new_states],
                first,
                tf.gather(previous, parent),
                new_map,
                best,
                done,
                tokens,
                scores,
            )

        def keep_going(t, states, first, before_previous, previous, log_prob, done, tokens, scores):
            return tf.logical_and(t < num_steps, tf.logical_not(tf.reduce_all(done)))

        # Only beam 0 is alive at the start, so the first step's top-k picks distinct tokens.
        initial_log_prob = tf.where(tf.range(beams) == 0, 0.0, minus_inf)
        loop_vars = (
            tf.constant(0), states, zero_map, zero_map, zero_map, initial_log_prob,
            tf.zeros([beams], tf.bool), tf.fill([beams, num_steps], EOS_TOKEN), tf.ones([beams, num_steps]),
        )  # fmt: skip
        # The beam axis (and the steps axis) may be static at the start; gathers make them dynamic.
        invariants = tf.nest.map_structure(
            lambda v: tf.TensorShape([None] * v.shape.rank) if v.shape.rank else v.shape, loop_vars
        )
        *_, log_prob, _, tokens, scores = tf.while_loop(
            keep_going, body, loop_vars, shape_invariants=invariants
        )
        best = tf.argmax(log_prob, output_type=tf.int32)
        tokens, scores = tokens[best], scores[best]
        length = tf.reduce_sum(tf.cast(tf.math.cumprod(tf.cast(tokens < EOS_TOKEN, tf.int32)), tf.int32))
        return tokens[:length], scores[:length]

    # ----------------------------------------------------------------------------------------- export
    def endpoints(self) -> dict[str, tuple[Any, list]]:
        """Signature name -> (function, input signature) for `export_for_serving`'s `extra_endpoints`.

        Example:
            >>> sorted(PolygonAnnotator(model).endpoints())
            ['annotate', 'annotate_beam', 'correct', 'correct_beam']
        """

        def annotate(inputs):
            return self.annotate(inputs["image"], inputs["box"])

        def correct(inputs):
            return self.correct(inputs["image"], inputs["box"], inputs["prefix"])

        def annotate_beam(inputs):
            return self.annotate(inputs["image"], inputs["box"], inputs["beam_width"])

        def correct_beam(inputs):
            return self.correct(inputs["image"], inputs["box"], inputs["prefix"], inputs["beam_width"])

        base = {"image": _IMAGE, "box": _BOX}
        return {
            "annotate": (annotate, [base]),
            "correct": (correct, [{**base, "prefix": _PREFIX}]),
            "annotate_beam": (annotate_beam, [{**base, "beam_width": _BEAM}]),
            "correct_beam": (correct_beam, [{**base, "prefix": _PREFIX, "beam_width": _BEAM}]),
        }
