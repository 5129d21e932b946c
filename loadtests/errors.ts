import createError from '@fastify/error';

/**
 * The errors pnpm loadtest and pnpm bench create, each with a code their CLIs check
 * (docs/design.md, Errors).
 */

export const LOADTEST_USAGE_CODE = 'TASKOVERFLOW_LOADTEST_USAGE';
/** A mistake in how pnpm loadtest was called; the message says what to change. Exit 2. */
export const LoadTestUsageError = createError<typeof LOADTEST_USAGE_CODE, [problem: string]>(LOADTEST_USAGE_CODE, '%s');

export const BENCH_USAGE_CODE = 'TASKOVERFLOW_BENCH_USAGE';
/** A mistake in how pnpm bench was called; the message says what to change. Exit 1. */
export const BenchUsageError = createError<typeof BENCH_USAGE_CODE, [problem: string]>(BENCH_USAGE_CODE, '%s');

/** No k6 to run, or one too old or not k6 at all; the message says how to install the right one. */
export const K6MissingError = createError<'TASKOVERFLOW_K6_MISSING', [problem: string]>('TASKOVERFLOW_K6_MISSING', '%s');
