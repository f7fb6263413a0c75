// Any NATS client works: this test speaks dobj's wire protocol (schemas/protocol.md) with the
// plain `nats` npm package and no dobj code. NATS_URL points at a server with dobj's config and
// a worker hosting the example classes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, headers, JSONCodec } from 'nats';
import { encode, decode } from '@msgpack/msgpack';

const nc = await connect({ servers: process.env.NATS_URL });
after(() => nc.close());
const jc = JSONCodec();
const run = `node${process.pid}${Date.now()}`;

async function call(cls, id, method, arg, { msgpack = false } = {}) {
  const h = headers();
  let body = new Uint8Array();
  if (msgpack) {
    h.set('Content-Type', 'application/msgpack');
    if (arg !== undefined) body = encode(arg);
  } else if (arg !== undefined) {
    body = jc.encode(arg);
  }
  const reply = await nc.request(`obj.${cls}.${id}.${method}`, body, { headers: h, timeout: 10000 });
  const status = reply.headers?.get('Dobj-Status');
  const type = reply.headers?.get('Content-Type');
  const value = reply.data.length === 0 ? null
    : type === 'application/msgpack' ? decode(reply.data) : jc.decode(reply.data);
  return { status, type, value };
}

test('Counter over JSON', async () => {
  const id = `${run}-json`;
  assert.deepEqual(await call('Counter', id, 'get'), { status: 'ok', type: 'application/json', value: 0 });
  assert.equal((await call('Counter', id, 'inc', { by: 5 })).value, 5);
  assert.equal((await call('Counter', id, 'inc')).value, 6);
  assert.equal((await call('Counter', id, 'reset')).value, null);
  assert.equal((await call('Counter', id, 'get')).value, 0);
});

test('Counter over msgpack', async () => {
  const id = `${run}-mp`;
  const r = await call('Counter', id, 'inc', { by: 7 }, { msgpack: true });
  assert.equal(r.status, 'ok');
  assert.equal(r.type, 'application/msgpack');
  assert.equal(r.value, 7);
  assert.equal((await call('Counter', id, 'get', undefined, { msgpack: true })).value, 7);
});

test('errors follow the protocol', async () => {
  const r = await call('Counter', `${run}-err`, 'inc', { by: 'x' });
  assert.equal(r.status, 'error');
  assert.equal(r.value.error.code, 'bad_request');
  assert.equal(r.value.error.retryable, false);
  const m = await call('Counter', `${run}-err`, 'nope', undefined, { msgpack: true });
  assert.equal(m.value.error.code, 'no_such_method');
});

for (const msgpack of [false, true]) {
  test(`ChatRoom with events (${msgpack ? 'msgpack' : 'JSON'})`, async () => {
    const room = `${run}-room-${msgpack ? 'mp' : 'js'}`;
    const sub = nc.subscribe(`evt.ChatRoom.${room}.>`, { max: 2 });
    await nc.flush();
    const events = (async () => {
      const got = [];
      for await (const m of sub) got.push({ subject: m.subject, body: jc.decode(m.data) });
      return got;
    })();
    assert.deepEqual((await call('ChatRoom', room, 'join', { user: 'ada' }, { msgpack })).value, { members: 1 });
    assert.deepEqual((await call('ChatRoom', room, 'join', { user: 'bob' }, { msgpack })).value, { members: 2 });
    assert.deepEqual((await call('ChatRoom', room, 'post', { user: 'ada', text: 'hello' }, { msgpack })).value, { seq: 1 });
    assert.deepEqual((await call('ChatRoom', room, 'post', { user: 'bob', text: 'hi ada' }, { msgpack })).value, { seq: 2 });
    const history = (await call('ChatRoom', room, 'history', { limit: 10 }, { msgpack })).value;
    assert.deepEqual(history, [
      { seq: 1, user: 'ada', text: 'hello' },
      { seq: 2, user: 'bob', text: 'hi ada' },
    ]);
    assert.deepEqual(await events, [
      { subject: `evt.ChatRoom.${room}.message`, body: { seq: 1, user: 'ada', text: 'hello' } },
      { subject: `evt.ChatRoom.${room}.message`, body: { seq: 2, user: 'bob', text: 'hi ada' } },
    ]);
  });
}
