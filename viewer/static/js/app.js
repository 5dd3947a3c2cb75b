// app.js: the exhibit viewer — loads exhibit.json, streams the rooms nearest first, and wires desktop, touch,
// VR and AR input to one selection model, the DOM panel, hotspots, captions and the language switch.
//
// ─── Public API: window.__viewer (the tour UI and the tests use it; other keys are internal) ─────────────────
//   viewer.manifest                         the exhibit.json object
//   viewer.language                         current BCP-47 tag; viewer.setLanguage(tag)
//   viewer.flyTo({target, position}, {durationMs, afresh}) -> Promise
//        Glides the desktop camera (a cut with prefers-reduced-motion); in VR moves the reference space; in AR
//        does nothing and resolves false (the room is real; the placed model stays put).
//   viewer.cameraPose() -> {position: [x,y,z], quaternion: [x,y,z,w]}   world pose of the eye (head in XR)
//   viewer.pointerRay() -> {origin, direction} | null                  mouse ray, or the controller laser in XR
//   viewer.setGhost(id, {position, quaternion, pointer: {origin, direction} | null, label} | null)
//        Shows (null removes) another person's avatar head and pointer ray, e.g. the guide.
//   viewer.selectArtifact(id, {annotation, focus}) / viewer.closePanel()
//   viewer.linkToView({artifact} | {annotation} | {tour, stop} | {room}) -> URL with ?iiif-content= (IIIF Content State)
//   viewer.copyLinkButton(view) -> a "copy a link to this view" button for that view
//   viewer.playNarration({src, captions}, {startAtMs}) -> Promise   plays through the captioned audio guide
//   viewer.on(event, callback) -> unsubscribe     events: select, language, xrstart, xrend, ready, caption
//   viewer.project(id) -> {x, y, visible}         CSS pixels of an artifact's centre (or an annotation key's hotspot)
//   viewer.artifactMaterials(id) -> [{name, metalness, roughness, vertexColors, color, hasColorAttribute}]
//   viewer.hotspotSize(key) -> metres                 current diameter of an annotation's marker
//   viewer.artifactTextures(id) -> [{material, slot, compressed, format, width, height, mipmaps}]
//        The textures of an artifact's loaded meshes (compressed: a KTX2 texture transcoded for the GPU).
//   viewer.artifactTriangles(id) -> number       triangles of the level of an artifact drawn now
//   viewer.streaming -> {profile, budget, levels: {id: level name}, triangles, gpuBytes, loads, bytes, scale,
//        thumbsMs, fullQualityMs, settledMs, failures}   what the ladder streamer holds (streaming.js); settledMs:
//        when a choice last found nothing to load for the view (null while a level loads)
//   viewer.textureColourSpaces() -> [{material, slot, colorSpace, expected}]  every loaded texture's decoding
//   viewer.colourOutput() -> {outputColorSpace, toneMapping, exposure}      the renderer's colour management
//   viewer.setHotspotsVisible(bool)              shows or hides the annotation markers (posters hide them)
//   viewer.withoutBakedLight() -> count         removes every lightmap (what a room without one looks like; tests)
//   viewer.withoutContactShadows() -> count     hides the contact shadows under the models (tests)
//   viewer.shadows() -> {enabled, wanted, inXR, lights, casting, modelsCasting, receiving}   key-light shadow state
//   viewer.setShadows(bool) -> the same            turns it on or off (desktop only; ?quality=high turns it on)
//   viewer.captionPlates -> {id: {language, src, image, repeat, offset}}   what each caption plate shows
//   viewer.tourSlot                               DOM element reserved for the tour panel
//   viewer.xrNotice(text)                         shows text on the VR caption strip ('' restores the caption)
// Automation state (plain data, read by tests): frames, xrFrames, firstFrameMs, firstRoomVisibleMs, allRoomsLoadedMs,
//   loadedRooms, failedRooms, bakedSurfaces (meshes drawn from a lightmap), selectedArtifact, selectedAnnotation, openPanel ('object' | null), mode
//   ('desktop' | 'immersive-vr' | 'immersive-ar'), camera {position, quaternion}, caption, errors, xr {...}, ar {...}.
// The tour UI (tour-ui.js, exporting mount(viewer, slot)) is loaded only when the URL has ?tour=, ?join=, #guide= or
// #join=, or when the "Join a tour" button is pressed;
// the page keeps working when it is missing.
// ─────────────────────────────────────────────────────────────────────────────────────────────────────────────

import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { MeshoptDecoder } from 'three/addons/libs/meshopt_decoder.module.js';
import { RoomEnvironment } from 'three/addons/environments/RoomEnvironment.js';
import { I18n, RECORD_FIELDS, artifactTitle, rightsLabel } from './i18n.js';
import { DesktopControls } from './controls.js';
import { Hotspots } from './hotspots.js';
import { AudioGuide } from './audio.js';
import { ObjectPanel, audioTrack } from './panel.js';
import { XRSupport } from './xr.js';
import { copyLinkButton, linkToView, openContentState } from './content-state.js';
import { mountARHandOff } from './quicklook.js';
import { setupColour, useBakedLight, exposureFollower, textureColourSpaces, colourOutput,
  withoutBakedLight, withoutContactShadows, KeyLightShadows, shadowsAllowed, wantedQuality, storedQuality, mountShadowToggle } from './lighting.js';
import { Streamer, deviceBudget, deviceProfile } from './streaming.js';
import { FloorPlan } from './floorplan.js';
import { CaptionPlates } from './caption-plates.js';

const BACKGROUND = 0x1d2126;
const stage = document.getElementById('stage');
const statusLine = document.getElementById('status');
const progress = document.getElementById('room-progress');
const captionBox = document.getElementById('captions');
const reducedMotionQuery = window.matchMedia('(prefers-reduced-motion: reduce)');

const listeners = new Map();
const viewer = {
  manifest: null, language: null, mode: 'desktop',
  frames: 0, xrFrames: 0, firstFrameMs: null, firstRoomVisibleMs: null, allRoomsLoadedMs: null, ready: false,
  loadedRooms: [], failedRooms: [], bakedSurfaces: 0, selectedArtifact: null, selectedAnnotation: null, openPanel: null,
  camera: null, caption: '', errors: [], reducedMotion: reducedMotionQuery.matches,
  xr: { selects: 0, teleports: 0, snapTurns: 0, inputKinds: [], controllers: {}, lastSelect: null, lastTeleport: null },
  ar: { hitTests: 0, placed: 0, subject: null, position: null },
  tourSlot: document.getElementById('tour-slot'),
};
window.__viewer = viewer;
window.addEventListener('error', (event) => viewer.errors.push(String(event.message)));
window.addEventListener('unhandledrejection', (event) => viewer.errors.push(String(event.reason)));

function emit(event, detail) {
  for (const callback of listeners.get(event) || []) {
    try { callback(detail); } catch (error) { viewer.errors.push(`${event} listener: ${error}`); }
  }
}
viewer.on = (event, callback) => {
  if (!listeners.has(event)) listeners.set(event, new Set());
  listeners.get(event).add(callback);
  return () => listeners.get(event).delete(callback);
};

function announce(text) { statusLine.textContent = text; }

async function main() {
  const response = await fetch(stage.dataset.manifest || 'exhibit.json');
  if (!response.ok) throw new Error(`exhibit.json: HTTP ${response.status}`);
  const manifest = await response.json();
  viewer.manifest = manifest;
  const exhibit = manifest.exhibit;
  const i18n = new I18n(exhibit.languages || [], exhibit.default_language || stage.dataset.defaultLanguage);
  viewer.language = i18n.language;

  // ── renderer, scene, camera ──
  // Probe the GL first: a software rasteriser gets no MSAA and no image-based lighting, or it drops to a few fps.
  viewer.gpu = probeGPU();
  const renderer = new THREE.WebGLRenderer({ antialias: !viewer.gpu.software });
  renderer.setPixelRatio(viewer.gpu.software ? 1 : Math.min(window.devicePixelRatio, 2));
  renderer.setSize(stage.clientWidth, stage.clientHeight);
  renderer.xr.enabled = true;
  setupColour(renderer);
  // Headset-sized XR framebuffers are millions of pixels; a software rasteriser draws a quarter of the width.
  if (viewer.gpu.software) renderer.xr.setFramebufferScaleFactor(0.25);
  const canvas = renderer.domElement;
  canvas.tabIndex = 0;
  canvas.setAttribute('role', 'application');
  canvas.setAttribute('aria-label', i18n.t('canvasLabel'));
  stage.prepend(canvas);

  const scene = new THREE.Scene();
  scene.background = new THREE.Color(BACKGROUND);
  const camera = new THREE.PerspectiveCamera(60, stage.clientWidth / stage.clientHeight, 0.05, 200);
  scene.add(camera);  // its children (the VR caption strip) follow the head
  if (viewer.gpu.software) {
    // Image-based lighting costs a software rasteriser most of its frame time; a stronger sky light stands in.
    scene.add(new THREE.HemisphereLight(0xffffff, 0x4a4038, 2.2));
  } else {
    scene.add(new THREE.HemisphereLight(0xffffff, 0x4a4038, 0.8));
    // Bronze and other metals are black without something to reflect; a neutral studio room stands in for one.
    const pmrem = new THREE.PMREMGenerator(renderer);
    scene.environment = pmrem.fromScene(new RoomEnvironment(), 0.04).texture;
    scene.environmentIntensity = 0.6;
    pmrem.dispose();
  }
  const world = new THREE.Group();
  world.name = 'vitrina-world';
  scene.add(world);

  const rooms = manifest.rooms || [];
  const artifacts = manifest.artifacts || [];
  const artifactById = new Map(artifacts.map((a) => [a.id, a]));
  const annotationByKey = new Map();
  for (const artifact of artifacts) for (const note of artifact.annotations || []) annotationByKey.set(note.key, { note, artifact });
  const artifactBoxes = artifacts.map((a) => ({
    artifact: a,
    box: new THREE.Box3(new THREE.Vector3().fromArray(a.bounds.min), new THREE.Vector3().fromArray(a.bounds.max)),
  }));

  const titleOf = (artifact) => artifactTitle(artifact, i18n);
  const roomAt = (x, z, margin = 0.25) => rooms.find((r) => x >= r.bounds.min[0] + margin && x <= r.bounds.max[0] - margin
    && z >= r.bounds.min[2] + margin && z <= r.bounds.max[2] - margin);
  // Walls stop a walking visitor except in a doorway: a strip through the wall, as wide as the door minus a margin.
  const doorAt = (x, z) => {
    for (const room of rooms) {
      for (const door of room.doors || []) {
        const acrossX = door.wall === 'east' || door.wall === 'west';
        const along = acrossX ? z - door.position[2] : x - door.position[0];
        const through = acrossX ? x - door.position[0] : z - door.position[2];
        if (Math.abs(along) <= door.width / 2 - 0.2 && Math.abs(through) <= 0.6) return room;
      }
    }
    return null;
  };
  const floorAt = (x, z) => {
    const room = roomAt(x, z) || doorAt(x, z);
    return room ? (room.floor_y ?? room.bounds.min[1]) : null;
  };

  const controls = new DesktopControls({ camera, dom: canvas, canWalkTo: floorAt, reducedMotion: () => viewer.reducedMotion });
  const start = manifest.start || { position: [0, 0, 0], yaw: 0 };
  const startRoom = rooms.find((r) => r.id === start.room) || rooms[0];
  controls.placeAt(start.position, start.yaw, startRoom ? (startRoom.floor_y ?? 0) : 0);

  const hotspots = new Hotspots(world, artifacts);
  const roomScenes = new Map();
  const roomExposure = new Map();  // room id → tone-mapping exposure from its GLB (exhibit's × room's)

  // ── picking: manifest bounds, not the room meshes, so it is cheap every XR frame and works before rooms load ──
  function pick(ray, { vrPanel = null } = {}) {
    let best = null;
    const consider = (hit) => { if (hit && (!best || hit.distance < best.distance)) best = hit; };
    if (vrPanel) {
      const hits = new THREE.Raycaster(ray.origin, ray.direction).intersectObject(vrPanel, false);
      if (hits.length) consider({ kind: 'vrpanel', distance: hits[0].distance, uv: hits[0].uv, point: hits[0].point });
    }
    const spot = hotspots.intersect(ray);
    consider(spot);
    const point = new THREE.Vector3();
    for (const { artifact, box } of artifactBoxes) {
      if (ray.intersectBox(box, point)) consider({ kind: 'artifact', artifactId: artifact.id, distance: ray.origin.distanceTo(point), point: point.clone() });
    }
    for (const room of rooms) {
      const floorY = room.floor_y ?? room.bounds.min[1];
      const plane = new THREE.Plane(new THREE.Vector3(0, 1, 0), -floorY);
      if (ray.intersectPlane(plane, point) && roomAt(point.x, point.z, 0.2) === room) {
        consider({ kind: 'floor', room: room.id, floorY, distance: ray.origin.distanceTo(point), point: point.clone() });
      }
    }
    // A marker is drawn over its own object (no depth test), so a ray through it means the marker, not the box.
    if (spot && best?.kind === 'artifact' && best.artifactId === spot.artifactId) best = spot;
    return best;
  }

  // ── selection, panel, audio ──
  let audioGuide = null;
  const narrationSlot = document.createElement('div');  // narration with no panel open plays in the tour slot
  function setCaption(text) {
    viewer.caption = text;
    captionBox.textContent = text;
    captionBox.hidden = !text;
    xr.showCaption(text);
    emit('caption', { text });
  }
  function loadAudio(slot, track, language) {
    if (!slot || !track) { if (audioGuide) audioGuide.stop(); return; }
    const source = new URL(track.src, location.href).href;
    if (audioGuide && audioGuide.audio && audioGuide.audio.src === source) {
      slot.append(audioGuide.audio);  // same recording: keep playing, just move it into the re-rendered panel
      audioGuide.container = slot;
      return;
    }
    audioGuide = new AudioGuide(slot, setCaption);
    audioGuide.load(track, language, `${i18n.t('audio')} (${language})`);
  }
  const panel = new ObjectPanel(document.getElementById('panel'), {
    i18n, manifest, loadAudio,
    onClose: () => closePanel(),
    onAnnotation: (key) => selectAnnotation(key),
    onAnnotationFocus: (key) => hotspots.focus(key),
    copyLink: (view) => copyLinkButton(view, manifest, { label: i18n.t('copyLink'), copied: i18n.t('linkCopied'), announce }),
  });

  function vrPanelContent(artifact, annotationKey) {
    const record = artifact.record || {};
    const lines = [];
    for (const field of RECORD_FIELDS) if (i18n.pick(record[field])) lines.push(`${i18n.t(field)}: ${i18n.pick(record[field])}`);
    if (i18n.pick(record.credit)) lines.push(`${i18n.t('credit')}: ${i18n.pick(record.credit)}`);
    const rights = record.rights || manifest.exhibit.rights || '';
    lines.push(`${i18n.t('rights')}: ${rightsLabel(rights, i18n) || rights}`);
    const note = annotationKey && annotationByKey.get(annotationKey);
    if (note) lines.push('', `${i18n.pick(note.note.title)}: ${i18n.pick(note.note.text)}`);
    else if (i18n.pick(record.description)) lines.push('', i18n.pick(record.description));
    else if (i18n.pick(artifact.text)) lines.push('', i18n.pick(artifact.text));
    return { title: titleOf(artifact), lines, closeLabel: i18n.t('close') };
  }

  function selectArtifact(id, { annotation = null, focus = true, fly = true } = {}) {
    const artifact = artifactById.get(id);
    if (!artifact) throw new Error(`unknown artifact ${id}`);
    viewer.selectedArtifact = id;
    viewer.selectedAnnotation = annotation;
    viewer.openPanel = 'object';
    hotspots.highlight(annotation);
    panel.open(artifact, { focus, annotationKey: annotation });
    for (const button of document.querySelectorAll('.artifact-button')) {
      button.setAttribute('aria-pressed', String(button.dataset.artifact === id));
    }
    if (xr.inSession) xr.showPanel(vrPanelContent(artifact, annotation));
    else if (fly && artifact.view) {
      const target = annotation ? annotationByKey.get(annotation).note.position : artifact.view.target;
      controls.flyTo(artifact.view.position, target, { durationMs: 900 });
    }
    if (!xr.inSession) {  // in AR the placed model stays put while its hotspots are being looked at
      xr.setARSubject(`artifact:${id}`);
      syncARChooser();
    }
    announce(i18n.t('selected', { title: titleOf(artifact) }));
    emit('select', { artifact: id, annotation });
  }

  function selectAnnotation(key) {
    const entry = annotationByKey.get(key);
    if (entry) selectArtifact(entry.artifact.id, { annotation: key });
  }

  function closePanel() {
    if (!viewer.openPanel) return;
    viewer.openPanel = null;
    viewer.selectedAnnotation = null;
    hotspots.highlight(null);
    panel.close();
    xr.hidePanel();
    if (audioGuide) audioGuide.stop();
    announce(i18n.t('closed'));
    emit('select', { artifact: null, annotation: null });
  }

  function activate(hit) {
    if (hit.kind === 'hotspot') selectAnnotation(hit.key);
    else if (hit.kind === 'artifact') selectArtifact(hit.artifactId, { focus: false });
  }

  // ── XR ──
  const arOverlay = document.getElementById('ar-overlay');
  const xr = new XRSupport({
    renderer, scene, camera, world, state: viewer, manifest, i18n, roomScenes, hotspots, pick, activate, floorAt,
    closePanel, emit, announce,
  });
  xr.createButtons(document.getElementById('xr-buttons'), arOverlay);
  // In AR only the DOM overlay is drawn over the camera image: the panel, captions and subject chooser move there.
  const overlayGuests = ['ar-choice', 'panel', 'captions'].map((id) => document.getElementById(id));
  const homes = overlayGuests.map((node) => ({ parent: node.parentElement, next: node.nextSibling }));
  viewer.on('xrstart', ({ mode }) => { if (mode === 'immersive-ar') arOverlay.append(...overlayGuests); });
  viewer.on('xrend', ({ mode }) => {
    if (mode !== 'immersive-ar') return;
    overlayGuests.forEach((node, i) => homes[i].parent.insertBefore(node, homes[i].next));
  });
  document.getElementById('ar-exit').addEventListener('click', () => renderer.xr.getSession()?.end());
  const arChooser = document.getElementById('ar-subject');
  function fillARChooser() {
    const keep = arChooser.value;
    arChooser.replaceChildren(
      ...rooms.map((room) => new Option(i18n.t('tableTop', { room: i18n.pick(room.name) || room.id }), `room:${room.id}`)),
      ...artifacts.filter((a) => a.kind !== 'panel').map((a) => new Option(i18n.t('lifeSize', { title: titleOf(a) }), `artifact:${a.id}`)));
    if (keep) arChooser.value = keep;
  }
  function syncARChooser() { if (xr.arSubject) arChooser.value = xr.arSubject; }
  fillARChooser();
  arChooser.addEventListener('change', () => xr.setARSubject(arChooser.value));
  xr.setARSubject(arChooser.value);
  // Phones without WebXR AR (every iPhone) get the artifact as USDZ for AR Quick Look, or Scene Viewer on Android.
  const updateARHandOff = mountARHandOff(document.querySelector('.xr-bar'), {
    i18n, titleOf,
    webxrAR: navigator.xr?.isSessionSupported?.('immersive-ar').catch(() => false) ?? Promise.resolve(false),
    current: () => artifactById.get(viewer.selectedArtifact)
      || artifactById.get(arChooser.value.startsWith('artifact:') ? arChooser.value.slice(9) : ''),
  });
  arChooser.addEventListener('change', updateARHandOff);
  viewer.on('select', updateARHandOff);
  viewer.on('language', updateARHandOff);

  // ── pointer: tap/click selects or walks; OrbitControls handles drags and pinches ──
  const mouse = { x: 0, y: 0, inside: false };
  let down = null;
  const rayFromScreen = (clientX, clientY) => {
    const rect = canvas.getBoundingClientRect();
    const ndc = new THREE.Vector2(((clientX - rect.left) / rect.width) * 2 - 1, -((clientY - rect.top) / rect.height) * 2 + 1);
    const raycaster = new THREE.Raycaster();
    raycaster.setFromCamera(ndc, camera);
    return raycaster.ray;
  };
  canvas.addEventListener('pointermove', (e) => { mouse.x = e.clientX; mouse.y = e.clientY; mouse.inside = true; });
  canvas.addEventListener('pointerleave', () => { mouse.inside = false; });
  canvas.addEventListener('pointerdown', (e) => { down = { x: e.clientX, y: e.clientY, t: performance.now() }; });
  canvas.addEventListener('pointerup', (e) => {
    if (!down || xr.inSession) return;
    const moved = Math.hypot(e.clientX - down.x, e.clientY - down.y);
    const quick = performance.now() - down.t < 600;
    down = null;
    if (moved > 8 || !quick) return;
    const hit = pick(rayFromScreen(e.clientX, e.clientY));
    if (!hit) return;
    if (hit.kind === 'floor') controls.walkTo(hit.point, hit.floorY);
    else activate(hit);
  });

  // ── DOM controls ──
  for (const button of document.querySelectorAll('.artifact-button')) {
    button.setAttribute('aria-pressed', 'false');
    button.addEventListener('click', () => selectArtifact(button.dataset.artifact));
  }
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && viewer.openPanel) { closePanel(); event.preventDefault(); }
  });
  const languageSelect = document.getElementById('language-select');
  languageSelect.addEventListener('change', () => setLanguage(languageSelect.value));
  const floorPlan = new FloorPlan({
    viewer, manifest, i18n, toolbar: languageSelect.parentElement,
    goToRoom: (room) => {
      const [x, z] = [0, 2].map((i) => (room.bounds.min[i] + room.bounds.max[i]) / 2);
      return controls.walkTo(new THREE.Vector3(x, 0, z), room.floor_y ?? 0);
    },
  });

  function setLanguage(language) {
    if (!i18n.languages.includes(language)) throw new Error(`language ${language} is not one of ${i18n.languages}`);
    i18n.language = language;
    viewer.language = language;
    languageSelect.value = language;
    document.documentElement.lang = language;
    document.getElementById('exhibit-title').textContent = i18n.pick(exhibit.title);
    document.title = `${i18n.pick(exhibit.title)} · ${i18n.pick(exhibit.museum?.name) || 'Vitrina'}`;
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = i18n.t(node.dataset.i18n);
    for (const node of document.querySelectorAll('[data-i18n-label]')) node.setAttribute('aria-label', i18n.t(node.dataset.i18nLabel));
    for (const button of document.querySelectorAll('.artifact-button')) {
      const artifact = artifactById.get(button.dataset.artifact);
      button.textContent = titleOf(artifact);
      button.lang = i18n.langOf(artifact.record?.title);
      const link = button.parentElement.querySelector('.text-link');
      if (link) link.setAttribute('aria-label', `${i18n.t('text_page')}: ${button.textContent}`);
    }
    canvas.setAttribute('aria-label', i18n.t('canvasLabel'));
    captionBox.setAttribute('aria-label', i18n.t('captions'));
    progress.setAttribute('aria-label', i18n.t('loading'));
    document.getElementById('artifact-list-title').textContent = i18n.t('artifacts');
    fillARChooser();
    if (viewer.openPanel && panel.artifact) {
      panel.render(viewer.selectedAnnotation);
      if (xr.inSession) xr.showPanel(vrPanelContent(panel.artifact, viewer.selectedAnnotation));
    }
    floorPlan.render();
    announce(viewer.ready ? i18n.t('ready') : i18n.t('loading'));
    emit('language', { language });
  }

  // ── rooms: nearest first, one at a time so the first room is not slowed by the others ──
  const loader = new GLTFLoader();
  // Decode meshopt buffers in two workers: a streamed level then never blocks the render loop while it decodes.
  MeshoptDecoder.useWorkers(2);
  loader.setMeshoptDecoder(MeshoptDecoder);
  // KTX2 (KHR_texture_basisu) rooms need KTX2Loader and its Basis transcoder (about 0.6 MB of JS and wasm). Most
  // builds keep PNG/JPEG or WebP, so the loader module is imported, and the transcoder fetched, only when a room's
  // glTF declares the extension: this plugin's beforeRoot runs after the JSON is read and before any texture loads.
  let ktx2Loader = null;
  loader.register((parser) => ({
    name: 'vitrina_lazy_ktx2',
    beforeRoot: async () => {
      if (!(parser.json.extensionsUsed || []).includes('KHR_texture_basisu')) return;
      ktx2Loader ??= import('three/addons/loaders/KTX2Loader.js')
        .then(({ KTX2Loader }) => new KTX2Loader().detectSupport(renderer));
      parser.options.ktx2Loader = await ktx2Loader;
      loader.setKTX2Loader(parser.options.ktx2Loader);
    },
  }));
  // The build lists per-target GLBs (lighter rooms, smaller textures); the device picks its own, nearest first.
  const lodTargets = /Quest 3/i.test(navigator.userAgent) ? ['quest3', 'quest2']
    : /OculusBrowser|Quest/i.test(navigator.userAgent) ? ['quest2', 'quest3']
      : (window.matchMedia('(pointer: coarse)').matches ? ['phone'] : ['desktop']);
  const distanceToRoom = (room) => {
    const box = new THREE.Box3(new THREE.Vector3().fromArray(room.bounds.min), new THREE.Vector3().fromArray(room.bounds.max));
    return box.distanceToPoint(camera.position);
  };
  // Each model has its own ladder of GLBs (coarse to fine): the Streamer shows every thumb first, then sharper
  // levels by screen-space error within this device's budget (streaming.js).
  const profile = deviceProfile({ userAgent: navigator.userAgent, coarsePointer: window.matchMedia('(pointer: coarse)').matches });
  const budget = deviceBudget({ profile, manifestBudgets: manifest.budgets || {},
    maxTextureSize: renderer.capabilities.maxTextureSize, deviceMemoryGB: navigator.deviceMemory ?? null });
  // Rooms get their group before anything loads, so a model's level can arrive before or after its room's shell.
  const roomGroup = (id) => {
    if (!roomScenes.has(id)) {
      const group = new THREE.Group();
      group.name = `room:${id}`;
      world.add(group);
      roomScenes.set(id, group);
    }
    return roomScenes.get(id);
  };
  // Each object's caption plate in the visitor's language (the rooms are built with the first one).
  const captionPlates = new CaptionPlates(artifacts, i18n);
  viewer.captionPlates = captionPlates.shown;
  viewer.on('language', () => captionPlates.apply(world));
  const streamer = new Streamer({ loader, renderer, camera, scene, roomGroup, state: viewer }, artifacts, budget);
  // The desktop's real-time key-light shadow, behind the Shadows setting (lighting.js); never on phones or headsets.
  const keyShadows = new KeyLightShadows(renderer, world);
  if (shadowsAllowed(profile)) {
    keyShadows.set(wantedQuality(location.search, storedQuality(window.localStorage)) === 'high');
    const bar = document.querySelector('.xr-bar');
    if (bar) mountShadowToggle(bar, keyShadows, i18n.t('shadows'), window.localStorage);
  }
  viewer.shadows = () => keyShadows.state();
  viewer.setShadows = (on) => { if (shadowsAllowed(profile)) keyShadows.set(on); return keyShadows.state(); };
  async function loadRooms() {
    const queue = [...rooms].sort((a, b) => distanceToRoom(a) - distanceToRoom(b));
    progress.max = queue.length || 1;
    let done = 0;
    for (const room of queue) {
      announce(i18n.t('loadingRooms', { n: done + 1, total: queue.length }));
      const lod = lodTargets.map((target) => (room.lod || []).find((entry) => entry.target === target)).find(Boolean);
      try {
        const gltf = await loader.loadAsync((lod || room).glb);
        viewer.bakedSurfaces += useBakedLight(gltf.scene);
        roomExposure.set(room.id, gltf.scene.userData?.vitrina?.exposure ?? 1);
        if (viewer.gpu.software) {
          // Every punctual light is evaluated for every pixel of every room; a software rasteriser cannot afford it.
          gltf.scene.traverse((node) => { if (node.isLight) node.visible = false; });
        }
        gltf.scene.name = `shell:${room.id}`;
        captionPlates.apply(gltf.scene);
        roomGroup(room.id).add(gltf.scene);
        viewer.loadedRooms.push(room.id);
      } catch (error) {
        viewer.failedRooms.push(room.id);
        viewer.errors.push(`room ${room.id}: ${error.message || error}`);
        announce(i18n.t('roomFailed', { room: room.id }));
      }
      // The thumbs of this room's models, those in view first: every object shows before the next room loads.
      const models = artifacts.filter((a) => a.room === room.id && (a.levels || []).length)
        .sort((a, b) => Number(streamer.inView(b)) - Number(streamer.inView(a)));
      await streamer.loadThumbs(models);
      if (viewer.firstRoomVisibleMs === null) viewer.firstRoomVisibleMs = performance.now();
      progress.value = ++done;
    }
    viewer.allRoomsLoadedMs = performance.now();
    progress.hidden = true;
    viewer.ready = true;
    streamer.start();
    announce(i18n.t('ready'));
    emit('ready', { rooms: viewer.loadedRooms.slice() });
  }

  // ── ghosts (another person's head and pointer, e.g. the guide) ──
  const ghosts = new Map();
  function makeGhost(label) {
    const group = new THREE.Group();
    const head = new THREE.Mesh(new THREE.SphereGeometry(0.13, 24, 16), new THREE.MeshStandardMaterial({ color: 0xffb347, roughness: 0.5 }));
    const visor = new THREE.Mesh(new THREE.BoxGeometry(0.18, 0.06, 0.06), new THREE.MeshStandardMaterial({ color: 0x222222 }));
    visor.position.set(0, 0.02, -0.11);
    head.add(visor);
    const pointer = new THREE.Line(new THREE.BufferGeometry().setFromPoints([new THREE.Vector3(), new THREE.Vector3(0, 0, -1)]),
      new THREE.LineBasicMaterial({ color: 0xffb347 }));
    pointer.visible = false;
    const tag = document.createElement('canvas');
    tag.width = 256; tag.height = 64;
    const texture = new THREE.CanvasTexture(tag);
    texture.colorSpace = THREE.SRGBColorSpace;
    const sprite = new THREE.Sprite(new THREE.SpriteMaterial({ map: texture, depthTest: false }));
    sprite.scale.set(0.4, 0.1, 1);
    sprite.position.y = 0.25;
    head.add(sprite);
    group.add(head, pointer);
    world.add(group);
    return { group, head, pointer, tag, texture, label: null };
  }
  viewer.setGhost = (id, pose) => {
    let ghost = ghosts.get(id);
    if (!pose) { if (ghost) { world.remove(ghost.group); ghosts.delete(id); } return; }
    if (!ghost) { ghost = makeGhost(); ghosts.set(id, ghost); }
    if (pose.position) ghost.head.position.fromArray(pose.position);
    if (pose.quaternion) ghost.head.quaternion.fromArray(pose.quaternion);
    const label = pose.label ?? i18n.t('guide');
    if (label !== ghost.label) {
      ghost.label = label;
      const ctx = ghost.tag.getContext('2d');
      ctx.clearRect(0, 0, 256, 64);
      ctx.fillStyle = 'rgba(0,0,0,0.7)'; ctx.fillRect(0, 0, 256, 64);
      ctx.fillStyle = '#fff'; ctx.font = '32px sans-serif'; ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
      ctx.fillText(label, 128, 32);
      ghost.texture.needsUpdate = true;
    }
    const ray = pose.pointer;
    ghost.pointer.visible = Boolean(ray);
    if (ray) {
      const origin = new THREE.Vector3().fromArray(ray.origin);
      const direction = new THREE.Vector3().fromArray(ray.direction).normalize();
      const hit = pick(new THREE.Ray(origin, direction));
      ghost.pointer.position.copy(origin);
      ghost.pointer.quaternion.setFromUnitVectors(new THREE.Vector3(0, 0, -1), direction);
      ghost.pointer.scale.z = hit ? hit.distance : 5;
    }
  };
  viewer.ghosts = () => [...ghosts.keys()];
  viewer.xrOrigin = () => xr.origin.toArray();

  // ── public API ──
  viewer.selectArtifact = (id, options = {}) => selectArtifact(id, { focus: false, ...options });
  viewer.closePanel = closePanel;
  viewer.linkToView = (view) => linkToView(view, manifest, location.href);
  viewer.copyLinkButton = (view) => copyLinkButton(view, manifest, { label: i18n.t('copyLink'), copied: i18n.t('linkCopied'), announce });
  viewer.xrNotice = (text) => xr.showCaption(text || viewer.caption);
  viewer.pickAt = (clientX, clientY) => {
    const hit = pick(rayFromScreen(clientX, clientY));
    return hit && { kind: hit.kind, artifact: hit.artifactId || null, annotation: hit.key || null, point: hit.point.toArray() };
  };
  viewer.setLanguage = setLanguage;
  // `afresh` (posters): the levels are then those a visitor arriving at this view settles into, whatever earlier
  // views loaded (a finer level is otherwise kept a while, so that walking does not flicker).
  viewer.flyTo = (view, { durationMs = 1200, afresh = false } = {}) => {
    if (xr.inSession) return Promise.resolve(xr.flyTo(view) !== false);  // false in AR: nothing to fly through
    const flight = controls.flyTo(view.position, view.target, { durationMs });
    if (durationMs <= 0 || afresh) streamer.rechoose({ afresh });  // a jump: the levels are chosen at once
    return flight;
  };
  viewer.cameraPose = () => {
    if (xr.inSession) return { position: xr.headPosition.toArray(), quaternion: xr.headQuaternion.toArray() };
    return { position: camera.position.toArray(), quaternion: camera.quaternion.toArray() };
  };
  viewer.pointerRay = () => {
    if (xr.inSession) return xr.pointerRay();
    if (!mouse.inside) return null;
    const ray = rayFromScreen(mouse.x, mouse.y);
    return { origin: ray.origin.toArray(), direction: ray.direction.toArray() };
  };
  viewer.playNarration = async (narration, { startAtMs = 0 } = {}) => {
    let slot = viewer.openPanel ? document.querySelector('#panel .audio-slot') : null;
    if (!slot) {
      slot = narrationSlot;
      if (!slot.isConnected) { slot.className = 'audio-slot narration'; viewer.tourSlot.append(slot); }
    }
    audioGuide = new AudioGuide(slot, setCaption);
    audioGuide.load(narration, i18n.language, i18n.t('audio'));
    await audioGuide.play(startAtMs);
  };
  viewer.playAudioGuide = async () => {
    const artifact = viewer.selectedArtifact && artifactById.get(viewer.selectedArtifact);
    if (!artifact || !audioTrack(artifact, i18n)) return false;
    await audioGuide.play();
    return true;
  };
  viewer.artifactTriangles = (id) => {
    let triangles = 0;
    roomScenes.get(artifactById.get(id)?.room)?.getObjectByName(id)?.traverse((node) => {
      if (node.isMesh) triangles += (node.geometry.index ? node.geometry.index.count : node.geometry.attributes.position.count) / 3;
    });
    return triangles;
  };
  viewer.artifactTextures = (id) => {
    const textures = [];
    for (const room of roomScenes.values()) {
      room.getObjectByName(id)?.traverse((node) => {
        for (const material of [node.material || []].flat()) {
          for (const [slot, texture] of Object.entries(material)) {
            if (!texture?.isTexture) continue;
            textures.push({
              material: material.name, slot, compressed: texture.isCompressedTexture === true, format: texture.format,
              width: texture.image?.width ?? null, height: texture.image?.height ?? null, mipmaps: texture.mipmaps?.length ?? 0,
            });
          }
        }
      });
    }
    return textures;
  };
  // Every textured material of a room whose mesh's box the camera's frustum reaches: the build keys each poster
  // by the pictures in its view (pipeline/posters.py), and tests check it never leaves out one of these.
  viewer.texturedInView = () => {
    camera.updateMatrixWorld();
    const frustum = new THREE.Frustum().setFromProjectionMatrix(
      new THREE.Matrix4().multiplyMatrices(camera.projectionMatrix, camera.matrixWorldInverse));
    const seen = [];
    for (const [room, root] of roomScenes) {
      root.traverse((node) => {
        if (!node.isMesh) return;
        const textured = [node.material].flat().filter((material) => Object.values(material).some((value) => value?.isTexture));
        if (textured.length && frustum.intersectsBox(new THREE.Box3().setFromObject(node))) {
          for (const material of textured) seen.push({ room, material: material.name });
        }
      });
    }
    return seen;
  };
  viewer.nodesNamed = (name) => {
    let count = 0;
    for (const room of roomScenes.values()) room.traverse((node) => { if (node.name === name) count += 1; });
    return count;
  };
  viewer.hotspotSize = (key) => hotspots.scaleOf(key);
  viewer.artifactMaterials = (id) => {
    const materials = [];
    for (const room of roomScenes.values()) {
      room.getObjectByName(id)?.traverse((node) => {
        if (!node.isMesh) return;
        for (const material of [node.material].flat()) {
          materials.push({ name: material.name, metalness: material.metalness ?? null, roughness: material.roughness ?? null,
            vertexColors: material.vertexColors === true, color: material.color?.toArray() ?? null,
            hasColorAttribute: Boolean(node.geometry?.attributes?.color) });
        }
      });
    }
    return materials;
  };
  viewer.project = (id) => {
    const artifact = artifactById.get(id);
    const note = annotationByKey.get(id);
    if (!artifact && !note) return null;
    const centre = artifact
      ? artifactBoxes.find((entry) => entry.artifact === artifact).box.getCenter(new THREE.Vector3())
      : new THREE.Vector3().fromArray(note.note.position);
    camera.updateMatrixWorld();
    const ndc = centre.clone().project(camera);
    const rect = canvas.getBoundingClientRect();
    return { x: rect.left + (ndc.x + 1) / 2 * rect.width, y: rect.top + (1 - ndc.y) / 2 * rect.height, visible: Math.abs(ndc.z) <= 1 };
  };

  // ── resize, loop ──
  const resize = () => {
    if (renderer.xr.isPresenting) return;
    camera.aspect = stage.clientWidth / Math.max(1, stage.clientHeight);
    camera.updateProjectionMatrix();
    renderer.setSize(stage.clientWidth, stage.clientHeight);
  };
  new ResizeObserver(resize).observe(stage);
  reducedMotionQuery.addEventListener('change', (event) => { viewer.reducedMotion = event.matches; });

  viewer.textureColourSpaces = () => textureColourSpaces(world);
  viewer.colourOutput = () => colourOutput(renderer);
  viewer.withoutBakedLight = () => withoutBakedLight(world);
  viewer.withoutContactShadows = () => withoutContactShadows(world);
  // The canvas as an image (a data URL), drawn again first so the drawing buffer holds it: posters are taken with
  // it, where a screenshot of the page took about 0.4 s a shot. The exposure and the casting key lights are first
  // those a visitor settles into where the camera stands (the exposure follows a move over a second or so, the
  // lights are chosen twice a second), so a picture taken soon after a jump does not depend on how many frames ran.
  viewer.snapshot = (type = 'image/png', quality = undefined) => {
    const here = viewer.cameraPose().position;
    followExposure(here, Infinity);
    keyShadows.update(Infinity, here);
    renderer.render(scene, camera);
    return renderer.domElement.toDataURL(type, quality);
  };
  viewer.setHotspotsVisible = (visible) => { hotspots.group.visible = Boolean(visible); };
  const followExposure = exposureFollower(renderer, (position) => {
    const here = roomAt(position[0], position[2], 0);
    return here ? roomExposure.get(here.id) ?? null : null;
  });
  const timer = new THREE.Timer();
  timer.connect(document);
  renderer.setAnimationLoop((time, frame) => {
    timer.update(time);
    const frameSeconds = timer.getDelta();
    const dt = Math.min(frameSeconds, 0.1);
    if (frame) {
      xr.update(frame);
      viewer.xrFrames++;
    } else {
      controls.update(dt);
    }
    const pose = viewer.cameraPose();
    viewer.camera = pose;
    const pointer = viewer.pointerRay();  // the mouse, or the controller's laser in XR
    hotspots.update(new THREE.Vector3().fromArray(pose.position), pointer && new THREE.Ray(
      new THREE.Vector3().fromArray(pointer.origin), new THREE.Vector3().fromArray(pointer.direction)));
    streamer.update(frameSeconds * 1000, Boolean(frame));
    floorPlan.update();
    followExposure(pose.position, dt);
    keyShadows.update(time, pose.position);
    renderer.render(scene, camera);
    viewer.frames++;
    if (viewer.firstFrameMs === null) { viewer.firstFrameMs = performance.now(); performance.mark('vitrina-first-frame'); }
  });

  document.querySelector('[data-i18n="help"]').textContent = i18n.t('help');
  document.getElementById('tour-join-button')?.addEventListener('click', () => mountTourUI());
  await loadRooms();
  performance.mark('vitrina-all-rooms');

  const hash = new URLSearchParams(location.hash.slice(1));
  const opened = await openContentState(viewer, location.search);  // a IIIF Content State link (?iiif-content=)
  if (!opened && hash.get('artifact') && artifactById.has(hash.get('artifact'))) selectArtifact(hash.get('artifact'), { focus: false });
  const params = new URLSearchParams(location.search);
  if (params.has('tour') || params.has('join') || hash.has('guide') || hash.has('join')) mountTourUI();
  // `vitrina serve` only (its pages carry these markers; a built site never does): tools for the designer.
  const designerTools = { camera, canvas, controls, roomScenes, pick, rayFromScreen, world };
  if (window.__vitrinaEdit) mountOptional('./editor.js', designerTools);
  if (window.__vitrinaPreview) mountOptional('./pointpicker.js', designerTools);
}

async function mountOptional(module, tools) {
  try {
    await (await import(module)).mount(viewer, tools);
  } catch (error) {
    viewer.errors.push(`${module}: ${error}`);
  }
}

function probeGPU() {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return { renderer: 'none', software: true };
  const debug = gl.getExtension('WEBGL_debug_renderer_info');
  const name = String(debug ? gl.getParameter(debug.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return { renderer: name, software: /SwiftShader|llvmpipe|softpipe|Software/i.test(name) };
}

/** The tour UI is optional: a missing or broken tour-ui.js must not break the exhibit page. */
async function mountTourUI() {
  try {
    const module = await import('./tour-ui.js');
    await module.mount(viewer, viewer.tourSlot);
  } catch (error) {
    console.warn('tour UI unavailable:', error);
    viewer.tourError = String(error);
  }
}

main().catch((error) => {
  viewer.errors.push(String(error && error.stack || error));
  announce(`${error.message || error}`);
  console.error(error);
});
