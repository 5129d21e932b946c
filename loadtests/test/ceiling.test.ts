/**
 * The ceiling server runs as the services do: under plain Node, no loader, so that the bench's
 * ratios to it compare like with like; and it serves what it is told with the services'
 * keep-alive.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEALTH_PATH, KEEP_ALIVE_TIMEOUT_MS } from '@taskoverflow/routing';
import { findFreePorts, startServiceProcess } from '@taskoverflow/stack';
import t from 'tap';
import { CEILING_ENTRY, ceilingServerEnv } from '../lib/ceiling.js';

const HOST = '127.0.0.1';

t.test('the ceiling server runs under plain Node and sends the bytes and headers it is given', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ceiling-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bodyFile = join(dir, 'body');
  const body = '{"todos":[{"id":1,"title":"ceiling ✓"}]}';
  await writeFile(bodyFile, body);

  const [port] = await findFreePorts(1, HOST);
  const url = `http://${HOST}:${port}`;
  const ceiling = await startServiceProcess({
    instance: 'ceiling',
    entry: CEILING_ENTRY,
    env: {
      HOST,
      PORT: String(port),
      ...ceilingServerEnv(bodyFile, { 'content-type': 'application/json', etag: '"v1"' }),
    },
    healthUrl: `${url}${HEALTH_PATH}`,
    onLine: (line) => t.comment(line),
  });
  t.teardown(() => ceiling.stop());

  const commandLine = (await readFile(`/proc/${ceiling.pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
  t.same(commandLine, [process.execPath, CEILING_ENTRY], 'node and the entry, nothing else: no tsx loader');

  const response = await fetch(`${url}/api/v1/todos`);
  t.equal(await response.text(), body);
  t.equal(response.headers.get('etag'), '"v1"', 'with the headers it was given');
  t.equal(response.headers.get('keep-alive'), `timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}`, "the services' keep-alive");
});
