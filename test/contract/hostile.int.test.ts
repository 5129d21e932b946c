/**
 * Hostile input, sent as raw bytes (what fetch refuses to send): oversized headers, deep
 * JSON, broken request lines, header injection. Each must get a JSON 4xx and change nothing;
 * the edge (each balancer it may be) and the services alike. Two answers of HAProxy's differ,
 * as its HTTP parser does: it unfolds a folded header line into one (RFC 9112 §5.2 allows a
 * proxy that), and 2.6 answers a request line it cannot parse with its own HTML 400 (custom
 * error files apply there from HAProxy 3.2, haproxy/haproxy#3032).
 */
import { connect } from 'node:net';
import { BALANCER_KINDS, type BalancerKind } from '@taskoverflow/stack';
import { startTestStack } from '@taskoverflow/stack/testing';
import t from 'tap';

const stacks = await Promise.all(
  BALANCER_KINDS.map((balancer) =>
    startTestStack(t, { readReplicas: 1, balancer }).then((stack) => ({ balancer, stack })),
  ),
);
const stack = stacks[0]!.stack;

interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/** Sends bytes as they are and reads the answer until the server closes. */
async function raw(baseUrl: string, request: Buffer | string): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect({ host: hostname, port: Number(port) });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise<void>((resolve, reject) => {
    // write, not end: a half-closed socket reads to some servers as a client that went away.
    socket.on('connect', () => socket.write(request));
    socket.on('close', () => resolve());
    socket.on('error', reject);
    socket.setTimeout(10_000, () => reject(new Error('no answer within 10 s')));
  });
  const text = Buffer.concat(chunks).toString('latin1');
  const [head = '', body = ''] = text.split('\r\n\r\n', 2);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body };
}

function postTo(host: string, path: string, body: Buffer | string, extraHeaders = ''): Buffer {
  const bytes = Buffer.from(body);
  return Buffer.concat([
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${bytes.length}\r\n` +
        `${extraHeaders}Connection: close\r\n\r\n`,
    ),
    bytes,
  ]);
}

async function todoCount(url: string): Promise<number> {
  return ((await (await fetch(`${url}/api/v1/todos`)).json()) as unknown[]).length;
}

const FOLDED_HEADER = 'a header line folded (CRLF injection)';
const GARBAGE_REQUEST_LINE = 'a garbage request line';

const targets: Array<{ name: string; url: string; balancer?: BalancerKind; countUrl: string }> = [
  ...stacks.map(({ balancer, stack }) => ({
    name: `the edge (${balancer})`,
    url: stack.url,
    balancer,
    countUrl: stack.url,
  })),
  { name: 'todo-write', url: stack.writeUrl, countUrl: stack.url },
];

for (const { name, url, balancer, countUrl } of targets) {
  t.test(`${name}: hostile requests get a JSON 4xx and change nothing`, async (t) => {
    /** The Host the edge serves (on loopback it answers any other 421: DNS-rebinding defence). */
    const host = new URL(countUrl).host;
    const post = (path: string, body: Buffer | string, extraHeaders = ''): Buffer =>
      postTo(host, path, body, extraHeaders);
    const before = await todoCount(countUrl);
    const cases: Array<[string, Buffer | string, number]> = [
      [
        'a 20 KB header',
        `GET /api/v1/health HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'x'.repeat(20_000)}\r\nConnection: close\r\n\r\n`,
        431,
      ],
      ['JSON nested 30 000 deep', post('/api/v1/todos', '['.repeat(30_000) + ']'.repeat(30_000)), 400],
      [
        'an object nested 5 000 deep',
        post('/api/v1/todos', `{"title":"x","a":${'{"b":'.repeat(5_000)}1${'}'.repeat(5_000)}}`),
        400,
      ],
      [
        FOLDED_HEADER,
        `GET /api/v1/health HTTP/1.1\r\nHost: ${host}\r\nX-Request-Id: a\r\n b\r\nConnection: close\r\n\r\n`,
        400,
      ],
      [GARBAGE_REQUEST_LINE, 'GARBAGE\r\n\r\n', 400],
      ['a NUL inside the JSON', post('/api/v1/todos', '{"title":"a\\u0000b"}'), 400],
      [
        'invalid UTF-8 in the body',
        post(
          '/api/v1/todos',
          Buffer.from([0x7b, 0x22, 0x74, 0x69, 0x74, 0x6c, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
        ),
        400,
      ],
      [
        'a Content-Length larger than the body',
        post('/api/v1/todos', '{"title":"x"}').toString().replace('Content-Length: 13', 'Content-Length: 99999999'),
        413,
      ],
    ];
    for (const [label, request, status] of cases) {
      const response = await raw(url, request);
      if (balancer === 'haproxy' && label === FOLDED_HEADER) {
        t.equal(response.status, 200, `${label}: unfolded into one header line and served`);
        continue;
      }
      t.equal(response.status, status, `${label}: ${status}`);
      if (balancer === 'haproxy' && label === GARBAGE_REQUEST_LINE) continue; // HAProxy 2.6's own HTML 400
      t.match(response.headers, /content-type: application\/json/i, `${label}: JSON`);
      t.match(JSON.parse(response.body), { error: String }, `${label}: has an error field`);
    }
    t.equal(await todoCount(countUrl), before, 'nothing was created');
  });
}

t.test('an abusive x-request-id is replaced, never echoed', async (t) => {
  for (const hostile of ['x'.repeat(800), 'id with spaces', '<script>', 'a"b']) {
    const response = await raw(
      stack.readUrls[0]!,
      `GET /api/v1/health HTTP/1.1\r\nHost: test\r\nX-Request-Id: ${hostile}\r\nConnection: close\r\n\r\n`,
    );
    const echoed = /x-request-id: ([^\r\n]*)/i.exec(response.headers)?.[1];
    t.match(echoed, /^[0-9a-f-]{36}$/, `${hostile.slice(0, 15)}… replaced by a UUID`);
  }
});
