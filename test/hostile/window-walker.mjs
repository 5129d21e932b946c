/**
 * The window-walking attack (issue 20), as a process of its own so that its load does not slow
 * the test's well-behaved client: `connections` keep-alive connections from `localAddress`,
 * each sending one list request at a time: `?window=N` with N counting up from `firstWindow`
 * (the `completed` filter cycling through none, true, false), or the plain list when `mode` is
 * `plain`. A `rate` above 0 paces all of them together to that many requests per second.
 * Loopback only. Prints `ready` once started, begins when a line arrives on stdin (so that a
 * measurement leaves its start-up out), and stops when stdin closes or after `maxSeconds`,
 * then prints a JSON summary: `{"requests": n, "statuses": {"200": n, …}, "nextWindow": N}`.
 *
 * Usage: node window-walker.mjs <baseUrl> <localAddress> <connections> <walk|plain> <rate> <firstWindow> <maxSeconds>
 */
import { Agent, request } from 'node:http';

const [baseUrl, localAddress, connections, mode, rate, firstWindow, maxSeconds] = process.argv.slice(2);
const url = new URL(baseUrl);
if (!['127.0.0.1', 'localhost'].includes(url.hostname)) throw new Error(`loopback only, not ${url.hostname}`);
const COMPLETED = ['', '&completed=true', '&completed=false'];
const agent = new Agent({ keepAlive: true, maxSockets: Number(connections), localAddress });
const statuses = {};
let window = Number(firstWindow);
let sent = 0;
let stopped = false;
const go = new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.on('end', () => (stopped = true)).resume();
process.stdout.write('ready\n');
await go;
const startedAt = performance.now();
const deadline = startedAt + Number(maxSeconds) * 1000;

function get(path) {
  return new Promise((resolve) => {
    const req = request({ host: url.hostname, port: url.port, path, agent, timeout: 10_000 }, (res) => {
      res.on('end', () => resolve(res.statusCode ?? 0)).resume();
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

async function worker() {
  while (!stopped && performance.now() < deadline) {
    const index = sent++;
    if (Number(rate) > 0) {
      const due = startedAt + (index * 1000) / Number(rate);
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const path = mode === 'plain' ? '/api/v1/todos' : `/api/v1/todos?window=${window}${COMPLETED[window++ % 3]}`;
    const status = await get(path);
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
}

await Promise.all(Array.from({ length: Number(connections) }, worker));
agent.destroy();
const requests = Object.values(statuses).reduce((sum, count) => sum + count, 0);
process.stdout.write(`${JSON.stringify({ requests, statuses, nextWindow: window })}\n`);
