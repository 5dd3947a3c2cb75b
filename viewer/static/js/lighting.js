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
  // The build stores the lightmap sRGB-encoded (8 bits keep dark corners smooth); decode it to linear light.
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
