// xr.js: immersive VR (controllers, hands, laser select, teleport, snap turn, 3D panel, captions) and AR placement.

import * as THREE from 'three';
import { VRButton } from 'three/addons/webxr/VRButton.js';
import { ARButton } from 'three/addons/webxr/ARButton.js';
import { XRHandModelFactory } from 'three/addons/webxr/XRHandModelFactory.js';
import { XRControllerModelFactory } from 'three/addons/webxr/XRControllerModelFactory.js';
import { VRPanel, CaptionPlane } from './vrpanel.js';
import { localizeXrButton } from './i18n.js';

const SNAP_TURN_DEGREES = 30;
const LASER_LENGTH = 8;
const AR_TABLE_TOP_METRES = 0.6;

/**
 * The XR side of the viewer. `host` is the app's internal interface:
 *   renderer, scene, camera, world (THREE.Group holding rooms and hotspots), state (window.__viewer),
 *   pick(ray, {vrPanel}) -> hit | null, activate(hit), floorAt(x, z) -> y | null, i18n,
 *   roomScenes: Map(roomId -> THREE.Object3D), manifest, emit(event, detail)
 */
export class XRSupport {
  constructor(host) {
    this.host = host;
    const { renderer, scene, camera } = host;
    this.renderer = renderer;
    this.baseSpace = null;
    this.origin = new THREE.Matrix4();  // world pose of the base reference space's origin
    this.headPosition = new THREE.Vector3();
    this.headQuaternion = new THREE.Quaternion();
    this.mode = null;
    this.hitTestSource = null;
    this.controllers = [];
    this.activeController = null;

    const handFactory = new XRHandModelFactory();
    // The site vendors the Quest controllers' models (see pipeline/site.py); no CDN, so it works offline.
    const controllerFactory = new XRControllerModelFactory().setPath(
      new URL('../vendor/webxr-input-profiles', import.meta.url).href);
    for (const index of [0, 1]) {
      const controller = renderer.xr.getController(index);
      controller.name = `vitrina-controller-${index}`;
      const laser = new THREE.Line(
        new THREE.BufferGeometry().setFromPoints([new THREE.Vector3(0, 0, 0), new THREE.Vector3(0, 0, -1)]),
        new THREE.LineBasicMaterial({ color: 0x7fd4ff }));
      laser.name = 'laser';
      laser.scale.z = LASER_LENGTH;
      controller.add(laser);
      controller.userData = { index, laser, inputSource: null, snapReady: true };
      controller.addEventListener('connected', (event) => { controller.userData.inputSource = event.data; });
      controller.addEventListener('disconnected', () => { controller.userData.inputSource = null; });
      controller.addEventListener('select', () => this.onSelect(controller));
      scene.add(controller);

      const grip = renderer.xr.getControllerGrip(index);
      const model = controllerFactory.createControllerModel(grip);
      // Shown until (or unless) the controller's own model loads: other headsets' models are not vendored.
      const marker = new THREE.Mesh(new THREE.BoxGeometry(0.04, 0.03, 0.12),
        new THREE.MeshStandardMaterial({ color: 0x333a44, roughness: 0.6 }));
      grip.add(model, marker);
      grip.userData = { model, marker };
      scene.add(grip);
      this.grips = [...(this.grips || []), grip];

      const hand = renderer.xr.getHand(index);
      hand.add(handFactory.createHandModel(hand, 'spheres'));
      scene.add(hand);
      this.controllers.push(controller);
    }

    this.reticle = new THREE.Mesh(new THREE.RingGeometry(0.12, 0.16, 40).rotateX(-Math.PI / 2),
      new THREE.MeshBasicMaterial({ color: 0xffffff, transparent: true, opacity: 0.85 }));
    this.reticle.name = 'vitrina-reticle';
    this.reticle.matrixAutoUpdate = false;
    this.reticle.visible = false;
    scene.add(this.reticle);

    this.panel = new VRPanel();
    scene.add(this.panel.mesh);
    this.captions = new CaptionPlane();
    this.captions.mesh.position.set(0, -0.4, -1.2);
    this.captions.mesh.renderOrder = 21;  // over the object panel if they meet
    camera.add(this.captions.mesh);

    this.arPlacement = new THREE.Group();
    this.arPlacement.name = 'vitrina-ar-placement';
    this.arPlacement.visible = false;
    scene.add(this.arPlacement);
    this.arSubject = null;

    renderer.xr.addEventListener('sessionstart', () => this.onSessionStart());
    renderer.xr.addEventListener('sessionend', () => this.onSessionEnd());
  }

  createButtons(container, overlayRoot) {
    const vr = VRButton.createButton(this.renderer, { optionalFeatures: ['hand-tracking'] });
    const ar = ARButton.createButton(this.renderer, {
      optionalFeatures: ['hit-test', 'dom-overlay'], domOverlay: { root: overlayRoot },
    });
    vr.addEventListener('click', () => { this.requestedMode = 'immersive-vr'; }, true);
    ar.addEventListener('click', () => { this.requestedMode = 'immersive-ar'; }, true);
    localizeXrButton(vr, this.host.i18n);
    localizeXrButton(ar, this.host.i18n);
    container.append(vr, ar);
    return { vr, ar };
  }

  get inSession() { return this.mode !== null; }

  async onSessionStart() {
    const { host } = this;
    const session = this.renderer.xr.getSession();
    this.mode = session.environmentBlendMode && session.environmentBlendMode !== 'opaque'
      ? 'immersive-ar' : (this.requestedMode || 'immersive-vr');
    host.state.mode = this.mode;
    this.baseSpace = this.renderer.xr.getReferenceSpace();
    if (this.mode === 'immersive-vr') {
      // Start where the desktop camera stood, facing the same way.
      const camera = host.camera;
      const forward = new THREE.Vector3();
      camera.getWorldDirection(forward);
      const yaw = Math.atan2(-forward.x, -forward.z);
      const floorY = host.floorAt(camera.position.x, camera.position.z) ?? 0;
      this.origin.compose(new THREE.Vector3(camera.position.x, floorY, camera.position.z),
        new THREE.Quaternion().setFromAxisAngle(new THREE.Vector3(0, 1, 0), yaw), new THREE.Vector3(1, 1, 1));
      this.applyOrigin();
    } else {
      host.savedBackground = host.scene.background;
      host.scene.background = null;
      host.world.visible = false;
      this.arPlacement.visible = false;
      host.state.ar.placed = 0;
      try {
        const viewerSpace = await session.requestReferenceSpace('viewer');
        this.hitTestSource = await session.requestHitTestSource({ space: viewerSpace });
      } catch (error) {
        host.state.errors.push(`hit-test: ${error}`);
      }
    }
    host.emit('xrstart', { mode: this.mode, session });  // the tour UI maps the grip buttons on the session
  }

  onSessionEnd() {
    const { host } = this;
    const mode = this.mode;
    this.mode = null;
    this.requestedMode = null;
    this.hitTestSource = null;
    this.baseSpace = null;
    this.reticle.visible = false;
    this.hidePanel();
    this.captions.mesh.visible = false;
    this.arPlacement.visible = false;
    host.world.visible = true;
    if (host.savedBackground !== undefined) host.scene.background = host.savedBackground;
    host.state.mode = 'desktop';
    host.emit('xrend', { mode });
  }

  /** Re-derive the offset reference space from `origin`, the world pose of the base space's origin. */
  applyOrigin() {
    if (!this.baseSpace) return;
    const inverse = this.origin.clone().invert();
    const position = new THREE.Vector3();
    const quaternion = new THREE.Quaternion();
    inverse.decompose(position, quaternion, new THREE.Vector3());
    const transform = new XRRigidTransform(
      { x: position.x, y: position.y, z: position.z, w: 1 },
      { x: quaternion.x, y: quaternion.y, z: quaternion.z, w: quaternion.w });
    this.renderer.xr.setReferenceSpace(this.baseSpace.getOffsetReferenceSpace(transform));
  }

  /** Move the play space so the head stands over `to` (x, z), optionally turning by yawDelta radians. */
  moveHead(to, yawDelta = 0, floorY = null) {
    const head = this.headPosition;
    const turn = new THREE.Matrix4().makeRotationY(yawDelta);
    const step = new THREE.Matrix4().makeTranslation(-head.x, 0, -head.z);
    const back = new THREE.Matrix4().makeTranslation(to.x, 0, to.z);
    this.origin.premultiply(step).premultiply(turn).premultiply(back);
    if (floorY !== null) {
      this.origin.elements[13] = floorY;
    }
    this.headPosition.set(to.x, head.y, to.z);
    this.applyOrigin();
  }

  teleport(point, floorY) {
    this.moveHead(point, 0, floorY);
    this.host.state.xr.teleports++;
    this.host.state.xr.lastTeleport = [point.x, floorY, point.z];
  }

  snapTurn(direction) {
    this.moveHead(this.headPosition.clone(), THREE.MathUtils.degToRad(-direction * SNAP_TURN_DEGREES));
    this.host.state.xr.snapTurns++;
  }

  /** The tour's flyTo in XR: stand at view.position facing view.target (always a cut: glides make people sick). */
  flyTo(view) {
    // In AR the reference space is the real room: moving it would slide the placed model off its table.
    if (this.mode === 'immersive-ar') return false;
    const to = new THREE.Vector3().fromArray(view.position);
    const target = new THREE.Vector3().fromArray(view.target);
    const forward = new THREE.Vector3(0, 0, -1).applyQuaternion(this.headQuaternion);
    const headYaw = Math.atan2(-forward.x, -forward.z);
    const wantYaw = Math.atan2(-(target.x - to.x), -(target.z - to.z));
    this.moveHead(to, wantYaw - headYaw, this.host.floorAt(to.x, to.z));
  }

  controllerRay(controller) {
    controller.updateMatrixWorld(true);
    const ray = new THREE.Ray();
    ray.origin.setFromMatrixPosition(controller.matrixWorld);
    const rotation = new THREE.Matrix4().extractRotation(controller.matrixWorld);
    ray.direction.set(0, 0, -1).applyMatrix4(rotation).normalize();
    return ray;
  }

  /** The laser of the controller used last (or the right one): {origin, direction} arrays, or null. */
  pointerRay() {
    if (!this.inSession) return null;
    const controller = this.activeController
      || this.controllers.find((c) => c.userData.inputSource?.handedness === 'right')
      || this.controllers.find((c) => c.userData.inputSource);
    if (!controller || !controller.userData.inputSource) return null;
    const ray = this.controllerRay(controller);
    return { origin: ray.origin.toArray(), direction: ray.direction.toArray() };
  }

  onSelect(controller) {
    const { host } = this;
    if (!this.inSession) return;
    this.activeController = controller;
    host.state.xr.selects++;
    if (this.mode === 'immersive-ar') {
      const hotspot = this.arHotspotHit(this.controllerRay(controller));
      if (hotspot) host.activate(hotspot);
      else if (this.reticle.visible) this.placeSubject();
      return;
    }
    const hit = host.pick(this.controllerRay(controller), { vrPanel: this.panel.mesh.visible ? this.panel.mesh : null });
    host.state.xr.lastSelect = hit ? hit.kind : 'nothing';
    if (!hit) return;
    if (hit.kind === 'vrpanel') {
      if (VRPanel.isClose(hit.uv)) host.closePanel();
      return;
    }
    if (hit.kind === 'floor') {
      this.teleport(hit.point, hit.floorY);
      return;
    }
    host.activate(hit);
  }

  /** Show the in-VR panel 1.1 m in front of the head, turned towards it. */
  showPanel(content) {
    this.panel.draw(content);
    if (!this.panel.mesh.visible) {
      const forward = new THREE.Vector3(0, 0, -1).applyQuaternion(this.headQuaternion);
      forward.y = 0;
      if (forward.lengthSq() < 1e-6) forward.set(0, 0, -1);
      forward.normalize();
      const side = new THREE.Vector3(-forward.z, 0, forward.x);
      this.panel.mesh.position.copy(this.headPosition).addScaledVector(forward, 1.1).addScaledVector(side, 0.35);
      this.panel.mesh.position.y = this.headPosition.y + 0.05;  // above the caption strip, which hangs below the gaze
      this.panel.mesh.lookAt(this.headPosition.x, this.panel.mesh.position.y, this.headPosition.z);
      this.panel.mesh.visible = true;
    }
    this.host.state.xr.panelVisible = true;
  }

  hidePanel() {
    this.panel.mesh.visible = false;
    this.host.state.xr.panelVisible = false;
  }

  showCaption(text) {
    if (text) this.captions.show(text);
    this.captions.mesh.visible = Boolean(text) && this.inSession;
    this.host.state.xr.caption = this.captions.mesh.visible ? text : '';
  }

  setARSubject(subject) {
    this.arSubject = subject;
    this.host.state.ar.subject = subject;
    if (this.arPlacement.children.length) this.arPlacement.clear();
  }

  /** Build the thing AR places: a life-size artifact or a table-top model of a room, its base at the origin. */
  buildSubject() {
    const { host } = this;
    const subject = this.arSubject || `room:${host.manifest.start?.room || host.manifest.rooms[0].id}`;
    const [kind, id] = subject.split(':');
    let model = null;
    let scale = 1;
    if (kind === 'artifact') {
      const artifact = host.manifest.artifacts.find((a) => a.id === id);
      const roomScene = host.roomScenes.get(artifact.room);
      const node = roomScene && roomScene.getObjectByName(artifact.node);
      if (node) {
        node.updateWorldMatrix(true, true);
        model = node.clone(true);
        model.matrixAutoUpdate = true;
        node.matrixWorld.decompose(model.position, model.quaternion, model.scale);
      } else {
        const bounds = new THREE.Box3(new THREE.Vector3().fromArray(artifact.bounds.min), new THREE.Vector3().fromArray(artifact.bounds.max));
        model = new THREE.Mesh(new THREE.BoxGeometry(...bounds.getSize(new THREE.Vector3()).toArray()),
          new THREE.MeshStandardMaterial({ color: 0xb08d57 }));
        bounds.getCenter(model.position);
      }
    } else {
      const roomScene = host.roomScenes.get(id);
      model = roomScene ? roomScene.clone(true) : new THREE.Group();
      const room = host.manifest.rooms.find((r) => r.id === id);
      const size = room ? Math.max(room.size[0], room.size[1]) : 10;
      scale = AR_TABLE_TOP_METRES / size;
    }
    const wrapper = new THREE.Group();
    const content = new THREE.Group();  // world-aligned: the model and its hotspots keep their world layout
    content.add(model);
    wrapper.add(content);
    const box = new THREE.Box3().setFromObject(model);
    const centre = box.getCenter(new THREE.Vector3());
    content.position.set(-centre.x, -box.min.y, -centre.z);
    for (const spot of host.hotspots.spots) {
      if (kind === 'artifact' ? spot.artifactId !== id : host.manifest.artifacts.find((a) => a.id === spot.artifactId)?.room !== id) continue;
      const sprite = spot.sprite.clone();
      sprite.userData = { ...spot.sprite.userData };
      content.add(sprite);
    }
    wrapper.scale.setScalar(scale);
    return wrapper;
  }

  /** The placed model's hotspot under a ray (sprites scale with a table-top model, so the pick radius does too). */
  arHotspotHit(ray) {
    if (!this.arPlacement.visible) return null;
    this.arPlacement.updateMatrixWorld(true);
    let best = null;
    const centre = new THREE.Vector3();
    const point = new THREE.Vector3();
    this.arPlacement.traverse((node) => {
      if (!node.isSprite || !node.userData.annotation) return;
      node.getWorldPosition(centre);
      const radius = 0.07 * Math.max(0.25, node.getWorldScale(new THREE.Vector3()).x / 0.08);
      if (ray.intersectSphere(new THREE.Sphere(centre, radius), point)) {
        const distance = ray.origin.distanceTo(point);
        if (!best || distance < best.distance) best = { kind: 'hotspot', key: node.userData.annotation, artifactId: node.userData.artifact, distance };
      }
    });
    return best;
  }

  placeSubject() {
    if (!this.arPlacement.children.length) this.arPlacement.add(this.buildSubject());
    this.reticle.matrix.decompose(this.arPlacement.position, new THREE.Quaternion(), new THREE.Vector3());
    this.arPlacement.visible = true;
    const state = this.host.state.ar;
    state.placed++;
    state.position = this.arPlacement.position.toArray();
    state.scale = this.arPlacement.children[0].scale.x;
    this.arPlacement.updateMatrixWorld(true);
    state.hotspots = [];
    this.arPlacement.traverse((node) => {
      if (node.isSprite && node.userData.annotation) {
        state.hotspots.push({ key: node.userData.annotation, position: node.getWorldPosition(new THREE.Vector3()).toArray() });
      }
    });
    this.host.announce(this.host.i18n.t('arPlaced'));
  }

  /** Per XR frame: head pose, lasers and teleport marker, snap turn, AR hit-test. */
  update(frame) {
    const { host } = this;
    const state = host.state;
    const space = this.renderer.xr.getReferenceSpace();
    const pose = frame.getViewerPose(space);
    if (pose) {
      const { position, orientation } = pose.transform;
      this.headPosition.set(position.x, position.y, position.z);
      this.headQuaternion.set(orientation.x, orientation.y, orientation.z, orientation.w);
    }
    state.xr.inputKinds = Array.from(frame.session.inputSources,
      (source) => `${source.handedness}:${source.hand ? 'hand' : 'controller'}`);

    for (const controller of this.controllers) {
      const source = controller.userData.inputSource;
      if (source) state.xr.controllers[source.handedness] = controller.position.toArray();
    }
    state.xr.controllerModels = 0;
    for (const grip of this.grips) {
      const loaded = grip.userData.model.children.length > 0;
      grip.userData.marker.visible = !loaded;
      state.xr.controllerModels += loaded ? 1 : 0;
    }
    if (this.mode === 'immersive-ar') {
      this.updateHitTest(frame, space);
      return;
    }
    let floorHit = null;
    for (const controller of this.controllers) {
      const source = controller.userData.inputSource;
      const laser = controller.userData.laser;
      laser.visible = Boolean(source) && !source.hand;
      if (!source) continue;
      const hit = host.pick(this.controllerRay(controller), { vrPanel: this.panel.mesh.visible ? this.panel.mesh : null });
      laser.scale.z = hit ? Math.max(0.05, hit.distance) : LASER_LENGTH;
      laser.material.color.setHex(hit && hit.kind !== 'floor' ? 0xffd23f : 0x7fd4ff);
      if (hit && hit.kind === 'floor' && (!floorHit || controller === this.activeController)) floorHit = hit;
      this.updateSnapTurn(controller, source);
    }
    this.reticle.visible = Boolean(floorHit);
    if (floorHit) this.reticle.matrix.makeTranslation(floorHit.point.x, floorHit.floorY + 0.01, floorHit.point.z);
  }

  updateSnapTurn(controller, source) {
    const axes = source.gamepad?.axes;
    if (!axes || !axes.length) return;
    const x = axes.length >= 4 ? axes[2] : axes[0];
    if (Math.abs(x) < 0.3) controller.userData.snapReady = true;
    else if (Math.abs(x) > 0.7 && controller.userData.snapReady) {
      controller.userData.snapReady = false;
      this.snapTurn(Math.sign(x));
    }
  }

  updateHitTest(frame, space) {
    if (!this.hitTestSource) return;
    const results = frame.getHitTestResults(this.hitTestSource);
    if (results.length) {
      const hitPose = results[0].getPose(space);
      this.reticle.visible = Boolean(hitPose);
      if (hitPose) {
        this.reticle.matrix.fromArray(hitPose.transform.matrix);
        this.host.state.ar.hitTests++;
      }
    } else {
      this.reticle.visible = false;
    }
  }
}
