/**
 * Finding k6: on PATH, else where `go install` puts it ($(go env GOPATH)/bin, which is often
 * not on PATH).
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { K6MissingError } from '../errors.js';

/** The k6 release CI installs and the scenarios are written against. */
export const K6_PINNED_VERSION = 'v1.8.1';

/** The scenarios use k6 v1 features: the built-in web dashboard export and import.meta.resolve. */
const MIN_MAJOR_VERSION = 1;

export const K6_INSTALL_HINT =
  `install it with \`go install go.k6.io/k6@${K6_PINNED_VERSION}\` (about 3-5 minutes; it lands in $(go env GOPATH)/bin, ` +
  'which pnpm loadtest searches too), or from a release: https://grafana.com/docs/k6/latest/set-up/install-k6/';

export interface K6Binary {
  path: string;
  /** e.g. `v1.8.1` */
  version: string;
}

/** The k6 to run: the first on PATH, else the one in Go's bin directory. */
export function findK6(env: NodeJS.ProcessEnv = process.env): K6Binary {
  const searched = [...(env.PATH ?? '').split(delimiter).filter(Boolean), goBinDirectory(env)];
  const path = searched.map((directory) => join(directory, 'k6')).find(isExecutable);
  if (!path)
    throw new K6MissingError(`k6 is not installed (looked on PATH and in ${goBinDirectory(env)}): ${K6_INSTALL_HINT}`);
  const version = k6Version(path);
  const major = Number(version.slice(1).split('.')[0]);
  if (!(major >= MIN_MAJOR_VERSION)) {
    throw new K6MissingError(
      `${path} is k6 ${version}; the scenarios need k6 v${MIN_MAJOR_VERSION} or later: ${K6_INSTALL_HINT}`,
    );
  }
  return { path, version };
}

/** Where `go install` puts binaries: $GOBIN, else the first GOPATH entry's bin, else ~/go/bin. */
function goBinDirectory(env: NodeJS.ProcessEnv): string {
  if (env.GOBIN) return env.GOBIN;
  const gopath = env.GOPATH || goEnv('GOPATH', env) || join(homedir(), 'go');
  return join(gopath.split(delimiter)[0]!, 'bin');
}

function goEnv(name: string, env: NodeJS.ProcessEnv): string | undefined {
  try {
    return (
      execFileSync('go', ['env', name], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() ||
      undefined
    );
  } catch {
    return undefined; // no Go: fall back to its default GOPATH
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function k6Version(path: string): string {
  const output = execFileSync(path, ['version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const version = /\bv\d+\.\d+\.\d+\S*/.exec(output)?.[0];
  if (!version)
    throw new K6MissingError(`${path} does not look like k6: \`${path} version\` printed "${output.trim()}"`);
  return version;
}
