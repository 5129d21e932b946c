import type { ServiceName } from '@taskoverflow/routing';

/** The port each service listens on in its task: its default PORT (services/<name>/src/config.ts). */
export const CONTAINER_PORTS: Readonly<Record<ServiceName, number>> = { 'todo-read': 3000, 'todo-write': 3001 };

/** The load balancer's HTTP listener: the API itself on a lab stack without TLS, else a redirect to HTTPS. */
export const HTTP_PORT = 80;
/** The load balancer's HTTPS listener, with a certificate from config (infra/src/load-balancer.ts). */
export const HTTPS_PORT = 443;
export const POSTGRES_PORT = 5432;
export const REDIS_PORT = 6379;
/** AWS APIs the tasks reach through the NAT gateway: ECR, Secrets Manager, CloudWatch Logs. */
export const AWS_API_PORT = 443;
