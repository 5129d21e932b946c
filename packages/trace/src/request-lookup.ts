import { receivedAtMs, type LogEntry } from './log-entry.js';

/** A request whose id starts with the prefix looked for, as its lines show it. */
export interface Candidate {
  requestId: string;
  /** When it arrived (see receivedAtMs). */
  timeMs: number;
  method: string | undefined;
  url: string | undefined;
}

export type LookupResult =
  | { kind: 'found'; requestId: string; entries: LogEntry[] }
  | { kind: 'ambiguous'; candidates: Candidate[]; more: boolean }
  | { kind: 'unknown' };

/** Enough to choose from; past this, a longer prefix is the better way. */
const MAX_CANDIDATES = 20;

/**
 * Finds one request's lines by its id or a prefix of it, like git does with commits: an id
 * that matches exactly wins; else the prefix must match exactly one id. Keeps the lines of
 * the only match so far, and from the second match on only a short list of candidates, so a
 * short prefix over a large log holds little.
 */
export class RequestLookup {
  private readonly candidates = new Map<string, Candidate>();
  private moreCandidates = false;
  private readonly exactMatch: LogEntry[] = [];
  private onlyMatch: LogEntry[] = [];

  constructor(private readonly idOrPrefix: string) {}

  add(entry: LogEntry): void {
    const id = entry.requestId;
    if (id === undefined || !id.startsWith(this.idOrPrefix)) return;
    this.noteCandidate(id, entry);
    if (id === this.idOrPrefix) this.exactMatch.push(entry);
    else if (this.candidates.size === 1) this.onlyMatch.push(entry);
  }

  result(): LookupResult {
    if (this.exactMatch.length > 0) return { kind: 'found', requestId: this.idOrPrefix, entries: this.exactMatch };
    const [only, ...others] = this.candidates.values();
    if (!only) return { kind: 'unknown' };
    if (others.length === 0) return { kind: 'found', requestId: only.requestId, entries: this.onlyMatch };
    const candidates = [only, ...others].sort((a, b) => a.timeMs - b.timeMs);
    return { kind: 'ambiguous', candidates, more: this.moreCandidates };
  }

  private noteCandidate(id: string, entry: LogEntry): void {
    const known = this.candidates.get(id);
    if (known) {
      // Files are read one after another: the edge's line may come after the service's.
      known.timeMs = Math.min(known.timeMs, receivedAtMs(entry));
      known.method ??= entry.method;
      known.url ??= entry.url;
      return;
    }
    if (this.candidates.size >= MAX_CANDIDATES) {
      this.moreCandidates = true;
      return;
    }
    this.candidates.set(id, { requestId: id, timeMs: receivedAtMs(entry), method: entry.method, url: entry.url });
    if (this.candidates.size === 2) this.onlyMatch = [];
  }
}
