"""Can a model tell which way the hand turns? Reference models on a subset of the synthetic action set.

    .venv/bin/python benchmarks/hand_turning_probe.py --data DIR --model diff2d [--epochs 25]

A diagnostic of the data, not a method of the package (plain Keras models, nothing of deep_rnn_tf but the
frame reader and the test protocol's frame sampling). It reads the classes named by `--classes` (default: the
three that only the hand's turning tells, `pendulum` and `rotate_{clockwise,counterclockwise}`) from a
`deep-rnn data synth-actions` folder, samples each video as the action test does (16 frames,
`uniform_frame_indices`), holds out the last tenth of each class's training videos (by name) as validation,
trains with Adam 1e-3, batch 16, and prints the last epoch's validation and test accuracy (no selection:
the test is scored once, at the end).

Models (`--model`):
- `diff2d`: each frame beside its difference from the frame before (6 channels) -> 3x3 convs 16 (stride 1),
  32, 32 (stride 2) -> spatial mean, then the mean over time: a bag of local motion detectors, no recurrence.
- `diff2d_s2`: the same with a stride-2 first conv (as the tiny stem's).
- `stem_convlstm`: the `small` preset's tiny stem (3 stride-2 conv+BN+ReLU, 8/16/16 channels, a 4x4 map) on
  each frame -> ConvLSTM2D 16 -> spatial mean -> mean over time: the framework's layout (recurrence after a
  per-frame CNN).
- `stemdiff_convlstm`: the same stem on [frame, frame difference].

docs/log/study.md, "The turn between the frames a model sees", has the measurements.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

HAND_CLASSES = "pendulum,rotate_clockwise,rotate_counterclockwise"
MODELS = ("diff2d", "diff2d_s2", "stem_convlstm", "stemdiff_convlstm")
FRAMES = 16  # the `small` preset's test sequence


def load_videos(root: str, split: str, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(videos (n, 16, H, W, 3) float32 in [0, 1], labels (n,)) of `classes`, in the split's order."""
    from deep_rnn_tf.data.frames import load_split
    from deep_rnn_tf.data.sampling import uniform_frame_indices
    from deep_rnn_tf.data.video_io import read_image

    data = load_split(root, split)
    videos, labels = [], []
    for item in data.items:
        name = data.class_names[item.label]
        if name not in classes:
            continue
        indices = uniform_frame_indices(len(item.frames), FRAMES)
        videos.append(np.stack([read_image(item.frames[i]) for i in indices]))
        labels.append(classes.index(name))
    if not videos:
        raise SystemExit(f"{root}: no {split} video of the classes {classes}")
    return np.stack(videos).astype("float32") / 255.0, np.array(labels)


def split_validation(videos: np.ndarray, labels: np.ndarray) -> tuple[tuple, tuple]:
    """((train videos, labels), (validation videos, labels)): the last tenth of each class's videos."""
    held = np.zeros(len(labels), bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        held[members[-max(1, len(members) // 10) :]] = True
    return (videos[~held], labels[~held]), (videos[held], labels[held])


def build_model(name: str, size: tuple[int, int], num_classes: int):
    """One of `MODELS` (see the module's docstring): (batch, 16, H, W, 3) -> class logits."""
    import keras
    from keras import layers

    frames = keras.Input((FRAMES, *size, 3))
    previous = keras.ops.concatenate([frames[:, :1], frames[:, :-1]], axis=1)
    with_difference = layers.Concatenate()([frames, frames - previous])
    if name in ("diff2d", "diff2d_s2"):
        first_stride = 1 if name == "diff2d" else 2
        cnn = keras.Sequential(
            [
                keras.Input((*size, 6)),
                layers.Conv2D(16, 3, strides=first_stride, padding="same", activation="relu"),
                layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
                layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
                layers.GlobalAveragePooling2D(),
            ]
        )
        # The first frame's difference is zero: the mean runs over the frames that have a frame before.
        features = layers.TimeDistributed(cnn)(with_difference[:, 1:])
    else:
        channels = 6 if name == "stemdiff_convlstm" else 3
        stem = keras.Sequential([keras.Input((*size, channels))])
        for filters in (8, 16, 16):
            stem.add(layers.Conv2D(filters, 3, strides=2, padding="same", use_bias=False))
            stem.add(layers.BatchNormalization())
            stem.add(layers.ReLU())
        x = layers.TimeDistributed(stem)(with_difference if channels == 6 else frames)
        x = layers.ConvLSTM2D(16, 3, padding="same", return_sequences=True)(x)
        features = layers.TimeDistributed(layers.GlobalAveragePooling2D())(x)
    pooled = layers.GlobalAveragePooling1D()(features)
    logits = layers.Dense(num_classes)(layers.Dense(32, activation="relu")(pooled))
    return keras.Model(frames, logits, name=name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="a synth-actions folder (train/ and test/)")
    parser.add_argument("--model", choices=MODELS, required=True)
    parser.add_argument("--classes", default=HAND_CLASSES, help=f"comma-separated (default {HAND_CLASSES})")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import keras

    keras.utils.set_random_seed(args.seed)
    classes = args.classes.split(",")
    videos, labels = load_videos(args.data, "train", classes)
    test = load_videos(args.data, "test", classes)
    shuffle = np.random.default_rng(args.seed).permutation(len(labels))
    train, validation = split_validation(videos[shuffle], labels[shuffle])
    model = build_model(args.model, videos.shape[2:4], len(classes))
    model.compile(
        keras.optimizers.Adam(1e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.time()
    model.fit(*train, batch_size=16, epochs=args.epochs, validation_data=validation, verbose=2)
    scores = {
        "train": model.evaluate(*train, verbose=0)[1],
        "validation": model.evaluate(*validation, verbose=0)[1],
        "test": model.evaluate(*test, verbose=0)[1],
    }
    print(
        f"{args.model} on {args.data} ({len(train[1])} train / {len(validation[1])} validation / "
        f"{len(test[1])} test videos, {args.epochs} epochs, {time.time() - start:.0f} s): "
        + ", ".join(f"{split} {100 * value:.1f} %" for split, value in scores.items())
    )


if __name__ == "__main__":
    main()
