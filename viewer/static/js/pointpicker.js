// pointpicker.js: `vitrina serve` only — click a model to copy that point as an annotation's `at:` (the artifact's
// own frame: metres, y up, origin at the centre of its base, before the room turns it), so nobody guesses metres.
// Press "Copy a point" (or hold Alt while clicking) and click the model; the YAML line is copied and shown.

import * as THREE from 'three';

/** A world point in an artifact node's frame: translation and turn undone, the model's own scale kept out. */
export function artifactFramePoint(node, worldPoint) {
  node.updateWorldMatrix(true, false);
  const origin = new THREE.Vector3(), turn = new THREE.Quaternion(), scale = new THREE.Vector3();
  node.matrixWorld.decompose(origin, turn, scale);
  return worldPoint.clone().sub(origin).applyQuaternion(turn.invert());
}

export async function mount(viewer, { canvas, roomScenes, rayFromScreen }) {
  const state = { armed: false, last: null };
  viewer.pointPicker = state;
  const button = document.createElement('button');
  button.type = 'button';
  button.id = 'vitrina-copy-point';
  button.textContent = 'Copy a point';
  button.setAttribute('aria-pressed', 'false');
  button.title = 'Then click a model: its annotation coordinates are copied (Alt+click works too)';
  button.style.cssText = 'position:fixed;right:.75rem;bottom:.75rem;z-index:20;font:14px system-ui,sans-serif;'
    + 'background:#10151b;color:#f2efe8;border:2px solid #ffd23f;border-radius:6px;padding:.3rem .6rem';
  const note = document.createElement('p');
  note.setAttribute('role', 'status');
  note.style.cssText = 'position:fixed;right:.75rem;bottom:3rem;z-index:20;margin:0;max-width:24rem;'
    + 'background:#10151b;color:#f2efe8;padding:.3rem .6rem;border-radius:6px;font:13px ui-monospace,monospace';
  note.hidden = true;
  document.body.append(button, note);
  const arm = (on) => { state.armed = on; button.setAttribute('aria-pressed', String(on)); };
  button.addEventListener('click', () => arm(!state.armed));

  function pickModel(clientX, clientY) {
    const raycaster = new THREE.Raycaster();
    const ray = rayFromScreen(clientX, clientY);
    raycaster.set(ray.origin, ray.direction);
    let best = null;
    for (const artifact of viewer.manifest.artifacts || []) {
      if (artifact.kind !== 'model') continue;
      const node = roomScenes.get(artifact.room)?.getObjectByName(artifact.id);
      const hit = node && raycaster.intersectObject(node, true)[0];
      if (hit && (!best || hit.distance < best.hit.distance)) best = { artifact, node, hit };
    }
    return best;
  }

  canvas.parentElement.addEventListener('pointerdown', (event) => {
    if (!(state.armed || event.altKey) || event.button !== 0 || event.target !== canvas) return;
    const found = pickModel(event.clientX, event.clientY);
    if (!found) return;
    event.stopPropagation();  // a copied point is not also a click that selects or turns the view
    const local = artifactFramePoint(found.node, found.hit.point).toArray().map((v) => Math.round(v * 1000) / 1000);
    const line = `at: [${local.join(', ')}]`;
    state.last = { artifact: found.artifact.id, at: local, line };
    navigator.clipboard?.writeText(line).catch(() => {});  // the note below shows it when the clipboard is refused
    note.textContent = `${found.artifact.id}: ${line} (copied)`;
    note.hidden = false;
    arm(false);
  }, { capture: true });
}
