// lighting.js: colour management (sRGB output, Khronos PBR Neutral tone mapping, exposure per room) and baked
// light: surfaces the build baked are drawn from their lightmap alone, so no device pays for their lighting.

import * as THREE from 'three';

// Tone mapping made for showing products true to colour; exposure 1 leaves mid-tones where the build put them.
export function setupColour(renderer) {
  renderer.outputColorSpace = THREE.SRGBColorSpace;
  renderer.toneMapping = THREE.NeutralToneMapping;
  renderer.toneMappingExposure = 1;
}

// The lightmap rides in occlusionTexture on TEXCOORD_1 (standard glTF, so other viewers show its shadows); the
// material's extras say how bright its brightest texel is. Here it becomes the surface's whole light: an unlit
// material whose colour is base colour × lightmap, which costs a phone or a headset one texture fetch.
export function useBakedLight(root) {
  const converted = new Map();
  let surfaces = 0;
  root.traverse((node) => {
    if (!node.isMesh) return;
    const bake = node.material?.userData?.vitrina?.lightmap;
    if (!bake || !node.material.aoMap) return;
    if (!converted.has(node.material)) converted.set(node.material, bakedMaterial(node.material, bake));
    node.material = converted.get(node.material);
    surfaces += 1;
  });
  return surfaces;
}

function bakedMaterial(lit, bake) {
  const lightMap = lit.aoMap;
  // The build stores linear light (glTF's occlusion slot is linear data); lightmaps of older builds said 'srgb'.
  lightMap.colorSpace = bake.encoding === 'srgb' ? THREE.SRGBColorSpace : THREE.NoColorSpace;
  lightMap.needsUpdate = true;
  const material = new THREE.MeshBasicMaterial({
    name: lit.name,
    color: lit.color,
    map: lit.map,
    lightMap,
    // MeshBasicMaterial divides a lightmap by π (it holds irradiance); the build wrote irradiance / intensity.
    lightMapIntensity: bake.intensity,
    side: lit.side,
    transparent: lit.transparent,
    opacity: lit.opacity,
  });
  material.userData = { ...lit.userData, baked: true };
  lit.dispose();
  return material;
}

// Exposure follows the room the visitor stands in (rooms may be lit for a mood), gliding so a doorway is no jump.
export function exposureFollower(renderer, exposureAt) {
  return (position, seconds) => {
    const target = exposureAt(position);
    if (target == null) return;
    const k = Math.min(1, seconds * 3);
    renderer.toneMappingExposure += (target - renderer.toneMappingExposure) * k;
  };
}

const COLOUR_SLOTS = ['map', 'emissiveMap', 'sheenColorMap', 'specularColorMap'];
const DATA_SLOTS = ['normalMap', 'roughnessMap', 'metalnessMap', 'aoMap', 'clearcoatNormalMap', 'clearcoatRoughnessMap',
  'transmissionMap', 'thicknessMap', 'specularIntensityMap', 'iridescenceMap', 'anisotropyMap'];

// Every texture the loaded scene samples, with the colour space it is decoded in (for tests and the build report):
// colour slots must be sRGB, data slots linear ('' in three.js), lightmaps as their material declares.
export function textureColourSpaces(root) {
  const seen = [];
  root.traverse((node) => {
    const materials = node.isMesh ? [node.material].flat() : [];
    for (const material of materials) {
      const bake = material.userData?.vitrina?.lightmap;
      for (const slot of [...COLOUR_SLOTS, ...DATA_SLOTS, 'lightMap']) {
        const texture = material[slot];
        if (!texture) continue;
        const expected = COLOUR_SLOTS.includes(slot) ? THREE.SRGBColorSpace
          : slot === 'lightMap' && bake?.encoding === 'srgb' ? THREE.SRGBColorSpace : THREE.NoColorSpace;
        seen.push({ material: material.name, slot, colorSpace: texture.colorSpace, expected });
      }
    }
  });
  return seen;
}

export function colourOutput(renderer) {
  return {
    outputColorSpace: renderer.outputColorSpace,
    toneMapping: renderer.toneMapping === THREE.NeutralToneMapping ? 'neutral' : String(renderer.toneMapping),
    exposure: renderer.toneMappingExposure,
  };
}

// Removes every lightmap, leaving baked surfaces at their plain colour: the look a lost lightmap would give.
export function withoutBakedLight(root) {
  let count = 0;
  root.traverse((node) => {
    if (node.isMesh && node.material?.userData?.baked && node.material.lightMap) {
      node.material.lightMap = null;
      node.material.needsUpdate = true;
      count += 1;
    }
  });
  return count;
}

// Hides the build's contact shadows (tests compare a view with and without them); returns how many meshes it hid.
export function withoutContactShadows(root) {
  let count = 0;
  root.traverse((node) => {
    if (node.isMesh && [node.material].flat().some((m) => m?.name?.endsWith('-contact-shadow'))) {
      node.visible = false;
      count += 1;
    }
  });
  return count;
}

// ── the desktop's real-time key-light shadow, behind the "Shadows" quality setting ──
// Each artifact's spotlight is its key light. A shadow from it renders the scene once more per light every frame,
// which a phone or a headset cannot spare (their light is baked): only the desktop profile may turn it on, and an
// XR session always turns it off (a headset on a desktop browser would pay for it twice, once per eye).
export const SHADOW_MAP_SIZE = 1024;
export const MAX_SHADOW_LIGHTS = 4;
const QUALITY_KEY = 'vitrina-quality';

export function shadowsAllowed(profile) {
  return profile === 'desktop';
}

// `?quality=high` (or `standard`) wins over what the visitor chose last time; the default is standard.
export function wantedQuality(search, stored) {
  const asked = new URLSearchParams(search).get('quality');
  if (asked === 'high' || asked === 'standard') return asked;
  return stored === 'high' ? 'high' : 'standard';
}

export class KeyLightShadows {
  constructor(renderer, world) {
    this.renderer = renderer;
    this.world = world;
    this.wanted = false;
    this.inXR = false;
    this.lastPrepared = -Infinity;
    this.eye = new THREE.Vector3();
    // Baked surfaces are unlit (their light is in the lightmap): a shadow-only twin of each receives the shadow.
    this.overlayMaterial = new THREE.ShadowMaterial({ opacity: 0.35, polygonOffset: true, polygonOffsetFactor: -1 });
    renderer.xr.addEventListener('sessionstart', () => { this.inXR = true; this.refresh(); });
    renderer.xr.addEventListener('sessionend', () => { this.inXR = false; this.refresh(); });
  }

  get active() {
    return this.wanted && !this.inXR;
  }

  set(wanted) {
    this.wanted = Boolean(wanted);
    this.refresh();
  }

  refresh() {
    const on = this.active;
    const changed = this.renderer.shadowMap.enabled !== on;
    this.renderer.shadowMap.enabled = on;
    this.renderer.shadowMap.type = THREE.PCFSoftShadowMap;
    this.prepare();
    // Switching shadow maps changes every lit material's shader.
    if (changed) this.world.traverse((node) => { if (node.isMesh) [node.material].flat().forEach((m) => { m.needsUpdate = true; }); });
  }

  // Models stream in after the rooms and the visitor walks: while shadows are on, newly arrived meshes are set up
  // and the key lights nearest the eye chosen twice a second.
  update(nowMs, eye) {
    if (!this.active || nowMs - this.lastPrepared < 500) return;
    if (eye) this.eye.fromArray(eye);
    this.prepare();
  }

  // The spotlights that cast: the MAX_SHADOW_LIGHTS nearest the eye. Every shadow map is one more render of the
  // scene and one more texture unit in every lit shader, so a 40-room exhibit must not light them all; keeping
  // their number fixed means walking on swaps which lights cast without recompiling any shader.
  nearestSpots() {
    const spots = [];
    this.world.traverse((node) => { if (node.isSpotLight) spots.push(node); });
    const at = new THREE.Vector3();
    const distance = new Map(spots.map((s) => [s, s.getWorldPosition(at).distanceToSquared(this.eye)]));
    return new Set(spots.sort((a, b) => distance.get(a) - distance.get(b)).slice(0, MAX_SHADOW_LIGHTS));
  }

  prepare() {
    const on = this.active;
    this.lastPrepared = performance.now();
    const casting = on ? this.nearestSpots() : new Set();
    const overlays = [];
    this.world.traverse((node) => {
      if (node.isSpotLight) {
        // A software rasteriser hides the room's lights (app.js); asking for shadows brings the casting ones back.
        if (casting.has(node) && node.userData.visibleBeforeShadows === undefined) {
          node.userData.visibleBeforeShadows = node.visible;
          node.visible = true;
        } else if (!casting.has(node) && node.userData.visibleBeforeShadows !== undefined) {
          node.visible = node.userData.visibleBeforeShadows;
          delete node.userData.visibleBeforeShadows;
        }
        node.castShadow = casting.has(node);
        node.shadow.mapSize.set(SHADOW_MAP_SIZE, SHADOW_MAP_SIZE);
        node.shadow.bias = -0.0004;
        node.shadow.normalBias = 0.01;
        return;
      }
      if (!node.isMesh || node.userData.shadowOverlay) return;
      const material = [node.material].flat()[0];
      const baked = Boolean(material?.userData?.baked);
      const blended = Boolean(material?.transparent);  // glass, contact shadows, captions: no cast, no receive
      node.castShadow = on && !baked && !blended;
      node.receiveShadow = on && !blended && !baked;
      if (baked && on && !node.userData.shadowTwin) overlays.push(node);
      if (node.userData.shadowTwin) node.userData.shadowTwin.visible = on;
    });
    for (const node of overlays) {
      const twin = new THREE.Mesh(node.geometry, this.overlayMaterial);
      twin.name = `${node.name}:shadow`;
      twin.receiveShadow = true;
      twin.userData.shadowOverlay = true;
      node.add(twin);
      node.userData.shadowTwin = twin;
    }
  }

  // What the shadow costs right now: lights rendering a shadow map, meshes casting (models: outside room shells).
  state() {
    let lights = 0, casting = 0, modelsCasting = 0, receiving = 0;
    const inShell = (node) => { for (let n = node; n; n = n.parent) if (n.name.startsWith('shell:')) return true; return false; };
    this.world.traverse((node) => {
      if (node.isSpotLight && node.castShadow) lights += 1;
      if (node.isMesh && node.castShadow) { casting += 1; if (!inShell(node)) modelsCasting += 1; }
      if (node.isMesh && node.receiveShadow) receiving += 1;
    });
    return { enabled: this.renderer.shadowMap.enabled, wanted: this.wanted, inXR: this.inXR, lights, casting,
      modelsCasting, receiving };
  }
}

// The "Shadows" toggle in the viewer's bar (desktop only); the choice is remembered for the next visit.
export function mountShadowToggle(bar, shadows, label, storage) {
  const button = document.createElement('button');
  button.type = 'button';
  button.id = 'shadows-toggle';
  button.className = 'shadows-toggle';
  button.textContent = label;
  button.dataset.i18n = 'shadows';  // a language switch retranslates it with the page's other labels
  const show = () => button.setAttribute('aria-pressed', String(shadows.wanted));
  button.addEventListener('click', () => {
    shadows.set(!shadows.wanted);
    try { storage?.setItem(QUALITY_KEY, shadows.wanted ? 'high' : 'standard'); } catch { /* private mode */ }
    show();
  });
  show();
  bar.append(button);
  return button;
}

export function storedQuality(storage) {
  try { return storage?.getItem(QUALITY_KEY) ?? null; } catch { return null; }
}
