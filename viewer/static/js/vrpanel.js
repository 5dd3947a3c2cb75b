// vrpanel.js: text drawn on a CanvasTexture plane — the in-VR object panel and the VR caption strip.

import * as THREE from 'three';

const PIXELS_PER_METRE = 1200;

/** Break text into lines that fit maxWidth; CJK text breaks anywhere, other text at spaces. */
export function wrapText(ctx, text, maxWidth) {
  const lines = [];
  for (const paragraph of String(text).split('\n')) {
    let line = '';
    const tokens = paragraph.match(/[\u3000-\u9fff\uff00-\uffef]|[^\s\u3000-\u9fff\uff00-\uffef]+|\s+/g) || [''];
    for (const token of tokens) {
      const candidate = line + token;
      if (ctx.measureText(candidate).width > maxWidth && line.trim()) {
        lines.push(line.trimEnd());
        line = token.trimStart();
      } else {
        line = candidate;
      }
    }
    lines.push(line.trimEnd());
  }
  return lines;
}

export class TextPlane {
  constructor(widthMetres, heightMetres, { background = 'rgba(20,24,30,0.92)', name = 'text-plane' } = {}) {
    this.canvas = document.createElement('canvas');
    this.canvas.width = Math.round(widthMetres * PIXELS_PER_METRE);
    this.canvas.height = Math.round(heightMetres * PIXELS_PER_METRE);
    this.background = background;
    this.texture = new THREE.CanvasTexture(this.canvas);
    this.texture.colorSpace = THREE.SRGBColorSpace;
    this.mesh = new THREE.Mesh(new THREE.PlaneGeometry(widthMetres, heightMetres),
      new THREE.MeshBasicMaterial({ map: this.texture, transparent: true, depthTest: false }));
    this.mesh.renderOrder = 20;
    this.mesh.name = name;
    this.mesh.visible = false;
  }

  context() {
    const ctx = this.canvas.getContext('2d');
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.fillStyle = this.background;
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    return ctx;
  }
}

/** The in-VR object panel: title, record lines, a detail, and a close button in the top-right corner. */
export class VRPanel extends TextPlane {
  constructor() {
    super(0.8, 0.6, { name: 'vitrina-vr-panel' });
  }

  draw({ title, lines, closeLabel }) {
    const ctx = this.context();
    const { width, height } = this.canvas;
    const pad = 36;
    ctx.fillStyle = '#ffd23f';
    ctx.fillRect(width - 110, 20, 90, 90);
    ctx.fillStyle = '#111';
    ctx.font = 'bold 64px sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText('×', width - 65, 68);
    ctx.font = '22px sans-serif';
    ctx.fillText(closeLabel, width - 65, 130);
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    ctx.fillStyle = '#fff';
    ctx.font = 'bold 46px sans-serif';
    let y = pad;
    for (const line of wrapText(ctx, title, width - 2 * pad - 120).slice(0, 2)) { ctx.fillText(line, pad, y); y += 56; }
    y += 12;
    ctx.font = '30px sans-serif';
    for (const line of lines) {
      for (const wrapped of wrapText(ctx, line, width - 2 * pad)) {
        if (y > height - pad - 36) break;
        ctx.fillText(wrapped, pad, y);
        y += 40;
      }
    }
    this.texture.needsUpdate = true;
  }

  /** True when a ray hit at uv lands on the close button. */
  static isClose(uv) {
    return uv && uv.x > 0.84 && uv.y > 0.74;
  }
}

/** The caption strip that follows the head in VR, mirroring the audio guide's active cue. */
export class CaptionPlane extends TextPlane {
  constructor() {
    super(1.0, 0.16, { background: 'rgba(0,0,0,0.8)', name: 'vitrina-vr-captions' });
    this.text = '';
  }

  show(text) {
    this.text = text;
    const ctx = this.context();
    ctx.fillStyle = '#fff';
    ctx.font = '44px sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const lines = wrapText(ctx, text, this.canvas.width - 60).slice(0, 3);
    lines.forEach((line, i) => ctx.fillText(line, this.canvas.width / 2, 14 + i * 52));
    this.texture.needsUpdate = true;
  }
}
