// editor.js: `vitrina serve --edit` — place artifacts and rooms' start points by hand. Each change is sent to the
// preview server, which writes that one value into the YAML file that declares it; the rebuild then reloads the
// page, and this module's state (selection, undo and redo, the camera) survives the reload in sessionStorage.
// Loaded by app.js only when the preview server marked the page (window.__vitrinaEdit); never used by a visitor.
//
// Mouse: drag an artifact on the floor (snapping to a grid, the walls and other artifacts' edges; Shift drags
// freely) or a picture along its wall; drag a room's start marker; Ctrl+drag turns (by 15°; with Shift by 1°).
// Handles on the selected artifact: a ring on the floor turns it, an upright arrow beside it sets its plinth's
// height; a picture's horizontal arrow slides it along its wall and its upright arrow moves it up or down.
// Keyboard, on the editor's "move" pad (the same changes as the handles): arrows move, [ and ] rotate,
// PageUp/PageDown raise or lower; Ctrl+Z undoes and Ctrl+Shift+Z (or Ctrl+Y) redoes anywhere.

import * as THREE from 'three';

const EDIT_PATH = '/__vitrina/edit';
const LAYOUT_PATH = '/__vitrina/edit/layout';
const CHECK_PATH = '/__vitrina/edit/check';  // a dry run: check's problems after a change, nothing written
const GRID = 0.25;          // metres between floor grid lines
const WALL_GRID = 0.05;     // metres: pictures are hung more finely than plinths are placed
const SNAP = 0.15;          // metres within which a wall or another artifact's edge catches a dragged edge
const FINE_STEP = 0.01;     // metres per arrow key press with Shift
const TURN_STEP = 15;       // degrees per [ or ]
const HEIGHT_STEP = 0.05;   // metres per PageUp/PageDown
const DRAG_THRESHOLD = 4;   // CSS pixels before a press on an artifact becomes a drag
const TURN_PER_PIXEL = 0.5; // degrees per CSS pixel of a Ctrl+drag
const WALL_ALONG = {        // the direction of "positive along the wall" (to a visitor's right facing it)
  north: [1, 0, 0], south: [-1, 0, 0], east: [0, 0, 1], west: [0, 0, -1],
};
const WALL_NORMAL = { north: [0, 0, 1], south: [0, 0, -1], east: [-1, 0, 0], west: [1, 0, 0] };

const round = (value, step) => Math.round(value / step) * step;
const tidy = (value) => Math.round(value * 1000) / 1000;

/** Snap one coordinate of a footprint [centre - half, centre + half] to the nearest of `edges`, else to the grid. */
export function snapAxis(centre, half, edges, grid) {
  let best = null;
  for (const edge of edges) {
    for (const candidate of [edge - half, edge + half]) {  // either side of the footprint meets the edge
      const distance = Math.abs(candidate - centre);
      if (distance <= SNAP + 1e-9 && (!best || distance < best.distance)) best = { value: candidate, distance };  // 15 cm counts, rounding aside
    }
  }
  return best ? best.value : round(centre, grid);
}

export async function mount(viewer, tools) {
  const { camera, canvas, controls, roomScenes, pick, rayFromScreen, world } = tools;
  const manifest = viewer.manifest;
  const storageKey = `vitrina-editor:${manifest.exhibit.id}`;
  const saved = JSON.parse(sessionStorage.getItem(storageKey) || '{}');
  const state = { selected: saved.selected || null, undo: saved.undo || [], redo: saved.redo || [], layout: null,
    busy: false, snap: saved.snap !== false };
  const token = window.__vitrinaEdit.token;
  const rooms = new Map((manifest.rooms || []).map((room) => [room.id, room]));
  const artifacts = new Map((manifest.artifacts || []).map((a) => [a.id, a]));
  const roomCentre = (room) => [(room.bounds.min[0] + room.bounds.max[0]) / 2, (room.bounds.min[2] + room.bounds.max[2]) / 2];
  const editorState = { ready: false, saves: 0, lastResult: null, lastError: null, dragging: null, live: null, checks: 0 };
  viewer.editor = editorState;

  function persist() {
    const target = controls.orbit.target;
    sessionStorage.setItem(storageKey, JSON.stringify({
      selected: state.selected, undo: state.undo.slice(-100), redo: state.redo.slice(-100), snap: state.snap,
      camera: { position: camera.position.toArray(), target: target.toArray(), mode: controls.mode },
    }));
  }
  // Every save reloads the page: come back exactly where the designer was looking.
  if (saved.camera) controls.flyTo(saved.camera.position, saved.camera.target, { durationMs: 0, orbit: saved.camera.mode === 'orbit' });
  window.addEventListener('pagehide', persist);

  // ── the panel ──
  const panel = document.createElement('aside');
  panel.id = 'vitrina-editor';
  panel.setAttribute('aria-labelledby', 'vitrina-editor-title');
  // In the side column, above the object list, so it never covers the objects being placed.
  panel.style.cssText = 'margin:0 0 .75rem;background:#10151b;color:#f2efe8;border:2px solid #ffd23f;border-radius:8px;'
    + 'padding:.6rem .8rem;font:14px/1.4 system-ui,sans-serif';
  panel.innerHTML = `
    <h2 id="vitrina-editor-title" style="margin:0 0 .4rem;font-size:1rem">Layout editor</h2>
    <label for="vitrina-editor-target">Object</label>
    <select id="vitrina-editor-target" style="width:100%"></select>
    <div id="vitrina-editor-fields" style="display:grid;grid-template-columns:auto 1fr;gap:.25rem .5rem;margin:.5rem 0"></div>
    <div id="vitrina-editor-pad" tabindex="0" role="application" style="border:1px dashed #c9c4ba;border-radius:4px;padding:.3rem;margin:.3rem 0"
         aria-label="Move the selected object: arrow keys move it, Shift for 1 cm steps, [ and ] turn it, Page Up and Page Down raise or lower it">
      Move with keys here: arrows, Shift+arrows, [ ], PgUp/PgDn</div>
    <label><input type="checkbox" id="vitrina-editor-snap"> Snap to grid, walls and edges</label>
    <div style="margin:.4rem 0">
      <button type="button" id="vitrina-editor-undo">Undo</button>
      <button type="button" id="vitrina-editor-redo">Redo</button>
    </div>
    <p id="vitrina-editor-status" role="status" aria-live="polite" style="margin:.3rem 0;color:#c9c4ba"></p>
    <ul id="vitrina-editor-problems" style="margin:.2rem 0;padding-left:1.1rem;color:#ffb3b3"></ul>`;
  const column = document.getElementById('artifact-list');
  if (column) column.prepend(panel); else document.body.append(panel);
  const select = panel.querySelector('#vitrina-editor-target');
  const fields = panel.querySelector('#vitrina-editor-fields');
  const pad = panel.querySelector('#vitrina-editor-pad');
  const status = panel.querySelector('#vitrina-editor-status');
  const problemList = panel.querySelector('#vitrina-editor-problems');
  const undoButton = panel.querySelector('#vitrina-editor-undo');
  const redoButton = panel.querySelector('#vitrina-editor-redo');
  const snapBox = panel.querySelector('#vitrina-editor-snap');
  snapBox.checked = state.snap;
  snapBox.addEventListener('change', () => { state.snap = snapBox.checked; persist(); });
  const say = (text) => { status.textContent = text; };

  // ── layout and problems from the server ──
  async function loadLayout() {
    const response = await fetch(LAYOUT_PATH, { cache: 'no-store' });
    if (!response.ok) throw new Error(`layout: HTTP ${response.status}`);
    state.layout = await response.json();
  }
  await loadLayout();
  const entry = (key) => {
    if (!key) return null;
    const [kind, id] = key.split(':');
    return kind === 'artifact' ? state.layout.artifacts[id] : state.layout.rooms[id];
  };

  // ── room start markers: a flat arrow on the floor, pointing the way visitors will face ──
  const markers = new Map();
  for (const [id, info] of Object.entries(state.layout.rooms)) {
    const room = rooms.get(id);
    if (!room) continue;
    const shape = new THREE.Shape([new THREE.Vector2(0, -0.45), new THREE.Vector2(0.25, 0.15), new THREE.Vector2(0, 0.05), new THREE.Vector2(-0.25, 0.15)]);
    const marker = new THREE.Mesh(new THREE.ShapeGeometry(shape).rotateX(Math.PI / 2),
      new THREE.MeshBasicMaterial({ color: 0xffd23f, side: THREE.DoubleSide, depthTest: false, transparent: true, opacity: 0.85 }));
    marker.renderOrder = 10;
    marker.name = `vitrina-start:${id}`;
    const start = info.start || { at: [0, 0], facing: 0 };
    const [cx, cz] = roomCentre(room);
    marker.position.set(cx + start.at[0], (room.floor_y ?? 0) + 0.02, cz + start.at[1]);
    marker.rotation.y = -THREE.MathUtils.degToRad(start.facing || 0);
    world.add(marker);
    markers.set(id, marker);
  }

  // ── handles on the selected artifact (drawn over everything, like the start markers) ──
  const handleMaterial = (color) => new THREE.MeshBasicMaterial({ color, depthTest: false, transparent: true, opacity: 0.9 });
  const handles = new THREE.Group();
  handles.name = 'vitrina-handles';
  handles.renderOrder = 11;
  world.add(handles);
  function arrow(name, color, along) {
    // A double-headed arrow 40 cm long along `along` (a unit vector).
    const group = new THREE.Group();
    group.name = name;
    const shaft = new THREE.Mesh(new THREE.CylinderGeometry(0.015, 0.015, 0.3, 8), handleMaterial(color));
    const tips = [1, -1].map((sign) => {
      const tip = new THREE.Mesh(new THREE.ConeGeometry(0.045, 0.1, 12), handleMaterial(color));
      tip.position.y = sign * 0.2;
      if (sign < 0) tip.rotation.z = Math.PI;
      return tip;
    });
    group.add(shaft, ...tips);
    group.quaternion.setFromUnitVectors(new THREE.Vector3(0, 1, 0), new THREE.Vector3(...along).normalize());
    for (const mesh of group.children) { mesh.renderOrder = 11; mesh.name = name; }
    return group;
  }
  // World geometry of the selected artifact's handles, from the manifest's bounds (metres).
  function placeHandles() {
    handles.clear();
    editorState.handles = {};
    const [kind, id] = (state.selected || '').split(':');
    const info = kind === 'artifact' ? entry(state.selected) : null;
    const artifact = artifacts.get(id);
    if (!info || !artifact?.bounds) return;
    const { min, max } = artifact.bounds;
    const centre = new THREE.Vector3((min[0] + max[0]) / 2, (min[1] + max[1]) / 2, (min[2] + max[2]) / 2);
    if (info.wall) {
      const along = WALL_ALONG[info.wall], normal = WALL_NORMAL[info.wall];
      const half = Math.abs(along[0]) * (max[0] - min[0]) / 2 + Math.abs(along[2]) * (max[2] - min[2]) / 2;
      const slide = arrow('vitrina-handle:along', 0x3fa9ff, along);
      slide.position.copy(centre).add(new THREE.Vector3(...along).multiplyScalar(half + 0.3)).add(new THREE.Vector3(...normal).multiplyScalar(0.05));
      const lift = arrow('vitrina-handle:updown', 0x7cd67c, [0, 1, 0]);
      lift.position.copy(centre).setY(max[1] + 0.3).add(new THREE.Vector3(...normal).multiplyScalar(0.05));
      handles.add(slide, lift);
      return;
    }
    const radius = Math.max(max[0] - min[0], max[2] - min[2]) / 2 + 0.3;
    const ring = new THREE.Mesh(new THREE.TorusGeometry(radius, 0.03, 8, 48).rotateX(Math.PI / 2), handleMaterial(0xffd23f));
    ring.name = 'vitrina-handle:rotate';
    ring.renderOrder = 11;
    ring.position.set(centre.x, (rooms.get(info.room)?.floor_y ?? 0) + 0.03, centre.z);
    handles.add(ring);
    if (!info.case) {
      const lift = arrow('vitrina-handle:height', 0x7cd67c, [0, 1, 0]);
      lift.position.set(max[0] + 0.2, min[1], centre.z);
      handles.add(lift);
    }
  }
  // Where the handles are on screen (tests and the status line read it): a grip point of each.
  function handleSpots() {
    const rect = canvas.getBoundingClientRect();
    const spots = {};
    camera.updateMatrixWorld();
    for (const handle of handles.children) {
      const away = new THREE.Vector3().subVectors(handle.position, camera.position).setY(0).normalize();
      const point = handle.name === 'vitrina-handle:rotate'  // the ring's far side, beyond the object from the eye
        ? handle.position.clone().add(away.multiplyScalar(handle.geometry.parameters.radius))
        : handle.position.clone().add(new THREE.Vector3(0, 0.12, 0).applyQuaternion(handle.quaternion));
      const ndc = point.clone().project(camera);
      const x = rect.left + (ndc.x + 1) / 2 * rect.width, y = rect.top + (1 - ndc.y) / 2 * rect.height;
      // Visible: in front of the eye and not under the page's own controls.
      spots[handle.name.split(':')[1]] = { x, y, visible: ndc.z < 1 && Math.abs(ndc.x) <= 1 && Math.abs(ndc.y) <= 1
        && document.elementFromPoint(x, y) === canvas };
    }
    return spots;
  }
  (function trackHandles() {
    if (handles.children.length) editorState.handles = handleSpots();
    requestAnimationFrame(trackHandles);
  })();
  function handleHit(ray) {
    const hits = new THREE.Raycaster(ray.origin, ray.direction).intersectObject(handles, true);
    return hits.length ? hits[0] : null;
  }

  // ── problem badges on the objects ──
  const badges = new Map();
  // check's problems now: the saved layout's, except for an object being dragged, whose problems are those of
  // the dry run at its latest position (the server checks the would-be YAML with the same rules as `check`).
  function currentProblems() {
    const problems = { ...(state.layout.problems || {}) };
    if (live && drag && live.target === drag.key) {
      delete problems[drag.key];
      if (live.problems[drag.key]) problems[drag.key] = live.problems[drag.key];
    }
    return problems;
  }
  function renderBadges() {
    for (const badge of badges.values()) badge.remove();
    badges.clear();
    for (const [key, problems] of Object.entries(currentProblems())) {
      const [kind, id] = key.split(':');
      if (kind !== 'artifact' || !artifacts.has(id)) continue;
      const badge = document.createElement('button');
      badge.type = 'button';
      badge.className = 'vitrina-editor-badge';
      badge.textContent = '⚠';
      badge.title = problems.map((p) => p.message).join('\n');
      badge.setAttribute('aria-label', `${id}: ${badge.title}`);
      badge.style.cssText = 'position:fixed;z-index:15;transform:translate(-50%,-120%);background:#ffd23f;color:#000;border:0;'
        + 'border-radius:50%;width:1.6rem;height:1.6rem;font-weight:bold;cursor:pointer';
      badge.addEventListener('click', () => choose(`artifact:${id}`));
      document.body.append(badge);
      badges.set(id, badge);
    }
  }
  (function placeBadges() {
    for (const [id, badge] of badges) {
      const at = viewer.project(id);
      badge.hidden = !at || !at.visible;
      if (at) { badge.style.left = `${at.x}px`; badge.style.top = `${at.y}px`; }
    }
    requestAnimationFrame(placeBadges);
  })();

  // ── selection and fields ──
  function fillSelect() {
    select.replaceChildren(new Option('(none)', ''),
      ...Object.keys(state.layout.artifacts).map((id) => new Option(`${id}${state.layout.artifacts[id].wall ? ` (${state.layout.artifacts[id].wall} wall)` : ''}`, `artifact:${id}`)),
      ...Object.keys(state.layout.rooms).map((id) => new Option(`start of room ${id}`, `room:${id}`)));
    select.value = state.selected || '';
  }
  select.addEventListener('change', () => choose(select.value || null));

  function numberField(label, value, key, index = null) {
    const id = `vitrina-editor-${key.replace(/\W/g, '-')}${index === null ? '' : `-${index}`}`;
    const text = document.createElement('label');
    text.htmlFor = id;
    text.textContent = label;
    const input = document.createElement('input');
    Object.assign(input, { id, type: 'number', step: 'any', value: value ?? '' });
    input.style.width = '6rem';
    input.addEventListener('change', () => {
      const number = Number(input.value);
      if (input.value === '' || !Number.isFinite(number)) return;
      const current = fieldValue(key);
      const value = index === null ? number : current.map((v, i) => (i === index ? number : v));
      send(key, value);
    });
    fields.append(text, input);
  }

  // What the YAML says (null when the key is absent): undo sends this back, and null removes the key again.
  function writtenValue(key) {
    const info = entry(state.selected);
    if (!info) return null;
    // All of place: undo of a move to a wall gives back the rotate and plinth that the move dropped.
    const value = { place: info.place && { wall: null, height: null, ...info.place },
      'place.at': info.at, 'place.rotate': info.rotate, 'place.height': info.height,
      'place.plinth.height': info.plinth, 'start.at': info.start?.at, 'start.facing': info.start?.facing }[key];
    return value ?? null;
  }
  // The value in force: what the YAML says, or the default the compiler uses (docs/spec.md).
  const DEFAULTS = { 'place.rotate': 0, 'place.height': 1.5, 'place.plinth.height': 0.9, 'start.at': [0, 0], 'start.facing': 0 };
  const fieldValue = (key) => writtenValue(key) ?? DEFAULTS[key] ?? null;

  // Room and wall (or the floor) of an artifact: another choice moves it there, to the room's centre or the
  // wall's middle, in one change (the server moves its YAML block into the file that lists that room's artifacts).
  function placeField(info) {
    const options = [['room', 'room', Object.keys(state.layout.rooms)], ['wall', 'wall', ['', 'north', 'east', 'south', 'west']]];
    for (const [name, label, values] of options) {
      const id = `vitrina-editor-place-${name}`;
      const text = document.createElement('label');
      text.htmlFor = id;
      text.textContent = label;
      const chooser = document.createElement('select');
      chooser.id = id;
      chooser.append(...values.map((value) => new Option(value || 'floor', value)));
      chooser.value = (name === 'room' ? info.room : info.wall) || '';
      chooser.addEventListener('change', () => {
        const room = name === 'room' ? chooser.value : info.room;
        const wall = name === 'wall' ? chooser.value || null : info.wall || null;
        send('place', wall ? { room, wall, at: 0, height: info.height ?? 1.5 } : { room, wall: null, at: [0, 0] });
      });
      fields.append(text, chooser);
    }
  }

  function renderFields() {
    fields.replaceChildren();
    problemList.replaceChildren();
    const info = entry(state.selected);
    if (!info) return;
    const [kind] = state.selected.split(':');
    if (kind === 'room') {
      const at = fieldValue('start.at');
      numberField('start x (m)', at[0], 'start.at', 0);
      numberField('start z (m)', at[1], 'start.at', 1);
      numberField('facing (°)', fieldValue('start.facing'), 'start.facing');
    } else if (info.wall) {
      placeField(info);
      numberField('along wall (m)', info.at ?? 0, 'place.at');
      numberField('height (m)', fieldValue('place.height'), 'place.height');
    } else {
      placeField(info);
      const at = info.at || [0, 0];
      numberField('x (m, east)', at[0], 'place.at', 0);
      numberField('z (m, south)', at[1], 'place.at', 1);
      numberField('turn (°)', fieldValue('place.rotate'), 'place.rotate');
      if (!info.case) numberField('plinth (m)', fieldValue('place.plinth.height'), 'place.plinth.height');
    }
    const where = document.createElement('p');
    where.style.cssText = 'grid-column:1/3;margin:0;color:#c9c4ba';
    where.textContent = `${info.file}:${info.line}`;
    fields.append(where);
    renderProblems();
  }

  function renderProblems() {
    problemList.replaceChildren();
    for (const problem of currentProblems()[state.selected] || []) {
      const item = document.createElement('li');
      item.textContent = `${problem.severity}: ${problem.message}`;
      problemList.append(item);
    }
  }

  // ── live check while dragging: at most one dry run in flight, the latest position next ──
  let live = null;
  let checking = false;
  let nextCheck = null;
  function liveChange(result) {
    const [target, id] = drag.key.split(':');
    if (result.key !== 'wall') return { target, id, key: result.key, value: result.value };
    const [offset, height] = result.value;
    return offset !== (drag.info.at ?? 0) || height === (drag.info.height ?? 1.5)
      ? { target, id, key: 'place.at', value: offset } : { target, id, key: 'place.height', value: height };
  }
  async function liveCheck(change) {
    nextCheck = change;
    if (checking) return;
    checking = true;
    while (nextCheck) {
      const sent = nextCheck;
      nextCheck = null;
      try {
        const response = await fetch(CHECK_PATH, changeRequest(sent));
        const result = await response.json();
        if (!response.ok || !drag || `${sent.target}:${sent.id}` !== drag.key) continue;
        live = { target: `${sent.target}:${sent.id}`, value: sent.value, problems: result.problems || {} };
        editorState.checks += 1;
        editorState.live = { target: live.target, key: sent.key, value: sent.value,
          problems: live.problems[live.target] || [] };
        renderProblems();
        renderBadges();
      } catch (error) {
        editorState.lastError = `live check: ${error.message || error}`;
      }
    }
    checking = false;
  }

  function choose(key) {
    state.selected = key && entry(key) ? key : null;
    select.value = state.selected || '';
    placeHandles();
    renderFields();
    persist();
    editorState.selected = state.selected;
  }

  function refreshButtons() {
    undoButton.disabled = !state.undo.length;
    redoButton.disabled = !state.redo.length;
  }

  // ── sending changes ──
  // The change rides in a header of a bodyless POST: the live tour server, which shares the port, reads no bodies.
  const changeRequest = (change) => ({
    method: 'POST', cache: 'no-store',
    headers: { 'Content-Type': 'application/json', 'X-Vitrina-Edit': token,
      'X-Vitrina-Change': encodeURIComponent(JSON.stringify(change)) },
  });
  async function post(change) {
    const response = await fetch(EDIT_PATH, changeRequest(change));
    const result = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if (!response.ok) throw new Error(result.error || `HTTP ${response.status}`);
    return result;
  }

  async function send(key, value, { history = 'new' } = {}) {
    if (!state.selected) return false;
    const [target, id] = state.selected.split(':');
    const before = writtenValue(key);
    try {
      const result = await post({ target, id, key, value });
      editorState.saves += 1;
      editorState.lastResult = result;
      editorState.lastError = null;
      const step = { target, id, key, before, after: result.after };
      if (history === 'new') { state.undo.push(step); state.redo = []; }
      state.layout.problems = result.problems;
      await loadLayout();
      renderFields();
      renderBadges();
      refreshButtons();
      persist();
      say(result.changed_lines ? `Saved ${result.file} line ${result.line}; rebuilding…` : 'No change');
      return step;
    } catch (error) {
      editorState.lastError = String(error.message || error);
      say(`Not saved: ${editorState.lastError}`);
      renderFields();
      return false;
    }
  }

  async function replay(from, to, valueOf) {
    const step = from.pop();
    if (!step) return;
    state.selected = `${step.target}:${step.id}`;
    select.value = state.selected;
    const done = await send(step.key, valueOf(step), { history: 'replay' });
    if (done) to.push(step); else from.push(step);
    refreshButtons();
    persist();
  }
  const undo = () => replay(state.undo, state.redo, (step) => step.before);
  const redo = () => replay(state.redo, state.undo, (step) => step.after);
  undoButton.addEventListener('click', undo);
  redoButton.addEventListener('click', redo);
  document.addEventListener('keydown', (event) => {
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(event.target.tagName);
    if (typing || !(event.ctrlKey || event.metaKey)) return;
    const key = event.key.toLowerCase();
    if (key === 'z' && !event.shiftKey) { undo(); event.preventDefault(); }
    else if ((key === 'z' && event.shiftKey) || key === 'y') { redo(); event.preventDefault(); }
  });

  // ── keyboard moves on the pad ──
  pad.addEventListener('keydown', (event) => {
    const info = entry(state.selected);
    if (!info) return;
    const [kind] = state.selected.split(':');
    const step = event.shiftKey ? FINE_STEP : (info.wall ? WALL_GRID : GRID);
    const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    let change = null;
    if (arrows[event.key]) {
      const [dx, dz] = arrows[event.key];
      if (kind === 'room') change = ['start.at', fieldValue('start.at').map((v, i) => tidy(v + (i ? dz : dx) * step))];
      else if (info.wall) change = dz ? ['place.height', tidy(fieldValue('place.height') - dz * step)] : ['place.at', tidy((info.at ?? 0) + dx * step)];
      else change = ['place.at', info.at.map((v, i) => tidy(v + (i ? dz : dx) * step))];
    } else if ((event.key === '[' || event.key === ']') && !info.wall) {
      const sign = event.key === ']' ? 1 : -1;
      const key = kind === 'room' ? 'start.facing' : 'place.rotate';
      const turned = ((fieldValue(key) + sign * TURN_STEP) % 360 + 360) % 360;
      change = [key, kind === 'room' ? turned : (turned > 180 ? turned - 360 : turned)];
    } else if ((event.key === 'PageUp' || event.key === 'PageDown') && kind === 'artifact') {
      const sign = event.key === 'PageUp' ? 1 : -1;
      if (info.case) return;  // it stands on its case's pedestal
      const key = info.wall ? 'place.height' : 'place.plinth.height';
      change = [key, tidy(fieldValue(key) + sign * HEIGHT_STEP)];
    }
    if (!change) return;
    event.preventDefault();
    send(...change);
  });

  // ── dragging with the mouse (or a finger) ──
  const stage = canvas.parentElement;
  let drag = null;
  const floorPlane = (y) => new THREE.Plane(new THREE.Vector3(0, 1, 0), -y);
  function startMarkerHit(ray) {
    const hits = new THREE.Raycaster(ray.origin, ray.direction).intersectObjects([...markers.values()], false);
    return hits.length ? hits[0] : null;
  }
  function otherEdges(id, roomId, centre) {
    const xs = [], zs = [];
    for (const other of artifacts.values()) {
      if (other.id === id || other.room !== roomId || !other.bounds || state.layout.artifacts[other.id]?.wall) continue;
      xs.push(other.bounds.min[0] - centre[0], other.bounds.max[0] - centre[0]);
      zs.push(other.bounds.min[2] - centre[1], other.bounds.max[2] - centre[1]);
    }
    return { xs, zs };
  }

  stage.addEventListener('pointerdown', (event) => {
    if (event.button !== 0 || !event.isPrimary || event.target !== canvas) return;
    if (event.altKey || viewer.pointPicker?.armed) return;  // the click copies a point (pointpicker.js)
    const ray = rayFromScreen(event.clientX, event.clientY);
    const grip = state.selected ? handleHit(ray) : null;
    if (grip) {
      startHandleDrag(event, grip);
      return;
    }
    const marker = startMarkerHit(ray);
    const hit = marker ? null : pick(ray);
    let key = null, point = null;
    if (marker) { key = `room:${marker.object.name.split(':')[1]}`; point = marker.point; }
    else if (hit && hit.kind === 'artifact' && state.layout.artifacts[hit.artifactId]) { key = `artifact:${hit.artifactId}`; point = hit.point; }
    if (!key) return;
    event.stopPropagation();  // OrbitControls must not turn the view while an object is being moved
    choose(key);
    const info = entry(key);
    const [kind, id] = key.split(':');
    const room = rooms.get(kind === 'room' ? id : info.room);
    if (!room) return;
    const plane = kind === 'artifact' && info.wall
      ? new THREE.Plane().setFromNormalAndCoplanarPoint(new THREE.Vector3().fromArray(WALL_NORMAL[info.wall]), point)
      : floorPlane(point.y);
    const nodes = kind === 'room' ? [markers.get(id)]
      : [id, `${id}-stand`].map((name) => roomScenes.get(room.id)?.getObjectByName(name)).filter(Boolean);
    // Ctrl (or ⌘) + drag turns a floor object, or a room's start arrow, instead of moving it.
    const turning = (event.ctrlKey || event.metaKey) && !(kind === 'artifact' && info.wall);
    drag = { key, kind, id, info, room, plane, from: point.clone(), x: event.clientX, y: event.clientY, moved: false,
      nodes: nodes.map((node) => ({ node, origin: node.position.clone(), turn: node.quaternion.clone() })), value: null,
      pointerId: event.pointerId, turning };
    canvas.setPointerCapture(event.pointerId);
    controls.orbit.enabled = false;
  }, { capture: true });

  // A handle limits the drag to one value: the ring turns, the upright arrow raises, the wall arrow slides.
  function startHandleDrag(event, grip) {
    event.stopPropagation();
    const handle = grip.object.name.split(':')[1];
    const info = entry(state.selected);
    const id = state.selected.split(':')[1];
    const room = rooms.get(info.room);
    const centre = handles.children.find((h) => h.name === 'vitrina-handle:rotate')?.position.clone();
    const facingCamera = new THREE.Vector3().subVectors(camera.position, grip.point).setY(0).normalize();
    const plane = handle === 'rotate' ? floorPlane(grip.point.y)
      : handle === 'along' ? new THREE.Plane().setFromNormalAndCoplanarPoint(new THREE.Vector3().fromArray(WALL_NORMAL[info.wall]), grip.point)
        : new THREE.Plane().setFromNormalAndCoplanarPoint(facingCamera, grip.point);  // up and down, facing the viewer
    const nodes = [id, `${id}-stand`].map((name) => roomScenes.get(room?.id)?.getObjectByName(name)).filter(Boolean)
      .filter((node) => handle !== 'height' || node.name === id);  // the plinth stays; the object rises on it
    drag = { key: state.selected, kind: 'artifact', id, info, room, plane, from: grip.point.clone(), x: event.clientX,
      y: event.clientY, moved: false, value: null, pointerId: event.pointerId, turning: false, handle, centre,
      nodes: [...nodes, handles].map((node) => ({ node, origin: node.position.clone(), turn: node.quaternion.clone() })) };
    canvas.setPointerCapture(event.pointerId);
    controls.orbit.enabled = false;
  }

  const bearing = (point, centre) => THREE.MathUtils.radToDeg(Math.atan2(point.x - centre.x, -(point.z - centre.z)));
  function handleValue(event) {
    const point = new THREE.Vector3();
    if (!rayFromScreen(event.clientX, event.clientY).intersectPlane(drag.plane, point)) return null;
    const free = event.shiftKey || !state.snap;
    if (drag.handle === 'rotate') {  // clockwise seen from above is a positive rotate, as in the spec
      const start = drag.info.rotate ?? 0;
      const raw = start + bearing(point, drag.centre) - bearing(drag.from, drag.centre);
      let value = free ? Math.round(raw) : round(raw, TURN_STEP);
      value = ((value + 540) % 360) - 180;
      return { key: 'place.rotate', value, turn: value - start };
    }
    const delta = point.sub(drag.from);
    if (drag.handle === 'along') {
      const along = new THREE.Vector3().fromArray(WALL_ALONG[drag.info.wall]);
      const start = drag.info.at ?? 0;
      const value = tidy(free ? start + delta.dot(along) : round(start + delta.dot(along), WALL_GRID));
      return { key: 'place.at', value, world: along.multiplyScalar(value - start) };
    }
    const key = drag.handle === 'height' ? 'place.plinth.height' : 'place.height';
    const start = drag.handle === 'height' ? fieldValue('place.plinth.height') : (drag.info.height ?? 1.5);
    const [low, high] = drag.handle === 'height' ? [0.05, 3] : [0, 50];
    const value = tidy(Math.min(Math.max(free ? start + delta.y : round(start + delta.y, HEIGHT_STEP), low), high));
    return { key, value, world: new THREE.Vector3(0, value - start, 0) };
  }

  function turnValue(event) {
    const key = drag.kind === 'room' ? 'start.facing' : 'place.rotate';
    const start = drag.kind === 'room' ? (drag.info.start?.facing ?? 0) : (drag.info.rotate ?? 0);
    const raw = start + (event.clientX - drag.x) * TURN_PER_PIXEL;
    let value = event.shiftKey || !state.snap ? Math.round(raw) : round(raw, TURN_STEP);
    value = drag.kind === 'room' ? ((value % 360) + 360) % 360 : ((value + 540) % 360) - 180;
    return { key, value, turn: value - start };
  }

  function dragValue(event) {
    if (drag.handle) return handleValue(event);
    if (drag.turning) return turnValue(event);
    const point = new THREE.Vector3();
    if (!rayFromScreen(event.clientX, event.clientY).intersectPlane(drag.plane, point)) return null;
    const delta = point.sub(drag.from);
    const free = event.shiftKey || !state.snap;
    const centre = roomCentre(drag.room);
    if (drag.kind === 'room') {
      const at = drag.info.start?.at ?? [0, 0];
      const raw = [at[0] + delta.x, at[1] + delta.z];
      const value = free ? raw.map(tidy) : raw.map((v) => tidy(round(v, GRID)));
      return { value, key: 'start.at', world: new THREE.Vector3(value[0] - at[0], 0, value[1] - at[1]) };
    }
    if (drag.info.wall) {
      const along = new THREE.Vector3().fromArray(WALL_ALONG[drag.info.wall]);
      const offset = (drag.info.at ?? 0) + delta.dot(along);
      const height = (drag.info.height ?? 1.5) + delta.y;
      const value = free ? [tidy(offset), tidy(height)] : [tidy(round(offset, WALL_GRID)), tidy(round(height, WALL_GRID))];
      const world = along.multiplyScalar(value[0] - (drag.info.at ?? 0)).setY(value[1] - (drag.info.height ?? 1.5));
      return { value, key: 'wall', world };
    }
    const at = drag.info.at;
    const raw = [at[0] + delta.x, at[1] + delta.z];
    // Dropped through a door into another room: it moves there (its YAML block too, when another file lists it).
    const over = [...rooms.values()].find((room) => room.id !== drag.room.id
      && [0, 2].every((axis, i) => {
        const spot = roomCentre(drag.room)[i] + raw[i];
        return spot > room.bounds.min[axis] && spot < room.bounds.max[axis];
      }));
    if (over) {
      const [ox, oz] = roomCentre(over);
      const [cx, cz] = roomCentre(drag.room);
      const there = [cx + raw[0] - ox, cz + raw[1] - oz].map((v) => tidy(free ? v : round(v, GRID)));
      return { key: 'place', value: { room: over.id, wall: null, at: there },
        world: new THREE.Vector3(ox + there[0] - cx - at[0], 0, oz + there[1] - cz - at[1]) };
    }
    let value = raw.map(tidy);
    if (!free) {
      const box = artifacts.get(drag.id).bounds;
      const margin = drag.info.plinth === null ? 0 : 0.1;  // an automatic plinth is the footprint plus 10 cm a side
      const half = [(box.max[0] - box.min[0]) / 2 + margin, (box.max[2] - box.min[2]) / 2 + margin];
      const size = drag.room.size;
      const { xs, zs } = otherEdges(drag.id, drag.room.id, centre);
      value = [
        tidy(snapAxis(raw[0], half[0], [-size[0] / 2, size[0] / 2, ...xs], GRID)),
        tidy(snapAxis(raw[1], half[1], [-size[1] / 2, size[1] / 2, ...zs], GRID)),
      ];
      // A wall is met from inside only: the footprint's outer edge lies on it, never beyond.
      value[0] = Math.min(Math.max(value[0], -size[0] / 2 + half[0]), size[0] / 2 - half[0]);
      value[1] = Math.min(Math.max(value[1], -size[1] / 2 + half[1]), size[1] / 2 - half[1]);
      value = value.map(tidy);
    }
    return { value, key: 'place.at', world: new THREE.Vector3(value[0] - at[0], 0, value[1] - at[1]) };
  }

  stage.addEventListener('pointermove', (event) => {
    if (!drag || event.pointerId !== drag.pointerId) return;
    if (!drag.moved && Math.hypot(event.clientX - drag.x, event.clientY - drag.y) < DRAG_THRESHOLD) return;
    drag.moved = true;
    event.stopPropagation();
    const result = dragValue(event);
    if (!result) return;
    drag.value = result;
    // Clockwise seen from above is a negative turn about +Y.
    const spin = new THREE.Quaternion().setFromAxisAngle(new THREE.Vector3(0, 1, 0), -THREE.MathUtils.degToRad(result.turn || 0));
    for (const { node, origin, turn } of drag.nodes) {
      if (drag.turning || drag.handle === 'rotate') {
        if (node !== handles) node.quaternion.copy(turn).premultiply(spin);
      } else node.position.copy(origin).add(result.world);
    }
    editorState.dragging = { key: drag.key, value: result.value };
    say(`${drag.key}: ${JSON.stringify(result.value)}`);
    liveCheck(liveChange(result));
  }, { capture: true });

  async function endDrag(event, cancelled) {
    if (!drag || event.pointerId !== drag.pointerId) return;
    event.stopPropagation();  // the viewer must not also treat the release as a click that selects or walks
    const finished = drag;
    drag = null;
    live = null;
    editorState.dragging = null;
    editorState.live = null;
    controls.orbit.enabled = true;
    if (canvas.hasPointerCapture(event.pointerId)) canvas.releasePointerCapture(event.pointerId);
    if (cancelled || !finished.moved || !finished.value) {
      for (const { node, origin, turn } of finished.nodes) { node.position.copy(origin); node.quaternion.copy(turn); }
      renderProblems();
      renderBadges();
      return;
    }
    if (finished.value.key === 'wall') {
      const [offset, height] = finished.value.value;
      if (offset !== (finished.info.at ?? 0)) await send('place.at', offset);
      if (height !== (finished.info.height ?? 1.5)) await send('place.height', height);
    } else {
      await send(finished.value.key, finished.value.value);
    }
  }
  stage.addEventListener('pointerup', (event) => endDrag(event, false), { capture: true });
  stage.addEventListener('pointercancel', (event) => endDrag(event, true), { capture: true });

  fillSelect();
  renderFields();
  renderBadges();
  refreshButtons();
  choose(state.selected);
  editorState.ready = true;
  say('Drag an object, or choose one and use the fields or the keys.');
}
