import type { ServiceName } from '@taskoverflow/routing';

/** The port each service listens on in its task: its default PORT (services/<name>/src/config.ts). */
export const CONTAINER_PORTS: Readonly<Record<ServiceName, number>> = { 'todo-read': 3000, 'todo-write': 3001 };

/** The load balancer's only listener: plain HTTP, the one port open to the internet. */
export const LISTENER_PORT = 80;
export const POSTGRES_PORT = 5432;
export const REDIS_PORT = 6379;
/** AWS APIs the tasks reach through the NAT gateway: ECR, Secrets Manager, CloudWatch Logs. */
export const AWS_API_PORT = 443;
