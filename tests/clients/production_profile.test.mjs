// The production NATS profile (deploy/nats/production) from Node.js: an application's user
// receives replies only under its own inbox prefix (nats.js `inboxPrefix`). NATS_HOST_PORT points
// at a server with that profile and a worker; the development passwords are users.conf's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, JSONCodec } from 'nats';

const jc = JSONCodec();
const server = process.env.NATS_HOST_PORT;
const run = `prod${process.pid}${Date.now()}`;

test('chat-app calls ChatRoom with its own inbox prefix', async () => {
  const nc = await connect({ servers: server, user: 'chat-app', pass: 'chat-app-dev',
                             inboxPrefix: '_INBOX.chat-app' });
  try {
    const reply = await nc.request(`obj.ChatRoom.${run}.join`, jc.encode({ user: 'ada' }),
                                   { timeout: 10000 });
    assert.equal(reply.headers?.get('Dobj-Status'), 'ok');
    assert.deepEqual(jc.decode(reply.data), { members: 1 });
  } finally {
    await nc.close();
  }
});

test('without its prefix chat-app gets no reply, and the server says why', async () => {
  const nc = await connect({ servers: server, user: 'chat-app', pass: 'chat-app-dev' });
  try {
    // nats.js fails the request with the server's permissions violation on its reply inbox.
    await assert.rejects(nc.request(`obj.ChatRoom.${run}.history`, jc.encode({}), { timeout: 2000 }),
                         (e) => e.code === 'PERMISSIONS_VIOLATION' || /Permissions Violation/i.test(e.message));
  } finally {
    await nc.close();
  }
});

test('chat-app may not call Lock', async () => {
  const nc = await connect({ servers: server, user: 'chat-app', pass: 'chat-app-dev',
                             inboxPrefix: '_INBOX.chat-app' });
  try {
    await assert.rejects(nc.request(`obj.Lock.${run}.acquire`,
                                    jc.encode({ holder: 'eve', ttl_ms: 1000 }), { timeout: 2000 }));
  } finally {
    await nc.close();
  }
});
