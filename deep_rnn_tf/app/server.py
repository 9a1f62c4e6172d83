"""`deep-rnn annotate`: a local web app to annotate instance polygons with a polygon export (Flask).

    deep-rnn annotate --model saved_models/polygon [--version N] --images DIR [--labels DIR]
                      [--port 8765] [--host 127.0.0.1]

One page (static/index.html, app.js, app.css; no build step, nothing fetched from the network) and a
small JSON API:

    GET  /api/images                  the image list (unreadable files flagged), classes, model info
    GET  /api/image/<id>              the image bytes (PNG/JPEG as stored, anything else re-encoded as PNG)
    GET  /api/annotation/<id>         the image's Cityscapes json as objects to edit (+ its sha)
    POST /api/annotate                {image, box, prefix?, beam?} -> polygon in image pixels
    POST /api/save                    {image, objects, base_sha} -> writes the json atomically

Errors are JSON ``{"error": "..."}`` with 400 (bad request, degenerate box), 403 (a path outside the
images folder), 404, 409 (the json changed since it was opened) or 422 (an unreadable image / json).
"""

from __future__ import annotations

import argparse
import io
import socket
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from flask import Flask, jsonify, request, send_file, send_from_directory

from deep_rnn_tf.app.store import AnnotationStore, ImageEntry, PathRefusedError, SaveConflictError
from deep_rnn_tf.data.cityscapes import CityscapesFormatError

STATIC_DIR = Path(__file__).parent / "static"
BROWSER_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def create_app(store: AnnotationStore, model: Any) -> Flask:
    """The Flask app serving the page and the API for `store` with `model` (an `AnnotationModel`).

    Example:
        >>> app = create_app(AnnotationStore("data/synth_cityscapes/leftImg8bit"), AnnotationModel.load(p))
        >>> app.run(port=8765)  # doctest: +SKIP
    """
    app = Flask(__name__, static_folder=None)
    app.config["JSON_SORT_KEYS"] = False
    images_cache: dict[str, tuple[float, np.ndarray]] = {}

    def error(message: str, status: int):
        return jsonify({"error": message}), status

    def image_array(image_id: str) -> np.ndarray:
        path = store.image_path(image_id)
        stamp = path.stat().st_mtime
        cached = images_cache.get(image_id)
        if cached is None or cached[0] != stamp:
            images_cache.clear()  # one image at a time is enough for one person
            images_cache[image_id] = (stamp, store.read_image(image_id))
        return images_cache[image_id][1]

    @app.errorhandler(PathRefusedError)
    def refused(exc):
        return error(str(exc), 403)

    @app.errorhandler(FileNotFoundError)
    def not_found(exc):
        return error(str(exc), 404)

    @app.errorhandler(CityscapesFormatError)
    def bad_json(exc):
        return error(str(exc), 422)

    @app.errorhandler(SaveConflictError)
    def conflict(exc):
        return error(str(exc), 409)

    @app.get("/")
    def index():
        return send_from_directory(STATIC_DIR, "index.html")

    @app.get("/static/<path:name>")
    def static_file(name: str):
        return send_from_directory(STATIC_DIR, name)

    @app.get("/api/images")
    def images():
        return jsonify(
            {
                "images": [{"id": e.id, "readable": e.readable} for e in store.list_images()],
                "images_dir": str(store.images_dir),
                "labels_dir": str(store.labels_dir),
                "model": str(getattr(model, "path", "")),
                "beam": "annotate_beam" in getattr(model, "signatures", {}),
            }
        )

    @app.get("/api/image/<path:image_id>")
    def image(image_id: str):
        path = store.image_path(image_id)
        kind = BROWSER_TYPES.get(path.suffix.lower())
        if kind is not None and cv2.haveImageReader(str(path)):
            return send_file(path, mimetype=kind)
        try:
            pixels = image_array(image_id)
        except ValueError as exc:
            return error(str(exc), 422)
        ok, png = cv2.imencode(".png", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
        if not ok:
            return error(f"{image_id}: cannot encode as PNG", 422)
        return send_file(io.BytesIO(png.tobytes()), mimetype="image/png")

    @app.get("/api/annotation/<path:image_id>")
    def annotation(image_id: str):
        try:
            return jsonify(store.load_annotation(image_id))
        except ValueError as exc:
            if isinstance(exc, (PathRefusedError, CityscapesFormatError)):
                raise
            return error(str(exc), 422)

    @app.post("/api/annotate")
    def annotate():
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("image"), str):
            return error('expected json {"image": id, "box": [x0, y0, x1, y1]}', 400)
        try:
            pixels = image_array(body["image"])
        except ValueError as exc:
            if isinstance(exc, PathRefusedError):
                raise
            return error(str(exc), 422)
        try:
            box = _parse_box(body.get("box"), pixels.shape[:2])
            prefix = _parse_prefix(body.get("prefix"))
            beam = int(body.get("beam") or 1)
            started = time.perf_counter()
            result = model.annotate(pixels, box, prefix, beam)
        except (TypeError, ValueError) as exc:
            return error(str(exc), 400)
        result["box"] = list(box)
        result["request_ms"] = round((time.perf_counter() - started) * 1000.0, 1)
        return jsonify(result)

    @app.post("/api/save")
    def save():
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("image"), str):
            return error('expected json {"image": id, "objects": [...], "base_sha": sha}', 400)
        objects = body.get("objects")
        if not isinstance(objects, list):
            return error("objects must be a list", 400)
        try:
            return jsonify(store.save(body["image"], objects, body.get("base_sha")))
        except ValueError as exc:
            if isinstance(exc, (PathRefusedError, SaveConflictError, CityscapesFormatError)):
                raise
            return error(str(exc), 400)

    return app


def _parse_box(raw: Any, size: tuple[int, int]) -> tuple[float, float, float, float]:
    """Four finite numbers, corners ordered and clipped to the image; refuses degenerate boxes."""
    from deep_rnn_tf.tasks.polygon.annotation import MIN_BOX_SIDE

    try:
        values = [float(v) for v in raw]
    except (TypeError, ValueError):
        raise ValueError(f"box must be [x0, y0, x1, y1] numbers; received {raw!r}") from None
    if len(values) != 4 or not np.isfinite(values).all():
        raise ValueError(f"box must be 4 finite numbers [x0, y0, x1, y1]; received {raw!r}")
    height, width = size
    x0, x1 = sorted(np.clip([values[0], values[2]], 0, width - 1))
    y0, y1 = sorted(np.clip([values[1], values[3]], 0, height - 1))
    if x1 - x0 < MIN_BOX_SIDE or y1 - y0 < MIN_BOX_SIDE:
        raise ValueError(
            f"box is degenerate: {x1 - x0:.0f}x{y1 - y0:.0f} px inside the image; drag a box at least "
            f"{MIN_BOX_SIDE:g} px wide and high over the object"
        )
    return float(x0), float(y0), float(x1), float(y1)


def _parse_prefix(raw: Any) -> np.ndarray | None:
    if raw is None:
        return None
    try:
        prefix = np.asarray(raw, dtype=np.float32).reshape(-1, 2)
    except (TypeError, ValueError):
        raise ValueError("prefix must be a list of [x, y] image pixels") from None
    if not np.isfinite(prefix).all():
        raise ValueError("prefix must be finite [x, y] image pixels")
    return prefix


def images_summary(store: AnnotationStore, images: list[ImageEntry]) -> str:
    """The start-up line about the images folder; says so when nothing in it can be annotated yet.

    The page re-reads the folder on every request, so an empty folder is not an error: images copied in
    while the tool runs appear on the next reload.
    """
    unreadable = sum(not entry.readable for entry in images)
    line = f"{len(images)} file(s) under {store.images_dir} ({unreadable} unreadable)"
    line += f"; json under {store.labels_dir}"
    if len(images) == unreadable:
        line += (
            "\nnote: no image to annotate there yet (png, jpg, bmp, tif, ...); images copied into the folder "
            "while the tool runs appear when the page is reloaded"
        )
    return line


def check_port_free(host: str, port: int) -> None:
    """Raises OSError naming the port when `host:port` cannot be bound (another program serves there)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Werkzeug binds
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OSError(f"--port {port}: cannot listen on {host}:{port} ({error.strerror}); "
                          "another program there? choose another --port") from None  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """`deep-rnn annotate`: loads the export, lists the images and serves the tool until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="deep-rnn annotate",
        description="Annotate instance polygons in the browser: drag a box, the polygon export draws the "
        "outline, correct a vertex and the model redraws the rest; saves Cityscapes json.",
    )
    parser.add_argument("--model", required=True, help="polygon export: saved_models/polygon[/VERSION]")
    parser.add_argument("--version", type=int, help="export version (default: the newest)")
    parser.add_argument("--images", required=True, help="images folder (e.g. <cityscapes>/leftImg8bit)")
    parser.add_argument("--labels", help="json folder (default: the sibling gtFine/ of leftImg8bit/)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: this machine only)")
    parser.add_argument("--debug", action="store_true", help="keep TensorFlow's start-up lines")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port must be in [1, 65535]; received {args.port}")
    store = AnnotationStore(args.images, args.labels)
    check_port_free(args.host, args.port)  # before minutes of model loading, and before "Open ..."
    from deep_rnn_tf.app.model import AnnotationModel

    model = AnnotationModel.load(args.model, args.version, debug=args.debug)
    print(f"Loaded {model.path}; warming up its signatures took {model.warm_up():.1f} s", flush=True)
    print(images_summary(store, store.list_images()) + f"; model {model.path}")
    print(f"Open http://{args.host}:{args.port}/ (Ctrl-C stops)", flush=True)
    create_app(store, model).run(host=args.host, port=args.port, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
