"""The `deep-rnn` command: train, test and export any task; run an export; dataset tools; info.

    deep-rnn train TASK [--preset NAME] [--config FILE] [--run-dir DIR] [--epochs N] [--batch-size N] ...
    deep-rnn test TASK --run-dir DIR
    deep-rnn export TASK --run-dir DIR [--export-dir saved_models] [--name NAME] [--version N]
    deep-rnn predict --model saved_models/NAME[/VERSION] --input [NAME=]FILE.npy [--output FILE.npz]
    deep-rnn data TOOL [ARGS...]       (see `deep-rnn data --help`)
    deep-rnn annotate --model saved_models/polygon --images DIR [--labels DIR] [--port 8765]
    deep-rnn study NAME [--budget tiny|small|paper] [--seeds N] [--jobs N] [--out DIR] [TRAIN FLAGS...]
    deep-rnn info

A task is found by name through `deep_rnn_tf.tasks.get_task` and driven only through the `Task`
methods (deep_rnn_tf/training/task.py). Errors print one line naming the file or flag at fault and
exit with status 1 (2 for usage errors); `--debug` shows the traceback instead.

Start-up: this module imports no TensorFlow, so `--help` and `--version` answer at once (the preset lists
come from the TF-free `tasks/<name>/config.py`). Commands that need TensorFlow import it with file
descriptor 2 sent to /dev/null, because TF 2.21 prints absl/oneDNN lines at import whatever
TF_CPP_MIN_LOG_LEVEL says (docs/reference/platform.md, "Learned in use"); `--debug` keeps them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import re
import sys
import traceback
import zipfile
from pathlib import Path
from typing import Any

from deep_rnn_tf._tf_import import import_tensorflow, stderr_silenced
from deep_rnn_tf._version import __version__

PROG = "deep-rnn"

# `deep-rnn data <tool>` -> "module:function"; each function is `main(argv: list[str] | None) -> int`.
DATA_TOOLS: dict[str, str] = {
    "synth-kth": "deep_rnn_tf.tools.synth_kth:main",
    "synth-video": "deep_rnn_tf.tools.synth_video:main",
    "synth-mmnist": "deep_rnn_tf.tools.synth_mmnist:main",
    "real-clips": "deep_rnn_tf.tools.real_clips:main",
    "synth-actions": "deep_rnn_tf.tools.synth_actions:main",
    "extract-frames": "deep_rnn_tf.tools.extract_frames:extract_frames_main",
    "synth-cityscapes": "deep_rnn_tf.tools.synth_cityscapes:main",
    "polygon-crops": "deep_rnn_tf.tools.polygon_crops:crops_main",
}


# Config keys holding a data location: a relative path is made absolute when the config is resolved
# (prediction's data_dir and mix_data; action's data, test_data, class_index and data_root; polygon's crops).
_PATH_KEYS = ("data_dir", "mix_data", "data_root", "data", "test_data", "class_index", "crops")

# Flags that steer the command rather than the run; everything else (common and task flags) is config.
_NOT_CONFIG = frozenset(
    {
        "task",
        "config",
        "preset",
        "run_dir",
        "quiet",
        "debug",
        "export",
        "export_dir",
        "name",
        "version",
        "overwrite",
    }
)


class UsageError(ValueError):
    """A bad command line (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so errors get our one-line format."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message}")


def _common_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument("--config", metavar="FILE", help="JSON file of config overrides")
    group.add_argument(
        "--preset", metavar="NAME", help="named configuration of the task (default: its default)"
    )
    group.add_argument("--run-dir", metavar="DIR", help="run directory (default: runs/<task>-<preset>)")
    group.add_argument("--epochs", type=int, help="total epochs (a resumed run finishes the same total)")
    group.add_argument("--batch-size", type=int, help="batch size PER REPLICA (global = this x replicas)")
    group.add_argument("--lr", type=float, help="learning rate (the schedule's peak)")
    group.add_argument(
        "--lr-schedule", choices=("constant", "cosine"), help="constant, or warm-up then cosine decay to 0"
    )
    group.add_argument(
        "--warmup-steps", type=int, help="linear learning-rate warm-up steps (cosine schedule)"
    )
    group.add_argument(
        "--select-on",
        metavar="LOG",
        help="validation log whose best epoch test/export load (default val_loss; e.g. val_accuracy)",
    )
    group.add_argument(
        "--select-from-start",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="validate the untrained start too: test/export load it when no epoch beats it",
    )
    group.add_argument(
        "--keep-checkpoints",
        type=int,
        metavar="N",
        help="newest per-epoch checkpoints kept (default 3; the best one is kept apart)",
    )
    group.add_argument("--seed", type=int, help="seed everything (CPU runs become repeatable)")
    group.add_argument("--steps-per-epoch", type=int, help="limit the steps of each epoch")
    group.add_argument("--mixed-precision", action="store_true", default=None, help="mixed_float16 policy")
    group.add_argument("--jit", action="store_true", default=None, help="XLA-compile the train step")
    group.add_argument(
        "--devices", metavar="LIST", help="devices to mirror over, e.g. GPU:0,GPU:1 or CPU:0,CPU:1"
    )
    group.add_argument("--quiet", action="store_true", help="one log line per epoch instead of progress bars")
    group.add_argument("--debug", action="store_true", help="show tracebacks and TensorFlow's logs")
    return common


def _task_command_parser(command: str, task: Any | None) -> argparse.ArgumentParser:
    descriptions = {
        "train": "Train TASK in a run directory; the same command resumes an interrupted run.",
        "test": "Run TASK's test protocol on the run's best checkpoint (by validation; else the newest).",
        "export": "Export the run's best checkpoint (by validation; else the newest) for TF Serving.",
    }
    parser = _Parser(
        prog=f"{PROG} {command}",
        description=descriptions[command],
        parents=[_common_parser()],
        epilog=_task_presets_text(task.name) if task is not None else presets_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("task", help="task name (demo, prediction, action, polygon)")
    if command in ("train", "export"):
        group = parser.add_argument_group("export options")
        if command == "train":
            group.add_argument("--export", action="store_true", help="export after training (chief only)")
        group.add_argument(
            "--export-dir", default="saved_models", help="TF Serving base path (default saved_models)"
        )
        group.add_argument("--name", help="model name in the export dir (default: the task name)")
        group.add_argument("--version", type=int, help="export version (default: the next free integer)")
        group.add_argument("--overwrite", action="store_true", help="replace an existing --version")
    if task is not None:
        task.add_arguments(parser.add_argument_group(f"{task.name} options"))
    return parser


def _main_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Deep RNN Framework (Pang et al., CVPR 2019) on TensorFlow 2 / Keras 3.",
        epilog=f"{presets_text()}\n\nRun `deep-rnn COMMAND --help` for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command, text in (
        ("train", "train a task (resumes an interrupted run)"),
        ("test", "run a task's test protocol on a trained run"),
        ("export", "export a trained run for TF Serving"),
    ):
        sub.add_parser(command, help=text, add_help=False).add_argument("argv", nargs=argparse.REMAINDER)
    predict = sub.add_parser("predict", help="run an exported SavedModel on input files (plain TensorFlow)")
    predict.add_argument(
        "--model", required=True, metavar="DIR", help="saved_models/NAME or saved_models/NAME/VERSION"
    )
    predict.add_argument(
        "--input",
        action="append",
        required=True,
        metavar="[NAME=]FILE",
        help=".npy (one named input; NAME may be omitted for single-input models), .npz (arrays by name) "
        'or .json (TF Serving body {"instances": ...} or {"inputs": ...}); repeatable',
    )
    predict.add_argument("--output", metavar="FILE.npz", help="write all outputs here")
    predict.add_argument("--debug", action="store_true", help="show tracebacks")
    data = sub.add_parser("data", help="dataset tools: " + ", ".join(DATA_TOOLS), add_help=False)
    data.add_argument("argv", nargs=argparse.REMAINDER)
    annotate = sub.add_parser("annotate", help="annotate polygons in the browser with a polygon export")
    annotate.add_argument("argv", nargs=argparse.REMAINDER)
    study = sub.add_parser("study", help="run a named grid of runs and write one report", add_help=False)
    study.add_argument("argv", nargs=argparse.REMAINDER)
    info = sub.add_parser("info", help="versions and visible devices")
    info.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def presets_text(descriptions: bool = False) -> str:
    """The tasks and their presets (one line a task, or a preset with `descriptions`), without TensorFlow.

    Example:
        >>> print(presets_text())  # doctest: +SKIP
        tasks and presets (* = default):
          demo        small*, deep
    """
    from deep_rnn_tf.tasks import TASKS, default_preset_of, presets_of

    lines = ["tasks and presets (* = default):"]
    for name in TASKS:
        default = default_preset_of(name)
        presets = presets_of(name)
        if descriptions:
            for preset, spec in presets.items():
                mark = "*" if preset == default else " "
                lines.append(f"  {name:11s} {preset + mark:18s} {spec.description}")
        else:
            names = [f"{preset}*" if preset == default else preset for preset in presets]
            lines.append(f"  {name:11s} {', '.join(names)}")
    return "\n".join(lines)


def _task_presets_text(name: str) -> str:
    """One task's presets with what each is for (the `--preset` choices of `deep-rnn train NAME --help`)."""
    from deep_rnn_tf.tasks import default_preset_of, presets_of

    default = default_preset_of(name)
    lines = [f"presets of {name} (--preset NAME; * = default):"]
    for preset, spec in presets_of(name).items():
        lines.append(f"  {preset + ('*' if preset == default else ''):18s} {spec.description}")
    return "\n".join(lines)


def _setup_logging(quiet: bool, debug: bool) -> None:
    if not debug:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("deep_rnn_tf").setLevel(logging.DEBUG if debug else logging.INFO)


# ----------------------------------------------------------------------------------------- config


def _read_config_file(path: str) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"--config {path}: file not found")
    try:
        data = json.loads(file.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"--config {path}: malformed JSON ({error.msg}, line {error.lineno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"--config {path}: expected a JSON object of config keys; got {type(data).__name__}")
    return data


def resolve_config(
    task: Any, args: argparse.Namespace, base: dict[str, Any] | None = None, base_source: str = "run config"
) -> Any:
    """The task's typed config: preset (or `base`, e.g. a run's saved config) < --config file < flags.

    Raises:
        ValueError: one line naming the source (preset, --config file, command line) and the bad key.
    """
    from deep_rnn_tf.tasks import resolve_config as resolve_task_config

    layers = []
    if args.config:
        layers.append((f"--config {args.config}", _read_config_file(args.config)))
    flags = {k: v for k, v in vars(args).items() if v is not None and k not in _NOT_CONFIG}
    layers.append(("command line", flags))
    config = resolve_task_config(task.name, args.preset, layers, base=base, base_source=base_source)
    # Data locations stored absolute, so that `test`/`export` of the run work from any working directory.
    relative = {
        key: os.path.abspath(value)
        for key in _PATH_KEYS
        if isinstance(value := getattr(config, key, None), str) and value and not os.path.isabs(value)
    }
    return config.replace(**relative) if relative else config


def _parse_task_command(command: str, argv: list[str]) -> tuple[Any, argparse.Namespace]:
    from deep_rnn_tf.tasks import TASKS, get_task

    without_help = [a for a in argv if a not in ("-h", "--help")]
    if not without_help and argv:
        _task_command_parser(command, None).print_help()
        raise SystemExit(0)
    probe, _ = _task_command_parser(command, None).parse_known_args(without_help)
    if probe.task not in TASKS:
        raise UsageError(f"{PROG} {command}: unknown task {probe.task!r}; expected one of {sorted(TASKS)}")
    try:
        with stderr_silenced(not probe.debug):
            task = get_task(probe.task)
    except ModuleNotFoundError as error:
        raise ValueError(f"task {probe.task!r} is not available in this installation ({error})") from None
    return task, _task_command_parser(command, task).parse_args(argv)


def _default_run_dir(task: Any, args: argparse.Namespace) -> str:
    return str(Path("runs") / f"{task.name}-{args.preset or task.default_preset}")


# ---------------------------------------------------------------------------------------- commands


def cmd_train(argv: list[str]) -> int:
    task, args = _parse_task_command("train", argv)
    _setup_logging(args.quiet, args.debug)
    from deep_rnn_tf.training.runs import RunDirectory, check_config, train
    from deep_rnn_tf.training.strategy import select_strategy

    run_dir = args.run_dir or _default_run_dir(task, args)
    _check_run_dir_is_a_folder(run_dir)
    saved_at = str(RunDirectory(run_dir).config_path)
    config = resolve_config(task, args, base=_resume_base(task, args, run_dir), base_source=saved_at)
    check_config(task, config)  # the task's own checks, before the strategy touches any device
    if args.export:
        _check_export_version_free(task, args)  # not after a whole training
    info = select_strategy(args.devices)  # before any TF op (MultiWorkerMirroredStrategy requires it)
    result = train(task, config, run_dir, info=info, verbose=2 if args.quiet else 1)
    run = result.run
    if info.is_chief:
        print(f"Run directory: {run.path} (config.json, checkpoints/, logs/, metrics.csv)")
        latest = run.latest_checkpoint()
        print(f"Epochs done: {result.epochs_done} (this invocation started at {result.initial_epoch})")
        if latest:
            print(f"Newest checkpoint: {latest[1]}")
    if args.export:
        if info.is_chief:  # export the best epoch by validation loss, as `deep-rnn export` does
            from deep_rnn_tf.training.best import inference_checkpoint
            from deep_rnn_tf.training.runs import load_checkpoint

            chosen = inference_checkpoint(run)
            if chosen is not None:
                load_checkpoint(result.model, chosen[1])
        _export(task, run.read_config() if info.is_chief else config, result.model, args, info.is_chief)
    return 0


def _check_run_dir_is_a_folder(run_dir: str) -> None:
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise ValueError(f"--run-dir {run_dir}: a file, not a folder")


def _saved_config(task: Any, run: Any) -> dict[str, Any]:
    """The run's config.json, checked to be a run of `task` (else every key of another task's config would
    be reported as unknown, which does not say what is wrong)."""
    saved = run.read_config()
    trained_by = saved.get("task")
    if trained_by is not None and trained_by != task.name:
        raise ValueError(
            f"{run.path}: a run of the {trained_by!r} task, not {task.name!r} (its config.json); name that "
            f"task (`deep-rnn ... {trained_by} --run-dir {run.path}`) or use another --run-dir"
        )
    return saved


def _resume_base(task: Any, args: argparse.Namespace, run_dir: str) -> dict[str, Any] | None:
    """A resumed run starts from its saved config (flags given now override it); None for a new run.

    Raises:
        ValueError: ``--preset`` names another preset than the run was trained with.
    """
    from deep_rnn_tf.training.config import DERIVED_KEYS
    from deep_rnn_tf.training.runs import RunDirectory

    run = RunDirectory(run_dir)
    if not run.config_path.is_file():
        return None
    saved = _saved_config(task, run)
    preset = saved.get("preset", task.default_preset)
    if args.preset is not None and args.preset != preset:
        raise ValueError(
            f"--preset {args.preset}: {run_dir} was trained with preset {preset!r}; resume it without "
            "--preset (or with the same one), or train the new preset in another --run-dir"
        )
    kept = {key: value for key, value in saved.items() if key not in DERIVED_KEYS}
    return {**task.presets.get(preset, {}), **kept}


def _trained_model(command: str, argv: list[str]):
    task, args = _parse_task_command(command, argv)
    _setup_logging(args.quiet, args.debug)
    from deep_rnn_tf.training.runs import RunDirectory, configure_precision, load_trained
    from deep_rnn_tf.training.strategy import select_strategy

    run_dir = args.run_dir or _default_run_dir(task, args)
    _check_run_dir_is_a_folder(run_dir)
    run = RunDirectory(run_dir)
    config = resolve_config(task, args, base=_saved_config(task, run), base_source=str(run.config_path))
    # test/export run in one process: ignore TF_CONFIG (a cluster would wait for its peers).
    info = select_strategy(args.devices, environ={})
    configure_precision(bool(config.get("mixed_precision")))
    return task, args, config, run_dir, load_trained(task, config, run_dir, info)


def cmd_test(argv: list[str]) -> int:
    task, _args, config, run_dir, model = _trained_model("test", argv)
    metrics = task.evaluate(config, model, run_dir)
    print(json.dumps(metrics, indent=2, sort_keys=True, default=str))
    print(f"Results written under {Path(run_dir) / 'results'}")
    return 0


def cmd_export(argv: list[str]) -> int:
    task, args, config, _run_dir, model = _trained_model("export", argv)
    _export(task, config, model, args, is_chief=True)
    return 0


def _check_export_version_free(task: Any, args: argparse.Namespace) -> None:
    """`--version N` of an existing export (without --overwrite) is refused before anything runs."""
    from deep_rnn_tf.export.serving import check_version_free

    check_version_free(Path(args.export_dir) / (args.name or task.name), args.version, args.overwrite)


def _export(task: Any, config: dict[str, Any], model: Any, args: argparse.Namespace, is_chief: bool) -> None:
    if not is_chief:
        return  # only the chief writes files
    from deep_rnn_tf.export.serving import export_for_serving

    serving = task.serving_model(config, model)
    example = _example_inputs(task, config, serving)
    result = export_for_serving(
        serving,
        args.export_dir,
        args.name or task.name,
        version=args.version,
        example_inputs=example,
        overwrite=args.overwrite,
    )
    print(
        f"Exported {result.path} (version {result.version}); inputs {result.inputs}; outputs {result.outputs}"
    )
    print(f"Reloaded export vs Keras model on the example: max |diff| = {result.max_abs_diff:.3g}")
    print(f"See {result.path / 'README.txt'} for the input spec and serving commands.")


def _example_inputs(task: Any, config: Any, serving: Any) -> Any:
    """A batch-1 example for the export check, built from the served model's input specs (no data read)."""
    return task.serving_example(serving, seed=int(config.get("seed") or 0))


def _load_input_file(path: str) -> dict[str, Any] | Any:
    import numpy as np

    from deep_rnn_tf.atomic_io import load_npy

    file = Path(path)
    if not file.is_file():
        raise ValueError(f"--input {path}: file not found")
    if file.suffix == ".npy":
        try:
            return load_npy(file)
        except ValueError as error:
            raise ValueError(f"--input {error}") from None
    if file.suffix == ".npz" and not zipfile.is_zipfile(file):
        # NumPy would try to unpickle it and blame "pickled (object) data".
        raise ValueError(f"--input {path}: not a .npz file (not a zip archive; save arrays with numpy.savez)")
    try:
        if file.suffix == ".npz":
            with np.load(file, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        if file.suffix == ".json":
            body = json.loads(file.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"--input {path}: cannot read ({error})") from None
    if file.suffix != ".json":
        raise ValueError(f"--input {path}: unsupported file type {file.suffix!r} (use .npy, .npz or .json)")
    try:
        return _serving_request(body, path)
    except (ValueError, TypeError) as error:
        if str(error).startswith("--input"):
            raise
        # numpy: "setting an array element with a sequence ... inhomogeneous shape ..."
        raise ValueError(
            f"--input {path}: the arrays are ragged (rows of different lengths) or not numbers; "
            f"every instance must have the same shape ({_one_line(error)})"
        ) from None


def _serving_request(body: Any, path: str) -> dict[str, Any]:
    import numpy as np

    if isinstance(body, dict) and "inputs" in body and isinstance(body["inputs"], dict):
        return {k: np.asarray(v) for k, v in body["inputs"].items()}
    if isinstance(body, dict) and body.get("instances") == []:
        raise ValueError(f'--input {path}: "instances" is empty (a batch of 0); give at least one instance')
    if isinstance(body, dict) and isinstance(body.get("instances"), list) and body["instances"]:
        rows = body["instances"]
        if all(isinstance(r, dict) for r in rows):
            return {k: np.asarray([r[k] for r in rows]) for k in rows[0]}
        return np.asarray(rows)
    raise ValueError(
        f'--input {path}: expected a TF Serving body {{"instances": [...]}} or {{"inputs": {{...}}}}'
    )


def _read_predict_inputs(items: list[str], spec: dict) -> tuple[dict[str, Any], set[str], dict[str, str]]:
    """The `--input [NAME=]FILE` arrays by input name, the names read from JSON (no dtypes there: cast to the
    signature's, as TF Serving does) and the file each name came from (for messages)."""
    inputs: dict[str, Any] = {}
    from_json: set[str] = set()
    sources: dict[str, str] = {}
    for item in items:
        name, sep, file = item.partition("=")
        if not sep:
            name, file = "", item
        value = _load_input_file(file)
        if isinstance(value, dict):
            read = value
        elif name:
            read = {name: value}
        elif len(spec) == 1:
            read = {next(iter(spec)): value}
        else:
            raise ValueError(f"--input {item}: name the input (NAME=FILE); the export takes {sorted(spec)}")
        twice = sorted(set(read) & set(inputs))
        if twice:
            raise ValueError(f"--input {file}: input {twice[0]!r} is also given by {sources[twice[0]]}")
        inputs.update(read)
        sources.update(dict.fromkeys(read, file))
        if file.endswith(".json"):
            from_json |= set(read)
    return inputs, from_json, sources


def cmd_predict(args: argparse.Namespace) -> int:
    if args.output and os.path.isdir(args.output):  # before the model runs, not after
        raise ValueError(f"--output {args.output}: a folder; name the .npz file to write")
    _setup_logging(False, args.debug)
    import_tensorflow(args.debug)
    import numpy as np

    from deep_rnn_tf.atomic_io import atomic_path
    from deep_rnn_tf.export.serving import (
        coerce_inputs,
        load_signature,
        resolve_export,
        signature_spec,
        storable_array,
    )

    path = resolve_export(args.model)
    loaded, serve = load_signature(path)
    spec, _ = signature_spec(serve)
    inputs, from_json, sources = _read_predict_inputs(args.input, spec)
    inputs = coerce_inputs(inputs, spec, where="--input: ", untyped=from_json, sources=sources)
    outputs = {k: storable_array(v.numpy()) for k, v in serve(**inputs).items()}
    del loaded
    summary = {
        k: v.tolist() if v.size <= 64 else {"shape": list(v.shape), "dtype": str(v.dtype)}
        for k, v in outputs.items()
    }
    print(json.dumps({"model": str(path), "outputs": summary}, indent=1))
    if args.output:
        with atomic_path(args.output, suffix=".npz") as tmp:
            np.savez(tmp, **outputs)
        print(f"Wrote {args.output}")
    return 0


def cmd_data(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: {PROG} data TOOL [ARGS...]\n\ntools:")
        for name, target in DATA_TOOLS.items():
            print(f"  {name:18s} {target}")
        return 0
    tool, rest = argv[0], argv[1:]
    if tool not in DATA_TOOLS:
        raise UsageError(f"{PROG} data: unknown tool {tool!r}; expected one of {sorted(DATA_TOOLS)}")
    module_name, function_name = DATA_TOOLS[tool].split(":")
    try:
        with stderr_silenced("--debug" not in rest):
            module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            raise ValueError(
                f"{PROG} data {tool}: {module_name} is not available in this installation"
            ) from None
        raise
    function = getattr(module, function_name, None)
    if function is None:
        raise ValueError(f"{PROG} data {tool}: {module_name} has no function {function_name}()")
    return int(function(rest) or 0)


def cmd_annotate(argv: list[str]) -> int:
    """`deep-rnn annotate`: the browser annotation tool (deep_rnn_tf/app; Flask is imported only here)."""
    try:
        from deep_rnn_tf.app.server import main as annotate_main
    except ModuleNotFoundError as error:
        raise ValueError(f"{PROG} annotate needs {error.name}: pip install 'deep_rnn_tf[annotate]'") from None
    return int(annotate_main(argv) or 0)


def cmd_study(argv: list[str]) -> int:
    """`deep-rnn study NAME ...`: a named grid of runs and its report (deep_rnn_tf/tools/study.py)."""
    from deep_rnn_tf.tools.study import StudyError, study_main

    try:
        return study_main(argv)
    except StudyError as error:
        raise UsageError(str(error)) from None


def cmd_info(debug: bool = False) -> int:
    import platform

    tf = import_tensorflow(debug)
    import keras
    import numpy as np

    print(f"deep_rnn_tf {__version__}")
    print(f"python {platform.python_version()} ({platform.platform()})")
    print(f"tensorflow {tf.__version__}")
    print(f"keras {keras.__version__} (backend {keras.backend.backend()})")
    print(f"numpy {np.__version__}")
    print("devices:")
    for device in tf.config.list_physical_devices():
        print(f"  {device.device_type}: {device.name}")
    print(f"TF_CONFIG: {'set' if os.environ.get('TF_CONFIG') else 'not set'}")
    print(presets_text(descriptions=True))
    return 0


def _dispatch(argv: list[str]) -> int:
    # These parse their own arguments (argparse's REMAINDER drops a leading "--help").
    passthrough = {
        "train": cmd_train,
        "test": cmd_test,
        "export": cmd_export,
        "data": cmd_data,
        "study": cmd_study,
        "annotate": cmd_annotate,
    }
    if argv and argv[0] in passthrough:
        return passthrough[argv[0]](argv[1:])
    args = _main_parser().parse_args(argv)
    if args.command is None:
        _main_parser().print_help()
        return 2
    if args.command == "train":
        return cmd_train(args.argv)
    if args.command == "test":
        return cmd_test(args.argv)
    if args.command == "export":
        return cmd_export(args.argv)
    if args.command == "predict":
        return cmd_predict(args)
    if args.command == "data":
        return cmd_data(args.argv)
    if args.command == "study":
        return cmd_study(args.argv)
    return cmd_info(args.debug)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `deep-rnn` console command.

    Args:
        argv: arguments without the program name (default ``sys.argv[1:]``).

    Returns:
        The exit status (0 ok, 1 error, 2 usage error).

    Example:
        >>> main(["--version"])  # doctest: +SKIP
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if not debug:  # before TensorFlow is imported: keep its C++ start-up chatter out of the output
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        return _dispatch(argv)
    except SystemExit as exit_:  # --help / --version
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if debug:
            traceback.print_exc()
        hint = "" if debug or isinstance(error, (ValueError, OSError)) else " (--debug shows the traceback)"
        print(f"{PROG}: error: {_one_line(error)}{hint}", file=sys.stderr)
        return 2 if isinstance(error, UsageError) else 1


_TF_FRAME_LINES = ("Detected at node", "File ", "<stack traces", "[[{{node")
_ASSERTION = re.compile(r"assertion failed: \[(?P<reason>[^\]]*?):?\] \[(?P<subject>[^\]]+)\]")


def _one_line(error: BaseException) -> str:
    text = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    # tf.function errors read "in user code: <frames> <the actual error>": the last line is the cause;
    # graph errors read "Graph execution error: Detected at node ... <frames> <the actual error>".
    if text and text[0].startswith("in user code"):
        text = text[-1:]
    elif text and text[0].startswith("Graph execution error"):
        text = [line for line in text[1:] if not line.startswith(_TF_FRAME_LINES)] or text
    first = text[0] if text else ""
    assertion = _ASSERTION.search(first)
    if assertion:
        # A data check inside a tf.data pipeline ("assertion failed: [reason:] [path]", e.g. a corrupt JPEG
        # met mid-epoch): the file and the reason, without TensorFlow's node and class names.
        return f"{assertion['subject']}: {assertion['reason']}"
    if isinstance(error, OSError) and error.strerror and (error.filename2 or error.filename):
        # "[Errno 20] Not a directory: 'a.txt/train'" -> "a.txt/train: not a directory" (a rename names
        # its temporary source first: the destination is the user's path).
        return f"{error.filename2 or error.filename}: {error.strerror[:1].lower()}{error.strerror[1:]}"
    return first if isinstance(error, (ValueError, OSError)) else f"{type(error).__name__}: {first}"


if __name__ == "__main__":
    sys.exit(main())
