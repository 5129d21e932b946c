/**
 * The orphan reaper: a process of its own that detached-child.ts starts, one per process that
 * starts children. Told over its IPC channel which children to watch, it signals those still
 * running once the channel closes, which is when their parent has exited, however it died
 * (SIGKILL, a crash): children in process groups of their own would otherwise live on.
 *
 * Runs under plain Node (its type annotations stripped), so it imports nothing but types.
 */

/** What the parent tells the reaper: a child to signal should the parent go, or one that has exited. */
export type ReaperMessage = { watch: number; signal: NodeJS.Signals } | { forget: number };

const watched = new Map<number, NodeJS.Signals>();

process.on('message', (message: ReaperMessage) => {
  if ('watch' in message) watched.set(message.watch, message.signal);
  else watched.delete(message.forget);
});

process.once('disconnect', () => {
  for (const [pid, signal] of watched) {
    try {
      process.kill(pid, signal);
    } catch {
      // It has exited already.
    }
  }
});
