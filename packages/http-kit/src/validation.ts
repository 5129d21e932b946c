import { fieldErrorMessages } from '@taskoverflow/domain';
import type { FastifySchemaValidationError } from 'fastify';

/**
 * Turns ajv's errors into the one message the v1 contract promises. Order matters and follows
 * the original API: unknown body keys ("extra fields") are reported before anything else,
 * then a missing title, then the first field-level problem.
 */
export function describeValidationFailure(
  errors: readonly FastifySchemaValidationError[],
  context: string | undefined,
): string {
  if (context === 'body') {
    if (errors.some((e) => e.keyword === 'additionalProperties' && e.instancePath === '')) return 'extra fields';
    if (errors.some((e) => e.keyword === 'type' && e.instancePath === '')) return 'body must be a JSON object';
    const missing = errors.find((e) => e.keyword === 'required');
    if (missing) return `missing ${String(missing.params.missingProperty)}`;
  }
  const first = errors[0];
  if (!first) return `invalid ${context ?? 'request'}`;
  const field = first.instancePath.split('/')[1] ?? '';
  const known = fieldErrorMessages[field];
  if (known) return known;
  const where = field || (context ?? 'request');
  return `${where} ${first.message ?? 'is invalid'}`;
}
