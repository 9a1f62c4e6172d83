"""Box -> polygon latency of the polygon export's `annotate` signature (what `deep-rnn annotate` calls).

For each preset a model is built (freshly initialised: latency does not depend on the weights, only on
the number of decoding steps, which is reported), exported with `export_for_serving`, reloaded with plain
TensorFlow, and `annotate` is called on a 1024x2048 synthetic image with a different box each call.
Prints p50 / p95 over the timed calls (after warm-up calls) and the mean number of vertices.

    python benchmarks/polygon_annotate.py --presets small paper --calls 50
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from deep_rnn_tf.export.serving import export_for_serving  # noqa: E402
from deep_rnn_tf.tasks import resolve_config  # noqa: E402
from deep_rnn_tf.tasks.polygon.task import PolygonTask  # noqa: E402


def measure(preset: str, calls: int, warmup: int, beam: int, seed: int = 0) -> dict:
    """Exports a fresh `preset` model and times `calls` annotate calls; returns the numbers."""
    task = PolygonTask()
    config = resolve_config("polygon", preset, [("benchmark", {"seed": seed})])
    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    model = task.build_model(config)
    with tempfile.TemporaryDirectory() as base:
        example = np.zeros((1, 224, 224, 3), np.uint8)
        serving = task.serving_model(config, model)
        result = export_for_serving(serving, base, "polygon", example_inputs=example)
        export_s = time.perf_counter() - started
        loaded = tf.saved_model.load(str(result.path))
        name = "annotate" if beam == 1 else "annotate_beam"
        signature = loaded.signatures[name]
        rng = np.random.default_rng(seed)
        image = tf.constant(rng.integers(0, 256, (1024, 2048, 3)).astype(np.uint8))
        times, lengths = [], []
        for index in range(warmup + calls):
            x0, y0 = rng.uniform(0, 1700), rng.uniform(0, 800)
            w, h = rng.uniform(40, 340), rng.uniform(40, 220)
            inputs = {"image": image, "box": tf.constant([x0, y0, x0 + w, y0 + h], tf.float32)}
            if beam > 1:
                inputs["beam_width"] = tf.constant(beam)
            tick = time.perf_counter()
            out = signature(**inputs)
            length = int(out["length"])
            if index >= warmup:
                times.append((time.perf_counter() - tick) * 1000.0)
                lengths.append(length)
        del loaded
    return {
        "preset": preset,
        "beam": beam,
        "params": model.count_params(),
        "max_vertices": model.max_vertices,
        "export_s": export_s,
        "p50_ms": float(np.percentile(times, 50)),
        "p95_ms": float(np.percentile(times, 95)),
        "mean_vertices": float(np.mean(lengths)),
        "calls": calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["small", "paper"])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--beam", type=int, default=1, help="1 = greedy (annotate), 2-5 = annotate_beam")
    args = parser.parse_args()
    devices = [d.name for d in tf.config.list_physical_devices()]
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU(s), devices {devices}")
    print("| preset | parameters | max vertices | beam | mean vertices | p50 ms | p95 ms | export s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for preset in args.presets:
        r = measure(preset, args.calls, args.warmup, args.beam)
        print(
            f"| {r['preset']} | {r['params']:,} | {r['max_vertices']} | {r['beam']} "
            f"| {r['mean_vertices']:.1f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['export_s']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
