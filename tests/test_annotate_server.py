"""`deep-rnn annotate`'s server (Flask test client): listing, paths, the model API, saving, bad input."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
import tensorflow as tf
from annotation_fixtures import polygon_export, synthetic_cityscapes

from deep_rnn_tf.app.model import AnnotationModel, resolve_model_dir
from deep_rnn_tf.app.server import create_app, images_summary
from deep_rnn_tf.app.store import AnnotationStore, default_labels_dir
from deep_rnn_tf.cli import main as cli_main
from deep_rnn_tf.data.cityscapes import list_samples, read_polygons_json

pytest.importorskip("flask")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    path, _ = polygon_export(tmp_path_factory)
    root = tmp_path_factory.mktemp("server") / "cityscapes"
    shutil.copytree(synthetic_cityscapes(tmp_path_factory), root)
    images = root / "leftImg8bit"
    (images / "notes.txt").write_text("not an image")
    (images / "val" / "broken.png").write_bytes(b"this is no png")
    os.symlink("/etc/hostname", images / "val" / "escape.png")
    store = AnnotationStore(images)
    app = create_app(store, AnnotationModel.load(path.parent))
    return root, store, app.test_client()


def _first_image(client) -> str:
    return next(e["id"] for e in client.get("/api/images").get_json()["images"] if e["readable"])


def test_listing_flags_unreadable_files(setup):
    root, store, client = setup
    assert (
        store.labels_dir == (root / "gtFine").resolve() == default_labels_dir(root / "leftImg8bit").resolve()
    )
    listed = {e["id"]: e["readable"] for e in client.get("/api/images").get_json()["images"]}
    assert listed["notes.txt"] is False and listed["val/broken.png"] is False
    samples = list_samples(root, "val")
    for sample in samples:
        assert listed[os.path.relpath(sample.image_path, root / "leftImg8bit")] is True
    assert client.get("/").status_code == 200 and b"app.js" in client.get("/").data
    assert client.get("/static/app.js").status_code == 200
    response = client.get("/api/annotation/val/broken.png")
    assert response.status_code == 422 and "broken.png" in response.get_json()["error"]


def test_paths_outside_the_folder_are_refused(setup):
    _, _, client = setup
    for bad in ("val/../../gtFine/val", "../../../../etc/passwd", "val/escape.png", "%2Fetc%2Fpasswd"):
        response = client.get(f"/api/image/{bad}", follow_redirects=True)
        assert response.status_code in (403, 404), bad
    assert client.get("/api/annotation/val/escape.png").status_code == 403
    response = client.post("/api/save", json={"image": "../x.png", "objects": [], "base_sha": ""})
    assert response.status_code in (403, 404)
    assert client.get("/api/image/val/nothing.png").status_code == 404


def test_annotation_loads_the_json(setup):
    root, store, client = setup
    image_id = _first_image(client)
    data = client.get(f"/api/annotation/{image_id}").get_json()
    annotation = read_polygons_json(data["json_path"])
    assert data["exists"] and (data["imgHeight"], data["imgWidth"]) == (annotation.height, annotation.width)
    assert [o["label"] for o in data["objects"]] == [o.label for o in annotation.objects]
    assert data["labels"][:8] == ["person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"]
    assert set(o.label for o in annotation.objects) <= set(data["labels"])  # the json's own labels too
    image = client.get(f"/api/image/{image_id}")
    assert image.status_code == 200 and image.mimetype == "image/png"


def test_annotate_endpoint(setup):
    _, _, client = setup
    image_id = _first_image(client)
    ok = client.post("/api/annotate", json={"image": image_id, "box": [-50, -20, 120, 90]})
    body = ok.get_json()
    assert ok.status_code == 200, body
    assert body["box"] == [0.0, 0.0, 120.0, 90.0]  # clipped to the image
    assert len(body["vertices"]) == len(body["scores"]) >= 3 and body["latency_ms"] > 0
    prefix = body["vertices"][:2]
    corrected = client.post("/api/annotate", json={"image": image_id, "box": body["box"], "prefix": prefix})
    assert corrected.status_code == 200
    np.testing.assert_allclose(corrected.get_json()["vertices"][:2], prefix)
    assert corrected.get_json()["signature"] == "correct"
    beam = client.post("/api/annotate", json={"image": image_id, "box": body["box"], "beam": 2})
    assert beam.status_code == 200 and beam.get_json()["signature"] == "annotate_beam"
    for bad, words in (
        ({"image": image_id, "box": [10, 10, 12, 80]}, "degenerate"),
        ({"image": image_id, "box": [500, 300, 900, 700]}, "degenerate"),  # all outside: clipped to a line
        ({"image": image_id, "box": [1, 2, 3]}, "4 finite numbers"),
        ({"image": image_id, "box": [10, 10, 60, 60], "beam": 7}, "beam width"),
        ({"box": [1, 2, 3, 4]}, "expected json"),
    ):
        response = client.post("/api/annotate", json=bad)
        assert response.status_code == 400 and words in response.get_json()["error"], bad
    unreadable = client.post("/api/annotate", json={"image": "val/broken.png", "box": [0, 0, 50, 50]})
    assert unreadable.status_code == 422


def test_save_keeps_untouched_objects(setup):
    root, store, client = setup
    image_id = _first_image(client)
    data = client.get(f"/api/annotation/{image_id}").get_json()
    before = json.loads(Path(data["json_path"]).read_text())
    objects = [{**o, "modified": False} for o in data["objects"]]
    objects[0] = {**objects[0], "label": "bus", "polygon": [[1, 1], [40, 2], [30, 30.6]], "modified": True}
    del objects[1]
    objects.append(
        {"label": "rider", "polygon": [[50, 50], [80, 52], [70, 90], [55, 85]], "source_index": None}
    )
    response = client.post("/api/save", json={"image": image_id, "objects": objects, "base_sha": data["sha"]})
    assert response.status_code == 200, response.get_json()
    after = json.loads(Path(data["json_path"]).read_text())
    assert after["imgHeight"] == before["imgHeight"] and len(after["objects"]) == len(before["objects"])
    assert after["objects"][1:-1] == before["objects"][2:]  # untouched: every field kept
    assert after["objects"][0]["label"] == "bus" and after["objects"][0]["polygon"][2] == [30, 31]
    assert after["objects"][0]["id"] == before["objects"][0]["id"]
    annotation = read_polygons_json(data["json_path"])
    assert annotation.objects[-1].label == "rider" and len(annotation.objects[-1].polygon) == 4
    # An old sha is a conflict; a polygon under 3 vertices is refused; the file stays as it was.
    stale = client.post("/api/save", json={"image": image_id, "objects": objects, "base_sha": data["sha"]})
    assert stale.status_code == 409
    fresh = client.get(f"/api/annotation/{image_id}").get_json()["sha"]
    short = [{"label": "car", "polygon": [[1, 1], [5, 5]], "source_index": None}]
    bad = client.post("/api/save", json={"image": image_id, "objects": short, "base_sha": fresh})
    assert bad.status_code == 400 and "at least 3" in bad.get_json()["error"]
    assert json.loads(Path(data["json_path"]).read_text()) == after


def test_two_saves_at_once_leave_a_valid_json(setup):
    root, store, client = setup
    image_id = [e["id"] for e in client.get("/api/images").get_json()["images"] if e["readable"]][-1]
    data = client.get(f"/api/annotation/{image_id}").get_json()
    statuses = []

    def save(label):
        objects = [{"label": label, "polygon": [[10, 10], [60, 12], [40, 70]], "source_index": None}]
        body = {"image": image_id, "objects": objects, "base_sha": data["sha"]}
        statuses.append(client.post("/api/save", json=body).status_code)

    threads = [threading.Thread(target=save, args=(label,)) for label in ("car", "truck", "bus", "train")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409, 409, 409]
    annotation = read_polygons_json(data["json_path"])
    assert len(annotation.objects) == 1 and annotation.objects[0].label in ("car", "truck", "bus", "train")
    leftovers = [p for p in os.listdir(os.path.dirname(data["json_path"])) if p.startswith(".tmp")]
    assert leftovers == []


def test_missing_or_wrong_model_is_one_line(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        resolve_model_dir(tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match="no SavedModel"):
        resolve_model_dir(tmp_path)
    module = tf.Module()
    module.f = tf.function(lambda x: {"y": x * 2}, input_signature=[tf.TensorSpec([None], tf.float32)])
    tf.saved_model.save(module, str(tmp_path / "other" / "1"), signatures={"serving_default": module.f})
    with pytest.raises(ValueError, match="not a polygon annotation export"):
        AnnotationModel.load(tmp_path / "other")
    status = cli_main(["annotate", "--model", str(tmp_path / "nothing"), "--images", str(tmp_path)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and len(lines) == 1 and "no such folder" in lines[0]


def test_the_start_up_line_says_when_no_image_can_be_annotated_yet(tmp_path):
    images = tmp_path / "leftImg8bit"
    images.mkdir()
    store = AnnotationStore(images)
    empty = images_summary(store, store.list_images())
    assert empty.startswith("0 file(s) under") and "no image to annotate there yet" in empty
    (images / "notes.txt").write_text("not an image")
    assert "no image to annotate there yet" in images_summary(store, store.list_images())
    cv2.imwrite(str(images / "a_leftImg8bit.png"), np.zeros((8, 8, 3), np.uint8))
    one = images_summary(store, store.list_images())
    assert one.startswith("2 file(s) under") and "(1 unreadable)" in one and "note:" not in one


def test_a_labels_file_a_bad_port_or_a_busy_port_is_one_line_before_the_model_loads(tmp_path, capsys):
    """Found by a bad-input pass: `--labels <a file>` started and then answered every load and save with
    HTTP 500; `--port 99999` printed one address and served on another; a busy port printed "Open ..."."""
    import socket

    images = tmp_path / "leftImg8bit"
    images.mkdir()
    (tmp_path / "labels.txt").write_text("not a folder")
    model = str(tmp_path / "no_model")  # never reached: each check comes first
    for extra, says in (
        (["--labels", str(tmp_path / "labels.txt")], "labels.txt: a file, not a folder"),
        (["--images", str(tmp_path / "labels.txt")], "labels.txt: a file, not a folder"),
        (["--port", "99999"], "--port must be in [1, 65535]; received 99999"),
    ):
        argv = ["annotate", "--model", model, "--images", str(images), *extra]
        status = cli_main(argv)
        lines = capsys.readouterr().err.strip().splitlines()
        assert status in (1, 2) and says in lines[-1], lines
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        status = cli_main(["annotate", "--model", model, "--images", str(images), "--port", str(port)])
        captured = capsys.readouterr()
    assert status == 1 and f"--port {port}: cannot listen on 127.0.0.1:{port}" in captured.err
    assert "Open http" not in captured.out
