// Drives viewer/static/js/tour-client.js through refusals (close 4007, 4001 slow_down, a handshake refused with
// HTTP 429) with a fake socket, fake timers and a fake fetch, and prints what the client and the panel did as JSON.
import { TourClient, probeUrl } from '../../viewer/static/js/tour-client.js';
import { STRINGS, connectionText, translate } from '../../viewer/static/js/tour-ui.js';

class FakeSocket {
  static last = null;
  constructor(url) { this.url = url; this.listeners = {}; this.sent = []; FakeSocket.last = this; }
  addEventListener(type, fn) { (this.listeners[type] ||= []).push(fn); }
  send(data) { this.sent.push(JSON.parse(data)); }
  close() {}
  fire(type, detail = {}) { for (const fn of this.listeners[type] || []) fn(detail); }
}

function harness(fetchAnswer) {
  const timers = [];
  const probes = [];
  const closed = [];
  const client = new TourClient({
    url: 'wss://museum.example/tours', credentials: { code: 'ABCDEFGHJ', name: 'Ana' }, WebSocketImpl: FakeSocket,
    random: () => 0, now: () => 0,
    setTimer: (fn, ms) => { timers.push(ms); return timers.length; }, clearTimer: () => {},
    fetchImpl: async (url) => {
      probes.push(url);
      if (fetchAnswer instanceof Error) throw fetchAnswer;
      return { status: fetchAnswer.status, headers: { get: (name) => (name === 'Retry-After' ? fetchAnswer.retryAfter : null) } };
    },
  });
  client.on('closed', (detail) => closed.push(detail));
  client.connect();
  return { client, timers, probes, closed };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
const texts = (client, closed) => Object.fromEntries(Object.keys(STRINGS).map((language) => [language,
  connectionText(client, closed.at(-1)?.reconnectInMs, (key, params) => translate(language, key, params))]));
const out = {};

// The per-source member cap after the hello: close 4007, twice in a row.
{
  const { client, timers, closed } = harness({ status: 426 });
  FakeSocket.last.fire('open');
  FakeSocket.last.fire('close', { code: 4007, reason: 'source_limit' });
  client.reconnectTimer = null;
  client.open();
  FakeSocket.last.fire('open');
  FakeSocket.last.fire('close', { code: 4007, reason: 'source_limit' });
  out.sourceLimit = { delays: timers, refused: client.refused, final: client.finalClose, texts: texts(client, closed) };
}

// Failed-hello backoff: 4001 with reason slow_down is a wait, not a bad code.
{
  const { client, timers, closed } = harness({ status: 426 });
  FakeSocket.last.fire('open');
  FakeSocket.last.fire('close', { code: 4001, reason: 'slow_down' });
  out.slowDown = { delays: timers, refused: client.refused, final: client.finalClose, texts: texts(client, closed) };
}

// A bad code stays final.
{
  const { client } = harness({ status: 426 });
  FakeSocket.last.fire('open');
  FakeSocket.last.fire('close', { code: 4001, reason: 'unauthorized' });
  out.badCode = { final: client.finalClose };
}

// The handshake refused with HTTP 429 (the browser sees only 1006): the probe reads Retry-After.
{
  const { client, timers, probes, closed } = harness({ status: 429, retryAfter: '40' });
  FakeSocket.last.fire('close', { code: 1006, reason: '' });
  await flush();
  out.handshake429 = { delays: timers, probes, refused: client.refused, texts: texts(client, closed) };
}

// A handshake that fails for another reason (server down: the probe fails too): the ordinary quick backoff.
{
  const { client, timers, closed } = harness(new TypeError('network'));
  FakeSocket.last.fire('close', { code: 1006, reason: '' });
  await flush();
  out.serverDown = { delays: timers, refused: client.refused, texts: texts(client, closed) };
}

// A drop after the connection was open is not probed.
{
  const { client, timers, probes, closed } = harness({ status: 429, retryAfter: '40' });
  FakeSocket.last.fire('open');
  FakeSocket.last.fire('close', { code: 1006, reason: '' });
  await flush();
  out.drop = { delays: timers, probes, refused: client.refused, texts: texts(client, closed) };
}

// A welcome after refusals starts the refusal backoff over.
{
  const { client } = harness({ status: 426 });
  FakeSocket.last.fire('open');
  FakeSocket.last.fire('close', { code: 4007, reason: 'source_limit' });
  client.reconnectTimer = null;
  client.open();
  FakeSocket.last.fire('open');
  FakeSocket.last.fire('message', { data: JSON.stringify({ type: 'welcome', v: 1, member: 'm1', role: 'visitor', resume_token: 'r', limits: {}, server_time: 0 }) });
  out.afterWelcome = { refusals: client.refusals, refused: client.refused };
}

out.probeUrls = [probeUrl('wss://a.example/tours'), probeUrl('ws://127.0.0.1:8765/tours')];
process.stdout.write(JSON.stringify(out));
