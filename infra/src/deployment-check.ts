/**
 * The read-back after a service's steady-state wait: did the deployment this `pulumi up` started
 * succeed? The AWS provider reports a service steady once a circuit-breaker rollback has finished
 * (hashicorp/terraform-provider-aws#20858, #19519), so the program asks ECS itself
 * (DescribeServices) and judges by the deployments' own rollout state and the service's events.
 * `aws.ecs.getService` does not return rolloutState, hence the SDK call.
 */
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';

/** What the check reads of one deployment of a DescribeServices answer. */
export interface DescribedDeployment {
  id: string;
  /** PRIMARY (the newest), ACTIVE (being replaced) or INACTIVE. */
  status: string;
  taskDefinition: string;
  desiredCount: number;
  runningCount: number;
  pendingCount: number;
  failedTasks: number;
  /** COMPLETED, FAILED or IN_PROGRESS (rolling deployments with the circuit breaker). */
  rolloutState: string | undefined;
  rolloutStateReason: string | undefined;
  createdAt: Date;
}

export interface DescribedEvent {
  createdAt: Date;
  message: string;
}

/** What the check reads of a service: its task definition, deployments and events (newest first, as ECS lists them). */
export interface DescribedService {
  serviceName: string;
  taskDefinition: string;
  deployments: DescribedDeployment[];
  events: DescribedEvent[];
}

/** What the update expects: the task definition it registered, and when it started (events since then are its own). */
export interface DeploymentExpectation {
  registeredTaskDefinition: string;
  startedAt: Date;
}

export type DeploymentVerdict =
  /** The update's deployment completed: every task runs what it registered. */
  | { kind: 'healthy'; message: string }
  /** Not failed, not finished: a rollout ECS is still completing, or a scale-out adding tasks. `pulumi up` passes with a warning. */
  | { kind: 'in-progress'; message: string }
  /** The circuit breaker rolled the update's deployment back (to another task definition, or to the same one for a service-level change). */
  | { kind: 'rolled-back'; message: string }
  /** The deployment failed with nothing to roll back to: a first deploy. */
  | { kind: 'failed'; message: string };

/** ECS's event when the circuit breaker rolls a deployment back: "(service x) rolling back to deployment ecs-svc/…". */
const ROLLBACK_EVENT = /rolling back to deployment/;

/** Judges a DescribeServices answer against what the update deployed. */
export function judgeDeployment(service: DescribedService, expected: DeploymentExpectation): DeploymentVerdict {
  const since = expected.startedAt.getTime();
  const ownEvents = service.events.filter((event) => event.createdAt.getTime() >= since);
  const recent =
    ownEvents
      .slice(0, 3)
      .map((event) => event.message)
      .join(' | ') || 'none since this update started';
  const withEvents = (text: string) => `${text}. Recent events: ${recent}`;
  const primary = service.deployments.find((deployment) => deployment.status === 'PRIMARY');
  if (!primary)
    return {
      kind: 'failed',
      message: withEvents(`ECS reports no PRIMARY deployment (${service.deployments.length} in all)`),
    };
  const tasks = `${primary.runningCount} of ${primary.desiredCount} tasks run`;

  const rollbackEvent = ownEvents.find((event) => ROLLBACK_EVENT.test(event.message));
  const failed = service.deployments.find(
    (deployment) => deployment !== primary && deployment.rolloutState === 'FAILED',
  );
  const otherTaskDefinition = primary.taskDefinition !== expected.registeredTaskDefinition;
  if (rollbackEvent || failed || otherTaskDefinition) {
    const runs = otherTaskDefinition
      ? `the service runs ${primary.taskDefinition}, not ${expected.registeredTaskDefinition} registered by this update`
      : `the service runs ${primary.taskDefinition}, the task definition this update registered: the change rolled back was to the ` +
        'service itself (network, load balancer or deployment settings)';
    const reason = failed?.rolloutStateReason ? ` (${failed.rolloutStateReason})` : '';
    return { kind: 'rolled-back', message: withEvents(`the deployment was rolled back${reason}: ${runs}; ${tasks}`) };
  }
  if (primary.rolloutState === 'FAILED') {
    return {
      kind: 'failed',
      message: withEvents(
        `deployment ${primary.id} failed (${primary.rolloutStateReason ?? 'no reason given'}) and there is no earlier deployment ` +
          `to roll back to, as on a first deploy: ${tasks}, ${primary.failedTasks} failed`,
      ),
    };
  }
  if (primary.rolloutState === 'IN_PROGRESS' || service.deployments.length > 1) {
    return {
      kind: 'in-progress',
      message: withEvents(
        `deployment ${primary.id} is still rolling out (${tasks}, ${service.deployments.length} deployments)`,
      ),
    };
  }
  if (primary.runningCount < primary.desiredCount) {
    // The rollout completed; autoscaling has since raised the count and the new tasks are starting.
    return {
      kind: 'in-progress',
      message: withEvents(`deployment ${primary.id} completed and is scaling out: ${tasks}`),
    };
  }
  return { kind: 'healthy', message: `deployment ${primary.id} completed: ${tasks}` };
}

type DateLike = Date | string | number;

/** A DescribeServices `services[]` entry, as the SDK returns it or as `aws ecs describe-services` prints it (dates as strings). */
export interface DescribeServicesEntry {
  serviceName?: string;
  taskDefinition?: string;
  deployments?: {
    id?: string;
    status?: string;
    taskDefinition?: string;
    desiredCount?: number;
    runningCount?: number;
    pendingCount?: number;
    failedTasks?: number;
    rolloutState?: string;
    rolloutStateReason?: string;
    createdAt?: DateLike;
  }[];
  events?: { createdAt?: DateLike; message?: string }[];
}

/** The check's view of one entry of a DescribeServices answer. */
export function describedServiceOf(entry: DescribeServicesEntry): DescribedService {
  const dateOf = (value: DateLike | undefined) =>
    new Date(typeof value === 'number' && value < 1e11 ? value * 1000 : (value ?? 0));
  return {
    serviceName: entry.serviceName ?? '',
    taskDefinition: entry.taskDefinition ?? '',
    deployments: (entry.deployments ?? []).map((deployment) => ({
      id: deployment.id ?? '',
      status: deployment.status ?? '',
      taskDefinition: deployment.taskDefinition ?? '',
      desiredCount: deployment.desiredCount ?? 0,
      runningCount: deployment.runningCount ?? 0,
      pendingCount: deployment.pendingCount ?? 0,
      failedTasks: deployment.failedTasks ?? 0,
      rolloutState: deployment.rolloutState,
      rolloutStateReason: deployment.rolloutStateReason,
      createdAt: dateOf(deployment.createdAt),
    })),
    events: (entry.events ?? []).map((event) => ({ createdAt: dateOf(event.createdAt), message: event.message ?? '' })),
  };
}

export interface ServiceLocation {
  region: string;
  cluster: string;
  service: string;
}

/** Reads one service's deployments and events. */
export type ServiceDescriber = (location: ServiceLocation) => Promise<DescribedService>;

/** DescribeServices with the credentials and region the AWS SDK finds (as the Pulumi AWS provider does by default). */
const describeWithSdk: ServiceDescriber = async ({ region, cluster, service }) => {
  const answer = await new ECSClient({ region }).send(new DescribeServicesCommand({ cluster, services: [service] }));
  const entry = answer.services?.[0];
  if (!entry)
    throw new Error(
      `DescribeServices found no service ${service} in ${cluster}: ${JSON.stringify(answer.failures ?? [])}`,
    );
  return describedServiceOf(entry);
};

let describer: ServiceDescriber = describeWithSdk;

/** The describer the program uses; Pulumi's mock tests answer with recorded DescribeServices shapes instead of AWS. */
export const describeService: ServiceDescriber = (location) => describer(location);

/** Replaces the describer (tests: infra/test/helpers/mock-deployment.ts). */
export function useServiceDescriber(replacement: ServiceDescriber): void {
  describer = replacement;
}
