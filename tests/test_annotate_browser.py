"""`deep-rnn annotate` driven end to end in a real headless Chromium (Debian's `chromium` + Playwright).

Starts the real command on a free port with a small polygon export and a synthetic Cityscapes, then in
the page: drags a box, waits for the model's polygon, drags a vertex (the model redraws the rest), inserts
a vertex on an edge, deletes one (right-click), sets the label and saves; then reads the json from disk.
Skips with the reason when Playwright or /usr/bin/chromium is missing (`make test` installs both where it
can). DEEP_RNN_ANNOTATE_MODEL=<export> uses that export instead of a freshly initialised one;
DEEP_RNN_UPDATE_SCREENSHOT=1 refreshes docs/img/annotate.png.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from annotation_fixtures import polygon_export, synthetic_cityscapes

from deep_rnn_tf.atomic_io import write_bytes_atomic
from deep_rnn_tf.data.cityscapes import INSTANCE_CLASSES, iter_annotations, list_samples, read_polygons_json
from deep_rnn_tf.data.polygons.geometry import polygon_area

CHROMIUM = os.environ.get("DEEP_RNN_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "img" / "annotate.png"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("flask", reason="Flask is not installed (pip install -r requirements.txt)")
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium; `make test` tries it as root)")
    model = os.environ.get("DEEP_RNN_ANNOTATE_MODEL") or str(polygon_export(tmp_path_factory)[0])
    root = tmp_path_factory.mktemp("browser") / "cityscapes"
    shutil.copytree(synthetic_cityscapes(tmp_path_factory), root)
    port = _free_port()
    command = [sys.executable, "-m", "deep_rnn_tf.cli", "annotate", "--model", model,
               "--images", str(root / "leftImg8bit"), "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 180
        while True:
            try:
                urllib.request.urlopen(url + "api/images", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.time() > deadline:
                    output = process.stdout.read() if process.poll() is not None else "(still running)"
                    pytest.fail(f"deep-rnn annotate did not start: {output[-2000:]}")
                time.sleep(0.5)
        yield url, root
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_idle(page, condition: str = "true") -> None:
    page.wait_for_function(f"!window.annotatorApp.busy() && ({condition})", timeout=60_000)


def _client_point(page, x: float, y: float) -> tuple[float, float]:
    """Image pixels -> page coordinates of the canvas."""
    return tuple(
        page.evaluate(
            "([x, y]) => { const r = window.annotatorApp.canvas.getBoundingClientRect();"
            " const [cx, cy] = window.annotatorApp.toClient(x, y); return [r.left + cx, r.top + cy]; }",
            [x, y],
        )
    )


def _polygon(page) -> list[list[float]]:
    return page.evaluate("window.annotatorApp.state.objects[window.annotatorApp.state.selected].polygon")


def _drag(page, start, end) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=6)
    page.mouse.up()


def test_annotate_in_chromium(server, tmp_path):
    from playwright import sync_api as playwright_api

    url, root = server
    sample = list_samples(root, "val")[0]
    before = read_polygons_json(sample.json_path)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1500, "height": 820})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url)
        _wait_idle(page, "window.annotatorApp.state.annotation !== null")
        assert page.evaluate("window.annotatorApp.state.objects.length") == len(before.objects)
        assert "Ctrl+Z" in page.inner_text("#shortcuts")

        # A degenerate box is refused with a message on the page.
        _drag(page, _client_point(page, 200, 40), _client_point(page, 201.5, 120))
        _wait_idle(page)
        assert "degenerate" in page.inner_text("#status")
        assert page.evaluate("window.annotatorApp.state.objects.length") == len(before.objects)

        # Drag a box over the largest instance -> the model's polygon.
        target = max(
            (o for o in before.objects if o.label in INSTANCE_CLASSES), key=lambda o: polygon_area(o.polygon)
        )
        (x0, y0), (x1, y1) = target.polygon.min(axis=0), target.polygon.max(axis=0)
        _drag(page, _client_point(page, x0, y0), _client_point(page, x1, y1))
        _wait_idle(page, f"window.annotatorApp.state.objects.length === {len(before.objects) + 1}")
        assert "model" in page.inner_text("#latency") and " ms" in page.inner_text("#latency")
        first = _polygon(page)
        assert len(first) >= 1

        # Drag the last vertex: the model keeps the vertices up to it and redraws the rest.
        last = len(first) - 1
        start = _client_point(page, *first[last])
        _drag(page, start, (start[0] + 30, start[1] + 22))
        _wait_idle(page, "document.getElementById('status').textContent.startsWith('Corrected')")
        corrected = _polygon(page)
        assert len(corrected) >= max(2, len(first)) and corrected[:last] == first[:last]
        assert corrected[last] != first[last]

        # Click the middle of an edge: a vertex is inserted (twice if needed, so one can be deleted).
        for _ in range(2 if len(corrected) < 4 else 1):
            polygon = _polygon(page)
            a, b = polygon[0], polygon[1]
            page.mouse.click(*_client_point(page, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2))
            assert len(_polygon(page)) == len(polygon) + 1
        # Right-click a vertex: it is removed.
        polygon = _polygon(page)
        page.mouse.click(*_client_point(page, *polygon[1]), button="right")
        final = _polygon(page)
        assert len(final) == len(polygon) - 1 >= 3

        # Undo brings the deleted vertex back, redo removes it again.
        page.keyboard.press("Control+z")
        assert len(_polygon(page)) == len(polygon)
        page.keyboard.press("Control+y")
        assert _polygon(page) == final
        # Zoom in at the centre, pan with Space+drag, fit again.
        scale = page.evaluate("window.annotatorApp.state.view.scale")
        page.keyboard.press("+")
        assert page.evaluate("window.annotatorApp.state.view.scale") == pytest.approx(scale * 1.25)
        offset = page.evaluate("window.annotatorApp.state.view.x")
        page.keyboard.down(" ")
        centre = page.evaluate(
            "(() => { const r = window.annotatorApp.canvas.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        _drag(page, centre, (centre[0] + 40, centre[1]))
        page.keyboard.up(" ")
        assert page.evaluate("window.annotatorApp.state.view.x") == pytest.approx(offset + 40, abs=1)
        page.keyboard.press("0")
        assert page.evaluate("window.annotatorApp.state.view.scale") == pytest.approx(scale)

        page.select_option("#label-select", "truck")
        page.click("#save")
        _wait_idle(page, "document.getElementById('status').textContent.startsWith('Saved')")
        shot = page.screenshot()
        browser.close()
    assert errors == []

    after = read_polygons_json(sample.json_path)
    assert len(after.objects) == len(before.objects) + 1
    for old, new in zip(before.objects, after.objects[:-1], strict=False):
        assert old.label == new.label and (old.polygon == new.polygon).all()
    added = after.objects[-1]
    assert added.label == "truck" and len(added.polygon) == len(final)
    assert abs(added.polygon - [[round(x), round(y)] for x, y in final]).max() == 0
    assert len(list(iter_annotations(list_samples(root, "val")))) == 2  # the reader takes it back
    (tmp_path / "annotate.png").write_bytes(shot)
    if os.environ.get("DEEP_RNN_UPDATE_SCREENSHOT"):
        write_bytes_atomic(SCREENSHOT, shot)
