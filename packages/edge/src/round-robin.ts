/**
 * Round robin over a fixed list, as an ALB target group spreads requests over its targets.
 * Each call returns every item once, starting with the one whose turn it is: the first is
 * the pick, the rest are the fallbacks in order.
 */
export function roundRobin<T>(items: readonly T[]): () => T[] {
  let next = 0;
  return () => {
    const start = next;
    next = (next + 1) % items.length;
    return [...items.slice(start), ...items.slice(0, start)];
  };
}
