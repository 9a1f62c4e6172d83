// deep-rnn annotate: the page. Plain JS, no build step, no network beyond this server's /api.
"use strict";

const CLASS_COLORS = {
  person: "#dc143c", rider: "#ff6a00", car: "#1e5aff", truck: "#00a05a", bus: "#e6c800",
  train: "#8c3cc8", motorcycle: "#00c8c8", bicycle: "#b45a28",
};
const INSTANCE_CLASSES = Object.keys(CLASS_COLORS);
const VERTEX_HIT = 7;   // screen pixels
const EDGE_HIT = 5;
const CLICK_SLOP = 3;

const state = {
  images: [], index: -1, labels: INSTANCE_CLASSES.slice(), annotation: null,
  objects: [], selected: -1, selectedVertex: -1,
  undo: [], redo: [], dirty: false, busy: 0,
  view: { scale: 1, x: 0, y: 0 }, image: null,
};

const $ = (id) => document.getElementById(id);
const canvas = $("canvas");
const ctx = canvas.getContext("2d");

// ------------------------------------------------------------------------------------------ helpers
function setStatus(text, isError = false) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (e) { data = { error: `${response.status} ${response.statusText}` }; }
  if (!response.ok) throw new Error(data && data.error ? data.error : `${response.status}`);
  return data;
}

function colorOf(label) { return CLASS_COLORS[label] || "#9a9a9a"; }
function toClient(x, y) { return [x * state.view.scale + state.view.x, y * state.view.scale + state.view.y]; }
function toImage(cx, cy) { return [(cx - state.view.x) / state.view.scale, (cy - state.view.y) / state.view.scale]; }
function eventPoint(event) {
  const rect = canvas.getBoundingClientRect();
  return [event.clientX - rect.left, event.clientY - rect.top];
}
function bboxOf(polygon) {
  const xs = polygon.map((p) => p[0]), ys = polygon.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}
function snapshot() {
  return JSON.stringify({ objects: state.objects, selected: state.selected, selectedVertex: state.selectedVertex });
}
function pushHistory() {
  state.undo.push(snapshot());
  if (state.undo.length > 200) state.undo.shift();
  state.redo = [];
  state.dirty = true;
}
function restore(text) {
  const saved = JSON.parse(text);
  state.objects = saved.objects;
  state.selected = saved.selected;
  state.selectedVertex = saved.selectedVertex;
  state.dirty = true;
  refreshPanels();
  draw();
}
function undo() { if (state.undo.length) { state.redo.push(snapshot()); restore(state.undo.pop()); setStatus("Undone"); } }
function redo() { if (state.redo.length) { state.undo.push(snapshot()); restore(state.redo.pop()); setStatus("Redone"); } }

// Merges consecutive repeats (and a last vertex equal to the first) among the model's vertices.
function dedupe(vertices, scores, fixed) {
  const outV = [], outS = [];
  vertices.forEach((v, i) => {
    const last = outV[outV.length - 1];
    if (i >= fixed && last && Math.abs(last[0] - v[0]) < 1e-3 && Math.abs(last[1] - v[1]) < 1e-3) return;
    outV.push(v); outS.push(scores ? scores[i] : 1);
  });
  while (outV.length > Math.max(fixed, 1)) {
    const a = outV[0], b = outV[outV.length - 1];
    if (Math.abs(a[0] - b[0]) < 1e-3 && Math.abs(a[1] - b[1]) < 1e-3) { outV.pop(); outS.pop(); } else break;
  }
  return [outV, outS];
}

// ------------------------------------------------------------------------------------------ drawing
function resizeCanvas() {
  const wrap = $("canvas-wrap");
  canvas.width = wrap.clientWidth;
  canvas.height = wrap.clientHeight;
  draw();
}

function fitView() {
  if (!state.annotation) return;
  const w = state.annotation.imgWidth, h = state.annotation.imgHeight;
  const scale = Math.min(canvas.width / w, canvas.height / h) * 0.98;
  state.view = { scale, x: (canvas.width - w * scale) / 2, y: (canvas.height - h * scale) / 2 };
  draw();
}

function zoomAt(cx, cy, factor) {
  const [ix, iy] = toImage(cx, cy);
  state.view.scale = Math.min(40, Math.max(0.05, state.view.scale * factor));
  state.view.x = cx - ix * state.view.scale;
  state.view.y = cy - iy * state.view.scale;
  draw();
}

function draw() {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!state.annotation) return;
  const { scale, x, y } = state.view;
  if (state.image) {
    ctx.imageSmoothingEnabled = scale < 2;
    ctx.drawImage(state.image, x, y, state.annotation.imgWidth * scale, state.annotation.imgHeight * scale);
  }
  state.objects.forEach((obj, i) => drawObject(obj, i === state.selected));
  if (drag && drag.kind === "box") {
    const [x0, y0] = toClient(drag.start[0], drag.start[1]);
    const [x1, y1] = toClient(drag.current[0], drag.current[1]);
    ctx.setLineDash([6, 4]); ctx.strokeStyle = "#fff"; ctx.lineWidth = 1.5;
    ctx.strokeRect(x0, y0, x1 - x0, y1 - y0); ctx.setLineDash([]);
  }
}

function drawObject(obj, selected) {
  if (!obj.polygon.length) return;
  const color = colorOf(obj.label);
  const instance = INSTANCE_CLASSES.includes(obj.label);
  ctx.beginPath();
  obj.polygon.forEach((p, i) => { const [cx, cy] = toClient(p[0], p[1]); if (i) ctx.lineTo(cx, cy); else ctx.moveTo(cx, cy); });
  ctx.closePath();
  ctx.globalAlpha = selected ? 0.3 : (instance ? 0.18 : 0.06);
  ctx.fillStyle = color; ctx.fill();
  ctx.globalAlpha = instance || selected ? 1 : 0.5;
  ctx.strokeStyle = color; ctx.lineWidth = selected ? 2.5 : 1.5; ctx.stroke();
  ctx.globalAlpha = 1;
  if (!selected && !instance) return;
  obj.polygon.forEach((p, i) => {
    const [cx, cy] = toClient(p[0], p[1]);
    ctx.beginPath();
    ctx.arc(cx, cy, selected ? 4.5 : 3, 0, 2 * Math.PI);
    const fixed = selected && i === state.selectedVertex;
    ctx.fillStyle = fixed ? "#ffffff" : (i === 0 && selected ? "#ffe000" : color);
    ctx.fill(); ctx.lineWidth = 1; ctx.strokeStyle = "#000"; ctx.stroke();
  });
}

// ------------------------------------------------------------------------------------------ hit tests
// The selected object's vertices first, then (unless onlySelected) the others', front to back.
function hitVertex(cx, cy, onlySelected = false) {
  const order = state.selected >= 0 ? [state.selected] : [];
  if (!onlySelected) for (let i = state.objects.length - 1; i >= 0; i--) if (i !== state.selected) order.push(i);
  for (const o of order) {
    const polygon = state.objects[o].polygon;
    for (let v = polygon.length - 1; v >= 0; v--) {
      const [px, py] = toClient(polygon[v][0], polygon[v][1]);
      if (Math.hypot(px - cx, py - cy) <= VERTEX_HIT) return [o, v];
    }
  }
  return null;
}

function hitEdge(cx, cy) {
  if (state.selected < 0) return null;
  const polygon = state.objects[state.selected].polygon;
  let best = null;
  for (let v = 0; v < polygon.length; v++) {
    const [ax, ay] = toClient(...polygon[v]);
    const [bx, by] = toClient(...polygon[(v + 1) % polygon.length]);
    const dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    if (len2 < 1e-6) continue;
    const t = Math.max(0, Math.min(1, ((cx - ax) * dx + (cy - ay) * dy) / len2));
    const d = Math.hypot(ax + t * dx - cx, ay + t * dy - cy);
    if (d <= EDGE_HIT && (!best || d < best.d)) best = { d, after: v, point: toImage(ax + t * dx, ay + t * dy) };
  }
  return best;
}

function insideObject(ix, iy) {
  for (let o = state.objects.length - 1; o >= 0; o--) {
    const poly = state.objects[o].polygon;
    let inside = false;
    for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      const [xi, yi] = poly[i], [xj, yj] = poly[j];
      if ((yi > iy) !== (yj > iy) && ix < ((xj - xi) * (iy - yi)) / (yj - yi) + xi) inside = !inside;
    }
    if (inside) return o;
  }
  return -1;
}

// ------------------------------------------------------------------------------------------ model calls
async function callModel(body) {
  state.busy++;
  setStatus("Asking the model…");
  try {
    const result = await api("/api/annotate", { image: state.images[state.index].id, beam: Number($("beam").value), ...body });
    $("latency").textContent = `model ${result.latency_ms.toFixed(0)} ms (${result.signature}), request ${result.request_ms.toFixed(0)} ms`;
    return result;
  } finally {
    state.busy--;
  }
}

async function polygonFromBox(box) {
  try {
    const result = await callModel({ box });
    const [vertices, scores] = dedupe(result.vertices, result.scores, 0);
    pushHistory();
    state.objects.push({ label: $("label-select").value || "car", polygon: vertices, scores, box: result.box,
                         source_index: null, modified: true });
    select(state.objects.length - 1, -1);
    setStatus(`New ${state.objects[state.selected].label}: ${vertices.length} vertices. Drag a vertex to correct it.`);
  } catch (error) {
    setStatus(error.message, true);
  }
  draw();
}

async function correctFrom(objectIndex, vertexIndex) {
  const obj = state.objects[objectIndex];
  const prefix = obj.polygon.slice(0, vertexIndex + 1);
  const box = obj.box || bboxOf(obj.polygon);
  try {
    const result = await callModel({ box, prefix });
    const [vertices, scores] = dedupe(result.vertices, result.scores, prefix.length);
    obj.polygon = vertices; obj.scores = scores; obj.box = result.box;
    setStatus(`Corrected: kept ${prefix.length} vertices, the model redrew the rest (${vertices.length} in all).`);
  } catch (error) {
    setStatus(error.message, true);
  }
  refreshPanels();
  draw();
}

// ------------------------------------------------------------------------------------------ editing
function select(objectIndex, vertexIndex = -1) {
  state.selected = objectIndex;
  state.selectedVertex = vertexIndex;
  refreshPanels();
  draw();
}

function deleteVertex(objectIndex, vertexIndex) {
  const obj = state.objects[objectIndex];
  if (obj.polygon.length <= 3) { setStatus("A polygon needs at least 3 vertices; delete the object instead (Shift+Delete).", true); return; }
  pushHistory();
  obj.polygon.splice(vertexIndex, 1);
  if (obj.scores) obj.scores.splice(vertexIndex, 1);
  obj.modified = true;
  state.selectedVertex = -1;
  setStatus(`Vertex removed (${obj.polygon.length} left).`);
  refreshPanels(); draw();
}

function deleteObject(objectIndex) {
  if (objectIndex < 0) return;
  pushHistory();
  const [removed] = state.objects.splice(objectIndex, 1);
  state.selected = -1; state.selectedVertex = -1;
  setStatus(`Deleted a ${removed.label}.`);
  refreshPanels(); draw();
}

function setLabel(label) {
  if (state.selected < 0) return;
  const obj = state.objects[state.selected];
  if (obj.label === label) return;
  pushHistory();
  obj.label = label; obj.modified = true;
  refreshPanels(); draw();
}

// ------------------------------------------------------------------------------------------ mouse
let drag = null;
let spaceDown = false;

canvas.addEventListener("mousedown", (event) => {
  if (!state.annotation) return;
  const [cx, cy] = eventPoint(event);
  if (event.button === 1 || (event.button === 0 && spaceDown)) {
    drag = { kind: "pan", last: [cx, cy] };
    event.preventDefault();
    return;
  }
  if (event.button !== 0) return;
  // The selected object's vertices, then its edges, then any other object's vertices.
  const edge = hitVertex(cx, cy, true) ? null : hitEdge(cx, cy);
  const vertex = edge ? null : hitVertex(cx, cy);
  if (vertex) {
    const [o, v] = vertex;
    select(o, v);
    drag = { kind: "vertex", object: o, vertex: v, before: snapshot(), moved: false, origin: [cx, cy] };
    return;
  }
  if (edge) {
    pushHistory();
    const obj = state.objects[state.selected];
    obj.polygon.splice(edge.after + 1, 0, edge.point);
    if (obj.scores) obj.scores.splice(edge.after + 1, 0, 1);
    obj.modified = true;
    select(state.selected, edge.after + 1);
    setStatus(`Vertex inserted (${obj.polygon.length} vertices).`);
    return;
  }
  drag = { kind: "box", start: toImage(cx, cy), current: toImage(cx, cy), origin: [cx, cy] };
});

window.addEventListener("mousemove", (event) => {
  if (!drag) return;
  const [cx, cy] = eventPoint(event);
  if (drag.kind === "pan") {
    state.view.x += cx - drag.last[0]; state.view.y += cy - drag.last[1];
    drag.last = [cx, cy];
  } else if (drag.kind === "vertex") {
    if (!drag.moved && Math.hypot(cx - drag.origin[0], cy - drag.origin[1]) < CLICK_SLOP) return;
    drag.moved = true;
    const [ix, iy] = toImage(cx, cy);
    const w = state.annotation.imgWidth - 1, h = state.annotation.imgHeight - 1;
    state.objects[drag.object].polygon[drag.vertex] = [Math.max(0, Math.min(w, ix)), Math.max(0, Math.min(h, iy))];
  } else if (drag.kind === "box") {
    drag.current = toImage(cx, cy);
  }
  draw();
});

window.addEventListener("mouseup", async (event) => {
  if (!drag) return;
  const finished = drag;
  drag = null;
  const [cx, cy] = eventPoint(event);
  if (finished.kind === "vertex" && finished.moved) {
    state.undo.push(finished.before); state.redo = []; state.dirty = true;
    const obj = state.objects[finished.object];
    obj.modified = true;
    if ($("keep-fixed").checked) {
      setStatus("Vertex moved (the others kept fixed).");
      refreshPanels(); draw();
    } else {
      await correctFrom(finished.object, finished.vertex);
    }
  } else if (finished.kind === "box") {
    if (Math.hypot(cx - finished.origin[0], cy - finished.origin[1]) < CLICK_SLOP) {
      select(insideObject(...finished.start), -1);   // a click: select the object under it, or none
      return;
    }
    const [x0, y0] = finished.start, [x1, y1] = finished.current;
    draw();
    await polygonFromBox([x0, y0, x1, y1]);
  } else {
    draw();
  }
});

canvas.addEventListener("contextmenu", (event) => {
  event.preventDefault();
  const vertex = hitVertex(...eventPoint(event));
  if (vertex) { state.selected = vertex[0]; deleteVertex(vertex[0], vertex[1]); }
});

canvas.addEventListener("wheel", (event) => {
  event.preventDefault();
  zoomAt(...eventPoint(event), event.deltaY < 0 ? 1.15 : 1 / 1.15);
}, { passive: false });

// ------------------------------------------------------------------------------------------ keyboard
window.addEventListener("keydown", (event) => {
  if (event.target.tagName === "SELECT" || event.target.tagName === "INPUT") {
    if (!(event.ctrlKey || event.metaKey)) return;
  }
  const key = event.key, ctrl = event.ctrlKey || event.metaKey;
  if (ctrl && key.toLowerCase() === "z" && !event.shiftKey) { undo(); event.preventDefault(); return; }
  if (ctrl && (key.toLowerCase() === "y" || (key.toLowerCase() === "z" && event.shiftKey))) { redo(); event.preventDefault(); return; }
  if (ctrl && key.toLowerCase() === "s") { save(); event.preventDefault(); return; }
  if (ctrl) return;
  if (key === " ") { spaceDown = true; event.preventDefault(); return; }
  if (key === "Delete" || key === "Backspace") {
    if (event.shiftKey || state.selectedVertex < 0) deleteObject(state.selected);
    else deleteVertex(state.selected, state.selectedVertex);
    event.preventDefault();
  } else if (key === "f" || key === "F") { $("keep-fixed").checked = !$("keep-fixed").checked; setStatus(`Keep other vertices fixed: ${$("keep-fixed").checked ? "on" : "off"}`); }
  else if (key === "n" || key === "N" || key === "ArrowRight") openImage(state.index + 1);
  else if (key === "p" || key === "P" || key === "ArrowLeft") openImage(state.index - 1);
  else if (key === "+" || key === "=") zoomAt(canvas.width / 2, canvas.height / 2, 1.25);
  else if (key === "-") zoomAt(canvas.width / 2, canvas.height / 2, 0.8);
  else if (key === "0") fitView();
  else if (key === "Escape") select(-1, -1);
  else if (key === "Tab") { if (state.objects.length) select((state.selected + 1) % state.objects.length, -1); event.preventDefault(); }
  else if (/^[1-8]$/.test(key)) setLabel(INSTANCE_CLASSES[Number(key) - 1]);
});
window.addEventListener("keyup", (event) => { if (event.key === " ") spaceDown = false; });

// ------------------------------------------------------------------------------------------ panels
function refreshPanels() {
  const list = $("object-list");
  list.innerHTML = "";
  state.objects.forEach((obj, i) => {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch"; swatch.style.background = colorOf(obj.label);
    li.appendChild(swatch);
    li.appendChild(document.createTextNode(`${i + 1}. ${obj.label} (${obj.polygon.length} vertices)${obj.modified ? " *" : ""}`));
    li.className = i === state.selected ? "selected" : "";
    li.dataset.index = i;
    li.addEventListener("click", () => select(i, -1));
    list.appendChild(li);
  });
  const selectEl = $("label-select");
  const labels = state.labels.slice();
  state.objects.forEach((o) => { if (!labels.includes(o.label)) labels.push(o.label); });
  const current = state.selected >= 0 ? state.objects[state.selected].label : (selectEl.value || INSTANCE_CLASSES[2]);
  selectEl.innerHTML = "";
  labels.forEach((label) => { const opt = document.createElement("option"); opt.value = opt.textContent = label; selectEl.appendChild(opt); });
  selectEl.value = current;
  selectEl.disabled = !state.annotation;
  $("delete-object").disabled = state.selected < 0;
  document.title = `${state.dirty ? "* " : ""}deep-rnn annotate`;
}

function renderImageList() {
  const list = $("image-list");
  list.innerHTML = "";
  state.images.forEach((entry, i) => {
    const li = document.createElement("li");
    li.textContent = entry.id;
    li.title = entry.readable ? entry.id : `${entry.id}: not a readable image`;
    li.className = (entry.readable ? "" : "unreadable ") + (i === state.index ? "current" : "");
    li.addEventListener("click", () => openImage(i));
    list.appendChild(li);
  });
}

// ------------------------------------------------------------------------------------------ images
async function openImage(index) {
  if (index < 0 || index >= state.images.length || index === state.index) return;
  if (state.dirty && !window.confirm("Discard the unsaved changes of this image?")) return;
  state.index = index;
  renderImageList();
  const entry = state.images[index];
  $("image-name").textContent = entry.id;
  state.annotation = null; state.objects = []; state.image = null; state.selected = -1; state.selectedVertex = -1;
  state.undo = []; state.redo = []; state.dirty = false;
  draw();
  if (!entry.readable) { setStatus(`${entry.id}: not a readable image; skipped.`, true); refreshPanels(); return; }
  setStatus(`Opening ${entry.id}…`);
  try {
    const [annotation, image] = await Promise.all([
      api(`/api/annotation/${encodeURI(entry.id)}`), loadImage(`/api/image/${encodeURI(entry.id)}`),
    ]);
    if (state.index !== index) return;
    state.annotation = annotation; state.image = image;
    state.labels = annotation.labels;
    state.objects = annotation.objects.map((o) => ({ ...o, modified: false, box: bboxOf(o.polygon) }));
    fitView(); refreshPanels();
    setStatus(`${entry.id}: ${annotation.imgWidth}x${annotation.imgHeight}, ${state.objects.length} object(s)` +
              (annotation.exists ? ` from ${annotation.json_path}` : "; no json yet") + ". Drag a box over an object.");
  } catch (error) {
    setStatus(`${entry.id}: ${error.message}`, true);
    refreshPanels();
  }
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("the browser cannot display this image"));
    img.src = url;
  });
}

async function save() {
  if (!state.annotation) return;
  const entry = state.images[state.index];
  const objects = state.objects.map((o) => ({ label: o.label, polygon: o.polygon, source_index: o.source_index, modified: o.modified }));
  try {
    const result = await api("/api/save", { image: entry.id, objects, base_sha: state.annotation.sha });
    state.annotation.sha = result.sha;
    state.annotation.exists = true;
    // The file now lists our objects in this order.
    state.objects.forEach((o, i) => { o.source_index = i; o.modified = false; });
    state.dirty = false;
    setStatus(`Saved ${result.objects} object(s) to ${result.json_path}`);
    $("paths").textContent = `Last saved: ${result.json_path}`;
  } catch (error) {
    setStatus(`Not saved: ${error.message}`, true);
  }
  refreshPanels();
}

// ------------------------------------------------------------------------------------------ start
$("prev").addEventListener("click", () => openImage(state.index - 1));
$("next").addEventListener("click", () => openImage(state.index + 1));
$("undo").addEventListener("click", undo);
$("redo").addEventListener("click", redo);
$("save").addEventListener("click", save);
$("zoom-fit").addEventListener("click", fitView);
$("delete-object").addEventListener("click", () => deleteObject(state.selected));
$("label-select").addEventListener("change", (event) => setLabel(event.target.value));
window.addEventListener("resize", resizeCanvas);
window.addEventListener("beforeunload", (event) => { if (state.dirty) { event.preventDefault(); event.returnValue = ""; } });

async function start() {
  resizeCanvas();
  try {
    const info = await api("/api/images");
    state.images = info.images;
    $("paths").textContent = `images: ${info.images_dir} · json: ${info.labels_dir} · model: ${info.model}`;
    if (!info.beam) $("beam").disabled = true;
    renderImageList();
    refreshPanels();
    const first = state.images.findIndex((e) => e.readable);
    if (first >= 0) await openImage(first); else setStatus("No readable image in the folder.", true);
  } catch (error) {
    setStatus(error.message, true);
  }
}

// For tests and the console: the state and the coordinate mapping.
window.annotatorApp = { state, toClient, toImage, canvas, busy: () => state.busy > 0 };
start();
