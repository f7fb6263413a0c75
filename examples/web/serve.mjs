// Serves the ChatRoom page to browsers: its static files, nats.ws from node_modules, and
// config.json naming the NATS websocket listener. Loopback only, no dependencies, GET and HEAD.
//   node examples/web/serve.mjs [--port 8080] [--nats-ws ws://127.0.0.1:9222]
// --port 0 picks a free port. The line "serving http://127.0.0.1:<port>/" is printed once the
// socket accepts connections.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const kHost = '127.0.0.1';
const here = dirname(fileURLToPath(import.meta.url));

// Every path the page needs, and nothing else: no directory listing, no path from the request
// ever reaches the file system.
const kFiles = new Map([
  ['/', ['index.html', 'text/html; charset=utf-8']],
  ['/index.html', ['index.html', 'text/html; charset=utf-8']],
  ['/chat.js', ['chat.js', 'text/javascript; charset=utf-8']],
  ['/style.css', ['style.css', 'text/css; charset=utf-8']],
  ['/vendor/nats.js', ['node_modules/nats.ws/esm/nats.js', 'text/javascript; charset=utf-8']],
]);

function usage(message) {
  console.error(`serve.mjs: ${message}\nusage: node serve.mjs [--port N] [--nats-ws URL]`);
  process.exit(2);
}

let options;
try {
  options = parseArgs({
    options: {
      port: { type: 'string', default: process.env.DOBJ_WEB_PORT ?? '8080' },
      'nats-ws': { type: 'string', default: process.env.DOBJ_NATS_WS_URL ?? 'ws://127.0.0.1:9222' },
    },
  }).values;
} catch (e) {
  usage(e.message);
}
const port = Number(options.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`--port ${options.port} is not a port`);
if (!/^wss?:\/\/[^\s"]+$/.test(options['nats-ws'])) {
  usage(`--nats-ws ${options['nats-ws']} is not a ws:// or wss:// URL`);
}
const config = JSON.stringify({ natsWsUrl: options['nats-ws'] });

// Files are read once: the page is a handful of small files, and a missing one (npm ci not
// run) is found at start, not by the first browser.
const bodies = new Map();
for (const [path, [file, type]] of kFiles) {
  try {
    bodies.set(path, { body: await readFile(join(here, file)), type });
  } catch (e) {
    console.error(`serve.mjs: cannot read ${file} (${e.code}); run \`npm ci\` in ${here}`);
    process.exit(1);
  }
}
bodies.set('/config.json', { body: Buffer.from(config), type: 'application/json' });

const server = createServer((req, res) => {
  const security = {
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...security, Allow: 'GET, HEAD' }).end();
    return;
  }
  const path = (req.url ?? '/').split('?')[0];
  const found = bodies.get(path);
  if (!found) {
    res.writeHead(404, { ...security, 'Content-Type': 'text/plain' }).end('not found\n');
    return;
  }
  res.writeHead(200, { ...security, 'Content-Type': found.type, 'Content-Length': found.body.length });
  res.end(req.method === 'HEAD' ? undefined : found.body);
});
server.on('error', (e) => {
  console.error(`serve.mjs: cannot listen on ${kHost}:${port}: ${e.message}`);
  process.exit(1);
});
server.listen(port, kHost, () => {
  console.log(`serving http://${kHost}:${server.address().port}/ (NATS websocket ${options['nats-ws']})`);
});
// Static files hold no state to drain: a stop ends the process at once.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
