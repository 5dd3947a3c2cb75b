// controls.js: desktop and touch navigation — OrbitControls for looking and orbiting, keyboard walking, glides.

import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';

export const EYE_HEIGHT = 1.6;
const WALK_SPEED = 1.8;            // m/s
const TURN_SPEED = Math.PI / 2;    // rad/s
// In walk mode the orbit target sits just in front of the eye, so dragging turns the head instead of circling.
const LOOK_DISTANCE = 0.05;
const WALK_KEYS = new Set(['KeyW', 'KeyA', 'KeyS', 'KeyD', 'ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight']);

const easeInOut = (t) => (t < 0.5 ? 2 * t * t : 1 - (-2 * t + 2) ** 2 / 2);

export class DesktopControls {
  /**
   * @param {object} options {camera, dom, canWalkTo(x, z) -> floorY | null, reducedMotion: () => bool}
   */
  constructor({ camera, dom, canWalkTo, reducedMotion }) {
    this.camera = camera;
    this.canWalkTo = canWalkTo;
    this.reducedMotion = reducedMotion;
    this.orbit = new OrbitControls(camera, dom);
    this.orbit.enableDamping = false;
    this.orbit.screenSpacePanning = true;
    this.keys = new Set();
    this.mode = 'walk';
    this.glide = null;
    this.floorY = 0;
    this.setWalkMode();

    const typing = (target) => target && (/^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName) || target.isContentEditable);
    window.addEventListener('keydown', (event) => {
      if (!WALK_KEYS.has(event.code) || typing(event.target) || event.altKey || event.ctrlKey || event.metaKey) return;
      // Arrow keys keep their meaning inside lists and buttons; the 3D view takes them when it has focus.
      if (event.code.startsWith('Arrow') && event.target !== dom && event.target !== document.body) return;
      this.keys.add(event.code);
      event.preventDefault();
    });
    window.addEventListener('keyup', (event) => this.keys.delete(event.code));
    window.addEventListener('blur', () => this.keys.clear());
  }

  forward() {
    const direction = new THREE.Vector3();
    this.camera.getWorldDirection(direction);
    direction.y = 0;
    if (direction.lengthSq() < 1e-8) direction.set(0, 0, -1);
    return direction.normalize();
  }

  setWalkMode() {
    this.mode = 'walk';
    const look = new THREE.Vector3();
    this.camera.getWorldDirection(look);
    this.orbit.target.copy(this.camera.position).addScaledVector(look, LOOK_DISTANCE);
    Object.assign(this.orbit, { enableZoom: false, enablePan: false, minDistance: 0, maxDistance: Infinity,
      rotateSpeed: -0.35, minPolarAngle: 0.2, maxPolarAngle: Math.PI - 0.2 });
    this.orbit.update();
  }

  setOrbitMode(target) {
    this.mode = 'orbit';
    this.orbit.target.copy(target);
    // The zoom limits must include where the glide ended, or OrbitControls would pull the camera to them.
    const distance = this.camera.position.distanceTo(target);
    Object.assign(this.orbit, { enableZoom: true, enablePan: true, minDistance: Math.min(0.3, distance),
      maxDistance: Math.max(8, distance * 1.5),
      rotateSpeed: 1, minPolarAngle: 0, maxPolarAngle: Math.PI / 2 + 0.3 });
    this.orbit.update();
  }

  /** Place the eye at a floor point, facing yaw degrees about +Y (0 looks down -Z). */
  placeAt(position, yawDegrees, floorY = 0) {
    this.floorY = floorY;
    const yaw = THREE.MathUtils.degToRad(yawDegrees || 0);
    this.camera.position.set(position[0], floorY + EYE_HEIGHT, position[2]);
    this.camera.lookAt(position[0] - Math.sin(yaw), floorY + EYE_HEIGHT, position[2] - Math.cos(yaw));
    this.setWalkMode();
  }

  /** Glide (or cut, with reduced motion) to a camera position looking at a target; resolves on arrival. */
  flyTo(position, target, { durationMs = 900, orbit = true } = {}) {
    if (this.glide) this.glide.resolve(false);
    const to = { position: new THREE.Vector3().fromArray(position), target: new THREE.Vector3().fromArray(target) };
    if (!orbit) to.target.sub(to.position).setLength(LOOK_DISTANCE).add(to.position);
    const duration = this.reducedMotion() ? 0 : Math.max(0, durationMs);
    return new Promise((resolve) => {
      this.glide = {
        from: { position: this.camera.position.clone(), target: this.orbit.target.clone() },
        to, orbit, start: performance.now(), duration, resolve,
      };
      if (duration === 0) this.update(0);
    });
  }

  /** Walk to a floor point keeping the view direction. */
  walkTo(point, floorY) {
    this.floorY = floorY;
    const eye = [point.x, floorY + EYE_HEIGHT, point.z];
    const forward = this.forward();
    const look = [point.x + forward.x, floorY + EYE_HEIGHT + this.lookPitch(), point.z + forward.z];
    return this.flyTo(eye, look, { durationMs: 700, orbit: false });
  }

  lookPitch() {
    const direction = new THREE.Vector3();
    this.camera.getWorldDirection(direction);
    const horizontal = Math.hypot(direction.x, direction.z) || 1;
    return direction.y / horizontal;
  }

  update(deltaSeconds) {
    if (this.glide) {
      const g = this.glide;
      const t = g.duration === 0 ? 1 : Math.min(1, (performance.now() - g.start) / g.duration);
      const k = easeInOut(t);
      this.camera.position.lerpVectors(g.from.position, g.to.position, k);
      this.orbit.target.lerpVectors(g.from.target, g.to.target, k);
      this.camera.lookAt(this.orbit.target);
      if (t >= 1) {
        this.glide = null;
        if (g.orbit) this.setOrbitMode(g.to.target); else this.setWalkMode();
        g.resolve(true);
      }
      return;
    }
    if (this.keys.size) this.applyKeys(deltaSeconds);
    this.orbit.update();
  }

  applyKeys(dt) {
    if (this.mode !== 'walk') this.setWalkMode();
    const k = this.keys;
    const turn = (k.has('ArrowLeft') ? 1 : 0) - (k.has('ArrowRight') ? 1 : 0);
    if (turn) {
      const offset = this.orbit.target.clone().sub(this.camera.position);
      offset.applyAxisAngle(new THREE.Vector3(0, 1, 0), turn * TURN_SPEED * dt);
      this.orbit.target.copy(this.camera.position).add(offset);
    }
    const ahead = (k.has('KeyW') || k.has('ArrowUp') ? 1 : 0) - (k.has('KeyS') || k.has('ArrowDown') ? 1 : 0);
    const side = (k.has('KeyD') ? 1 : 0) - (k.has('KeyA') ? 1 : 0);
    if (!ahead && !side) return;
    const forward = this.forward();
    const right = new THREE.Vector3().crossVectors(forward, new THREE.Vector3(0, 1, 0));
    const step = forward.multiplyScalar(ahead).add(right.multiplyScalar(side)).setLength(WALK_SPEED * dt);
    const floorY = this.canWalkTo(this.camera.position.x + step.x, this.camera.position.z + step.z);
    if (floorY === null) return;  // a wall: stay inside the rooms
    step.y = floorY + EYE_HEIGHT - this.camera.position.y;
    this.floorY = floorY;
    this.camera.position.add(step);
    this.orbit.target.add(step);
  }
}
