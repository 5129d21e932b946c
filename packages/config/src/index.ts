/**
 * Reading configuration from the environment. Every problem is collected and reported at
 * once, each naming the variable, the bad value and what is expected.
 */
export { interruptedExitCode, Interruption, onStopSignal, type StopSignal } from './stop-signals.js';

export const INVALID_CONFIGURATION_CODE = 'TASKOVERFLOW_INVALID_CONFIGURATION';

/** A class rather than @fastify/error's createError, for its `problems` list; callers check the code (docs/design.md, Errors). */
export class ConfigError extends Error {
  readonly code = INVALID_CONFIGURATION_CODE;

  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** pino's levels: what LOG_LEVEL accepts, in the services, the edge and infra's logLevel. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const MASK = '***';
/** A `password=` query parameter (libpq and ioredis take one). */
const PASSWORD_PARAMETER = /([?&]password=)[^&#]*/gi;

/**
 * A URL (DATABASE_URL, REDIS_URL) with its password masked: the one rule for every URL that
 * goes into a log line, an error or the console. It reads the text rather than parse it, so it
 * never throws and masks a malformed URL too (a password with a character that breaks the URL,
 * `@`, `/`, `#` or a space, is a common reason for one): everything from the first colon after
 * `scheme://` to the last `@` is masked (more than the password when a path holds an `@`,
 * rather than part of it when the password does), and any `password=` parameter.
 */
export function redactPassword(url: string): string {
  const scheme = url.indexOf('://');
  const userinfo = scheme < 0 ? 0 : scheme + 3;
  const at = url.lastIndexOf('@');
  const colon = url.indexOf(':', userinfo);
  const masked = colon >= 0 && colon < at ? `${url.slice(0, colon + 1)}${MASK}${url.slice(at)}` : url;
  return masked.replace(PASSWORD_PARAMETER, `$1${MASK}`);
}

export class EnvReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  string(name: string, fallback?: string): string {
    const value = this.env[name]?.trim();
    if (value) return value;
    if (fallback !== undefined) return fallback;
    this.problems.push(`${name} is not set`);
    return '';
  }

  integer(name: string, fallback: number, { min, max }: { min: number; max: number }): number {
    const raw = this.env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.env[name]?.trim().toLowerCase();
    if (!raw) return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    this.problems.push(`${name} must be true or false, got "${this.env[name]}"`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.env[name]?.trim();
    if (!raw) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
    return fallback;
  }

  /** Records a problem found by a custom check (`undefined` means fine). */
  check(problem: string | undefined): void {
    if (problem) this.problems.push(problem);
  }

  /** Throws a ConfigError listing every problem, if any. */
  done(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}
