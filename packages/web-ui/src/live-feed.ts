/**
 * Keeps the shown list current: polls the list every POLL_INTERVAL_MS with the ETag of what is
 * shown, so an unchanged list costs a 304 without a body, and stops while the tab is hidden.
 */
import { fetchTodoList, type Todo } from './api.js';

export const POLL_INTERVAL_MS = 2_000;

export type FeedState = { name: 'live' } | { name: 'paused' } | { name: 'reconnecting'; reason: string };

export interface FeedHandlers {
  /** A list that differs from the last one (always called for the first). */
  list(todos: Todo[]): void;
  state(state: FeedState): void;
}

export class LiveFeed {
  #query = new URLSearchParams();
  #etag: string | undefined;
  #request: AbortController | undefined;
  #nextPoll: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly handlers: FeedHandlers) {}

  start(query: URLSearchParams): void {
    this.#query = query;
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) this.#pause();
      else void this.refresh();
    });
    if (document.hidden) this.#pause();
    else void this.refresh();
  }

  /** Shows the list for other filters (at once; a request for the old ones is abandoned). */
  setQuery(query: URLSearchParams): void {
    if (query.toString() === this.#query.toString()) return;
    this.#query = query;
    this.#etag = undefined;
    void this.refresh();
  }

  /** Polls now (after a write, say) rather than at the next tick. */
  async refresh(): Promise<void> {
    this.#stop();
    const request = new AbortController();
    this.#request = request;
    try {
      const result = await fetchTodoList(this.#query, this.#etag, request.signal);
      // A newer refresh or a pause took over while this one was answered: its result is stale.
      if (request.signal.aborted) return;
      if (result.changed) {
        this.#etag = result.etag;
        this.handlers.list(result.todos);
      }
      this.handlers.state({ name: 'live' });
    } catch (error) {
      if (request.signal.aborted) return;
      this.handlers.state({ name: 'reconnecting', reason: error instanceof Error ? error.message : String(error) });
    }
    this.#request = undefined;
    this.#nextPoll = setTimeout(() => void this.refresh(), POLL_INTERVAL_MS);
  }

  #pause(): void {
    this.#stop();
    this.handlers.state({ name: 'paused' });
  }

  #stop(): void {
    clearTimeout(this.#nextPoll);
    this.#request?.abort();
    this.#request = undefined;
  }
}
