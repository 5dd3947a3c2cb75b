// Drives viewer/static/js/streaming.js's pure choice with fixed numbers and prints the results as JSON.
import { chooseLevels, deviceBudget, deviceProfile, FrameGovernor, projection, wantedLevel } from '../../viewer/static/js/streaming.js';

const MB = 2 ** 20;
const ladder = (scale = 1) => [
  { name: 'thumb', triangles: 5_000, gpu_bytes: 1 * MB, max_texture: 512, error: 0.004 * scale },
  { name: 'low', triangles: 50_000, gpu_bytes: 5 * MB, max_texture: 1024, error: 0.001 * scale },
  { name: 'medium', triangles: 200_000, gpu_bytes: 21 * MB, max_texture: 2048, error: 0.0003 * scale },
  { name: 'high', triangles: 1_000_000, gpu_bytes: 85 * MB, max_texture: 4096, error: 0.00005 * scale },
  { name: 'full', triangles: 4_000_000, gpu_bytes: 85 * MB, max_texture: 4096, error: 0, download: true },
];
const box = (x) => ({ min: [x - 0.25, 0, -0.25], max: [x + 0.25, 0.5, 0.25] });
const camera = (z, visible = () => true) => ({ position: [0, 0.25, z], fovYRadians: Math.PI / 3, viewportHeight: 1000, aspect: 1.5, frustum: visible });
const out = {};

out.far = wantedLevel(ladder(), projection(box(0), camera(30)));
out.near = wantedLevel(ladder(), projection(box(0), camera(0.6)));
out.middle = wantedLevel(ladder(), projection(box(0), camera(3)));
out.hidden = wantedLevel(ladder(), projection(box(0), camera(0.6, () => false)));

const artifacts = [0, 1, 2].map((i) => ({ id: `a${i}`, levels: ladder(), bounds: box(i) }));
const desktop = deviceBudget({ profile: 'desktop', maxTextureSize: 16384 });
const near = new Map(artifacts.map((a) => [a.id, projection(a.bounds, camera(0.6))]));
out.desktopNear = Object.fromEntries(chooseLevels(artifacts, new Map(), near, desktop).choice);
const quest = deviceBudget({ profile: 'quest2', maxTextureSize: 4096 });
const questChoice = chooseLevels(artifacts, new Map(), near, quest);
out.questNear = Object.fromEntries(questChoice.choice);
out.questTriangles = questChoice.triangles;
out.questLimit = quest.triangles;
out.smallTextureDevice = Object.fromEntries(chooseLevels(artifacts, new Map(), near, { ...desktop, maxTexture: 1024 }).choice);
out.lowMemory = deviceBudget({ profile: 'phone', deviceMemoryGB: 2 });
out.scaledDown = Object.fromEntries(chooseLevels(artifacts, new Map(), near, { ...desktop, scale: 0.05 }).choice);

// Hysteresis: walking a little back keeps the level; far back, it drops only after the delay.
const loaded = new Map([['a0', 3], ['a1', 0], ['a2', 0]]);
const since = new Map();
const step = (z, now) => Object.fromEntries(chooseLevels(artifacts, loaded, new Map(artifacts.map((a) => [a.id, projection(a.bounds, camera(z))])), desktop, now, since).choice);
out.hysteresisSmallStep = step(0.9, 0).a0;
out.hysteresisFarEarly = step(30, 100).a0;
out.hysteresisFarLate = step(30, 100 + 2000).a0;
// Afresh (a poster's jump): what a visitor arriving there gets, at once, with a finer level loaded or not.
const afresh = (z, current) => Object.fromEntries(chooseLevels(artifacts, current, new Map(artifacts.map((a) => [a.id, projection(a.bounds, camera(z))])), desktop, 100, new Map(), false).choice);
out.afreshSmallStep = afresh(0.9, loaded).a0;
out.afreshArrivingSmallStep = afresh(0.9, new Map()).a0;
out.afreshFar = afresh(30, loaded).a0;

out.profiles = [deviceProfile({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64; Quest 3) OculusBrowser' }),
  deviceProfile({ userAgent: 'Mozilla/5.0 OculusBrowser/30 Quest 2' }), deviceProfile({ userAgent: 'iPhone', coarsePointer: true }),
  deviceProfile({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64)' })];

const governor = new FrameGovernor({ targetMs: 1000 / 72 });
for (let i = 0; i < 200; i++) governor.frame(25);
out.governorSlow = governor.scale;
for (let i = 0; i < 2000; i++) governor.frame(8);
out.governorRecovered = governor.scale;
console.log(JSON.stringify(out));
