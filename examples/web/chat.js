// The ChatRoom page: a plain NATS client in the browser (nats.ws), no dobj code. It speaks the
// protocol of schemas/protocol.md: requests on obj.ChatRoom.<room>.<method> with JSON bodies,
// replies whose Dobj-Status header says ok or error, events on evt.ChatRoom.<room>.message.
import { connect, JSONCodec, Events } from './vendor/nats.js';

const kRequestTimeoutMs = 5000;
const kHistoryLimit = 200;
// schemas/protocol.md: object ids and the ChatRoom's user names (schemas/examples.md).
const kIdPattern = /^[A-Za-z0-9_=:@+-]{1,200}$/;
const kMaxUserBytes = 128;

const jc = JSONCodec();
const utf8 = new TextEncoder();
const $ = (id) => document.getElementById(id);

const params = new URLSearchParams(location.search);
const room = params.get('room') || 'lobby';
$('room').textContent = room;
$('user').value = params.get('user') || `guest-${Math.random().toString(16).slice(2, 6)}`;

function setStatus(state, text) {
  $('status').dataset.state = state;
  $('status').textContent = text;
}

// A protocol error reply becomes an Error carrying the protocol's code.
class CallError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

// Messages by sequence number: history and live events overlap, and a reconnect reloads
// history, so the same message may arrive twice and is shown once, in order.
const shown = new Map();
function show({ seq, user, text }) {
  if (!Number.isInteger(seq) || shown.has(seq)) return;
  const li = document.createElement('li');
  li.dataset.seq = String(seq);
  const number = document.createElement('span');
  number.className = 'seq';
  number.textContent = `#${seq}`;
  const who = document.createElement('span');
  who.className = 'user';
  who.textContent = String(user);
  // textContent, never innerHTML: a message is text whatever it contains.
  li.append(number, who, document.createTextNode(String(text)));
  const later = [...shown.keys()].filter((s) => s > seq).sort((a, b) => a - b)[0];
  $('messages').insertBefore(li, later === undefined ? null : shown.get(later));
  shown.set(seq, li);
  const list = $('messages');
  list.scrollTop = list.scrollHeight;
}

async function main() {
  if (!kIdPattern.test(room)) {
    setStatus('failed', `"${room}" is not a valid object id (1–200 of A–Z a–z 0–9 _ = : @ + -)`);
    return;
  }
  const { natsWsUrl } = await (await fetch('config.json')).json();
  const nc = await connect({ servers: natsWsUrl, maxReconnectAttempts: -1 });

  async function call(method, arg) {
    const reply = await nc.request(`obj.ChatRoom.${room}.${method}`, jc.encode(arg), {
      timeout: kRequestTimeoutMs,
    });
    const value = reply.data.length === 0 ? null : jc.decode(reply.data);
    if (reply.headers?.get('Dobj-Status') !== 'ok') {
      throw new CallError(value?.error?.code ?? 'unknown', value?.error?.message ?? 'no reply body');
    }
    return value;
  }
  async function loadHistory() {
    for (const message of await call('history', { limit: kHistoryLimit })) show(message);
  }

  // Subscribe before reading history: a message posted in between is then seen either way.
  const events = nc.subscribe(`evt.ChatRoom.${room}.message`);
  (async () => {
    for await (const m of events) show(jc.decode(m.data));
  })();
  await nc.flush();
  await loadHistory();
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === Events.Disconnect) setStatus('connecting', 'reconnecting…');
      if (s.type === Events.Reconnect) {
        // Events published while disconnected are gone (they are at most once): fill the gap.
        await loadHistory().catch(() => {});
        setStatus('connected', `in room ${room}`);
      }
    }
  })();

  let joined = null;
  $('compose').addEventListener('submit', async (e) => {
    e.preventDefault();
    const user = $('user').value.trim();
    const text = $('text').value;
    $('error').textContent = '';
    if (user.length === 0 || utf8.encode(user).length > kMaxUserBytes) {
      $('error').textContent = `a name is 1–${kMaxUserBytes} bytes`;
      return;
    }
    $('send').disabled = true;
    try {
      if (joined !== user) {
        await call('join', { user });
        joined = user;
      }
      const { seq } = await call('post', { user, text });
      // The event shows it too; showing it now spares a round trip when events lag.
      show({ seq, user, text });
      $('text').value = '';
    } catch (err) {
      $('error').textContent = `not sent: ${err.message}`;
    } finally {
      $('send').disabled = false;
      $('text').focus();
    }
  });
  $('send').disabled = false;
  setStatus('connected', `in room ${room}`);
}

main().catch((err) => setStatus('failed', `cannot reach dobj: ${err.message}`));
