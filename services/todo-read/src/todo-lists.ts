import type { CachedResponse, ResponseCache } from '@taskoverflow/cache';
import type { Todo } from '@taskoverflow/domain';
import type { TodoFilter } from '@taskoverflow/db';

/** The full list's cache key: every other list is derived from its entry. */
const FULL_LIST_KEY = 'todos:list';
const DAY_MS = 86_400_000;
const OPEN_BRACKET = 0x5b;
const COMMA = 0x2c;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export interface TodoListsOptions {
  cache: ResponseCache;
  /** Lifetime of the cached full list (CACHE_TTL_SECONDS). */
  ttlSeconds: number;
  /** The full list from PostgreSQL, newest first. */
  load: () => Promise<CachedResponse>;
}

/**
 * Every list todo-read serves, from one cached entry: the full list (pinned in memory, in
 * Redis once per dataset version). A filtered list (`completed`, `window`) is cut from its
 * bytes in this process, so no query string reaches PostgreSQL or Redis: a client walking
 * `window=1,2,3…` costs what reading the full list costs.
 *
 * A filtered list is the full list's elements that pass the filter, in the same order, joined
 * as JSON.stringify joins an array: the same bytes as `listTodos(db, filter)` serializes. Its
 * ETag is the full list's with the selection's name appended: strong (equal ETags mean equal
 * bytes, since the full list's ETag is the digest of its bytes and the cut is a function of
 * them), and free, where a digest of each filtered body would cost more than cutting it. `window=N` keeps the todos due at or before now + N × 24 h (overdue included,
 * none without a deadline), the SQL's rule, with `now` this process's clock at the request.
 * Which todos pass depends on the time only through how many deadlines have been reached, so
 * a filtered list is cached (memory tier, `ResponseCache.derived`) under the full list's ETag,
 * its `completed` value and that count: at most 3 × (todos + 2) entries per version, however
 * many windows clients ask for.
 */
export class TodoLists {
  private readonly indexes = new WeakMap<CachedResponse, TodoListIndex>();

  constructor(private readonly options: TodoListsOptions) {}

  /** The list for `filter`, current as of this call (read-your-writes as the cache gives it). */
  async get(filter: TodoFilter): Promise<CachedResponse> {
    const { cache, ttlSeconds, load } = this.options;
    const full = await cache.get(FULL_LIST_KEY, ttlSeconds, load, { pinned: true });
    if ((filter.completed === undefined && filter.windowDays === undefined) || full.status !== 200) return full;
    let index = this.indexes.get(full);
    if (!index) {
      index = new TodoListIndex(full.body);
      this.indexes.set(full, index);
    }
    const selection = index.select(filter, Date.now());
    const etag = `${full.etag.slice(0, -1)}:${selection.name}"`;
    return cache.derived(`${FULL_LIST_KEY}:${etag}`, () => ({
      status: 200,
      body: index.join(selection.positions()),
      etag,
    }));
  }
}

/** The todos a filter keeps, as positions in the full list; `name` identifies them within one full list. */
interface Selection {
  name: string;
  positions: () => ArrayLike<number>;
}

/** The todos of one `completed` value (or all): in list order, and those with a deadline by deadline. */
interface Group {
  inListOrder: Int32Array;
  byDeadline: Int32Array;
  /** deadlineKey of each of byDeadline, ascending. */
  deadlines: Float64Array;
}

/**
 * Where each todo's JSON lies in the full list's bytes, with what the filters look at: built
 * once per full list (a JSON.parse and a scan of its bytes).
 */
export class TodoListIndex {
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly groups: Record<'any' | 'true' | 'false', Group>;

  constructor(private readonly body: Buffer) {
    const todos = JSON.parse(body.toString()) as Todo[];
    this.starts = new Int32Array(todos.length);
    this.ends = new Int32Array(todos.length);
    this.findTodos();
    const deadlines = Float64Array.from(todos, (todo) =>
      todo.deadline_at === null ? Number.NaN : deadlineKey(todo.deadline_at),
    );
    const group = (keep: (todo: Todo) => boolean): Group => {
      const inListOrder = Int32Array.from(todos.keys()).filter((position) => keep(todos[position]!));
      const byDeadline = inListOrder.filter((position) => !Number.isNaN(deadlines[position]!));
      byDeadline.sort((a, b) => deadlines[a]! - deadlines[b]!);
      return { inListOrder, byDeadline, deadlines: Float64Array.from(byDeadline, (position) => deadlines[position]!) };
    };
    this.groups = {
      any: group(() => true),
      true: group((todo) => todo.completed),
      false: group((todo) => !todo.completed),
    };
  }

  /**
   * Each todo's first and past-last byte: the array's objects, found by their braces outside
   * strings (UTF-8 continuation bytes are never ASCII, so a byte that reads as a brace or a
   * quote is one).
   */
  private findTodos(): void {
    const body = this.body;
    let depth = 0;
    let inString = false;
    let todo = 0;
    for (let at = 1; at < body.length - 1; at += 1) {
      const byte = body[at];
      if (inString) {
        if (byte === BACKSLASH) at += 1;
        else if (byte === QUOTE) inString = false;
      } else if (byte === QUOTE) {
        inString = true;
      } else if (byte === OPEN_BRACE) {
        if (depth === 0) this.starts[todo] = at;
        depth += 1;
      } else if (byte === CLOSE_BRACE) {
        depth -= 1;
        if (depth === 0) this.ends[todo++] = at + 1;
      }
    }
  }

  /** The todos `filter` keeps at `nowMs`. */
  select(filter: TodoFilter, nowMs: number): Selection {
    const completed = filter.completed === undefined ? 'any' : filter.completed ? 'true' : 'false';
    const group = this.groups[completed];
    if (filter.windowDays === undefined) return { name: completed, positions: () => group.inListOrder };
    const due = countAtMost(group.deadlines, nowMs + filter.windowDays * DAY_MS);
    return {
      name: `${completed}:${due}`,
      positions: () => group.byDeadline.slice(0, due).sort(),
    };
  }

  /**
   * The JSON array of the todos at `positions` (ascending): their bytes, copied from the full
   * list, a run of neighbours at once (their comma included).
   */
  join(positions: ArrayLike<number>): Buffer {
    let length = 2 + Math.max(positions.length - 1, 0);
    for (let i = 0; i < positions.length; i += 1) length += this.ends[positions[i]!]! - this.starts[positions[i]!]!;
    const joined = Buffer.allocUnsafe(length);
    joined[0] = OPEN_BRACKET;
    let at = 1;
    for (let i = 0; i < positions.length; i += 1) {
      const first = positions[i]!;
      while (i + 1 < positions.length && positions[i + 1] === positions[i]! + 1) i += 1;
      if (at > 1) joined[at++] = COMMA;
      at += this.body.copy(joined, at, this.starts[first], this.ends[positions[i]!]);
    }
    joined[at] = CLOSE_BRACKET;
    return joined;
  }
}

/**
 * A wire deadline (`2025-09-05T15:00:00`, `…:00.250001`) as a number that sorts like it and,
 * compared with a whole number of milliseconds since the epoch, says exactly whether the
 * deadline is at or before that instant: its whole milliseconds, plus ½ when microseconds
 * remain (such a deadline is after the instant its milliseconds name, and before the next).
 */
export function deadlineKey(wire: string): number {
  const milliseconds = Date.parse(`${wire.slice(0, 19)}Z`);
  const microseconds = wire.length > 20 ? Number(wire.slice(20)) : 0;
  return milliseconds + Math.floor(microseconds / 1000) + (microseconds % 1000 === 0 ? 0 : 0.5);
}

/** How many of the ascending `keys` are ≤ `limit` (binary search). */
function countAtMost(keys: Float64Array, limit: number): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (keys[middle]! <= limit) low = middle + 1;
    else high = middle;
  }
  return low;
}
