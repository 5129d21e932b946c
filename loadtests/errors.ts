import createError from '@fastify/error';

/**
 * The errors pnpm loadtest, pnpm bench, pnpm edge-cost and pnpm edge-overload create, each
 * with a code their CLIs check (docs/design.md, Errors).
 */

export const LOADTEST_USAGE_CODE = 'TASKOVERFLOW_LOADTEST_USAGE';
/** A mistake in how pnpm loadtest was called; the message says what to change. Exit 2. */
export const LoadTestUsageError = createError<typeof LOADTEST_USAGE_CODE, [problem: string]>(LOADTEST_USAGE_CODE, '%s');

export const BENCH_USAGE_CODE = 'TASKOVERFLOW_BENCH_USAGE';
/** A mistake in how pnpm bench was called; the message says what to change. Exit 2. */
export const BenchUsageError = createError<typeof BENCH_USAGE_CODE, [problem: string]>(BENCH_USAGE_CODE, '%s');

export const EDGE_BENCH_USAGE_CODE = 'TASKOVERFLOW_EDGE_BENCH_USAGE';
/** A mistake in how pnpm edge-cost or pnpm edge-overload was called; the message says what to change. Exit 2. */
export const EdgeBenchUsageError = createError<typeof EDGE_BENCH_USAGE_CODE, [problem: string]>(
  EDGE_BENCH_USAGE_CODE,
  '%s',
);

/** No k6 to run, or one too old or not k6 at all; the message says how to install the right one. */
export const K6MissingError = createError<'TASKOVERFLOW_K6_MISSING', [problem: string]>(
  'TASKOVERFLOW_K6_MISSING',
  '%s',
);

export const K6_SCRIPT_INVALID_CODE = 'TASKOVERFLOW_LOADTEST_SCRIPT_INVALID';
/** k6 cannot load the user's script (a syntax error, a missing module, an exception in its init code); k6's message and the fix. */
export const K6ScriptInvalidError = createError<
  typeof K6_SCRIPT_INVALID_CODE,
  [script: string, k6Message: string, script: string]
>(
  K6_SCRIPT_INVALID_CODE,
  'k6 cannot load %s: %s. Fix the script (`k6 inspect %s` shows the same message without running anything), then run pnpm loadtest again',
);

export const ENDPOINT_UNREACHABLE_CODE = 'TASKOVERFLOW_LOADTEST_ENDPOINT_UNREACHABLE';
/** Nothing answers at ENDPOINT: the run would only count connection errors. */
export const EndpointUnreachableError = createError<
  typeof ENDPOINT_UNREACHABLE_CODE,
  [endpoint: string, reason: string]
>(
  ENDPOINT_UNREACHABLE_CODE,
  "nothing answers at ENDPOINT=%s (%s). Check ENDPOINT: the API's base URL, such as the ALB's DNS name with http:// " +
    '(pulumi stack output in infra/), and that the deployment is up (its ECS services have running tasks); ' +
    'or unset ENDPOINT to test the local stack that pnpm loadtest starts',
);
