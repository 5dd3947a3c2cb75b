// tour-ui.js: the live-tour panel — guide controls and the visitor's follow view, on window.__viewer and tour-client.js.
//
// The same tour on three kinds of device (issue 5, "the same on the desktop, in VR and in AR"):
// - Desktop and phone: the DOM panel; a stop glides the camera to the stop's view.
// - VR: the DOM panel is invisible in the headset, so the status goes to the caption strip (xrNotice) and the
//   controller buttons carry the actions. Guide: right grip next stop (or start), left grip previous, A or X
//   "bring everyone to me", B or Y end the tour (press twice within 4 s, as the DOM button asks). Visitor: right
//   grip back to the guide, left grip raises or lowers the hand. A stop is a cut of the reference space, not a glide.
// - AR: the exhibit is not around the visitor (the AR view holds one placed thing: a life-size artifact or a
//   table-top room), so there is nowhere to fly to, and moving the reference space would drag the placed model off
//   the table. A stop instead selects its artifact (the object panel and this panel sit in the DOM overlay, with the
//   stop's text), and if nothing is placed yet the stop's artifact becomes the AR subject, so the first tap puts down
//   the thing the guide is talking about. Gather is announced but moves nothing.

import { TourClient, tourServerUrl, peekGuideToken } from './tour-client.js';

export const STRINGS = {
  en: {
    liveTour: 'Live tour', joinTitle: 'Join a tour', code: 'Tour code', name: 'Your name', join: 'Join', cancel: 'Cancel',
    codeFromLink: 'Tour code {code} (from your link)', needName: 'Please type a name (1–40 characters).',
    needCode: 'Please type the tour code your guide gave you.', guiding: 'Guiding: {tour}', tour: 'Tour',
    wrongTour: 'This guide link is for “{tour}”. Ask for a link for the tour you picked.',
    start: 'Start the tour', previous: 'Previous stop', next: 'Next stop', gather: 'Bring everyone to me',
    pointer: 'Pointer', end: 'End the tour', confirmEnd: 'Press again to end for everyone', newRun: 'Start a new run',
    stops: 'Stops', goToStop: 'Go to stop {n}', people: 'People ({n})', you: 'you', lead: 'leading',
    following: 'following', notFollowing: 'not following', away: 'away', handRaised: 'hand raised',
    makeLead: 'Hand over to {name}', device_desktop: 'desktop', device_phone: 'phone', device_vr: 'VR', device_ar: 'AR',
    role_guide: 'guide', role_visitor: 'visitor',
    waiting: 'Waiting for the guide to start the tour.', stopOf: 'Stop {n} of {total}: {title}', ended: 'The tour has ended. Thank you!',
    followingGuide: 'Following the guide', lookingAround: 'Looking around freely', backToGuide: 'Back to the guide',
    raiseHand: 'Raise my hand', lowerHand: 'Lower my hand', lowerHandOf: 'Lower {name}’s hand', leave: 'Leave the tour', gathered: '{name} asks everyone to come over.',
    connecting: 'Connecting…', connected: 'Connected', reconnecting: 'Connection lost; reconnecting in {s} s…',
    busy: 'The tour server is refusing connections from your network for now (shared Wi-Fi has many visitors). Trying again in {s} s…',
    closed_4001: 'The server did not accept this link or code.', closed_4003: 'This tour is open in another tab.',
    closed_4004: 'This tour no longer exists.', closed_4006: 'The tour has ended.', closed_1000: 'You left the tour.',
    closed_4000: 'The server and this page speak different protocol versions.', closed: 'Disconnected.',
    refused: 'Not done: {message}', stale: 'Already moved on (now at stop {n}).', guideName: 'Guide', visitors: 'visitors',
    handsUp: '{n} raised hand(s)', gripBack: 'right grip: back to the guide',
    gripGuide: 'right grip: next stop, left grip: previous, A/X: bring everyone to me, B/Y: end the tour',
    gatherSent: 'Everyone is coming to you.', confirmEndXR: 'Press B/Y again to end the tour for everyone',
  },
  zh: {
    liveTour: '实时导览', joinTitle: '加入导览', code: '导览码', name: '你的名字', join: '加入', cancel: '取消',
    codeFromLink: '导览码 {code}（来自链接）', needName: '请输入名字（1–40 个字符）。',
    needCode: '请输入导览员提供的导览码。', guiding: '正在带领：{tour}', tour: '导览',
    wrongTour: '此导览员链接属于“{tour}”。请为所选导览另行获取链接。',
    start: '开始导览', previous: '上一站', next: '下一站', gather: '召集大家到我这里',
    pointer: '指示光线', end: '结束导览', confirmEnd: '再按一次为所有人结束', newRun: '重新开始一轮',
    stops: '站点', goToStop: '前往第 {n} 站', people: '成员（{n}）', you: '你', lead: '带领中',
    following: '跟随中', notFollowing: '未跟随', away: '离线', handRaised: '举手',
    makeLead: '移交给 {name}', device_desktop: '电脑', device_phone: '手机', device_vr: 'VR', device_ar: 'AR',
    role_guide: '导览员', role_visitor: '观众',
    waiting: '等待导览员开始导览。', stopOf: '第 {n} 站，共 {total} 站：{title}', ended: '导览已结束，谢谢！',
    followingGuide: '正在跟随导览员', lookingAround: '自由参观中', backToGuide: '回到导览员',
    raiseHand: '举手', lowerHand: '放下手', lowerHandOf: '放下{name}的手', leave: '离开导览', gathered: '{name} 请大家过来。',
    connecting: '连接中…', connected: '已连接', reconnecting: '连接中断，{s} 秒后重连…',
    busy: '导览服务器暂时拒绝来自你所在网络的连接（共享 Wi-Fi 上的观众很多）。{s} 秒后重试…',
    closed_4001: '服务器不接受此链接或导览码。', closed_4003: '此导览已在另一个标签页中打开。',
    closed_4004: '此导览已不存在。', closed_4006: '导览已结束。', closed_1000: '你已离开导览。',
    closed_4000: '服务器与本页面的协议版本不同。', closed: '已断开。',
    refused: '未执行：{message}', stale: '已经前进了（现在是第 {n} 站）。', guideName: '导览员', visitors: '观众',
    handsUp: '{n} 人举手', gripBack: '按右手握把回到导览员',
    gripGuide: '右手握把：下一站，左手握把：上一站，A/X：召集大家，B/Y：结束导览',
    gatherSent: '大家正在来你这里。', confirmEndXR: '再按一次 B/Y 为所有人结束导览',
  },
};

const POSE_INTERVAL_MS = 50;          // 20 Hz, the protocol's recommended rate
const POSE_KEEPALIVE_MS = 2000;       // an unchanged pose is re-sent this often, so late joiners see the guide
const GLIDE_MS = 1500;
const DRIFT_METRES = 0.3;             // a visitor who moved this far from where the glide left them looks around freely
const DRIFT_DEGREES = 12;
const DRIFT_CHECK_MS = 200;
const EYE_HEIGHT = 1.6;
const GUIDE_SIDE_OFFSET = 0.9;        // the guide stands beside the stop's viewpoint, so visitors see the avatar
const GATHER_BEHIND = 1.2;            // visitors gather just behind the guide, looking where the guide looks
const END_CONFIRM_MS = 4000;
const XR_NOTICE_MS = 4000;
const ANNOUNCE_HOLD_MS = 5000;        // an announcement stays in the live region this long before the status replaces it
// xr-standard gamepad slots on Quest-style controllers: 4 is A (right) or X (left), 5 is B or Y.
const XR_BUTTON_GATHER = 4;
const XR_BUTTON_END = 5;

const el = (tag, attributes = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.filter(Boolean));
  return node;
};

const round = (values) => values.map((v) => Math.round(v * 1e4) / 1e4);

function deviceKind(viewer) {
  if (viewer.mode === 'immersive-vr') return 'vr';
  if (viewer.mode === 'immersive-ar') return 'ar';
  return window.matchMedia('(pointer: coarse)').matches ? 'phone' : 'desktop';
}

/** Mount the tour panel into `slot` (once; a second call reveals it). Returns the UI controller. */
/** The connection line for a TourClient `c` whose next attempt is `reconnectInMs` away, in the words of `t`. */
export function connectionText(c, reconnectInMs, t) {
  if (c.finalClose) return t(`closed_${c.finalClose.code}`) === `closed_${c.finalClose.code}` ? t('closed') : t(`closed_${c.finalClose.code}`);
  if (c.connected) return t('connected');
  const s = Math.max(1, Math.round((reconnectInMs || 0) / 1000));
  if (c.reconnectTimer) return t(c.refused ? 'busy' : 'reconnecting', { s });
  return t('connecting');
}

/** `key` in `language`'s table (English where it has none), with {name} placeholders filled from `params`. */
export function translate(language, key, params = {}) {
  const table = STRINGS[String(language || 'en').split('-')[0]] || STRINGS.en;
  const text = table[key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ''));
}

export async function mount(viewer, slot) {
  if (viewer.tourUI) { viewer.tourUI.reveal(); return viewer.tourUI; }
  const ui = new TourUI(viewer, slot);
  viewer.tourUI = ui;
  ui.start();
  return ui;
}

class TourUI {
  constructor(viewer, slot) {
    this.viewer = viewer;
    this.slot = slot;
    this.manifest = viewer.manifest;
    this.client = null;
    this.timers = [];
    this.unsubscribers = [];
    this.gliding = 0;
    this.anchor = null;
    this.followSent = null;
    this.handledStart = null;     // `${stop}@${start_at}` or `gather@${start_at}` already acted on
    this.stopTimer = null;
    this.pointing = true;
    this.lastPose = null;
    this.endArmedUntil = 0;
    this.ghosts = new Map();      // member id -> ghost id
    this.narration = null;
    this.posesSent = 0;
    this.posesReceived = 0;
    this.glides = 0;
    this.announcements = [];
    this.xrSession = null;
    this.xrButtonsDown = new Set();  // gamepad buttons held at the last poll, as `${handedness}:${index}`
    this.automation = { role: null, connected: false, errors: [], uiErrors: [] };
    window.__tour = this.automation;
  }

  t(key, params = {}) {
    return translate(this.viewer.language, key, params);
  }

  pick(map) {
    if (map == null) return '';
    if (typeof map === 'string') return map;
    const exhibit = this.manifest.exhibit || {};
    for (const key of [this.viewer.language, exhibit.default_language]) if (key && map[key]) return String(map[key]);
    return String(Object.values(map).find(Boolean) || '');
  }

  // ── start-up ──────────────────────────────────────────────────────────────────────────────────────────────

  start() {
    const cssHref = new URL('../css/tour.css', import.meta.url).href;
    if (!document.querySelector(`link[href="${cssHref}"]`)) {
      document.head.append(el('link', { rel: 'stylesheet', href: cssHref }));
    }
    const params = new URLSearchParams(location.search);
    const hash = new URLSearchParams(location.hash.slice(1));
    this.guideToken = hash.get('guide');
    if (this.guideToken) {
      // The fragment never reaches a server; strip it from the address bar too, so it is not shared by accident.
      hash.delete('guide');
      const rest = hash.toString();
      history.replaceState(history.state, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
    }
    this.linkCode = params.get('join') || hash.get('join');
    this.requestedTour = params.get('tour');

    this.panel = el('section', { class: 'tour-panel', 'aria-labelledby': 'tour-heading' });
    this.heading = el('h2', { id: 'tour-heading' });
    this.status = el('p', { class: 'tour-status', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
    this.say = el('p', { class: 'tour-say' });
    this.connection = el('p', { class: 'tour-connection', 'aria-live': 'polite' });
    this.body = el('div', { class: 'tour-body' });
    this.panel.append(this.heading, this.status, this.say, this.body, this.connection);
    this.slot.append(this.panel);

    this.unsubscribers.push(this.viewer.on('language', () => this.render()));
    this.unsubscribers.push(this.viewer.on('xrstart', (detail) => this.onXRChange(true, detail)));
    this.unsubscribers.push(this.viewer.on('xrend', (detail) => this.onXRChange(false, detail)));

    if (this.guideToken) {
      this.connect({ token: this.guideToken });
    } else {
      this.showJoinForm();
      // A reload of a join link within the grace window carries on as the same member, without asking again.
      const name = this.nameInput.value.trim();
      if (this.linkCode && name && this.readStored(this.storageKeyFor({ code: this.linkCode }))) this.connect({ code: this.linkCode, name });
    }
    this.render();
  }

  reveal() {
    this.panel.hidden = false;
    const first = this.panel.querySelector('input, button, select');
    if (first) first.focus();
  }

  showJoinForm() {
    this.form = el('form', { class: 'tour-join', novalidate: true });
    this.codeInput = el('input', { id: 'tour-code', name: 'code', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', maxlength: '16', required: true });
    this.nameInput = el('input', { id: 'tour-name', name: 'name', autocomplete: 'nickname', maxlength: '40', required: true });
    this.codeLabel = el('label', { for: 'tour-code' });
    this.nameLabel = el('label', { for: 'tour-name' });
    this.formError = el('p', { class: 'tour-form-error', role: 'alert' });
    this.joinButton = el('button', { type: 'submit', class: 'tour-primary' });
    this.cancelButton = el('button', { type: 'button' });
    if (this.linkCode) {
      this.codeInput.value = this.linkCode;
      this.codeNote = el('p', { class: 'tour-code-note' });
      this.form.append(this.codeNote);
    } else {
      this.form.append(el('div', { class: 'tour-field' }, this.codeLabel, this.codeInput));
    }
    try { this.nameInput.value = localStorage.getItem('vitrina-tour-name') || ''; } catch { /* storage off */ }
    this.form.append(el('div', { class: 'tour-field' }, this.nameLabel, this.nameInput), this.formError,
      el('div', { class: 'tour-buttons' }, this.joinButton, this.cancelButton));
    this.form.addEventListener('submit', (event) => { event.preventDefault(); this.submitJoin(); });
    this.cancelButton.addEventListener('click', () => { this.panel.hidden = true; document.getElementById('tour-join-button')?.focus(); });
    this.body.replaceChildren(this.form);
    (this.linkCode ? this.nameInput : this.codeInput).focus({ preventScroll: true });
  }

  submitJoin() {
    const code = this.codeInput.value.trim();
    const name = this.nameInput.value.trim();
    if (!code) { this.formError.textContent = this.t('needCode'); this.codeInput.focus(); return; }
    if (!name || name.length > 40) { this.formError.textContent = this.t('needName'); this.nameInput.focus(); return; }
    try { localStorage.setItem('vitrina-tour-name', name); } catch { /* storage off */ }
    this.formError.textContent = '';
    this.connect({ code, name });
  }

  connect(credentials) {
    if (this.client) { this.client.disconnect(); for (const timer of this.timers) clearInterval(timer); this.timers = []; }
    this.handledStart = null;
    const kind = credentials.token ? 'guide' : 'visitor';
    this.client = new TourClient({
      url: tourServerUrl(), credentials, device: deviceKind(this.viewer),
      storage: window.sessionStorage, storageKey: this.storageKeyFor(credentials),
    });
    this.expectedRole = kind;
    const c = this.client;
    c.on('state', () => this.render());
    c.on('snapshot', () => this.onSnapshot());
    c.on('event', (event) => this.onEvent(event));
    c.on('pose', (pose) => this.onPose(pose));
    c.on('reply', (reply) => this.onReply(reply));
    c.on('closed', (detail) => { this.reconnectInMs = detail.reconnectInMs; this.onFinalClose(); this.render(); });
    c.on('welcome', () => this.onWelcome());
    c.connect();
    this.timers.push(setInterval(() => this.tick(), POSE_INTERVAL_MS));
    this.timers.push(setInterval(() => this.checkDrift(), DRIFT_CHECK_MS));
    this.render();
  }

  /** Where a tab keeps its resume token: per exhibit and credential, so two tours in two tabs do not collide. */
  storageKeyFor(credentials) {
    const key = credentials.token ? `guide:${credentials.token.slice(-16)}`
      : `visitor:${credentials.code.toUpperCase().replace(/[^0-9A-Z]/g, '')}`;
    return `vitrina-tour-resume:${this.manifest.exhibit.id}:${key}`;
  }

  readStored(key) {
    try { return window.sessionStorage.getItem(key); } catch { return null; }
  }

  onWelcome() {
    if (this.client.role === 'guide' && !this.guideBody) this.buildGuideBody();
    if (this.client.role === 'visitor' && !this.visitorBody?.isConnected) this.buildVisitorBody();
  }

  /** A visitor who left, or whose tour ended, gets the join form back (to join the next run, or another tour). */
  onFinalClose() {
    const c = this.client;
    if (!c.finalClose || c.role !== 'visitor' || !this.visitorBody?.isConnected) return;
    this.syncGhostsGone();
    clearTimeout(this.stopTimer);
    this.showJoinForm();
    this.formError.textContent = this.connectionText();
  }

  // ── tour data ─────────────────────────────────────────────────────────────────────────────────────────────

  get tourId() {
    if (this.client && this.client.tourId) return this.client.tourId;
    const fromToken = this.guideToken && peekGuideToken(this.guideToken);
    return (fromToken && fromToken.tour) || this.requestedTour || null;
  }

  get tour() { return (this.manifest.tours || []).find((tour) => tour.id === this.tourId) || null; }

  stopAt(index) { return index == null || !this.tour ? null : this.tour.stops.find((s) => s.index === index) || this.tour.stops[index]; }

  stopTitle(stop) {
    if (!stop) return '';
    const artifact = (this.manifest.artifacts || []).find((a) => a.id === stop.artifact);
    if (stop.annotation && artifact) {
      const note = (artifact.annotations || []).find((n) => n.key === stop.annotation);
      if (note) return `${this.pick(artifact.record?.title) || artifact.id}: ${this.pick(note.title)}`;
    }
    return (artifact && this.pick(artifact.record?.title)) || stop.artifact;
  }

  memberName(id) {
    const member = this.client?.members.get(id);
    return member ? member.name : this.t('guideName');
  }

  roomAt(x, z) {
    return (this.manifest.rooms || []).find((r) => x >= r.bounds.min[0] && x <= r.bounds.max[0] && z >= r.bounds.min[2] && z <= r.bounds.max[2]) || null;
  }

  /** Keep a point inside the room it is in (or the given room), a little away from the walls. */
  clampToRoom(point, roomId = null) {
    const room = (roomId && (this.manifest.rooms || []).find((r) => r.id === roomId)) || this.roomAt(point[0], point[2]);
    if (!room) return point;
    const margin = 0.3;
    const clamp = (v, lo, hi) => Math.min(Math.max(v, lo + margin), hi - margin);
    return [clamp(point[0], room.bounds.min[0], room.bounds.max[0]), point[1], clamp(point[2], room.bounds.min[2], room.bounds.max[2])];
  }

  /** Where a visitor stands for the current moment of the tour: the gather point, else the stop's view. */
  visitorView() {
    const tour = this.client.tour;
    if (tour.gather) return this.gatherView(tour.gather);
    const stop = this.stopAt(tour.stop);
    if (stop && stop.view) return stop.view;
    const pose = this.client.pose;
    if (pose && pose.head) {  // no stop yet: stand in front of the guide, facing them
      const p = pose.head.p;
      return { position: this.clampToRoom([p[0], p[1], p[2] + 1.5]), target: p };
    }
    return null;
  }

  gatherView(gather) {
    const yaw = ((gather.yaw ?? 0) * Math.PI) / 180;
    const forward = [-Math.sin(yaw), -Math.cos(yaw)];
    const room = (this.manifest.rooms || []).find((r) => r.id === gather.room);
    const floor = room ? (room.floor_y ?? room.bounds.min[1]) : gather.position[1];
    const [x, , z] = gather.position;
    const position = this.clampToRoom([x - forward[0] * GATHER_BEHIND, floor + EYE_HEIGHT, z - forward[1] * GATHER_BEHIND], gather.room);
    return { position, target: [x + forward[0] * 3, floor + EYE_HEIGHT, z + forward[1] * 3] };
  }

  /** The guide's own spot at a stop: beside the visitors' viewpoint, looking at the same thing. */
  guideView(view) {
    const [px, py, pz] = view.position;
    const [tx, , tz] = view.target;
    const length = Math.hypot(tx - px, tz - pz) || 1;
    const right = [-(tz - pz) / length, (tx - px) / length];
    return { position: this.clampToRoom([px + right[0] * GUIDE_SIDE_OFFSET, py, pz + right[1] * GUIDE_SIDE_OFFSET]), target: view.target };
  }

  // ── glides, narration, following ──────────────────────────────────────────────────────────────────────────

  glideTo(view) {
    if (!view) return Promise.resolve(false);
    if (this.viewer.mode === 'immersive-ar') {
      // Nothing to fly to in AR (see the top of this file); "where the guide put you" is simply here.
      setTimeout(() => this.setAnchor(), 50);
      return Promise.resolve(false);
    }
    this.gliding += 1;
    this.anchor = null;
    this.glides += 1;
    return Promise.resolve(this.viewer.flyTo(view, { durationMs: GLIDE_MS }))
      .catch((error) => { this.uiError(`flyTo: ${error}`); return false; })
      .finally(() => {
        this.gliding -= 1;
        // One frame later, so whatever the controls settle to after the glide counts as "where the guide put you".
        // (a timer, not requestAnimationFrame: window rAF pauses during immersive sessions)
        if (!this.gliding) setTimeout(() => { if (!this.gliding) this.setAnchor(); }, 50);
        this.render();
      });
  }

  setAnchor() {
    const pose = this.viewer.cameraPose();
    this.anchor = { position: pose.position, quaternion: pose.quaternion, teleports: this.viewer.xr?.teleports ?? 0,
      snapTurns: this.viewer.xr?.snapTurns ?? 0, xr: this.viewer.mode !== 'desktop' };
    this.publish();
  }

  /** A visitor who moves the view themselves is looking around freely; the server (and the guide) hear of it. */
  checkDrift() {
    const c = this.client;
    if (!c || c.role !== 'visitor' || !c.connected || this.gliding || !this.anchor) return;
    const me = c.me;
    if (!me || !me.following || this.followSent === false) return;
    let drifted;
    if (this.anchor.xr || this.viewer.mode !== 'desktop') {
      // In a headset the head moves all the time; only a teleport or snap turn means "I went my own way".
      drifted = (this.viewer.xr?.teleports ?? 0) !== this.anchor.teleports || (this.viewer.xr?.snapTurns ?? 0) !== this.anchor.snapTurns;
    } else {
      const pose = this.viewer.cameraPose();
      const [a, b] = [pose.position, this.anchor.position];
      const moved = Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
      const q = pose.quaternion, r = this.anchor.quaternion;
      const dot = Math.min(1, Math.abs(q[0] * r[0] + q[1] * r[1] + q[2] * r[2] + q[3] * r[3]));
      const turned = (2 * Math.acos(dot) * 180) / Math.PI;
      drifted = moved > DRIFT_METRES || turned > DRIFT_DEGREES;
    }
    if (drifted) { this.anchor = null; this.setFollowing(false); }
  }

  setFollowing(following) {
    this.followSent = following;
    this.client.follow(following);
    if (following) this.glideTo(this.visitorView());
    this.render();
  }

  /** Act on a stop (or gather) at the server's start time, the same moment on every device. */
  scheduleStart(key, startAt, action) {
    if (this.handledStart === key) return;
    this.handledStart = key;
    // Until the glide has put the visitor somewhere new, "moved away from the anchor" means nothing.
    this.anchor = null;
    clearTimeout(this.stopTimer);
    const localStart = this.client.toLocal(startAt ?? this.client.serverNow());
    const wait = localStart - Date.now();
    const run = () => {
      try { action(Math.max(0, -wait)); } catch (error) { this.uiError(String(error)); }
    };
    if (wait > 0) this.stopTimer = setTimeout(run, wait); else run();
  }

  goToStop(lateByMs = 0) {
    const c = this.client;
    const stop = this.stopAt(c.tour.stop);
    if (!stop) return;
    const following = c.role === 'guide' || (c.me ? c.me.following : true);
    if (following) {
      try { this.viewer.selectArtifact(stop.artifact, { annotation: stop.annotation || null, focus: false, fly: false }); } catch (error) { this.uiError(String(error)); }
      if (this.viewer.mode === 'immersive-ar') this.arStop(stop);
      else if (stop.view) this.glideTo(c.role === 'guide' ? this.guideView(stop.view) : stop.view);
    }
    this.playNarration(stop, c.tour.start_at, lateByMs);
    this.xrNotice();
  }

  /** AR: nothing placed yet, so the stop's artifact becomes what the next tap places (life size). */
  arStop(stop) {
    this.arStops = (this.arStops || 0) + 1;
    const chooser = document.getElementById('ar-subject');
    const value = `artifact:${stop.artifact}`;
    if (!chooser || this.viewer.ar?.placed || chooser.value === value) return;
    if (![...chooser.options].some((option) => option.value === value)) return;  // e.g. a wall panel: not placeable
    chooser.value = value;
    chooser.dispatchEvent(new Event('change'));
  }

  playNarration(stop, startAt, lateByMs) {
    const audio = stop.audio || {};
    const exhibit = this.manifest.exhibit || {};
    const track = audio[this.viewer.language] || audio[exhibit.default_language] || Object.values(audio)[0];
    if (!track || !track.src) { this.narration = { stop: stop.index, src: null }; return; }
    // Late joiners seek: the recording is as far along on their device as on everyone else's.
    const seekMs = Math.round(lateByMs);
    this.narration = { stop: stop.index, src: track.src, startAt, startedAtServer: Math.round(this.client.serverNow()), seekMs, playing: false, error: null };
    const record = this.narration;
    Promise.resolve(this.viewer.playNarration(track, { startAtMs: seekMs }))
      .then(() => { record.playing = true; this.publish(); })
      .catch((error) => { record.error = String(error); this.publish(); });
  }

  // ── protocol events ───────────────────────────────────────────────────────────────────────────────────────

  onSnapshot() {
    const c = this.client;
    this.followSent = null;
    this.syncGhosts();
    if (c.tour.status !== 'running') return;
    if (c.tour.gather) this.scheduleStart(`gather@${c.tour.gather.start_at}`, c.tour.gather.start_at, () => this.goToGather());
    else this.scheduleStart(`${c.tour.stop}@${c.tour.start_at}`, c.tour.start_at, (late) => this.goToStop(late));
  }

  onEvent(event) {
    const c = this.client;
    switch (event.kind) {
      case 'tour_started':
      case 'stop_changed': {
        const stop = this.stopAt(event.stop);
        this.announce(this.t('stopOf', { n: event.stop + 1, total: this.tour ? this.tour.stops.length : '?', title: this.stopTitle(stop) }));
        this.scheduleStart(`${event.stop}@${event.start_at}`, event.start_at, (late) => this.goToStop(late));
        break;
      }
      case 'gather':
        this.followSent = null;
        if (c.role === 'visitor') this.announce(this.t('gathered', { name: this.memberName(event.by) }));
        this.scheduleStart(`gather@${event.start_at}`, event.start_at, () => this.goToGather());
        this.xrNotice(c.role === 'guide' ? this.t('gatherSent') : this.t('gathered', { name: this.memberName(event.by) }));
        break;
      case 'following_changed':
        if (event.member === c.member) { this.followSent = null; this.xrNotice(); }
        break;
      case 'member_left':
      case 'member_away':
        this.removeGhost(event.member);
        break;
      case 'lead_changed':
        this.syncGhosts();
        break;
      case 'tour_ended':
        clearTimeout(this.stopTimer);
        this.announce(this.t('ended'));
        this.syncGhosts();
        this.xrNotice();  // the status text says it has ended
        break;
      default: break;
    }
  }

  goToGather() {
    const c = this.client;
    if (c.role !== 'visitor' || !c.tour.gather) return;
    this.glideTo(this.gatherView(c.tour.gather));
  }

  onReply(reply) {
    if (reply.type === 'ignored') {
      if (reply.reason === 'stale') this.connection.textContent = this.t('stale', { n: (reply.stop ?? 0) + 1 });
      return;
    }
    this.connection.textContent = this.t('refused', { message: reply.message || reply.code });
    this.publish();
  }

  // ── ghosts and poses ─────────────────────────────────────────────────────────────────────────────────────

  onPose(pose) {
    const c = this.client;
    if (!pose || pose.member === c.member) return;
    this.posesReceived += 1;
    const ghostId = pose.member === c.tour.lead ? 'guide' : `guide-${pose.member}`;
    const previous = this.ghosts.get(pose.member);
    if (previous && previous !== ghostId) this.viewer.setGhost(previous, null);
    this.ghosts.set(pose.member, ghostId);
    const pointer = pose.pointer ? { origin: pose.pointer.o, direction: pose.pointer.d } : null;
    this.viewer.setGhost(ghostId, { position: pose.head.p, quaternion: pose.head.q, pointer, label: this.memberName(pose.member) });
    this.lastGhost = { member: pose.member, ghost: ghostId, position: pose.head.p, pointer: Boolean(pointer) };
    // Poses are frequent: update only their own automation fields, not the whole summary.
    this.automation.ghost = this.lastGhost;
    this.automation.posesReceived = this.posesReceived;
  }

  removeGhost(memberId) {
    const ghostId = this.ghosts.get(memberId);
    if (ghostId) { this.viewer.setGhost(ghostId, null); this.ghosts.delete(memberId); }
  }

  /** Drop ghosts of members who are gone or no longer guides; the lead's next pose draws it again. */
  syncGhosts() {
    const c = this.client;
    for (const [memberId, ghostId] of [...this.ghosts]) {
      const member = c.members.get(memberId);
      const wanted = member && member.online ? (memberId === c.tour.lead ? 'guide' : `guide-${memberId}`) : null;
      if (wanted !== ghostId) this.removeGhost(memberId);
    }
    if (c.pose && c.pose.member && c.members.has(c.pose.member)) this.onPose(c.pose);
  }

  /** Every 50 ms: a guide sends its head and pointer when they changed (or as a keepalive); everyone refreshes state. */
  tick() {
    const c = this.client;
    this.pollXRButtons();
    if (!c || c.role !== 'guide' || !c.connected || c.tour.status === 'ended') return;
    const head = this.viewer.cameraPose();
    const ray = this.pointing ? this.viewer.pointerRay() : null;
    const pose = { head: { p: round(head.position), q: round(head.quaternion) }, pointer: ray ? { o: round(ray.origin), d: round(ray.direction) } : null };
    const text = JSON.stringify(pose);
    const now = Date.now();
    if (this.lastPose && this.lastPose.text === text && now - this.lastPose.at < POSE_KEEPALIVE_MS) return;
    const room = this.roomAt(head.position[0], head.position[2]);
    if (c.sendPose(pose.head, pose.pointer, room ? room.id : null)) {
      this.lastPose = { text, at: now };
      this.posesSent += 1;
      this.automation.posesSent = this.posesSent;
    }
  }

  // ── guide actions ─────────────────────────────────────────────────────────────────────────────────────────

  gatherHere() {
    const pose = this.viewer.cameraPose();
    const [x, y, z] = pose.position;
    const [qx, qy, qz, qw] = pose.quaternion;
    // The camera's forward (-Z rotated by q), flattened: yaw 0 looks down -Z, as in exhibit.json's start.yaw.
    const fx = -2 * (qx * qz + qw * qy);
    const fz = -(1 - 2 * (qx * qx + qy * qy));
    const yaw = Math.round((Math.atan2(-fx, -fz) * 180) / Math.PI);
    const room = this.roomAt(x, z);
    const floor = room ? (room.floor_y ?? room.bounds.min[1]) : y - EYE_HEIGHT;
    this.client.gather(round([x, floor, z]), yaw, room ? room.id : null);
  }

  endTour() {
    const now = Date.now();
    if (now > this.endArmedUntil) {
      this.endArmedUntil = now + END_CONFIRM_MS;
      setTimeout(() => this.render(), END_CONFIRM_MS + 50);
      this.render();
      this.xrNotice(this.t('confirmEndXR'));
      return;
    }
    this.endArmedUntil = 0;
    this.client.end();
  }

  newRun() {
    this.handledStart = null;
    this.client.connect();
  }

  // ── DOM ───────────────────────────────────────────────────────────────────────────────────────────────────

  button(className, onClick, attributes = {}) {
    const node = el('button', { type: 'button', class: className, ...attributes });
    node.addEventListener('click', onClick);
    return node;
  }

  buildGuideBody() {
    this.tourSelect = el('select', { id: 'tour-select' });
    for (const tour of this.manifest.tours || []) this.tourSelect.append(new Option(tour.id, tour.id));
    this.tourSelect.value = this.tourId;
    this.tourSelect.addEventListener('change', () => this.render());
    this.tourSelectLabel = el('label', { for: 'tour-select' });
    this.wrongTour = el('p', { class: 'tour-warning', role: 'alert' });
    this.startButton = this.button('tour-start tour-primary', () => this.client.start(0));
    this.previousButton = this.button('tour-previous', () => this.client.previous());
    this.nextButton = this.button('tour-next tour-primary', () => this.client.next());
    this.gatherButton = this.button('tour-gather', () => this.gatherHere());
    this.pointerButton = this.button('tour-pointer', () => { this.pointing = !this.pointing; this.render(); });
    this.endButton = this.button('tour-end tour-danger', () => this.endTour());
    this.newRunButton = this.button('tour-new-run', () => this.newRun());
    // The stop list folds away: on a phone or a small window the panel must not hide the exhibit.
    this.stopsHeading = el('summary', { id: 'tour-stops-heading' });
    this.stopList = el('ol', { class: 'tour-stops', 'aria-labelledby': 'tour-stops-heading' });
    this.stopsBox = el('details', { class: 'tour-stops-box' }, this.stopsHeading, this.stopList);
    this.peopleHeading = el('h3', { id: 'tour-people-heading' });
    this.handsNote = el('p', { class: 'tour-hands-note' });
    this.memberList = el('ul', { class: 'tour-members', 'aria-labelledby': 'tour-people-heading' });
    this.guideBody = el('div', { class: 'tour-guide' },
      el('div', { class: 'tour-field' }, this.tourSelectLabel, this.tourSelect), this.wrongTour,
      el('div', { class: 'tour-buttons' }, this.startButton, this.previousButton, this.nextButton),
      el('div', { class: 'tour-buttons' }, this.gatherButton, this.pointerButton, this.endButton, this.newRunButton),
      this.stopsBox, this.peopleHeading, this.handsNote, this.memberList);
    this.body.replaceChildren(this.guideBody);
  }

  buildVisitorBody() {
    this.followIndicator = el('p', { class: 'tour-following' });
    this.backButton = this.button('tour-back tour-primary', () => this.setFollowing(true));
    this.handButton = this.button('tour-hand', () => this.client.hand(!(this.client.me && this.client.me.hand)));
    this.leaveButton = this.button('tour-leave', () => { this.client.leave(); this.syncGhostsGone(); });
    this.visitorBody = el('div', { class: 'tour-visitor' }, this.followIndicator,
      el('div', { class: 'tour-buttons' }, this.backButton, this.handButton, this.leaveButton));
    this.body.replaceChildren(this.visitorBody);
  }

  syncGhostsGone() {
    for (const memberId of [...this.ghosts.keys()]) this.removeGhost(memberId);
  }

  announce(text) {
    this.status.textContent = text;
    this.announcedAt = Date.now();
    setTimeout(() => this.render(), ANNOUNCE_HOLD_MS + 50);
    this.announcements.push(text);
    if (this.announcements.length > 20) this.announcements.shift();
  }

  /** In a headset the DOM panel is invisible: put the stop and "following" on the VR caption strip for a moment. */
  xrNotice(lead = null) {
    if (this.viewer.mode === 'desktop' || typeof this.viewer.xrNotice !== 'function' || !this.client) return;
    const c = this.client;
    const stop = c.tour.status === 'running' ? this.stopAt(c.tour.stop) : null;
    const parts = [stop ? this.t('stopOf', { n: stop.index + 1, total: this.tour.stops.length, title: this.stopTitle(stop) }) : this.statusText()];
    if (lead) parts.unshift(lead);
    if (c.role === 'visitor' && c.me) parts.push(c.me.following ? this.t('followingGuide') : `${this.t('lookingAround')} (${this.t('gripBack')})`);
    if (c.role === 'guide' && !this.gripHintShown) { parts.push(this.t('gripGuide')); this.gripHintShown = true; }
    const text = parts.join(' · ');
    this.viewer.xrNotice(text);
    this.lastXRNotice = text;
    setTimeout(() => { if (this.viewer.xr?.caption === text) this.viewer.xrNotice(''); }, XR_NOTICE_MS);
  }

  onXRChange(entering, detail = {}) {
    // Presence: the guides' list shows who is in a headset. xrstart's `mode` says VR or AR; after xrend the
    // viewer is back in its page mode (desktop or phone).
    const device = entering ? (detail?.mode === 'immersive-ar' ? 'ar' : 'vr') : deviceKind(this.viewer);
    this.client?.setDevice(device);
    if (entering && detail && detail.session) {
      detail.session.addEventListener('squeeze', (event) => this.onGrip(event.inputSource?.handedness));
    }
    this.xrSession = entering ? detail?.session || null : null;
    if (entering) this.gripHintShown = false;  // each headset session starts with the button hint
    this.xrButtonsDown = new Set();
    // AR shows only the DOM overlay's subtree over the camera image: the panel moves there for the session.
    const overlay = document.getElementById('ar-overlay');
    if (entering && this.viewer.mode === 'immersive-ar' && overlay) overlay.append(this.panel);
    else if (!entering && this.panel.parentElement !== this.slot) this.slot.append(this.panel);
    if (entering) { this.anchor = null; setTimeout(() => this.setAnchor(), 50); }
    this.xrNotice();
  }

  /**
   * The DOM panel is not visible in a headset, so the grips carry the few actions that matter there:
   * guide — right grip next stop, left grip previous; visitor — right grip back to the guide, left grip hand up/down.
   */
  onGrip(handedness) {
    const c = this.client;
    if (!c || !c.connected) return;
    this.grips = (this.grips || 0) + 1;
    const right = handedness !== 'left';
    if (c.role === 'guide') {
      if (c.tour.status !== 'running') { if (right) c.start(0); } else if (right) c.next(); else c.previous();
    } else if (right) {
      if (c.me && !c.me.following) this.setFollowing(true);
    } else {
      c.hand(!(c.me && c.me.hand));
    }
    this.publish();
  }

  /**
   * A and B (X and Y) have no session events, only gamepad state: poll them on the 50 ms tick (window rAF is paused
   * in a session) and act on a press's rising edge. Guides only; a visitor's hand and return are on the grips.
   */
  pollXRButtons() {
    const session = this.xrSession;
    const c = this.client;
    if (!session || this.viewer.mode !== 'immersive-vr' || !c || c.role !== 'guide' || !c.connected) return;
    const down = new Set();
    for (const source of session.inputSources) {
      const buttons = source.gamepad?.buttons || [];
      for (const index of [XR_BUTTON_GATHER, XR_BUTTON_END]) {
        if (buttons[index]?.pressed) down.add(`${source.handedness}:${index}`);
      }
    }
    for (const key of down) {
      if (this.xrButtonsDown.has(key)) continue;
      const index = Number(key.split(':')[1]);
      this.xrButtons = (this.xrButtons || 0) + 1;
      if (c.tour.status !== 'running') continue;  // gather and end mean nothing before the start or after the end
      if (index === XR_BUTTON_GATHER) this.gatherHere(); else this.endTour();
    }
    this.xrButtonsDown = down;
    if (down.size || this.automation.xrButtons !== (this.xrButtons || 0)) this.publish();
  }

  statusText() {
    const c = this.client;
    if (!c || !c.synced) return '';
    if (c.tour.status === 'ended') return this.t('ended');
    if (c.tour.status !== 'running') return this.t('waiting');
    const stop = this.stopAt(c.tour.stop);
    return this.t('stopOf', { n: c.tour.stop + 1, total: this.tour ? this.tour.stops.length : c.tour.stops, title: this.stopTitle(stop) });
  }

  connectionText() {
    return this.client ? connectionText(this.client, this.reconnectInMs, (key, params) => this.t(key, params)) : '';
  }

  render() {
    const c = this.client;
    const role = c?.role || (this.guideToken ? 'guide' : 'visitor');
    this.heading.textContent = role === 'guide'
      ? this.t('guiding', { tour: this.pick(this.tour?.title) || this.tourId || '' })
      : (this.form?.isConnected ? this.t('joinTitle') : `${this.t('liveTour')}: ${this.pick(this.tour?.title) || ''}`);
    if (this.form?.isConnected) {
      this.codeLabel.textContent = this.t('code');
      this.nameLabel.textContent = this.t('name');
      this.joinButton.textContent = this.t('join');
      this.cancelButton.textContent = this.t('cancel');
      if (this.codeNote) this.codeNote.textContent = this.t('codeFromLink', { code: this.linkCode.toUpperCase() });
      this.joinButton.disabled = Boolean(c && !c.finalClose);
    }
    if (c) {
      const text = this.statusText();
      // The live region speaks stop changes (announce()); a silent refresh keeps it right after language switches.
      const announcing = Date.now() - (this.announcedAt || 0) < ANNOUNCE_HOLD_MS;
      if (text && !announcing && this.status.textContent !== text) this.status.textContent = text;
      const stop = c.tour.status === 'running' ? this.stopAt(c.tour.stop) : null;
      this.say.textContent = stop ? this.pick(stop.say) : '';
      this.say.hidden = !this.say.textContent;
      this.connection.textContent = this.connectionText();
      if (c.finalClose && this.form?.isConnected) this.formError.textContent = this.connectionText();
    }
    if (this.guideBody) this.renderGuide();
    if (this.visitorBody?.isConnected) this.renderVisitor();
    this.publish();
  }

  renderGuide() {
    const c = this.client;
    const tour = c.tour;
    const running = tour.status === 'running';
    const ended = Boolean(c.finalClose);
    const picked = this.tourSelect.value;
    const wrong = picked && picked !== this.tourId;
    this.tourSelectLabel.textContent = this.t('tour');
    for (const option of this.tourSelect.options) {
      const data = (this.manifest.tours || []).find((t) => t.id === option.value);
      option.textContent = this.pick(data?.title) || option.value;
    }
    this.wrongTour.textContent = wrong ? this.t('wrongTour', { tour: this.pick(this.tour?.title) || this.tourId }) : '';
    this.wrongTour.hidden = !wrong;
    const total = this.tour ? this.tour.stops.length : 0;
    const can = c.connected && !wrong && !ended;
    this.startButton.textContent = this.t('start');
    this.startButton.disabled = !can || running;
    this.previousButton.textContent = this.t('previous');
    this.previousButton.disabled = !can || !running || tour.stop <= 0;
    this.nextButton.textContent = this.t('next');
    this.nextButton.disabled = !can || !running || tour.stop >= total - 1;
    this.gatherButton.textContent = this.t('gather');
    this.gatherButton.disabled = !can || !running;
    this.pointerButton.textContent = this.t('pointer');
    this.pointerButton.setAttribute('aria-pressed', String(this.pointing));
    this.endButton.textContent = Date.now() < this.endArmedUntil ? this.t('confirmEnd') : this.t('end');
    this.endButton.disabled = !can || !running;
    this.newRunButton.textContent = this.t('newRun');
    this.newRunButton.hidden = !(c.finalClose && c.finalClose.code === 4006);

    this.stopsHeading.textContent = this.t('stops');
    const focusKey = document.activeElement?.dataset?.focusKey;
    const items = (this.tour ? this.tour.stops : []).map((stop) => {
      const current = running && stop.index === tour.stop;
      const go = this.button('tour-stop-button', () => (running ? this.client.advance(tour.stop, stop.index) : this.client.start(stop.index)), {
        'data-focus-key': `stop-${stop.index}`, 'aria-label': `${this.t('goToStop', { n: stop.index + 1 })}: ${this.stopTitle(stop)}`,
        'aria-current': current ? 'step' : null,
      });
      go.textContent = this.stopTitle(stop);
      go.disabled = !can || current;
      const link = this.viewer.copyLinkButton?.({ tour: this.tour.id, stop: stop.index });  // IIIF Content State
      return el('li', { class: current ? 'current' : null }, go, ...(link ? [link] : []));
    });
    this.stopList.replaceChildren(...items);

    const members = [...c.members.values()];
    this.peopleHeading.textContent = this.t('people', { n: members.length });
    const hands = members.filter((m) => m.hand).length;
    this.handsNote.textContent = hands ? this.t('handsUp', { n: hands }) : '';
    this.handsNote.hidden = !hands;
    this.memberList.replaceChildren(...members.map((member) => {
      const facts = [this.t(`role_${member.role}`), this.t(`device_${member.device}`)];
      if (member.id === tour.lead) facts.push(this.t('lead'));
      if (member.role === 'visitor') facts.push(member.following ? this.t('following') : this.t('notFollowing'));
      if (!member.online) facts.push(this.t('away'));
      const item = el('li', { class: 'tour-member', 'data-member': member.id, 'data-following': String(member.following), 'data-hand': String(member.hand) },
        el('span', { class: 'tour-member-name', text: member.id === c.member ? `${member.name} (${this.t('you')})` : member.name }),
        el('span', { class: 'tour-member-facts', text: facts.join(' · ') }));
      if (member.hand) {
        item.append(el('span', { class: 'tour-hand-badge', role: 'img', 'aria-label': this.t('handRaised'), text: '✋' }));
        const lower = this.button('tour-lower-hand', () => this.client.lowerHand(member.id), { 'data-focus-key': `lower-${member.id}` });
        lower.textContent = this.t('lowerHandOf', { name: member.name });
        lower.disabled = !can;
        item.append(lower);
      }
      if (member.role === 'guide' && member.id !== c.member && member.online && member.id !== tour.lead) {
        const handover = this.button('tour-handover', () => this.client.handover(member.id), { 'data-focus-key': `handover-${member.id}` });
        handover.textContent = this.t('makeLead', { name: member.name });
        handover.disabled = !can;
        item.append(handover);
      }
      return item;
    }));
    if (focusKey) this.panel.querySelector(`[data-focus-key="${focusKey}"]`)?.focus();
  }

  renderVisitor() {
    const c = this.client;
    const me = c.me;
    const following = me ? me.following : true;
    const ended = Boolean(c.finalClose) || c.tour.status === 'ended';
    this.followIndicator.textContent = following ? this.t('followingGuide') : this.t('lookingAround');
    this.followIndicator.dataset.following = String(following);
    this.followIndicator.hidden = ended;
    this.backButton.textContent = this.t('backToGuide');
    this.backButton.disabled = !c.connected || following || ended;
    const hand = Boolean(me && me.hand);
    this.handButton.textContent = hand ? this.t('lowerHand') : this.t('raiseHand');
    this.handButton.setAttribute('aria-pressed', String(hand));
    this.handButton.disabled = !c.connected || ended;
    this.leaveButton.textContent = this.t('leave');
    this.leaveButton.hidden = ended;
  }

  uiError(message) {
    this.automation.uiErrors.push(message);
    if (this.automation.uiErrors.length > 50) this.automation.uiErrors.shift();
  }

  /** window.__tour: plain data for tests and automation. */
  publish() {
    const c = this.client;
    const summary = c ? c.summary() : {};
    Object.assign(this.automation, summary, {
      role: c?.role || null, connected: Boolean(c?.connected), mounted: true, gliding: this.gliding > 0, glides: this.glides,
      posesSent: this.posesSent, posesReceived: this.posesReceived, pointing: this.pointing, narration: this.narration && { ...this.narration },
      ghost: this.lastGhost || null, grips: this.grips || 0, xrButtons: this.xrButtons || 0, arStops: this.arStops || 0,
      xrNotice: this.lastXRNotice || '', announcements: this.announcements.slice(), statusText: this.status.textContent,
      anchored: Boolean(this.anchor), serverNow: c ? c.serverNow() : null, tourId: this.tourId,
    });
  }
}
