"""The one-way flow of README.md's picture, checked on every import statement of the package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import deep_rnn_tf

PACKAGE = Path(__file__).resolve().parent.parent / "deep_rnn_tf"
GROUND = {"validation", "atomic_io", "_version", "_tf_import"}
# room -> rooms it may import (besides itself and the ground floor)
ALLOWED: dict[str, set[str]] = {
    "cells": set(),
    "layers": {"cells"},
    "data": {"layers"},  # the [-1, 1] pixel mapping of layers.preprocessing
    "training": {"data", "layers", "cells"},
    "evaluation": {"training", "data", "layers"},  # layers.windows: the SSIM window, shared with the flow
    "export": set(),
    "tasks": {"training", "evaluation", "data", "layers", "cells", "export"},
    "tools": {"data", "evaluation"},  # the study reads test results with evaluation's PSNR cap
    "cli": {"tasks", "training", "export", "tools", "app"},
    "app": {"tasks", "data"},  # deep-rnn annotate: the polygon task's constants, the Cityscapes format
    "models": {"tasks", "training"},
    "__init__": {"cells", "layers", "models"},
}


def _room(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


def _imported_rooms(path: Path) -> set[str]:
    rooms = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] != "deep_rnn_tf" or len(parts) == 1:
                continue
            # `from deep_rnn_tf import DeepRNN`: the lazy re-export's home room
            home = deep_rnn_tf._LAZY.get(parts[1], f"deep_rnn_tf.{parts[1]}")
            rooms.add(home.split(".")[1])
    return rooms


FILES = sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_only(path):
    room = _room(path)
    imported = _imported_rooms(path) - {room}
    if room in GROUND:
        assert not imported, f"{path.name}: the ground floor imports nothing of the package; found {imported}"
        return
    assert room in ALLOWED, f"{room}: a new room; add it to README's picture and to ALLOWED here"
    wrong = imported - GROUND - ALLOWED[room]
    assert not wrong, (
        f"{path.relative_to(PACKAGE)} ({room}) imports {sorted(wrong)}: against the one-way flow"
    )
