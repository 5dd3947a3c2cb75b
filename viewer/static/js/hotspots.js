// hotspots.js: annotation hotspots as 3D sprites (visible and pickable in every mode, VR and AR included).

import * as THREE from 'three';

const VISIBLE_WITHIN_METRES = 12;
// A marker at rest is a small dot sized to its object, so that it does not hide the detail it points at (a 7 cm
// disc covered a bottle's whole label); it grows when hovered, focused in the panel, or selected.
const MARKER_SHARE = 0.06;  // of the object's largest side
const MARKER_MIN = 0.012;  // metres: still visible from a couple of metres away
const MARKER_MAX = 0.04;
const GROWN = 2;
const PICK_MIN = 0.02;  // metres: a dot stays easy to hit

/** Resting marker diameter in metres for an artifact: a share of its largest side, within limits. */
export function markerSize(artifact) {
  const { min, max } = artifact.bounds || {};
  if (!min || !max) return MARKER_MAX;
  const largest = Math.max(...max.map((value, axis) => value - min[axis]));
  return Math.min(MARKER_MAX, Math.max(MARKER_MIN, MARKER_SHARE * largest));
}

function markerTexture(number, highlighted) {
  const size = 128;
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext('2d');
  ctx.beginPath();
  ctx.arc(size / 2, size / 2, size / 2 - 6, 0, Math.PI * 2);
  ctx.fillStyle = highlighted ? '#ffd23f' : '#ffffff';
  ctx.fill();
  ctx.lineWidth = 8;
  ctx.strokeStyle = '#1b3a57';
  ctx.stroke();
  ctx.fillStyle = '#1b3a57';
  ctx.font = 'bold 64px sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(String(number), size / 2, size / 2 + 4);
  const texture = new THREE.CanvasTexture(canvas);
  texture.colorSpace = THREE.SRGBColorSpace;
  return texture;
}

export class Hotspots {
  constructor(parent, artifacts) {
    this.group = new THREE.Group();
    this.group.name = 'vitrina-hotspots';
    parent.add(this.group);
    this.spots = [];
    this.highlighted = null;
    this.focused = null;
    this.hovered = null;
    for (const artifact of artifacts) {
      const size = markerSize(artifact);
      (artifact.annotations || []).forEach((note, index) => {
        const sprite = new THREE.Sprite(new THREE.SpriteMaterial({
          map: markerTexture(index + 1, false), depthTest: false, transparent: true,
        }));
        sprite.position.fromArray(note.position);
        sprite.scale.setScalar(size);
        sprite.renderOrder = 10; // drawn over the artifact's surface, where the detail is
        sprite.userData = { annotation: note.key, artifact: artifact.id, number: index + 1 };
        this.group.add(sprite);
        this.spots.push({ sprite, key: note.key, artifactId: artifact.id, number: index + 1, size,
          center: new THREE.Vector3().fromArray(note.position) });
      });
    }
  }

  /** Nearest hotspot hit by a ray: {kind:'hotspot', key, artifactId, distance, point} or null. */
  intersect(ray) {
    let best = null;
    const sphere = new THREE.Sphere();
    const point = new THREE.Vector3();
    for (const spot of this.spots) {
      if (!spot.sprite.visible) continue;
      sphere.set(spot.center, Math.max(PICK_MIN, spot.size * GROWN / 2));
      if (ray.intersectSphere(sphere, point)) {
        const distance = ray.origin.distanceTo(point);
        if (!best || distance < best.distance) {
          best = { kind: 'hotspot', key: spot.key, artifactId: spot.artifactId, distance, point: point.clone() };
        }
      }
    }
    return best;
  }

  highlight(key) {
    if (key === this.highlighted) return;
    for (const spot of this.spots) {
      if (spot.key === key || spot.key === this.highlighted) {
        spot.sprite.material.map.dispose();
        spot.sprite.material.map = markerTexture(spot.number, spot.key === key);
        spot.sprite.material.needsUpdate = true;
      }
    }
    this.highlighted = key;
  }

  /** The marker an annotation button in the panel has keyboard focus or the mouse on (null: none). */
  focus(key) { this.focused = key; }

  /** A marker's current diameter in metres (grown when hovered, focused or selected), or null. */
  scaleOf(key) {
    const spot = this.spots.find((candidate) => candidate.key === key);
    return spot ? spot.sprite.scale.x : null;
  }

  /**
   * Once a frame: hide far-away markers (they draw over walls, depthTest off, so only nearby ones are useful),
   * and grow the one under `pointerRay` (a THREE.Ray, or null), the focused one and the selected one.
   */
  update(viewerPosition, pointerRay = null) {
    this.hovered = pointerRay ? this.intersect(pointerRay)?.key ?? null : null;
    for (const spot of this.spots) {
      spot.sprite.visible = spot.center.distanceTo(viewerPosition) < VISIBLE_WITHIN_METRES;
      const grown = [this.hovered, this.focused, this.highlighted].includes(spot.key);
      spot.sprite.scale.setScalar(spot.size * (grown ? GROWN : 1));
    }
  }
}
