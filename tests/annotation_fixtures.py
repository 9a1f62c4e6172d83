"""Shared by the annotation tests: one small polygon export and one synthetic Cityscapes per session.

Imported by tests/test_annotation_signatures.py, tests/test_annotate_server.py and
tests/test_annotate_browser.py; the cache makes the (slow) export happen once per pytest session.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from deep_rnn_tf.export.serving import export_for_serving
from deep_rnn_tf.tasks.polygon.task import PolygonTask
from deep_rnn_tf.tools.synth_cityscapes import main as synth_main
from tests.presets import tiny_config

_CACHE: dict[str, object] = {}


def polygon_export(tmp_path_factory) -> tuple[Path, object]:
    """(version folder, Keras PolygonRNN) of a freshly initialised tiny polygon export (seeded)."""
    if "export" not in _CACHE:
        task = PolygonTask()
        config = tiny_config("polygon", seed=0)
        keras.utils.set_random_seed(0)
        model = task.build_model(config)
        serving = task.serving_model(config, model)
        base = tmp_path_factory.mktemp("annotation_export")
        example = np.zeros((1, 224, 224, 3), np.uint8)
        result = export_for_serving(serving, base, "polygon", example_inputs=example)
        _CACHE["export"] = (result.path, model)
    return _CACHE["export"]


def synthetic_cityscapes(tmp_path_factory) -> Path:
    """A 2-image synthetic Cityscapes (val split, 384x192) in the official layout."""
    if "synth" not in _CACHE:
        root = tmp_path_factory.mktemp("annotation_synth")
        args = ["--out", str(root), "--train", "0", "--val", "2", "--width", "384", "--height", "192"]
        assert synth_main([*args, "--quiet"]) == 0
        _CACHE["synth"] = root
    return _CACHE["synth"]
