"""Test-only `tiny` configurations (seconds on CPU); they live here, not among the tasks' presets.

`tiny_config(task)` gives the typed config; `tiny_args(task, folder)` the command-line arguments that give
the same config through `deep-rnn` (`--preset small --config <tiny overrides>.json`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deep_rnn_tf.tasks import resolve_config

TINY: dict[str, dict[str, Any]] = {
    "demo": {"filters": 4, "train_clips": 64, "val_clips": 32, "test_clips": 32, "epochs": 2},
    "prediction": {
        "image_size": 16,
        "past": 3,
        "future": 2,
        "test_future": 3,
        "gf_dim": 4,
        "rnn_depth": 2,
        "rnn_filters": 8,
        "epochs": 1,
        "steps_per_epoch": 2,
        "batch_size": 2,
        "val_batches": 1,
        "warmup_steps": 1,
        "test_batch_size": 8,
        "max_test_windows": 8,
        "gifs": 1,
    },
    "polygon": {"filters": [8, 4], "feature_channels": 8, "batch_size": 4, "epochs": 1, "overlays": 2},
}


def tiny_config(task: str, **overrides: Any):
    """The `small` preset of `task` with the tiny overrides (and `overrides`), as the task's dataclass."""
    return resolve_config(task, "small", [("tests/presets.py", TINY[task]), ("test", overrides)])


def tiny_args(task: str, folder: str | Path) -> list[str]:
    """`--preset small --config <folder>/tiny_<task>.json`: the tiny config on the command line."""
    path = Path(folder) / f"tiny_{task}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(TINY[task]))
    return ["--preset", "small", "--config", str(path)]
