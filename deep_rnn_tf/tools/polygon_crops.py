"""`deep-rnn data polygon-crops`: the command-line door of `deep_rnn_tf.data.polygons.write_crop_shards`."""

from __future__ import annotations

import argparse
import os
import sys

from deep_rnn_tf.data.polygons.crops import write_crop_shards
from deep_rnn_tf.data.polygons.geometry import DEFAULT_MAX_VERTICES, EVAL_CONTEXT, TRAIN_CONTEXT_RANGE
from deep_rnn_tf.validation import seed_arg


def crops_main(argv: list[str] | None = None) -> int:
    """`deep-rnn data polygon-crops`: Cityscapes (or the synthetic set) -> crop shards + manifests.

    Example:
        $ deep-rnn data polygon-crops --root data/synth_cityscapes --out data/polygon_crops
    """
    parser = argparse.ArgumentParser(
        prog="deep-rnn data polygon-crops",
        description="Cut the 8 instance classes out of Cityscapes into 224x224 crops with 28x28 grid "
        "vertex sequences (TFRecord shards + manifest per split).",
    )
    parser.add_argument("--root", required=True, help="Cityscapes root (leftImg8bit/+gtFine/ or img/+label/)")
    parser.add_argument("--out", required=True, help="output folder; each split goes to OUT/<split>/")
    parser.add_argument("--splits", nargs="+", default=["train", "val"])
    parser.add_argument(
        "--train-splits", nargs="*", default=["train"], help="splits cropped with random context"
    )
    parser.add_argument("--train-context", nargs=2, type=float, default=list(TRAIN_CONTEXT_RANGE))
    parser.add_argument("--eval-context", type=float, default=EVAL_CONTEXT)
    parser.add_argument("--copies", type=int, default=1, help="random-context crops per training instance")
    parser.add_argument("--max-vertices", type=int, default=DEFAULT_MAX_VERTICES)
    parser.add_argument("--shard-size", type=int, default=1000)
    parser.add_argument("--seed", type=seed_arg, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.max_vertices < 3:  # training and the IoU need polygons
        parser.error(f"--max-vertices must be >= 3 (a polygon); received {args.max_vertices}")
    if not os.path.isdir(args.root):  # once, not once per split, and before any output folder is made
        parser.error(f"--root {args.root}: no such folder")
    status = 0
    for split in args.splits:
        training = split in args.train_splits
        context = tuple(args.train_context) if training else args.eval_context
        try:
            manifest = write_crop_shards(
                args.root,
                split,
                args.out,
                context,
                copies=args.copies if training else 1,
                max_vertices=args.max_vertices,
                shard_size=args.shard_size,
                seed=args.seed,
                quiet=args.quiet,
            )
        except (FileNotFoundError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            status = 1
            continue
        print(
            f"{split}: {manifest['num_instances']} crops in {len(manifest['shards'])} shard(s) -> "
            f"{os.path.join(args.out, split)}; dropped {manifest['dropped']}; "
            f"{len(manifest['errors'])} file(s) skipped"
        )
        if not manifest["num_instances"]:
            print(f"warning: {split}: no crops kept (see 'dropped' above); nothing will train or test on it")
    return status


if __name__ == "__main__":
    sys.exit(crops_main())
