import { pathPatternToRegExp, type ServiceName } from '@taskoverflow/routing';

/** What an ALB listener rule needs to route a request. */
export interface RouteRule {
  priority: number;
  methods: readonly string[];
  pathPatterns: readonly string[];
  service: ServiceName;
}

/** Routes `method path` as an ALB does: the lowest-priority matching rule, else the default action. */
export function routeLikeAlb(
  rules: readonly RouteRule[],
  defaultService: ServiceName,
  method: string,
  path: string,
): ServiceName {
  const match = [...rules]
    .sort((a, b) => a.priority - b.priority)
    .find(
      (rule) =>
        rule.methods.includes(method) && rule.pathPatterns.some((pattern) => pathPatternToRegExp(pattern).test(path)),
    );
  return match?.service ?? defaultService;
}

/** Requests worth routing: every method the API knows (and one it does not) on typical paths. */
export const SAMPLE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
export const SAMPLE_PATHS = [
  '/',
  '/index.html',
  '/assets/app.js',
  '/api/v1/health',
  '/api/v1/todos',
  '/api/v1/todos/',
  '/api/v1/todos/42',
  '/api/v1/openapi.json',
  '/api/v2/todos',
  '/elsewhere',
];
