// hotspots.js: annotation hotspots as 3D sprites (visible and pickable in every mode, VR and AR included).

import * as THREE from 'three';

const PICK_RADIUS = 0.07;
const VISIBLE_WITHIN_METRES = 12;

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
    for (const artifact of artifacts) {
      (artifact.annotations || []).forEach((note, index) => {
        const sprite = new THREE.Sprite(new THREE.SpriteMaterial({
          map: markerTexture(index + 1, false), depthTest: false, transparent: true,
        }));
        sprite.position.fromArray(note.position);
        sprite.scale.setScalar(0.08);
        sprite.renderOrder = 10; // drawn over the artifact's surface, where the detail is
        sprite.userData = { annotation: note.key, artifact: artifact.id, number: index + 1 };
        this.group.add(sprite);
        this.spots.push({ sprite, key: note.key, artifactId: artifact.id, number: index + 1,
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
      sphere.set(spot.center, PICK_RADIUS);
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

  /** Hide far-away markers: they draw over walls (depthTest off), so only the nearby ones are useful. */
  update(viewerPosition) {
    for (const spot of this.spots) {
      spot.sprite.visible = spot.center.distanceTo(viewerPosition) < VISIBLE_WITHIN_METRES;
    }
  }
}
