// streaming.js: loads each model artifact's quality ladder (exhibit.json `levels`): every thumb first, then sharper
// levels by screen-space error, under a per-device triangle and texture budget that also answers to frame time in XR.
//
// The choice is pure (chooseLevels: manifest data, camera numbers and a budget in, one level index per artifact
// out), so it is tested without a GPU; the Streamer applies it: one GLB in flight, textures uploaded before the
// swap, the replaced level disposed.

import * as THREE from 'three';

export const LEVEL_NAMES = ['thumb', 'low', 'medium', 'high', 'full'];

// DESIGN §4's device profiles; exhibit.json `budgets` (written by the build) wins where present.
const DEFAULT_BUDGETS = {
  quest2: { triangles: 500_000, gpu_texture_bytes: 256 * 2 ** 20, max_texture: 2048 },
  quest3: { triangles: 1_000_000, gpu_texture_bytes: 512 * 2 ** 20, max_texture: 2048 },
  phone: { triangles: 300_000, gpu_texture_bytes: 256 * 2 ** 20, max_texture: 2048 },
  desktop: { triangles: 3_000_000, gpu_texture_bytes: 1024 * 2 ** 20, max_texture: 4096 },
};

// Voyager's derivative thresholds, as the share of the viewport an object covers: below 4 % a thumb is enough,
// below 10 % low, below 40 % medium; above, the best level the budget allows.
const AREA_THRESHOLDS = [0.04, 0.10, 0.40];
// A level is good enough when its geometric error projects to at most this many pixels.
const MAX_ERROR_PIXELS = 1.5;
// Hysteresis: a level is dropped only when a coarser one would do with this much margin, for this long.
const DOWNGRADE_MARGIN = 0.6;
const DOWNGRADE_AFTER_MS = 1500;

/** The device class, the way the build names its targets. */
export function deviceProfile({ userAgent = navigator.userAgent, coarsePointer = false } = {}) {
  if (/Quest 3/i.test(userAgent)) return 'quest3';
  if (/OculusBrowser|Quest|Pico|Vision/i.test(userAgent)) return 'quest2';
  return coarsePointer ? 'phone' : 'desktop';
}

/** What this device may hold at once: triangles, GPU texture bytes and the largest texture side. */
export function deviceBudget({ profile, manifestBudgets = {}, maxTextureSize = 4096, deviceMemoryGB = null }) {
  const base = { ...DEFAULT_BUDGETS[profile] || DEFAULT_BUDGETS.desktop, ...manifestBudgets[profile] || {} };
  // navigator.deviceMemory is rounded down to a power of two and capped at 8; small devices get a smaller share.
  const memoryShare = deviceMemoryGB == null ? 1 : deviceMemoryGB <= 2 ? 0.5 : deviceMemoryGB <= 4 ? 0.75 : 1;
  return {
    profile,
    triangles: Math.round(base.triangles * memoryShare),
    gpuBytes: Math.round(base.gpu_texture_bytes * memoryShare),
    maxTexture: Math.min(base.max_texture, maxTextureSize),
  };
}

/** How much of the view an artifact covers and how many pixels a metre of error at its distance spans. */
export function projection(bounds, camera) {
  const { position, fovYRadians, viewportHeight, aspect, frustum } = camera;
  const min = bounds.min, max = bounds.max;
  const centre = [0, 1, 2].map((i) => (min[i] + max[i]) / 2);
  const radius = Math.hypot(max[0] - min[0], max[1] - min[1], max[2] - min[2]) / 2;
  const distance = Math.max(Math.hypot(centre[0] - position[0], centre[1] - position[1], centre[2] - position[2]) - radius, 0.05);
  const pixelsPerMetre = viewportHeight / (2 * distance * Math.tan(fovYRadians / 2));
  const diameterPixels = 2 * radius * pixelsPerMetre;
  const viewportArea = viewportHeight * viewportHeight * aspect;
  const area = Math.min(1, (Math.PI * (diameterPixels / 2) ** 2) / viewportArea);
  const visible = frustum ? frustum(bounds) : true;
  return { pixelsPerMetre, area: visible ? area : 0, visible, distance };
}

/** The finest level an artifact needs now (an index into its levels), before any budget. */
export function wantedLevel(levels, view, { margin = 1 } = {}) {
  if (!view.visible) return 0;
  // Geometry: the coarsest level whose error projects under the pixel threshold.
  let byError = levels.length - 1;
  for (let i = 0; i < levels.length; i++) {
    if (levels[i].error * view.pixelsPerMetre <= MAX_ERROR_PIXELS / margin) { byError = i; break; }
  }
  // Coverage: Voyager's area thresholds, over the names this artifact has.
  let byArea = levels.length - 1;
  for (let t = 0; t < AREA_THRESHOLDS.length; t++) {
    if (view.area < AREA_THRESHOLDS[t] * margin) {
      const name = LEVEL_NAMES[t];
      const index = levels.findIndex((level) => LEVEL_NAMES.indexOf(level.name) >= LEVEL_NAMES.indexOf(name));
      byArea = index < 0 ? levels.length - 1 : index;
      break;
    }
  }
  return Math.max(0, Math.min(byError, byArea));
}

/**
 * One level index per artifact id. Every thumb is always kept (they are the floor of the budget); upgrades go to
 * the artifacts that cover the most of the view first while the budget lasts; a loaded level stays until a coarser
 * one would do with a margin (hysteresis), or the budget needs the room.
 *   artifacts: [{id, levels, bounds}]; current: Map id -> index loaded now; views: Map id -> projection(...)
 *   budget: {triangles, gpuBytes, maxTexture, scale}; now: ms; since: Map id -> ms a downgrade was first wanted;
 *   hysteresis: false chooses as for a visitor who just arrived, whatever is loaded now
 */
export function chooseLevels(artifacts, current, views, budget, now = 0, since = new Map(), hysteresis = true) {
  const scale = budget.scale ?? 1;
  const limitTriangles = budget.triangles * scale, limitBytes = budget.gpuBytes * scale;
  const choice = new Map();
  let triangles = 0, bytes = 0;
  // `download: true` only says the rights allow offering the level as a file; it streams like any other level.
  const usable = (level) => (level.max_texture || 0) <= budget.maxTexture;
  for (const artifact of artifacts) {
    choice.set(artifact.id, 0);
    triangles += artifact.levels[0].triangles;
    bytes += artifact.levels[0].gpu_bytes;
  }
  const ranked = [...artifacts].sort((a, b) => (views.get(b.id)?.area || 0) - (views.get(a.id)?.area || 0)
    || (a.id < b.id ? -1 : 1));
  for (const artifact of ranked) {
    const view = views.get(artifact.id) || { visible: false, area: 0, pixelsPerMetre: 0 };
    const levels = artifact.levels;
    let target = wantedLevel(levels, view);
    const loaded = current.get(artifact.id) ?? 0;
    if (loaded > target && hysteresis) {
      // Keep the finer level unless a coarser one is wanted even with the margin, and has been for a while.
      const relaxed = wantedLevel(levels, view, { margin: DOWNGRADE_MARGIN });
      const first = since.get(artifact.id) ?? now;
      since.set(artifact.id, first);
      if (relaxed >= loaded || now - first < DOWNGRADE_AFTER_MS) target = loaded;
    } else {
      since.delete(artifact.id);
    }
    while (target > 0 && !usable(levels[target])) target--;
    for (let index = target; index > 0; index--) {
      const extraTriangles = levels[index].triangles - levels[0].triangles;
      const extraBytes = levels[index].gpu_bytes - levels[0].gpu_bytes;
      if (triangles + extraTriangles <= limitTriangles && bytes + extraBytes <= limitBytes) {
        choice.set(artifact.id, index);
        triangles += extraTriangles;
        bytes += extraBytes;
        break;
      }
    }
  }
  return { choice, triangles, bytes };
}

/** Frame-time governor for XR: shrinks the budget when frames miss the display rate, grows it back slowly. */
export class FrameGovernor {
  constructor({ targetMs = 1000 / 72 } = {}) {
    this.targetMs = targetMs;
    this.average = targetMs;
    this.scale = 1;
    this.slowFor = 0;
    this.fastFor = 0;
  }

  /** Feed one frame's duration; returns the budget scale (0.25 … 1). */
  frame(ms) {
    this.average += (Math.min(ms, 200) - this.average) * 0.1;
    if (this.average > this.targetMs * 1.15) { this.slowFor += ms; this.fastFor = 0; }
    else if (this.average < this.targetMs * 0.9) { this.fastFor += ms; this.slowFor = 0; }
    else { this.slowFor = 0; this.fastFor = 0; }
    if (this.slowFor > 1000) { this.scale = Math.max(0.25, this.scale * 0.8); this.slowFor = 0; }
    if (this.fastFor > 5000) { this.scale = Math.min(1, this.scale * 1.1); this.fastFor = 0; }
    return this.scale;
  }
}

/**
 * Applies chooseLevels to the scene. host: {loader, renderer, camera, scene, roomGroup(roomId) -> Object3D, state}
 * where state is window.__viewer (streaming statistics go to state.streaming).
 */
export class Streamer {
  constructor(host, artifacts, budget) {
    this.host = host;
    this.artifacts = artifacts.filter((a) => Array.isArray(a.levels) && a.levels.length);
    this.budget = { ...budget, scale: 1 };
    this.current = new Map();  // id -> level index shown now
    this.nodes = new Map();  // id -> Object3D shown now
    this.since = new Map();
    this.failed = new Map();  // id -> {index, until, delay}: a level that failed to load rests before it is tried again
    this.busy = false;
    this.started = false;
    this.lastChoice = 0;
    this.afresh = false;  // until settled, choose without hysteresis (see rechoose)
    this.governor = new FrameGovernor();
    this.stats = {
      profile: budget.profile, budget: { ...budget }, levels: {}, loads: 0, bytes: 0, failures: [],
      thumbsMs: null, fullQualityMs: null, settledMs: null, triangles: 0, gpuBytes: 0, scale: 1,
      bytesBeforeThumbs: null,
    };
    host.state.streaming = this.stats;
  }

  /** The thumbs of these artifacts (in this order, two requests at a time: thumbs are small, so latency is what a
   * second request hides). Artifacts that already show a level are skipped. */
  async loadThumbs(artifacts) {
    const queue = artifacts.filter((a) => Array.isArray(a.levels) && a.levels.length && !this.current.has(a.id));
    const worker = async () => {
      while (queue.length) await this._show(queue.shift(), 0);
    };
    await Promise.all([worker(), worker()]);
  }

  /** After every thumb: from now on update() upgrades and downgrades. */
  start() {
    this.started = true;
    this.stats.thumbsMs = performance.now();
    this.stats.bytesBeforeThumbs = this.stats.bytes;
  }

  /** The first room's artifacts are visible once each shows some level. */
  shown(id) { return this.current.has(id); }

  /** Call once a frame: rechooses levels a few times a second and starts at most one load. */
  update(frameMs, inXR) {
    if (inXR) this.budget.scale = this.stats.scale = this.governor.frame(frameMs);
    const now = performance.now();
    if (!this.started || this.busy || now - this.lastChoice < 250) return;
    this.lastChoice = now;
    const camera = this._cameraNumbers();  // one frustum per choice, not one per artifact
    const views = new Map(this.artifacts.map((a) => [a.id, projection(a.bounds, camera)]));
    const { choice } = chooseLevels(this.artifacts, this.current, views, this.budget, now, this.since, !this.afresh);
    // Downgrades first: they make room. Then the largest upgrade on screen. A level that failed to load rests (2 s,
    // doubling to a minute): asked for again at every choice, it kept every other object from its upgrade.
    const resting = (a) => {
      const failed = this.failed.get(a.id);
      return failed !== undefined && failed.index === choice.get(a.id) && now < failed.until;
    };
    const changes = this.artifacts.filter((a) => choice.get(a.id) !== this.current.get(a.id) && this.current.has(a.id)
      && !resting(a));
    const down = changes.find((a) => choice.get(a.id) < this.current.get(a.id));
    const up = changes.filter((a) => choice.get(a.id) > this.current.get(a.id))
      .sort((a, b) => views.get(b.id).area - views.get(a.id).area)[0];
    const next = down || up;
    if (next) {
      this.busy = true;
      this.stats.settledMs = null;
      this._show(next, choice.get(next.id)).finally(() => { this.busy = false; });
    } else {
      // A choice found nothing to load for this view: a poster (or a test) can take its picture now.
      this.stats.settledMs = now;
      this.afresh = false;
      if (this.stats.fullQualityMs === null && this.stats.thumbsMs !== null) this.stats.fullQualityMs = now;
    }
  }

  /**
   * Choose at the next frame, not up to 250 ms later: the camera jumped (a poster's or a test's view). `afresh`:
   * until the view settles, as for a visitor who just arrived, keeping no finer level an earlier view loaded (a
   * poster must not depend on the shots taken before it, nor on how long they took).
   */
  rechoose({ afresh = false } = {}) {
    this.lastChoice = 0;
    if (afresh) this.afresh = true;
  }

  /** Whether an artifact's bounds are in the camera's view now. */
  inView(artifact) {
    return this._cameraNumbers().frustum(artifact.bounds);
  }

  _cameraNumbers() {
    const { camera, renderer } = this.host;
    const xrCamera = renderer.xr.isPresenting ? renderer.xr.getCamera() : camera;
    xrCamera.updateMatrixWorld();
    const frustum = new THREE.Frustum().setFromProjectionMatrix(
      new THREE.Matrix4().multiplyMatrices(xrCamera.projectionMatrix, xrCamera.matrixWorldInverse));
    const box = new THREE.Box3();
    const size = renderer.getSize(new THREE.Vector2());
    const position = new THREE.Vector3().setFromMatrixPosition(xrCamera.matrixWorld);
    return {
      position: position.toArray(),
      fovYRadians: THREE.MathUtils.degToRad(camera.fov || 60),
      viewportHeight: renderer.xr.isPresenting ? 1832 : size.y,
      aspect: renderer.xr.isPresenting ? 1 : size.x / Math.max(size.y, 1),
      frustum: (bounds) => frustum.intersectsBox(box.set(new THREE.Vector3().fromArray(bounds.min), new THREE.Vector3().fromArray(bounds.max))),
    };
  }

  async _show(artifact, index) {
    const level = artifact.levels[index];
    try {
      const gltf = await this.host.loader.loadAsync(level.glb);
      // A level GLB has one root node, the artifact's (docs/manifest.md). GLTFLoader may have renamed it (the glTF
      // scene carries the same name, and three keeps names unique), so take it by position and name it again.
      const node = gltf.scene.children.length === 1 ? gltf.scene.children[0] : gltf.scene;
      node.name = artifact.node || artifact.id;
      // Upload textures before the swap, so the frame that shows the new level does not stall on them.
      node.traverse((object) => {
        for (const material of [object.material].flat().filter(Boolean)) {
          for (const value of Object.values(material)) if (value && value.isTexture) this.host.renderer.initTexture(value);
        }
      });
      const parent = this.host.roomGroup(artifact.room);
      const old = this.nodes.get(artifact.id);
      parent.add(node);
      if (old) { old.removeFromParent(); dispose(old); }
      this.nodes.set(artifact.id, node);
      this.current.set(artifact.id, index);
      this.stats.levels[artifact.id] = level.name;
      this.stats.loads++;
      this.failed.delete(artifact.id);
      // Once a level is in, the next choice is made at the next frame: the next upgrade starts sooner, and a poster
      // knows sooner that nothing is left to load. (A failed load rests instead: see `failed`.)
      this.lastChoice = 0;
      this.stats.bytes += level.bytes || 0;
      this._tally();
      this.host.onShow?.(artifact, level, node);
    } catch (error) {
      const before = this.failed.get(artifact.id);
      const delay = before?.index === index ? Math.min(before.delay * 2, 60000) : 2000;
      this.failed.set(artifact.id, { index, until: performance.now() + delay, delay });
      this.stats.failures.push(`${artifact.id}/${level.name}: ${error.message || error}`);
      this.host.state.errors.push(`artifact ${artifact.id} level ${level.name}: ${error.message || error}`);
    }
  }

  _tally() {
    let triangles = 0, bytes = 0;
    for (const artifact of this.artifacts) {
      const index = this.current.get(artifact.id);
      if (index === undefined) continue;
      triangles += artifact.levels[index].triangles;
      bytes += artifact.levels[index].gpu_bytes;
    }
    this.stats.triangles = triangles;
    this.stats.gpuBytes = bytes;
  }
}

function dispose(root) {
  root.traverse((object) => {
    object.geometry?.dispose();
    for (const material of [object.material].flat().filter(Boolean)) {
      for (const value of Object.values(material)) if (value && value.isTexture) value.dispose();
      material.dispose();
    }
  });
}
