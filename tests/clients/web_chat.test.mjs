// examples/web in a real browser: headless Chromium (Debian's chromium package) driven by
// puppeteer-core opens the ChatRoom page in two tabs. The page reaches dobj through NATS's
// websocket listener with nats.ws; this test seeds and checks through plain NATS.
//   WEB_URL        the page, served by examples/web/serve.mjs
//   NATS_URL       the same NATS server over TCP
//   ARTIFACTS_DIR  where the screenshot goes
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { connect, JSONCodec } from 'nats';
import puppeteer from 'puppeteer-core';

const kWaitMs = 15000;
const web = process.env.WEB_URL;
const artifacts = process.env.ARTIFACTS_DIR;
const room = `web${process.pid}x${Date.now()}`;
const jc = JSONCodec();

let nc;
let browser;
before(async () => {
  nc = await connect({ servers: process.env.NATS_URL });
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    // Root (CI) cannot use Chromium's sandbox; /dev/shm may be small in containers. Both tabs
    // are live at once, as two windows on a desk are: no throttling of the one behind.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-renderer-backgrounding',
           '--disable-background-timer-throttling', '--disable-backgrounding-occluded-windows'],
  });
});
after(async () => {
  await browser?.close();
  await nc?.close();
});

async function call(method, arg) {
  const reply = await nc.request(`obj.ChatRoom.${room}.${method}`, jc.encode(arg), { timeout: 10000 });
  assert.equal(reply.headers?.get('Dobj-Status'), 'ok');
  return jc.decode(reply.data);
}

// A tab on the page, with every script error and console error it shows collected.
async function open(query) {
  const page = await browser.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && page.problems.push(`console: ${m.text()}`));
  page.on('response', (r) => r.status() >= 400 && page.problems.push(`${r.status()}: ${r.url()}`));
  await page.goto(`${web}?${new URLSearchParams(query)}`);
  return page;
}

async function connected(page) {
  await page.waitForSelector('#status[data-state="connected"]', { timeout: kWaitMs });
}

// The messages a tab shows, in the order it shows them.
function messages(page) {
  return page.$$eval('#messages li', (items) =>
    items.map((li) => ({
      seq: Number(li.dataset.seq),
      user: li.querySelector('.user').textContent,
      text: li.lastChild.textContent,
    })));
}

async function waitForSeq(page, seq) {
  await page.waitForSelector(`#messages li[data-seq="${seq}"]`, { timeout: kWaitMs });
}

async function post(page, text) {
  // Input reaches the tab in front only: a background tab's renderer waits for a frame.
  await page.bringToFront();
  await page.type('#text', text);
  await page.click('#send');
}

test('two tabs chat in real time and see the history on load', async () => {
  await call('join', { user: 'carol' });
  assert.deepEqual(await call('post', { user: 'carol', text: 'posted before the page opened' }), { seq: 1 });

  const alice = await open({ room, user: 'alice' });
  const bob = await open({ room, user: 'bob' });
  await connected(alice);
  await connected(bob);
  const first = [{ seq: 1, user: 'carol', text: 'posted before the page opened' }];
  assert.deepEqual(await messages(alice), first);
  assert.deepEqual(await messages(bob), first);

  await post(alice, 'hello bob');
  await waitForSeq(bob, 2);
  // Markup in a message stays text: no element is made of it and no script runs.
  const hostile = '<img src=x onerror="window.pwned=1"> & <b>bold</b>';
  await post(bob, hostile);
  await waitForSeq(alice, 3);
  // From outside the page: arrives by the event alone.
  await call('post', { user: 'carol', text: 'ünïcødé ✓' });
  await waitForSeq(alice, 4);
  await waitForSeq(bob, 4);

  const all = [
    ...first,
    { seq: 2, user: 'alice', text: 'hello bob' },
    { seq: 3, user: 'bob', text: hostile },
    { seq: 4, user: 'carol', text: 'ünïcødé ✓' },
  ];
  assert.deepEqual(await messages(alice), all);
  assert.deepEqual(await messages(bob), all);
  for (const page of [alice, bob]) {
    assert.equal(await page.$$eval('#messages img, #messages b', (found) => found.length), 0);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
  }
  // The room itself agrees, and a reloaded tab shows it all from history.
  assert.equal((await call('history', { limit: 10 })).length, 4);
  await bob.reload();
  await connected(bob);
  assert.deepEqual(await messages(bob), all);

  if (artifacts) {
    mkdirSync(artifacts, { recursive: true });
    await alice.screenshot({ path: `${artifacts}/web-chat.png`, fullPage: true });
  }
  assert.deepEqual(alice.problems, []);
  assert.deepEqual(bob.problems, []);
});

test('a bad room id or name is refused on the page, and nothing is sent', async () => {
  const bad = await open({ room: 'not a valid id!', user: 'eve' });
  await bad.waitForSelector('#status[data-state="failed"]', { timeout: kWaitMs });
  assert.match(await bad.$eval('#status', (e) => e.textContent), /not a valid object id/);

  const page = await open({ room, user: 'x'.repeat(129) });
  await connected(page);
  await post(page, 'too long a name');
  await page.waitForFunction(() => document.getElementById('error').textContent !== '', { timeout: kWaitMs });
  assert.match(await page.$eval('#error', (e) => e.textContent), /a name is 1–128 bytes/);
  assert.equal((await call('history', { limit: 10 })).length, 4);
});

test('the server serves the page and nothing else', async () => {
  const root = new URL(web);
  const get = (path, init) => fetch(new URL(path, root), init);
  assert.equal((await get('/')).status, 200);
  assert.match((await get('/vendor/nats.js')).headers.get('content-type'), /javascript/);
  assert.match((await (await get('/config.json')).json()).natsWsUrl, /^ws:\/\/127\.0\.0\.1:\d+$/);
  for (const path of ['/package.json', '/serve.mjs', '/node_modules/nats.ws/package.json',
                      '/%2e%2e/%2e%2e/etc/passwd', '/vendor/../serve.mjs']) {
    assert.equal((await get(path)).status, 404, path);
  }
  assert.equal((await get('/', { method: 'POST', body: 'x' })).status, 405);
});
