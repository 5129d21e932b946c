import type { HttpMethod, RoutingRule, ServiceName } from '@taskoverflow/routing';

/**
 * AWS limits on one ALB listener rule: at most one http-request-method and one path-pattern
 * condition, up to 3 values per condition and 5 values in the whole rule
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html).
 */
export const ALB_VALUES_PER_CONDITION = 3;
export const ALB_VALUES_PER_RULE = 5;
/** Highest priority an ALB listener rule may have. */
const ALB_MAX_PRIORITY = 50_000;
/** Room for the pieces of one routing rule: piece i gets priority `rule.priority * PIECES_PER_RULE + i`. */
const PIECES_PER_RULE = 100;

/** One ALB listener rule: requests with one of `methods` and a path matching one of `pathPatterns`. */
export interface AlbListenerRule {
  name: string;
  priority: number;
  service: ServiceName;
  methods: HttpMethod[];
  pathPatterns: string[];
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}

/**
 * The routing table as ALB listener rules. A routing rule with more values than one ALB rule
 * may hold is split into pieces (every method chunk × every path chunk) with consecutive
 * priorities and the same target, which match exactly the requests the routing rule matches
 * and keep its place in the evaluation order.
 */
export function albListenerRules(routingRules: readonly RoutingRule[]): AlbListenerRule[] {
  return [...routingRules]
    .sort((a, b) => a.priority - b.priority)
    .flatMap((rule) => {
      if (rule.methods.length === 0 || rule.pathPatterns.length === 0) {
        throw new Error(`routing rule ${rule.name} needs at least one method and one path pattern`);
      }
      const methodsPerPiece = Math.min(ALB_VALUES_PER_CONDITION, rule.methods.length);
      const pathsPerPiece = Math.min(ALB_VALUES_PER_CONDITION, ALB_VALUES_PER_RULE - methodsPerPiece);
      const pieces = chunks(rule.methods, methodsPerPiece).flatMap((methods) =>
        chunks(rule.pathPatterns, pathsPerPiece).map((pathPatterns) => ({ methods, pathPatterns })),
      );
      const lastPriority = rule.priority * PIECES_PER_RULE + pieces.length - 1;
      if (rule.priority < 1 || pieces.length > PIECES_PER_RULE || lastPriority > ALB_MAX_PRIORITY) {
        throw new Error(`routing rule ${rule.name}: priority ${rule.priority} does not fit the ALB's priority range`);
      }
      return pieces.map(({ methods, pathPatterns }, index) => ({
        name: pieces.length === 1 ? rule.name : `${rule.name}-${index + 1}`,
        priority: rule.priority * PIECES_PER_RULE + index,
        service: rule.service,
        methods,
        pathPatterns,
      }));
    });
}
