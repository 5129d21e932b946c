import Type from 'typebox';
import { INPUT_DATE_PATTERN } from './dates.js';

/**
 * JSON Schemas of the v1 API (TypeBox, so each schema is also a TypeScript type). They are
 * written as the wire contract states it (docs/api.md; docs/design.md, Contract details): bodies reject unknown keys, nothing is
 * coerced (a `"true"` string is not a boolean), and nullable fields use OpenAPI 3.1 type arrays.
 */

/** PostgreSQL text cannot hold U+0000; rejecting it here keeps such input a 400, not a 500. */
const NO_NUL = '^[^\\u0000]*$';

/** Name of the ajv format for input dates; http-kit registers it with `parseInputDate`. */
export const INPUT_DATE_FORMAT = 'iso8601';

export const TITLE_MAX = 80;
/** Largest accepted request body. A todo is well under 1 KiB; anything near this is abuse. */
export const REQUEST_BODY_LIMIT_BYTES = 64 * 1024;
/** The error of a body over REQUEST_BODY_LIMIT_BYTES (413), wherever it is detected. */
export const BODY_TOO_LARGE = 'request body is too large';
export const DESCRIPTION_MAX = 120;

const Title = Type.String({ maxLength: TITLE_MAX, pattern: NO_NUL, description: 'At most 80 characters.' });
const Description = Type.Unsafe<string | null>({
  type: ['string', 'null'],
  maxLength: DESCRIPTION_MAX,
  pattern: NO_NUL,
  description: 'At most 120 characters, or null.',
});
const InputDate = Type.Unsafe<string | null>({
  type: ['string', 'null'],
  // The pattern says which strings are dates to any JSON Schema tool; the format stays as
  // documentation, and http-kit checks it with parseInputDate (the offset edge cases).
  pattern: INPUT_DATE_PATTERN,
  format: INPUT_DATE_FORMAT,
  description:
    'ISO 8601 date or date-time: naive (taken as UTC), with Z, or with an offset (converted to UTC); null clears it.',
  examples: ['2025-09-05T15:00:00', '2025-09-05T15:00:00+10:00', '2025-09-05'],
});
const WIRE_DATE = 'UTC, ISO 8601 without offset; microseconds only when non-zero, e.g. 2026-04-18T05:46:10.381173';
/** The wire form formatWireTimestamp produces (Python's `datetime.isoformat()`). */
const WIRE_DATE_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{6})?$';
const WireDate = Type.String({ pattern: WIRE_DATE_PATTERN, description: WIRE_DATE });

export const Todo = Type.Object(
  {
    id: Type.Integer({ minimum: 1 }),
    title: Type.String({ maxLength: TITLE_MAX }),
    description: Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: DESCRIPTION_MAX }),
    completed: Type.Boolean(),
    deadline_at: Type.Unsafe<string | null>({
      type: ['string', 'null'],
      pattern: WIRE_DATE_PATTERN,
      description: WIRE_DATE,
    }),
    created_at: WireDate,
    updated_at: WireDate,
  },
  { additionalProperties: false },
);
export type Todo = Type.Static<typeof Todo>;

export const TodoList = Type.Array(Todo);

export const CreateTodoBody = Type.Object(
  {
    title: Title,
    description: Type.Optional(Description),
    completed: Type.Optional(Type.Boolean()),
    deadline_at: Type.Optional(InputDate),
  },
  { additionalProperties: false },
);
export type CreateTodoBody = Type.Static<typeof CreateTodoBody>;

export const UpdateTodoBody = Type.Object(
  {
    title: Type.Optional(Title),
    description: Type.Optional(Description),
    completed: Type.Optional(Type.Boolean()),
    deadline_at: Type.Optional(InputDate),
  },
  { additionalProperties: false },
);
export type UpdateTodoBody = Type.Static<typeof UpdateTodoBody>;

export const WINDOW_MAX_DAYS = 1_000_000;

export const ListTodosQuery = Type.Object({
  completed: Type.Optional(
    Type.Unsafe<'true' | 'false'>({
      type: 'string',
      enum: ['true', 'false'],
      description: 'Keep todos in this state.',
    }),
  ),
  window: Type.Optional(
    Type.Unsafe<string>({
      type: 'string',
      pattern: '^-?(1000000|[0-9]{1,6})$',
      description: `Whole days (may be negative, |N| ≤ ${WINDOW_MAX_DAYS}): keep todos due by now + N days, overdue included.`,
    }),
  ),
});
export type ListTodosQuery = Type.Static<typeof ListTodosQuery>;

/** Ids stay strings in the schema: a non-integer id is a 404 ("no such todo"), not a 400. */
export const TodoIdParams = Type.Object({ id: Type.String({ description: 'Todo id (positive integer).' }) });
export type TodoIdParams = Type.Static<typeof TodoIdParams>;

/** Header of a POST that may be retried: retries with the same key return the first result. */
export const CreateTodoHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      pattern: '^[\\x21-\\x7e]{1,255}$',
      description:
        'Any 1–255 visible ASCII characters, unique per intended todo (e.g. a UUID). A retry with the same key ' +
        'and body within 24 h returns the first response (with Idempotent-Replayed: true) instead of creating another todo.',
    }),
  ),
});

export const ErrorBody = Type.Object({ error: Type.String() });
export type ErrorBody = Type.Static<typeof ErrorBody>;

export const HealthBody = Type.Object({ status: Type.Literal('ok') });
/** A replica that received SIGTERM fails its health check so the load balancer stops sending to it. */
export const DrainingBody = Type.Object(
  { status: Type.Literal('draining') },
  { description: 'Draining before shutdown: the load balancer should stop sending here; requests are still served.' },
);

/**
 * Field-specific messages for validation failures, so a client reads
 * "window must be a whole number of days" rather than a regular expression.
 */
export const fieldErrorMessages: Readonly<Record<string, string>> = {
  completed: 'completed must be true or false',
  window: `window must be a whole number of days between -${WINDOW_MAX_DAYS} and ${WINDOW_MAX_DAYS}, e.g. 7 or -3`,
  deadline_at:
    'deadline_at must be an ISO 8601 date or date-time (e.g. 2025-09-05T15:00:00 or 2025-09-05T15:00:00Z) or null',
  title: `title must be a string of at most ${TITLE_MAX} characters without NUL characters`,
  description: `description must be a string of at most ${DESCRIPTION_MAX} characters without NUL characters, or null`,
  'idempotency-key': 'Idempotency-Key must be 1 to 255 visible ASCII characters, e.g. a UUID',
};

export const IDEMPOTENCY_KEY_REUSED = 'Idempotency-Key was already used with a different request body';

/** Version of the API contract, as the OpenAPI document states it. */
export const API_VERSION = '1.0.0';

export const TODO_NOT_FOUND = 'Todo not found';

const MAX_SERIAL = 2_147_483_647;

/**
 * A todo id from a URL, or undefined when it cannot name a todo (not a positive integer, or
 * beyond PostgreSQL's `serial` range): the contract answers those with 404, like a missing todo.
 */
export function parseTodoId(raw: string): number | undefined {
  if (!/^\d{1,10}$/.test(raw)) return undefined;
  const id = Number(raw);
  return id >= 1 && id <= MAX_SERIAL ? id : undefined;
}
