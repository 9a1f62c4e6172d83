"""SavedModel export in TF Serving's layout, and running an export with plain TensorFlow.

``export_for_serving`` writes ``<base_dir>/<name>/<version>/`` (TF Serving's model layout; the
version is the next free integer unless given) with

* ``saved_model.pb`` + ``variables/``: signature ``serving_default`` with **named inputs** and a
  **dict of named outputs** (stable keys for REST and gRPC clients);
* ``example_request.json``: one instance in TF Serving's REST format ``{"instances": [{name: ...}]}``;
* ``example_<input>.npy``: the same input for ``saved_model_cli run --inputs <input>=<file>``;
* ``example_outputs.npz``: what the exported signature returned for that example;
* ``README.txt`` and ``signature.json``: the input/output spec (names, dtypes, shapes) and commands.

The export is written under a temporary hidden name and renamed into place, so TF Serving (which
only loads integer directories) never sees a half-written version. Before the rename the export is
loaded back and checked against the Keras model on the example.

Nothing here is needed to *use* an export: it loads with plain TensorFlow
(``tf.saved_model.load(path).signatures["serving_default"](frames=x)``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from deep_rnn_tf._version import __version__
from deep_rnn_tf.atomic_io import process_alive
from deep_rnn_tf.validation import check_positive_int

SIGNATURE = "serving_default"
STAGING_PREFIX = ".tmp-export-"  # + "<pid>-<random>": the pid tells whether the export is still running

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportResult:
    """Where an export went and what its signature is.

    Args:
        path: the version directory.
        version: the integer version.
        inputs: input name -> (dtype, shape with None for the batch/unknown dims).
        outputs: output name -> (dtype, shape).
        max_abs_diff: largest difference between the reloaded export and the Keras model on the example.
    """

    path: Path
    version: int
    inputs: dict[str, tuple[str, list[int | None]]]
    outputs: dict[str, tuple[str, list[int | None]]]
    max_abs_diff: float


def versions(model_dir: str | os.PathLike) -> list[int]:
    """Integer version directories under `model_dir`, ascending (TF Serving ignores everything else).

    Example:
        >>> versions("saved_models/demo")  # [] before the first export
        []
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def check_version_free(model_dir: str | os.PathLike, version: int | None, overwrite: bool) -> None:
    """ValueError when `version` is given, already exported under `model_dir` and `overwrite` is off; callers
    that train before exporting check first, so that a whole training is not lost to it."""
    path = Path(model_dir) / str(version)
    if version is not None and not overwrite and path.exists():
        raise ValueError(f"{path} exists; choose another --version or pass --overwrite")


def next_version(model_dir: str | os.PathLike) -> int:
    """The next free integer version (1 for an empty or missing `model_dir`).

    Example:
        >>> next_version("saved_models/does-not-exist")
        1
    """
    existing = versions(model_dir)
    return existing[-1] + 1 if existing else 1


def resolve_export(path: str | os.PathLike) -> Path:
    """Returns the SavedModel directory for `path`: itself, or its newest integer version.

    Raises:
        ValueError: no ``saved_model.pb`` there (names the path).

    Example:
        >>> resolve_export("saved_models/demo")  # doctest: +SKIP
        PosixPath('saved_models/demo/3')
    """
    path = Path(path)
    if (path / "saved_model.pb").is_file():
        return path
    found = versions(path)
    valid = [number for number in found if (path / str(number) / "saved_model.pb").is_file()]
    unusable = [str(path / str(number)) for number in found if number not in valid]
    if valid:
        newer = [name for name in unusable if int(Path(name).name) > valid[-1]]
        if newer:  # TF Serving skips them too; say so, since the user may expect the newest number
            logger.warning("Skipping version folder(s) without saved_model.pb: %s", ", ".join(newer))
        return path / str(valid[-1])
    if unusable:
        raise ValueError(f"{path}: no usable version: {', '.join(unusable)} hold(s) no saved_model.pb")
    raise ValueError(
        f"{path}: not a SavedModel (no saved_model.pb) nor a model directory with versions 1, 2, ..."
    )


def load_signature(path: str | os.PathLike) -> tuple[Any, Any]:
    """Loads an export with plain TF; returns (loaded object, its ``serving_default`` function).

    Keep the loaded object alive while using the function (TF collects it otherwise).

    Example:
        >>> loaded, serve = load_signature("saved_models/demo/1")  # doctest: +SKIP
        >>> serve(frames=x)["probabilities"]  # doctest: +SKIP
    """
    path = resolve_export(path)
    loaded = tf.saved_model.load(str(path))
    if SIGNATURE not in loaded.signatures:
        raise ValueError(f"{path}: no {SIGNATURE!r} signature (has {sorted(loaded.signatures)})")
    return loaded, loaded.signatures[SIGNATURE]


def signature_spec(function: Any) -> tuple[dict, dict]:
    """(inputs, outputs) of a concrete signature: name -> (dtype name, shape list with None)."""
    _, kwargs = function.structured_input_signature
    inputs = {name: (spec.dtype.name, spec.shape.as_list()) for name, spec in sorted(kwargs.items())}
    outputs = {
        name: (spec.dtype.name, spec.shape.as_list())
        for name, spec in sorted(function.structured_outputs.items())
    }
    return inputs, outputs


def coerce_inputs(
    inputs: dict[str, np.ndarray],
    spec: dict[str, tuple[str, list]],
    where: str = "",
    untyped: frozenset[str] | set[str] = frozenset(),
    sources: Mapping[str, str] | None = None,
) -> dict:
    """Checks named arrays against a signature's input spec and casts where it is safe.

    Floats are cast to the expected float dtype; integers to an integer input (e.g. uint8 frames) when
    every value fits. Integer arrays are *not* fed to a float input: the model expects scaled values (e.g.
    [0, 1]) and a silent cast of 0..255 pixels would give wrong outputs. Inputs named in `untyped` come from
    JSON, which has no dtypes: their numbers are cast to a float input too, as TF Serving's REST API does.

    Args:
        inputs: name -> array.
        spec: the signature's input spec (see :func:`signature_spec`).
        where: prefix of error messages (e.g. ``--input: ``).
        untyped: names whose arrays came from JSON.
        sources: name -> the file it was read from, named in the messages (several files may feed one call).

    Raises:
        ValueError: a missing or unknown name, wrong rank/size, an empty batch, or a dtype that would need
            an unsafe cast (names the input).

    Example:
        >>> coerce_inputs({"x": np.zeros((1, 2))}, {"x": ("float32", [None, 2])})["x"].dtype
        dtype('float32')
    """
    sources = sources or {}
    missing, unknown = sorted(set(spec) - set(inputs)), sorted(set(inputs) - set(spec))
    if missing or unknown:
        files = sorted({sources[name] for name in inputs if name in sources})
        origin = f" (from {', '.join(files)})" if files else ""
        raise ValueError(
            f"{where}inputs {sorted(inputs)}{origin} do not match the signature's {sorted(spec)}"
        )
    coerced = {}
    for name, value in inputs.items():
        what = f"{where}input {name!r}" + (f" from {sources[name]}" if name in sources else "")
        dtype, shape = spec[name]
        value = np.asarray(value)
        fits = len(value.shape) == len(shape) and all(
            want is None or want == got for want, got in zip(shape, value.shape, strict=True)
        )
        if not fits:
            raise ValueError(f"{what} has shape {list(value.shape)}; the export expects {shape}")
        if value.shape and value.shape[0] == 0:
            raise ValueError(f"{what} is an empty batch (shape {list(value.shape)}); give >= 1")
        if value.dtype != np.dtype(dtype):
            value = _cast_input(what, value, np.dtype(dtype), name in untyped)
        coerced[name] = value
    return coerced


def _cast_input(what: str, value: np.ndarray, expected: np.dtype, untyped: bool) -> np.ndarray:
    """The cast rules of :func:`coerce_inputs` for one input (`what`, as messages name it) whose dtype
    differs from the signature's."""
    if expected.kind == "f" and (value.dtype.kind == "f" or (untyped and value.dtype.kind in "iub")):
        return value.astype(expected)
    if expected.kind in "iu" and value.dtype.kind in "iub":
        limits = np.iinfo(expected)
        if value.size == 0 or (value.min() >= limits.min and value.max() <= limits.max):
            return value.astype(expected)
        raise ValueError(f"{what} has values outside {expected} [{limits.min}, {limits.max}]")
    hint = ""
    if expected.kind == "f" and value.dtype.kind in "iub":
        hint = (
            " (integer data is not scaled for you: convert it to the model's float range first, "
            "e.g. x.astype('float32') / 255 for 0..255 pixels)"
        )
    raise ValueError(f"{what} has dtype {value.dtype}; the export expects {expected}{hint}")


def _as_named(model: keras.Model, example: Any) -> dict[str, np.ndarray]:
    names = [t.name for t in model.inputs]
    if isinstance(example, dict):
        return {k: np.asarray(v) for k, v in example.items()}
    if isinstance(example, (list, tuple)):
        return {n: np.asarray(v) for n, v in zip(names, example, strict=True)}
    if len(names) != 1:
        raise ValueError(f"example_inputs must be a dict keyed by the input names {names}")
    return {names[0]: np.asarray(example)}


def _random_example(spec: dict[str, tuple[str, list]], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    example = {}
    for name, (dtype, shape) in spec.items():
        if any(d is None for d in shape[1:]):
            raise ValueError(
                f"input {name!r} has unknown dims {shape}; pass example_inputs to export_for_serving"
            )
        example[name] = rng.uniform(0, 1, [1, *shape[1:]]).astype(dtype)
    return example


def _check_serving_model(model: keras.Model) -> None:
    if not isinstance(model, keras.Model):
        raise ValueError(f"the serving model must be a keras.Model; received: {type(model).__name__}")
    if not isinstance(model.output, dict):
        raise ValueError(
            "the serving model must return a dict of named outputs (e.g. {'probabilities': p}); "
            f"received outputs {model.output!r}"
        )


def export_for_serving(
    model: keras.Model,
    base_dir: str | os.PathLike,
    name: str,
    *,
    version: int | None = None,
    example_inputs: Any = None,
    overwrite: bool = False,
    atol: float = 1e-4,
) -> ExportResult:
    """Exports `model` to ``<base_dir>/<name>/<version>/`` for TF Serving (see the module docstring).

    Args:
        model: a Functional Keras model with named ``keras.Input``s and a dict of named outputs.
        base_dir: TF Serving's model base path (e.g. ``saved_models``).
        name: the model name (a directory name: letters, digits, ``-``, ``_``, ``.``).
        version: integer version; default the next free one.
        example_inputs: one small batch (dict keyed by input name, or an array for a single input);
            default a seeded random batch of 1 built from the signature.
        overwrite: replace an existing `version` (otherwise that is an error).
        atol: allowed difference between the reloaded export and the Keras model on the example.

    Returns:
        An :class:`ExportResult`.

    Raises:
        ValueError: bad arguments, a model without dict outputs, an existing version, or an export
            whose outputs differ from the Keras model's.

    Example:
        >>> frames = keras.Input((8, 16, 16, 1), name="frames")
        >>> probs = keras.layers.Dense(4, activation="softmax")(keras.layers.Flatten()(frames))
        >>> model = keras.Model(frames, {"probabilities": probs})
        >>> result = export_for_serving(model, "saved_models", "demo")  # doctest: +SKIP
        >>> result.path  # doctest: +SKIP
        PosixPath('saved_models/demo/1')
    """
    _check_serving_model(model)
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise ValueError(f"name must be a plain directory name (letters, digits, -_.); received: {name!r}")
    if version is not None:
        check_positive_int("version", version)
    model_dir = Path(base_dir) / name
    check_version_free(model_dir, version, overwrite)
    model_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(model_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=model_dir))
    try:
        staged = tmp / "model"
        _write_saved_model(model, staged)
        result = _verify_and_describe(model, staged, example_inputs, atol)
        final = _publish(staged, model_dir, version, overwrite)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ExportResult(final, int(final.name), *result)


def remove_stale_staging(model_dir: str | os.PathLike, min_age_s: float = 3600.0) -> list[Path]:
    """Deletes staging folders that killed exports left in `model_dir`; returns what was removed.

    A folder named with the pid of a process that no longer runs is stale; one without a pid (older
    exports) or from another machine's process is removed only when older than `min_age_s`.
    TF Serving ignores these folders, but they hold a whole SavedModel each and piled up.

    Example:
        >>> remove_stale_staging("saved_models/demo")  # doctest: +SKIP
        []
    """
    removed = []
    model_dir = Path(model_dir)
    for folder in model_dir.glob(f"{STAGING_PREFIX}*") if model_dir.is_dir() else []:
        pid_text = folder.name[len(STAGING_PREFIX) :].split("-", 1)[0]
        if pid_text.isdigit():
            stale = not process_alive(int(pid_text))
        else:
            stale = time.time() - folder.stat().st_mtime > min_age_s
        if stale and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    if removed:
        logger.info("Removed %d staging folder(s) of killed exports in %s", len(removed), model_dir)
    return removed


def _write_saved_model(model: keras.Model, path: Path) -> None:
    """Writes the SavedModel with endpoints ``serving_default`` and ``serve`` (same function).

    Unlike ``model.export``, the served function starts with ``tf.ensure_shape`` on every input, so a
    wrong rank or size fails at once with "Shape of tensor frames [...] is not compatible with expected
    shape [?,8,16,16,1]" instead of an error deep inside the network (the signature wrapper of a loaded
    SavedModel does not check shapes itself; dtypes it does check).
    """
    specs = {t.name: tf.TensorSpec(t.shape, t.dtype, name=t.name) for t in model.inputs}

    def serve(inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        checked = {k: tf.ensure_shape(v, specs[k].shape, name=f"check_{k}") for k, v in inputs.items()}
        return model(checked if len(checked) > 1 else next(iter(checked.values())), training=False)

    archive = keras.export.ExportArchive()
    archive.track(model)
    for endpoint in (SIGNATURE, "serve"):
        archive.add_endpoint(endpoint, serve, input_signature=[specs])
    for endpoint, (function, input_signature) in extra_endpoints(model).items():
        archive.add_endpoint(endpoint, function, input_signature=input_signature)
    archive.write_out(str(path), verbose=False)


def extra_endpoints(model: keras.Model) -> dict[str, tuple[Any, list]]:
    """The serving model's additional signatures: its ``extra_endpoints`` attribute, if it has one.

    A task may attach ``{name: (function, input_signature)}`` to the model it returns from
    ``serving_model`` (e.g. the polygon task's ``annotate``/``correct``); each becomes a signature of the
    export next to ``serving_default``, using the model's variables.

    Example:
        >>> serving.extra_endpoints = {"annotate": (fn, [{"image": tf.TensorSpec([None, 2], tf.float32)}])}
    """
    endpoints = dict(getattr(model, "extra_endpoints", None) or {})
    clash = sorted(set(endpoints) & {SIGNATURE, "serve"})
    if clash:
        raise ValueError(f"extra_endpoints may not redefine {clash}")
    return endpoints


def _verify_and_describe(model: keras.Model, staged: Path, example_inputs: Any, atol: float) -> tuple:
    """Reloads the staged export, compares it with `model` on the example, writes the side files."""
    loaded, serve = load_signature(staged)
    inputs, outputs = signature_spec(serve)
    example = _random_example(inputs) if example_inputs is None else _as_named(model, example_inputs)
    example = coerce_inputs(example, inputs, where="example_inputs: ")
    served = {k: v.numpy() for k, v in serve(**{k: tf.constant(v) for k, v in example.items()}).items()}
    expected = model(example if len(example) > 1 else next(iter(example.values())), training=False)
    expected = {k: keras.ops.convert_to_numpy(v) for k, v in expected.items()}
    if sorted(served) != sorted(expected):
        raise ValueError(f"export outputs {sorted(served)} differ from the model's {sorted(expected)}")
    diffs = {key: _max_abs_diff(served[key], expected[key]) for key in served}
    for key, diff in diffs.items():
        tolerance = output_tolerance(served[key], atol)
        if not diff <= tolerance:
            raise ValueError(
                f"the reloaded export's output {key!r} differs from the Keras model by {diff:.3g} "
                f"(> {tolerance:g})"
            )
    missing = sorted(set(extra_endpoints(model)) - set(loaded.signatures))
    if missing:
        raise ValueError(f"the reloaded export lacks the signatures {missing}")
    extra = {name: signature_spec(loaded.signatures[name]) for name in extra_endpoints(model)}
    del loaded
    for input_name, value in example.items():
        np.save(staged / f"example_{input_name}.npy", value)
    np.savez(staged / "example_outputs.npz", **{k: storable_array(v) for k, v in served.items()})
    request = {"instances": [{k: v[i].tolist() for k, v in example.items()} for i in range(_batch(example))]}
    (staged / "example_request.json").write_text(json.dumps(request) + "\n")
    description = {"inputs": inputs, "outputs": outputs}
    if extra:  # the other signatures, e.g. the polygon task's annotate / correct
        description["signatures"] = {k: {"inputs": i, "outputs": o} for k, (i, o) in extra.items()}
    (staged / "signature.json").write_text(json.dumps(description, indent=2) + "\n")
    return inputs, outputs, max(diffs.values(), default=0.0)


def output_tolerance(served: np.ndarray, atol: float) -> float:
    """Allowed export-vs-model difference of one output: `atol`, or one level for integer outputs.

    An integer output (e.g. uint8 frames) is a rounded float: a value sitting at x.5 rounds to either
    neighbour when the graph and eager float sums differ in their last bit, so one level is round-off there.

    Example:
        >>> output_tolerance(np.zeros(3, np.uint8), 1e-4)
        1.0
    """
    return max(atol, 1.0) if served.dtype.kind in "iu" else atol


def _max_abs_diff(served: np.ndarray, expected: np.ndarray) -> float:
    """Largest numeric difference; string outputs (e.g. class names) must match exactly (else inf)."""
    if served.dtype.kind in "OSU":
        return 0.0 if np.array_equal(served, np.asarray(expected)) else float("inf")
    return float(np.max(np.abs(served.astype(np.float64) - expected), initial=0.0))


def storable_array(value: np.ndarray) -> np.ndarray:
    """TF string tensors come back as object arrays of bytes; store them as unicode (no pickle needed)."""
    if value.dtype.kind == "O":
        return np.vectorize(lambda b: b.decode() if isinstance(b, bytes) else str(b), otypes=[str])(value)
    return value


def _batch(example: dict[str, np.ndarray]) -> int:
    return int(next(iter(example.values())).shape[0])


def _publish(staged: Path, model_dir: Path, version: int | None, overwrite: bool) -> Path:
    """Renames the staged export to its integer version directory (the only visible step)."""
    for _ in range(100):  # another export may take the same number at the same moment: try the next
        number = version or next_version(model_dir)
        final = model_dir / str(number)
        _write_readme(staged, final, model_dir.name, number)
        if final.exists():
            if version is None:
                continue
            if not overwrite:
                raise ValueError(f"{final} exists; choose another --version or pass --overwrite")
            retired = model_dir / f".old-{number}-{os.getpid()}"
            os.rename(final, retired)
            os.rename(staged, final)
            shutil.rmtree(retired, ignore_errors=True)
            return final
        try:
            os.rename(staged, final)
            return final
        except OSError:
            if version is not None:
                raise
    raise RuntimeError(f"{model_dir}: could not find a free version directory")


def _write_readme(staged: Path, final: Path, name: str, version: int) -> None:
    spec = json.loads((staged / "signature.json").read_text())
    inputs = "\n".join(f"  {k}: {dtype} {shape}" for k, (dtype, shape) in spec["inputs"].items())
    outputs = "\n".join(f"  {k}: {dtype} {shape}" for k, (dtype, shape) in spec["outputs"].items())
    first = next(iter(spec["inputs"]))
    others = ", ".join(spec.get("signatures", {})) or "none"
    npy_inputs = ";".join(f"{k}={final}/example_{k}.npy" for k in spec["inputs"])
    text = f"""{name} version {version}: TensorFlow SavedModel for TF Serving
Exported {datetime.now(timezone.utc).isoformat(timespec="seconds")} by deep_rnn_tf {__version__} \
(TensorFlow {tf.__version__}, Keras {keras.__version__}).

Signature "{SIGNATURE}" (tag "serve"); None = any size (the first dimension is the batch).
Inputs:
{inputs}
Outputs (a dict of named tensors):
{outputs}
Other signatures: {others} (inputs and outputs in signature.json).
Wrong rank or size is rejected by a shape check at the start of the graph ("Shape of tensor
<input> [...] is not compatible with expected shape [...]"), a wrong dtype by the signature itself.

Files: example_request.json (TF Serving REST body), example_<input>.npy (the same input, for
saved_model_cli), example_outputs.npz (what this export returned for it), signature.json (the spec).

Run it:
  saved_model_cli show --dir {final} --tag_set serve --signature_def {SIGNATURE}
  saved_model_cli run --dir {final} --tag_set serve --signature_def {SIGNATURE} --inputs '{npy_inputs}'
  python -c "import numpy as np, tensorflow as tf; m = tf.saved_model.load('{final}'); \
print(m.signatures['{SIGNATURE}']({first}=np.load('{final}/example_{first}.npy')))"
  deep-rnn predict --model {final} --input {first}={final}/example_{first}.npy
TF Serving (base path = {final.parent.parent}, model name = {name}):
  docker run -p 8501:8501 -v {final.parent.resolve()}:/models/{name} -e MODEL_NAME={name} tensorflow/serving
  curl -X POST -d @{final}/example_request.json http://localhost:8501/v1/models/{name}:predict
"""
    (staged / "README.txt").write_text(text)
