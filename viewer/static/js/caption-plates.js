// caption-plates.js: the caption plate beside each object follows the visitor's language. The build draws one image
// per language (exhibit.json artifacts[].caption_plates) and the room's GLB holds the first; this swaps the plate's
// picture when the language changes, and on rooms that load after the change.

import * as THREE from 'three';

export class CaptionPlates {
  /**
   * @param {object[]} artifacts the manifest's artifacts
   * @param {{language: string, defaultLanguage: string}} i18n the page's language state
   */
  constructor(artifacts, i18n) {
    this.i18n = i18n;
    this.plates = new Map(artifacts.filter((a) => a.caption_plates).map((a) => [a.id, a.caption_plates]));
    this.loader = new THREE.TextureLoader();
    this.textures = new Map();  // file → Promise<Texture>, each plate image loaded once
    this.shown = {};            // artifact id → {language, src, image, repeat, offset}: its plate now (tests)
  }

  /** Show every plate under `root` (a room just loaded, or the whole world) in the current language. */
  apply(root) {
    if (!this.plates.size) return Promise.resolve();
    const pending = [];
    root.traverse((node) => {
      const material = node.isMesh && node.material;
      const id = material && material.name.endsWith('-caption') ? material.name.slice(0, -'-caption'.length) : null;
      if (id && this.plates.has(id)) pending.push(this.show(id, material));
    });
    return Promise.all(pending);
  }

  /**
   * A copy of a loaded plate that samples like the room's own: the build quantizes UVs, so the room's texture
   * carries a KHR_texture_transform (offset, repeat) that the swapped-in picture must share.
   */
  likeBuilt(loaded, built) {
    const texture = loaded.clone();
    texture.flipY = false;  // glTF's orientation
    texture.colorSpace = THREE.SRGBColorSpace;
    if (built) {
      for (const key of ['offset', 'repeat', 'center']) texture[key].copy(built[key]);
      texture.rotation = built.rotation;
      texture.channel = built.channel;
      texture.wrapS = built.wrapS;
      texture.wrapT = built.wrapT;
      texture.anisotropy = built.anisotropy;
    }
    texture.needsUpdate = true;
    return texture;
  }

  /** The language a plate shows: the visitor's when it has one, else the one the room was built with. */
  languageOf(plates) {
    return plates[this.i18n.language] ? this.i18n.language : Object.keys(plates)[0];
  }

  async show(id, material) {
    const plates = this.plates.get(id);
    const language = this.languageOf(plates);
    if (!material.userData.builtPlate) material.userData.builtPlate = material.map;
    const built = material.userData.builtPlate;
    let texture = built;
    if (language !== Object.keys(plates)[0]) {
      const src = plates[language];
      if (!this.textures.has(src)) this.textures.set(src, this.loader.loadAsync(src));
      const image = await this.textures.get(src);
      if (this.languageOf(plates) !== language) return;  // the language changed again meanwhile: that call wins
      material.userData.plates ??= {};
      texture = material.userData.plates[language] ??= this.likeBuilt(image, built);
    }
    if (material.map !== texture) {
      material.map = texture;
      material.needsUpdate = true;
    }
    // What the material really draws: the swapped-in image's URL (null for the room's own, an ImageBitmap) and
    // how it is sampled.
    this.shown[id] = { language, src: plates[language], image: texture?.image?.currentSrc || texture?.image?.src || null,
      repeat: texture ? texture.repeat.toArray() : null, offset: texture ? texture.offset.toArray() : null };
  }
}
