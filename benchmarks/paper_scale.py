"""Paper scale, planned: parameters, peak memory and training-step time of each task's `paper` preset.

For every task (polygon, action, prediction) the script builds the paper preset's model exactly as
`deep-rnn train TASK --preset paper` does (`Task.build_model` via `deep_rnn_tf.training.runs.build_model`),
feeds it random batches of the shapes its data pipeline yields (no data set needed; nothing downloaded:
ImageNet backbone weights are replaced by random ones, which does not change the cost), and prints

- the parameter count (trainable / total),
- the peak memory: the process's peak RSS on CPU, the device's peak allocation on a GPU,
- the median time of a training step after `--warmup` steps (the first traces and compiles), images/s,
- the estimated time of the paper's schedule (original.md: polygon 5 epochs x 50 000 samples; action
  30 epochs x 9537 UCF-101 split-1 training videos at batch 16; prediction 30 000 iterations).

On a GPU, `--variants all` times the four combinations of mixed precision (mixed_float16) and XLA
(`jit_compile`), each in a fresh child process (a clean memory peak and dtype policy).

Usage:
    python benchmarks/paper_scale.py                                # every task, float32, no XLA, 3 steps
    python benchmarks/paper_scale.py --tasks polygon --steps 5 --batch-size 2
    python benchmarks/paper_scale.py --tasks action --batch-size 1 --set num_clips=1   # fits a small CPU
    python benchmarks/paper_scale.py --variants all --steps 20      # on a GPU: precision x XLA grid
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TASKS = ("polygon", "action", "prediction")
VARIANTS = {
    "fp32": (False, False),
    "fp32+xla": (False, True),
    "mixed": (True, False),
    "mixed+xla": (True, True),
}

# The paper's training schedule in samples (videos / images / sequences) and how one sample counts in images.
UCF101_SPLIT1_TRAIN_VIDEOS = 9537


def schedule(task: str, batch: int) -> dict[str, Any]:
    """Total training steps of the paper's schedule at `batch` samples per step, and its source.

    Example:
        >>> schedule("prediction", 8)["steps"]
        30000
    """
    if task == "polygon":  # original: 5 epochs over --num 50000 samples, batch 1 (original.md §5)
        samples = 5 * 50_000
        return {"steps": -(-samples // batch), "source": "5 epochs x 50000 samples (original.md §5)"}
    if task == "action":  # 30 epochs of UCF-101 split 1, batch 16 (original.md §4.1)
        per_epoch = -(-UCF101_SPLIT1_TRAIN_VIDEOS // batch)
        return {"steps": 30 * per_epoch, "source": f"30 epochs x {per_epoch} steps of UCF-101 split 1 (§4.1)"}
    return {"steps": 30_000, "source": "30000 iterations (original.md §7; the original ran 8 GPUs x batch 8)"}


def images_per_sample(task: str, config: Any) -> int:
    """Frames one training sample feeds through the network."""
    if task == "polygon":
        return 1
    if task == "action":
        return int(config.num_clips) * int(config.clip_len)
    return int(config.past) + int(config.future)


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` pairs (VALUE read as JSON when it parses, else kept as a string).

    Example:
        >>> parse_overrides(["num_clips=1", "backbone=vgg19"])
        {'num_clips': 1, 'backbone': 'vgg19'}
    """
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set {item!r}: expected KEY=VALUE")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def paper_config(
    task_name: str, batch_size: int | None, overrides: dict[str, Any] | None = None, preset: str = "paper"
) -> tuple[Any, Any]:
    """The task and its typed config (`paper` preset by default), resolved like the CLI does, runnable
    without data: ImageNet weights off (same cost, nothing downloaded), UCF-101's 101 class names given."""
    from deep_rnn_tf.tasks import get_task, resolve_config

    runnable: dict[str, Any] = {"seed": 0}
    if task_name == "action":
        runnable["class_names"] = [f"class_{i:03d}" for i in range(101)]  # UCF-101, without its folder
        runnable["backbone_weights"] = "none"
    if task_name == "polygon":
        runnable["encoder_weights"] = "none"
    if batch_size:
        runnable["batch_size"] = batch_size
    try:
        config = resolve_config(
            task_name, preset, [("paper_scale.py", runnable), ("--set", dict(overrides or {}))]
        )
    except ValueError as error:
        raise SystemExit(f"paper_scale.py: {error}") from None
    return get_task(task_name), config


def synthetic_batch(task_name: str, config: Any, seed: int = 0) -> tuple[Any, Any]:
    """A random batch of the shapes and dtypes the task's training pipeline yields."""
    import numpy as np

    rng = np.random.default_rng(seed)
    batch = int(config.batch_size)
    if task_name == "polygon":
        from deep_rnn_tf.data.polygons import CROP_SIZE, EOS_TOKEN

        steps = int(config.max_vertices) + 1
        images = rng.integers(0, 256, (batch, CROP_SIZE, CROP_SIZE, 3), dtype=np.uint8)
        sequence = np.full((batch, steps), -1, np.int32)
        for row in range(batch):
            length = int(rng.integers(int(config.min_vertices), steps))
            sequence[row, :length] = rng.integers(0, EOS_TOKEN, length)
            sequence[row, length] = EOS_TOKEN
        return images, sequence
    if task_name == "action":
        height, width = config.image_size
        shape = (batch, int(config.num_clips), int(config.clip_len), height, width, 3)
        frames = rng.integers(0, 256, shape, dtype=np.uint8)
        labels = rng.integers(0, len(config.class_names), batch).astype(np.int32)
        return frames, labels
    size = int(config.image_size)
    past = rng.uniform(-1, 1, (batch, int(config.past), size, size, 1)).astype(np.float32)
    future = rng.uniform(-1, 1, (batch, int(config.future), size, size, 1)).astype(np.float32)
    return past, future


def peak_memory_mb(gpu: bool) -> float:
    """Peak allocation on GPU:0, else the process's peak resident set (both in MiB)."""
    if gpu:
        import tensorflow as tf

        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(
    task_name: str,
    steps: int,
    warmup: int,
    batch_size: int | None,
    mixed: bool,
    xla: bool,
    overrides: dict[str, Any] | None = None,
    preset: str = "paper",
) -> dict:
    """Builds the paper preset's model and times `steps` training steps after `warmup` steps.

    The schedule estimate is in images: the paper schedule's images (at the paper's batch and clip
    sizes) divided by the measured images/s, so a smaller `batch_size` or fewer clips (to fit a CPU's
    memory) still estimate the paper's schedule, assuming the cost per image stays the same.
    """
    import keras
    import tensorflow as tf

    from deep_rnn_tf.training.multiworker import build_for_training
    from deep_rnn_tf.training.runs import build_model, configure_precision
    from deep_rnn_tf.training.strategy import select_strategy

    gpu = bool(tf.config.list_physical_devices("GPU"))
    task, config = paper_config(task_name, batch_size, overrides, preset)
    _, paper = paper_config(task_name, None)
    config = config.replace(mixed_precision=mixed, jit=xla)
    configure_precision(mixed)
    keras.utils.set_random_seed(0)
    info = select_strategy(None)
    rss_before = peak_memory_mb(False)
    begin = time.perf_counter()
    model = build_model(task, config, info)
    x, y = synthetic_batch(task_name, config)
    dataset = tf.data.Dataset.from_tensors((x, y)).repeat()
    build_for_training(model, next(iter(dataset)), info.strategy)
    build_s = time.perf_counter() - begin
    trainable = sum(int(v.numpy().size) for v in model.trainable_weights)
    total = sum(int(v.numpy().size) for v in model.weights)
    iterator = iter(dataset)
    begin = time.perf_counter()
    for _ in range(warmup):
        model.train_on_batch(*next(iterator))
    warmup_s = time.perf_counter() - begin
    times = []
    for _ in range(steps):
        x_step, y_step = next(iterator)
        begin = time.perf_counter()
        logs = model.train_on_batch(x_step, y_step, return_dict=True)
        times.append(time.perf_counter() - begin)
    step_s = statistics.median(times)
    plan = schedule(task_name, int(paper.batch_size))
    images = images_per_sample(task_name, config) * int(config.batch_size)
    paper_images = plan["steps"] * int(paper.batch_size) * images_per_sample(task_name, paper)
    return {
        "task": task_name,
        "device": "GPU" if gpu else "CPU",
        "preset": preset,
        "variant": ("mixed" if mixed else "fp32") + ("+xla" if xla else ""),
        "batch_size": int(config.batch_size),
        "params_trainable": trainable,
        "params_total": total,
        "build_s": round(build_s, 1),
        "warmup_s": round(warmup_s, 1),
        "step_s_median": round(step_s, 3),
        "step_s_all": [round(t, 3) for t in times],
        "images_per_s": round(images / step_s, 2),
        "peak_memory_mb": round(peak_memory_mb(gpu), 1),
        "cpu_rss_before_build_mb": round(rss_before, 1),
        "loss": {k: float(v) for k, v in logs.items() if k.endswith("loss")},
        "schedule_steps": plan["steps"],
        "schedule_source": plan["source"],
        "overrides": overrides or {},
        "schedule_images": paper_images,
        "schedule_hours": round(paper_images / (images / step_s) / 3600, 1),
    }


def _child(argv: list[str]) -> dict:
    """Runs one (task, variant) in a fresh process and returns its JSON line."""
    paths = [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))
    done = subprocess.run([sys.executable, __file__, "--one", *argv], capture_output=True, text=True, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"error": f"exit {done.returncode}: {' | '.join(tail)}", "argv": argv}
    return json.loads(lines[-1])


def _print_table(results: list[dict]) -> None:
    print("\n| task | device | variant | batch | params (trainable) | peak mem (MiB) | step (s) | images/s "
          "| paper schedule | est. time (h) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")  # est. time = paper images / measured images/s
    for r in results:
        if "error" in r:
            print(f"| {' '.join(r['argv'])} | error: {r['error']} |")
            continue
        print(
            f"| {r['task']} ({r['preset']}) | {r['device']} | {r['variant']} | {r['batch_size']} | "
            f"{r['params_trainable'] / 1e6:.2f} M | {r['peak_memory_mb']:.0f} | {r['step_s_median']:.3f} | "
            f"{r['images_per_s']:.1f} | {r['schedule_steps']} steps ({r['schedule_images']} images) | "
            f"{r['schedule_hours']:.1f} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--steps", type=int, default=3, help="timed training steps (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first (tracing; default 1)")
    parser.add_argument("--batch-size", type=int, help="override the paper batch size (per replica)")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["fp32"],
        help=f"{list(VARIANTS)} or 'all' (GPU: mixed precision x XLA)",
    )
    parser.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override paper-preset keys (e.g. num_clips=1)",
    )
    parser.add_argument("--preset", default="paper", help="the preset to build (default paper; e.g. small)")
    parser.add_argument("--json", help="also write every result to this JSON file")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    variants = list(VARIANTS) if args.variants == ["all"] else args.variants
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"--variants {unknown}: expected names from {list(VARIANTS)} or 'all'")
    if args.one:  # child: exactly one task and variant
        mixed, xla = VARIANTS[variants[0]]
        overrides = parse_overrides(args.set)
        result = measure(
            args.tasks[0], args.steps, args.warmup, args.batch_size, mixed, xla, overrides, args.preset
        )
        print(json.dumps(result), flush=True)
        return 0
    results = []
    for task in args.tasks:
        for variant in variants:
            child_argv = ["--tasks", task, "--variants", variant, "--steps", str(args.steps)]
            child_argv += ["--warmup", str(args.warmup), "--preset", args.preset]
            if args.batch_size:
                child_argv += ["--batch-size", str(args.batch_size)]
            if args.set:
                child_argv += ["--set", *args.set]
            print(f"measuring {task} ({variant}) ...", file=sys.stderr, flush=True)
            result = _child(child_argv)
            print(json.dumps(result), flush=True)
            results.append(result)
    _print_table(results)
    if args.json:
        sys.path.insert(0, str(Path(__file__).parents[1]))
        from deep_rnn_tf.atomic_io import write_json_atomic

        write_json_atomic(args.json, results)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
