// tour-client.js: the live-tour protocol client (docs/tour-protocol.md, version 1) — no DOM, only a socket and state.

export const PROTOCOL_VERSION = 1;

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10000;
const BACKOFF_JITTER = 0.25;
const POLICY_PAUSE_MS = 30000;      // after 1008 the server saw us misbehave: do not hammer it
// Refused for our network, not for us: too many connections or failed codes from this address (close 4007, HTTP 429,
// or 4001 "slow_down"). Museum Wi-Fi puts every visitor behind one address, so everyone waits a while, never
// earlier than the server's Retry-After, and with upward-only jitter so a whole class does not come back at once.
const REFUSED_FIRST_MS = 5000;
const REFUSED_MAX_MS = 120000;
const REFUSED_JITTER = 0.5;
const PING_EVERY_MS = 10000;
const PINGS_AT_JOIN = 5;
const PING_SPACING_MS = 120;
const CLOCK_SAMPLES_KEPT = 12;
const CLOCK_BEST_OF = 3;           // average the few lowest-RTT samples: one lucky sample can be skewed
const POSE_BACKLOG_BYTES = 16 * 1024;  // a pose is stale by the time a backlog this big drains; drop it instead

// Close codes after which coming back with the same credentials cannot help (docs/tour-protocol.md, "Close codes").
const FINAL_CLOSES = new Set([1000, 4000, 4001, 4003, 4004, 4006]);

/** The tour socket URL: `?server=` if the page names one, else /tours on the host that served the page. */
export function tourServerUrl(location = window.location) {
  const named = new URLSearchParams(location.search).get('server');
  if (named) return named;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/tours`;
}

/** Reads the guide token's payload (exhibit, tour, expiry) for display only; the server is what verifies it. */
export function peekGuideToken(token) {
  try {
    const part = String(token).split('.')[0].replace(/-/g, '+').replace(/_/g, '/');
    const padded = part + '='.repeat((4 - (part.length % 4)) % 4);
    const payload = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0))));
    return { exhibit: payload.ex, tour: payload.tour, expires: payload.exp };
  } catch {
    return null;
  }
}

/** Exponential backoff with ±25 % jitter: attempt 0 → ~0.5 s, then doubling, capped at 10 s. */
export function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
  return Math.round(base * (1 + BACKOFF_JITTER * (2 * random() - 1)));
}

/** The wait after the `refusals`-th refusal in a row: doubling from 5 s to 2 min, at least `atLeastMs`, jittered up. */
export function refusedDelay(refusals, atLeastMs = 0, random = Math.random) {
  const base = Math.max(atLeastMs, Math.min(REFUSED_MAX_MS, REFUSED_FIRST_MS * 2 ** refusals));
  return Math.round(base * (1 + REFUSED_JITTER * random()));
}

/** The plain-HTTP address of a websocket URL (ws: → http:, wss: → https:), where the server explains a refusal. */
export function probeUrl(url) {
  return String(url).replace(/^ws(s?):/i, 'http$1:');
}

/**
 * One member's connection to a tour. Events: 'state' (anything changed), 'welcome', 'snapshot', 'event' (each
 * applied event), 'pose', 'reply' (error or ignored, with `re`), 'connection' ({connected}), 'closed'
 * ({code, reason, reconnectInMs | null}), 'clock' ({offset, rtt}).
 */
export class TourClient {
  /**
   * @param {object} options
   *   url            websocket URL (tourServerUrl())
   *   credentials    {token, name?} for a guide, or {code, name} for a visitor
   *   device         'desktop' | 'phone' | 'vr' | 'ar'
   *   storage        optional Storage (sessionStorage) to keep the resume token across reloads
   *   storageKey     key for it
   *   WebSocketImpl, fetchImpl, now, random, setTimer, clearTimer: injectable for tests
   */
  constructor({ url, credentials, device = 'desktop', storage = null, storageKey = 'vitrina-tour-resume',
    WebSocketImpl = globalThis.WebSocket, fetchImpl = globalThis.fetch?.bind(globalThis), now = () => Date.now(),
    random = Math.random,
    setTimer = (fn, ms) => setTimeout(fn, ms), clearTimer = (id) => clearTimeout(id) } = {}) {
    this.url = url;
    this.credentials = credentials;
    this.device = device;
    this.storage = storage;
    this.storageKey = storageKey;
    this.WebSocketImpl = WebSocketImpl;
    this.fetchImpl = fetchImpl;
    this.now = now;
    this.random = random;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.listeners = new Map();

    this.socket = null;
    this.connected = false;      // welcomed on the current socket
    this.closedForGood = false;
    this.finalClose = null;      // {code, reason} when the client will not reconnect
    this.attempt = 0;
    this.refusals = 0;           // refusals for our network in a row (see REFUSED_FIRST_MS)
    this.refused = false;        // the pending reconnect waits out such a refusal
    this.reconnectTimer = null;
    this.pingTimers = [];
    this.nextId = 1;
    this.pendingPings = new Map();  // id -> local send time
    this.clockSamples = [];
    this.offset = 0;                // server time minus local time, ms
    this.rtt = null;
    this.clockSynced = false;

    this.member = null;
    this.role = null;
    this.exhibit = null;
    this.tourId = null;
    this.resumeToken = this.readStoredToken();
    this.limits = null;
    this.welcomes = 0;
    this.resumes = 0;

    this.synced = false;          // a snapshot (or a replay on top of our state) is in place
    this.held = [];               // events received before the snapshot
    this.seq = 0;
    this.tour = { status: 'waiting', stop: null, start_at: null, lead: null, gather: null, stops: null };
    this.members = new Map();
    this.pose = null;             // the latest guide pose received
    this.errors = [];             // error replies and transport problems, newest last
    this.ignored = [];            // ignored replies (stale advance and such): harmless, kept for the UI and tests
    this.gaps = 0;
  }

  // ── events ──────────────────────────────────────────────────────────────────────────────────────────────────

  on(event, callback) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(callback);
    return () => this.listeners.get(event)?.delete(callback);
  }

  emit(event, detail) {
    for (const callback of this.listeners.get(event) || []) {
      try { callback(detail); } catch (error) { this.noteError('listener', `${event}: ${error}`); }
    }
  }

  noteError(code, message, extra = {}) {
    this.errors.push({ code, message, at: this.now(), ...extra });
    if (this.errors.length > 50) this.errors.shift();
  }

  // ── connection ──────────────────────────────────────────────────────────────────────────────────────────────

  connect() {
    this.closedForGood = false;
    this.finalClose = null;
    this.open();
  }

  open() {
    this.clearTimer(this.reconnectTimer);
    this.reconnectTimer = null;
    let socket;
    try {
      socket = new this.WebSocketImpl(this.url);
    } catch (error) {
      this.noteError('connect', String(error));
      this.scheduleReconnect(null);
      return;
    }
    this.socket = socket;
    let opened = false;
    socket.addEventListener('open', () => { opened = true; if (this.socket === socket) this.sendHello(); });
    socket.addEventListener('message', (message) => { if (this.socket === socket) this.receive(message.data); });
    socket.addEventListener('close', (event) => {
      if (this.socket === socket) this.onClose(event.code, event.reason, opened);
    });
    // 'error' is always followed by 'close', which decides what happens next.
  }

  sendHello() {
    const hello = { type: 'hello', v: PROTOCOL_VERSION, device: this.device };
    if (this.resumeToken) {
      hello.resume = { token: this.resumeToken };
      // Only a client holding a consistent state may ask for a replay; otherwise the snapshot path is the safe one.
      if (this.synced) hello.resume.seq = this.seq;
      this.resuming = true;
    } else if (this.credentials.token) {
      hello.token = this.credentials.token;
      if (this.credentials.name) hello.name = this.credentials.name;
      this.resuming = false;
    } else {
      hello.code = this.credentials.code;
      hello.name = this.credentials.name;
      this.resuming = false;
    }
    this.rawSend(hello);
  }

  /** Leave for good (the server publishes member_left and closes with 1000). */
  leave() {
    this.closedForGood = true;
    this.forgetResumeToken();
    if (this.connected) this.rawSend({ type: 'leave' });
    else this.socket?.close(1000);
    this.stopTimers();
  }

  /** Close without leaving (as a dropped connection would): the server keeps us for the grace window. */
  disconnect() {
    this.closedForGood = true;
    this.stopTimers();
    this.socket?.close(4999, 'client disconnect');
  }

  /** Simulate a network drop: close the socket and let the reconnect logic resume (used by tests and on 'offline'). */
  drop() {
    this.socket?.close(4998, 'dropped');
  }

  onClose(code, reason, opened = true) {
    const wasConnected = this.connected;
    this.connected = false;
    this.socket = null;
    this.stopTimers();
    if (wasConnected) this.emit('connection', { connected: false });
    if (!this.closedForGood && (code === 4007 || (code === 4001 && reason === 'slow_down'))) {
      this.scheduleRefused(code, reason);
      return;
    }
    if (!this.closedForGood && !opened) {
      // The handshake failed: a browser cannot read its HTTP status, so ask the server with a plain GET.
      this.probeRefusal(code, reason);
      return;
    }
    // A resume token the server no longer accepts: fall back once to the original credentials.
    if (code === 4001 && this.resuming && (this.credentials.token || this.credentials.code)) {
      this.forgetResumeToken();
      this.synced = false;
      this.emit('closed', { code, reason, reconnectInMs: 0 });
      this.open();
      return;
    }
    if (this.closedForGood || FINAL_CLOSES.has(code)) {
      this.closedForGood = true;
      this.finalClose = { code, reason };
      if (code === 4006 || code === 1000) this.forgetResumeToken();
      this.emit('closed', { code, reason, reconnectInMs: null });
      this.emit('state');
      return;
    }
    this.scheduleReconnect(code, reason);
  }

  /** After a failed handshake: a 429 (with its Retry-After) is a refusal for our network; anything else, a drop. */
  async probeRefusal(code, reason) {
    let retryAfterMs = null;
    if (this.fetchImpl) {
      try {
        const response = await this.fetchImpl(probeUrl(this.url), { cache: 'no-store' });
        if (response.status === 429) retryAfterMs = 1000 * (Number(response.headers.get('Retry-After')) || 0);
      } catch {
        // unreachable server, CORS: nothing learned; the ordinary backoff applies
      }
    }
    if (this.closedForGood || this.socket || this.reconnectTimer) return;  // left or reconnected meanwhile
    if (retryAfterMs === null) this.scheduleReconnect(code, reason);
    else this.scheduleRefused(code, 'too_many', retryAfterMs);
  }

  scheduleRefused(code, reason, atLeastMs = 0) {
    const delay = refusedDelay(this.refusals, atLeastMs, this.random);
    this.refusals += 1;
    this.refused = true;
    this.reconnectTimer = this.setTimer(() => this.open(), delay);
    this.noteError('refused', `${code} ${reason}`);
    this.emit('closed', { code, reason, reconnectInMs: delay, refused: true });
    this.emit('state');
  }

  scheduleReconnect(code, reason = '') {
    this.refused = false;
    let delay;
    if (this.shutdownHint != null) {
      delay = Math.round(this.shutdownHint * (1 + BACKOFF_JITTER * (2 * this.random() - 1)));
      this.shutdownHint = null;
    } else if (code === 1008) {
      delay = POLICY_PAUSE_MS;
    } else {
      delay = backoffDelay(this.attempt, this.random);
    }
    this.attempt += 1;
    this.reconnectTimer = this.setTimer(() => this.open(), delay);
    this.emit('closed', { code, reason, reconnectInMs: delay });
    this.emit('state');
  }

  stopTimers() {
    for (const timer of this.pingTimers) this.clearTimer(timer);
    this.pingTimers = [];
    this.pendingPings.clear();
  }

  rawSend(message) {
    if (!this.socket || this.socket.readyState !== 1) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /** Send a command; returns its id (replies — error or ignored — come back as 'reply' with `re` = id), or null. */
  send(type, fields = {}) {
    if (!this.connected) return null;
    const id = this.nextId++;
    return this.rawSend({ type, id, ...fields }) ? id : null;
  }

  /**
   * Send a guide pose: head {p, q}, pointer {o, d} | null. Lossy by design: skipped when not joined or when the
   * socket has a backlog, since the next pose supersedes this one anyway.
   */
  sendPose(head, pointer = null, room = null) {
    if (!this.connected || this.role !== 'guide') return false;
    if (this.socket.bufferedAmount > POSE_BACKLOG_BYTES) return false;
    const pose = { type: 'pose', t: this.now(), head, pointer };
    if (room) pose.room = room;
    return this.rawSend(pose);
  }

  // ── guide and member commands ────────────────────────────────────────────────────────────────────────────────

  start(stop = 0) { return this.send('start', { stop }); }
  /** Next/previous name the stop they move from, so a double click is harmless (the server answers "stale"). */
  advance(from, to = from + 1) { return this.send('advance', { from, to }); }
  next() { return this.tour.stop == null ? null : this.advance(this.tour.stop, this.tour.stop + 1); }
  previous() { return this.tour.stop == null ? null : this.advance(this.tour.stop, this.tour.stop - 1); }
  gather(position, yaw, room) { return this.send('gather', room ? { position, yaw, room } : { position, yaw }); }
  handover(memberId) { return this.send('handover', { to: memberId }); }
  end() { return this.send('end'); }
  follow(following) { return this.send('follow', { following: Boolean(following) }); }
  hand(raised) { return this.send('hand', { raised: Boolean(raised) }); }
  /** A guide lowers someone else's raised hand (the server refuses it from a visitor). */
  lowerHand(memberId) { return this.send('hand', { raised: false, member: memberId }); }
  /**
   * The device changed (entering or leaving VR/AR). Kept for the next hello (a resume carries it), and sent now
   * when joined and the server's view of us differs, so the guides' member list shows it.
   */
  setDevice(device) {
    this.device = device;
    if (!this.connected || (this.me && this.me.device === device)) return null;
    return this.send('device', { device });
  }
  /** Ask for a fresh snapshot (when the state is in doubt); events are held until it lands. */
  sync() {
    const id = this.send('sync');
    if (id !== null) { this.synced = false; this.held = []; }
    return id;
  }

  // ── clock ────────────────────────────────────────────────────────────────────────────────────────────────────

  /** The server's clock now, as estimated from the lowest-round-trip pings. */
  serverNow() { return this.now() + this.offset; }
  /** The local Date.now() value at which a server time happens. */
  toLocal(serverTime) { return serverTime - this.offset; }

  ping() {
    if (!this.connected) return;
    const id = this.nextId++;
    const t = this.now();
    this.pendingPings.set(id, t);
    this.rawSend({ type: 'ping', id, t });
  }

  startClock() {
    for (let i = 0; i < PINGS_AT_JOIN; i++) this.pingTimers.push(this.setTimer(() => this.ping(), i * PING_SPACING_MS));
    const every = () => { this.ping(); this.pingTimers.push(this.setTimer(every, PING_EVERY_MS)); };
    this.pingTimers.push(this.setTimer(every, PING_EVERY_MS));
  }

  onPong(message) {
    const received = this.now();
    const sent = this.pendingPings.get(message.re) ?? message.t;
    this.pendingPings.delete(message.re);
    if (typeof sent !== 'number' || typeof message.server_time !== 'number') return;
    const rtt = received - sent;
    this.clockSamples.push({ rtt, offset: message.server_time - (sent + received) / 2 });
    if (this.clockSamples.length > CLOCK_SAMPLES_KEPT) this.clockSamples.shift();
    const best = [...this.clockSamples].sort((a, b) => a.rtt - b.rtt).slice(0, CLOCK_BEST_OF);
    this.offset = best.reduce((sum, sample) => sum + sample.offset, 0) / best.length;
    this.rtt = best[0].rtt;
    this.clockSynced = true;
    this.emit('clock', { offset: this.offset, rtt: this.rtt });
  }

  // ── incoming ─────────────────────────────────────────────────────────────────────────────────────────────────

  receive(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      this.noteError('bad_frame', 'the server sent a frame that is not JSON');
      return;
    }
    switch (message.type) {
      case 'welcome': this.onWelcome(message); break;
      case 'snapshot': this.onSnapshot(message); break;
      case 'event': this.onEvent(message); break;
      case 'pose': this.onPose(message); break;
      case 'pong': this.onPong(message); break;
      case 'error':
        this.noteError(message.code, message.message, { re: message.re ?? null });
        this.emit('reply', message);
        this.emit('state');
        break;
      case 'ignored':
        this.ignored.push(message);
        if (this.ignored.length > 50) this.ignored.shift();
        this.emit('reply', message);
        break;
      case 'shutdown':
        this.shutdownHint = Number(message.reconnect_after_ms) || BACKOFF_FIRST_MS;
        this.emit('shutdown', message);
        break;
      default: break;  // unknown types from a newer server are ignored, as unknown fields are
    }
  }

  onWelcome(message) {
    this.connected = true;
    this.attempt = 0;
    this.refusals = 0;
    this.refused = false;
    this.welcomes += 1;
    if (message.resumed) this.resumes += 1;
    this.member = message.member;
    this.role = message.role;
    this.exhibit = message.exhibit;
    this.tourId = message.tour;
    this.limits = message.limits || null;
    this.resumeToken = message.resume_token;
    this.storeResumeToken();
    if (!this.clockSynced && typeof message.server_time === 'number') this.offset = message.server_time - this.now();
    if (!message.replay) {
      // A snapshot follows; anything before it is held.
      this.synced = false;
      this.held = [];
    }
    this.startClock();
    this.emit('welcome', message);
    this.emit('connection', { connected: true });
    this.emit('state');
  }

  onSnapshot(message) {
    const tour = message.tour || {};
    this.seq = message.seq;
    this.tour = {
      status: tour.status, stop: tour.stop, start_at: tour.start_at, lead: tour.lead,
      gather: tour.gather || null, stops: tour.stops ?? null,
    };
    this.members = new Map((message.members || []).map((member) => [member.id, { ...member }]));
    this.visitorCount = message.visitors ?? null;  // visitors get a count instead of the other visitors' entries
    this.synced = true;
    if (message.pose) this.pose = message.pose;
    const held = this.held.filter((event) => event.seq > this.seq).sort((a, b) => a.seq - b.seq);
    this.held = [];
    this.emit('snapshot', message);
    if (message.pose) this.emit('pose', message.pose);
    for (const event of held) this.onEvent(event);
    // The device may have changed between our hello and the welcome (entering VR while reconnecting).
    if (this.me && this.me.device !== this.device) this.send('device', { device: this.device });
    this.emit('state');
  }

  onEvent(event) {
    if (!this.synced) {
      this.held.push(event);
      return;
    }
    if (event.seq <= this.seq) return;  // a duplicate after a resume
    // The socket delivers events in order and complete; a jump in seq is other visitors' presence, which the
    // server sends only to guides (docs/tour-protocol.md, "Who gets what"), not loss. Counted, never resynced.
    if (event.seq > this.seq + 1) this.gaps += 1;
    this.apply(event);
    this.seq = event.seq;
    this.emit('event', event);
    this.emit('state');
  }

  /** The same state transitions as viewer/tours/session.py TourState.apply. */
  apply(event) {
    const setMember = (id, values) => { const member = this.members.get(id); if (member) Object.assign(member, values); };
    switch (event.kind) {
      case 'member_joined': this.members.set(event.member.id, { ...event.member }); break;
      case 'member_away': setMember(event.member, { online: false }); break;
      case 'member_back': setMember(event.member, { online: true, device: event.device }); break;
      case 'member_left': this.members.delete(event.member); break;
      case 'lead_changed': this.tour.lead = event.lead; break;
      case 'tour_started':
      case 'stop_changed':
        Object.assign(this.tour, { status: 'running', stop: event.stop, start_at: event.start_at, gather: null });
        break;
      case 'gather':
        this.tour.gather = { by: event.by, position: event.position, yaw: event.yaw, room: event.room, start_at: event.start_at };
        for (const member of this.members.values()) if (member.role === 'visitor') member.following = true;
        break;
      case 'following_changed': setMember(event.member, { following: event.following }); break;
      case 'hand_raised': setMember(event.member, { hand: true }); break;
      case 'hand_lowered': setMember(event.member, { hand: false }); break;
      case 'device_changed': setMember(event.member, { device: event.device }); break;
      case 'tour_ended':
        Object.assign(this.tour, { status: 'ended', stop: null, start_at: null, lead: null, gather: null });
        this.members.clear();
        break;
      default: break;  // a kind from a newer server: the seq still advances
    }
  }

  onPose(pose) {
    this.pose = pose;
    this.emit('pose', pose);
  }

  // ── resume token storage ─────────────────────────────────────────────────────────────────────────────────────

  readStoredToken() {
    try { return this.storage?.getItem(this.storageKey) || null; } catch { return null; }
  }

  storeResumeToken() {
    try { this.storage?.setItem(this.storageKey, this.resumeToken); } catch { /* private mode: memory only */ }
  }

  forgetResumeToken() {
    this.resumeToken = null;
    try { this.storage?.removeItem(this.storageKey); } catch { /* nothing stored */ }
  }

  // ── reading ──────────────────────────────────────────────────────────────────────────────────────────────────

  get me() { return this.members.get(this.member) || null; }

  /** Plain data for window.__tour and tests. */
  summary() {
    return {
      role: this.role, connected: this.connected, member: this.member, seq: this.seq, synced: this.synced,
      status: this.tour.status, stop: this.tour.stop, startAt: this.tour.start_at, lead: this.tour.lead,
      gather: this.tour.gather, following: this.me ? this.me.following : null, hand: this.me ? this.me.hand : null,
      members: [...this.members.values()].map((m) => ({ ...m })),
      hands: [...this.members.values()].filter((m) => m.hand).map((m) => m.id),
      offset: this.offset, rtt: this.rtt, clockSynced: this.clockSynced, welcomes: this.welcomes, resumes: this.resumes,
      gaps: this.gaps, visitorCount: this.visitorCount ?? null, finalClose: this.finalClose, errors: this.errors.map((e) => ({ ...e })),
      ignored: this.ignored.map((e) => ({ ...e })),
    };
  }
}
