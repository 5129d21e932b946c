import createError from '@fastify/error';

/**
 * The errors pnpm trace creates, each with a code its CLI checks (docs/design.md, Errors).
 */

export const TRACE_USAGE_CODE = 'TASKOVERFLOW_TRACE_USAGE';
/** A mistake in how pnpm trace was called; the message says what to change. Exit 2. */
export const TraceUsageError = createError<typeof TRACE_USAGE_CODE, [problem: string]>(TRACE_USAGE_CODE, '%s');

export const TRACE_NOTHING_FOUND_CODE = 'TASKOVERFLOW_TRACE_NOTHING_FOUND';
/** Nothing to read: no log files, no such run directory; the message says where to look instead. Exit 1. */
export const TraceNothingFoundError = createError<typeof TRACE_NOTHING_FOUND_CODE, [problem: string]>(
  TRACE_NOTHING_FOUND_CODE,
  '%s',
);

export const RUN_NOT_FOUND_CODE = 'TASKOVERFLOW_TRACE_RUN_NOT_FOUND';
/** A directory given as a load-test run is none (pnpm loadtest/trace --compare). Exit 1. */
export const RunNotFoundError = createError<typeof RUN_NOT_FOUND_CODE, [dir: string, problem: string]>(
  RUN_NOT_FOUND_CODE,
  "%s is not a load-test run's directory (%s): give a run directory under loadtests/results, as pnpm loadtest prints it",
);
