// floorplan.js: the visitor's floor plan — every room drawn from exhibit.json with its doors and objects, a
// "you are here" marker that follows the camera, and the room list as buttons that walk the visitor there.

const SVG_NS = 'http://www.w3.org/2000/svg';
const PLAN_WIDTH = 260;  // CSS pixels; the height follows the exhibit's proportions
const MARGIN = 0.5;      // metres around the rooms

function svg(tag, attributes = {}, parent = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (parent) parent.append(node);
  return node;
}

/** The plan's frame: world x → right, world z (south) → down, so north is up as on any museum plan. */
export function planFrame(rooms, width = PLAN_WIDTH) {
  const minX = Math.min(...rooms.map((r) => r.bounds.min[0])) - MARGIN;
  const maxX = Math.max(...rooms.map((r) => r.bounds.max[0])) + MARGIN;
  const minZ = Math.min(...rooms.map((r) => r.bounds.min[2])) - MARGIN;
  const maxZ = Math.max(...rooms.map((r) => r.bounds.max[2])) + MARGIN;
  const scale = width / Math.max(maxX - minX, 1e-6);
  return { scale, width, height: (maxZ - minZ) * scale, x: (x) => (x - minX) * scale, y: (z) => (z - minZ) * scale };
}

export class FloorPlan {
  /** @param {object} options {viewer, manifest, i18n, toolbar, goToRoom(room)} */
  constructor({ viewer, manifest, i18n, toolbar, goToRoom }) {
    this.viewer = viewer;
    this.i18n = i18n;
    this.rooms = manifest.rooms || [];
    this.artifacts = manifest.artifacts || [];
    this.goToRoom = goToRoom;
    this.state = { open: false, room: null, position: null };
    viewer.floorPlan = this.state;
    if (!this.rooms.length) return;

    this.button = document.createElement('button');
    this.button.type = 'button';
    this.button.id = 'floor-plan-button';
    this.button.setAttribute('aria-expanded', 'false');
    this.button.setAttribute('aria-controls', 'floor-plan');
    toolbar.append(this.button);

    this.section = document.createElement('section');
    this.section.id = 'floor-plan';
    this.section.className = 'floor-plan';
    this.section.hidden = true;
    this.section.setAttribute('aria-labelledby', 'floor-plan-title');
    this.title = document.createElement('h2');
    this.title.id = 'floor-plan-title';
    this.frame = planFrame(this.rooms);
    this.plan = svg('svg', { viewBox: `0 0 ${this.frame.width} ${this.frame.height}`, width: this.frame.width,
      height: Math.round(this.frame.height), role: 'img' });
    this.list = document.createElement('ul');
    this.list.className = 'floor-plan-rooms';
    this.section.append(this.title, this.plan, this.list);
    document.body.append(this.section);
    this.draw();
    this.render();
    this.button.addEventListener('click', () => this.toggle());
    this.section.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') { this.toggle(false); this.button.focus(); event.stopPropagation(); }
    });
  }

  draw() {
    const f = this.frame;
    this.roomShapes = new Map();
    for (const room of this.rooms) {
      const shape = svg('rect', { x: f.x(room.bounds.min[0]), y: f.y(room.bounds.min[2]),
        width: (room.bounds.max[0] - room.bounds.min[0]) * f.scale, height: (room.bounds.max[2] - room.bounds.min[2]) * f.scale,
        class: 'floor-plan-room' }, this.plan);
      this.roomShapes.set(room.id, shape);
      for (const door of room.doors || []) {
        const across = door.wall === 'east' || door.wall === 'west';
        const half = door.width / 2;
        svg('line', { class: 'floor-plan-door',
          x1: f.x(door.position[0] - (across ? 0 : half)), y1: f.y(door.position[2] - (across ? half : 0)),
          x2: f.x(door.position[0] + (across ? 0 : half)), y2: f.y(door.position[2] + (across ? half : 0)) }, this.plan);
      }
    }
    for (const room of this.rooms) {
      for (const glassCase of room.cases || []) {  // a case holding several objects: its outline, turned with it
        const [width, depth] = glassCase.size;
        svg('rect', { class: 'floor-plan-case', x: -width / 2 * f.scale, y: -depth / 2 * f.scale, width: width * f.scale,
          height: depth * f.scale,
          transform: `translate(${f.x(glassCase.position[0])} ${f.y(glassCase.position[2])}) rotate(${glassCase.rotate})` }, this.plan);
      }
    }
    for (const artifact of this.artifacts) {
      const centre = [0, 2].map((i) => (artifact.bounds.min[i] + artifact.bounds.max[i]) / 2);
      svg('circle', { cx: f.x(centre[0]), cy: f.y(centre[1]), r: 2.5, class: 'floor-plan-object' }, this.plan);
    }
    this.here = svg('g', { class: 'floor-plan-here' }, this.plan);
    svg('circle', { r: 6 }, this.here);
    svg('path', { d: 'M 0 -13 L 5 -5 L -5 -5 Z' }, this.here);  // points the way the visitor looks
    this.hereLabel = svg('title', {}, this.here);
  }

  /** Texts in the current language (called again when the visitor switches language). */
  render() {
    if (!this.button) return;
    const t = (key) => this.i18n.t(key);
    this.button.textContent = t('floorPlan');
    this.title.textContent = t('floorPlan');
    this.hereLabel.textContent = t('youAreHere');
    this.describe();
    this.list.replaceChildren(...this.rooms.map((room) => {
      const item = document.createElement('li');
      const go = document.createElement('button');
      go.type = 'button';
      go.dataset.room = room.id;
      go.textContent = this.i18n.pick(room.name) || room.id;
      go.lang = this.i18n.langOf(room.name);
      if (this.state.room === room.id) go.setAttribute('aria-current', 'location');
      go.addEventListener('click', () => this.goToRoom(room));
      item.append(go);
      return item;
    }));
  }

  toggle(open = !this.state.open) {
    this.state.open = open;
    this.section.hidden = !open;
    this.button.setAttribute('aria-expanded', String(open));
    if (open) this.update();
  }

  /** Move the marker to the camera and mark the room the visitor is in; cheap enough to run every frame. */
  update() {
    if (!this.button) return;
    const pose = this.viewer.cameraPose();
    const [x, , z] = pose.position;
    const [qx, qy, qz, qw] = pose.quaternion;
    // The camera looks down its -Z; its heading on the floor, as an angle clockwise from north (plan up).
    const forwardX = -2 * (qx * qz + qw * qy), forwardZ = -(1 - 2 * (qx * qx + qy * qy));
    const heading = Math.atan2(forwardX, -forwardZ) * 180 / Math.PI;
    this.state.position = [x, z];
    const room = this.rooms.find((r) => x >= r.bounds.min[0] && x <= r.bounds.max[0] && z >= r.bounds.min[2] && z <= r.bounds.max[2]);
    if (!this.state.open) { this.trackRoom(room); return; }
    this.here.setAttribute('transform', `translate(${this.frame.x(x).toFixed(1)} ${this.frame.y(z).toFixed(1)}) rotate(${heading.toFixed(0)})`);
    this.trackRoom(room);
  }

  /** The plan's text alternative says which room the visitor is in. */
  describe() {
    const room = this.rooms.find((r) => r.id === this.state.room);
    const where = room ? `: ${this.i18n.pick(room.name) || room.id}` : '';
    this.plan.setAttribute('aria-label', `${this.i18n.t('floorPlan')}. ${this.i18n.t('youAreHere')}${where}`);
  }

  trackRoom(room) {
    const id = room ? room.id : null;
    if (id === this.state.room) return;
    this.state.room = id;
    this.describe();
    for (const [roomId, shape] of this.roomShapes) shape.classList.toggle('here', roomId === id);
    for (const button of this.list.querySelectorAll('button')) {
      if (button.dataset.room === id) button.setAttribute('aria-current', 'location');
      else button.removeAttribute('aria-current');
    }
  }
}
