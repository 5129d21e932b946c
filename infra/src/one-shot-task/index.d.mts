/** Types of the runner Lambda (index.mjs, plain JavaScript as Lambda runs it). */
export interface OneShotInput {
  cluster: string;
  taskDefinition: string;
  subnets: string[];
  securityGroups: string[];
  /** The task's log group, for the streams named in a failure. */
  logGroup: string;
  /** Its containers' awslogs-stream-prefix. */
  streamPrefix: string;
}

export interface OneShotResult {
  taskArn: string;
  containers: { name: string; exitCode: number }[];
}

export interface RunnerClock {
  remainingMilliseconds: () => number;
  sleep: (ms: number) => Promise<void>;
}

export function runToCompletion(
  ecs: { send: (command: never) => Promise<unknown> },
  input: OneShotInput,
  clock: RunnerClock,
): Promise<OneShotResult>;

export function handler(
  event: OneShotInput,
  context: { getRemainingTimeInMillis: () => number },
): Promise<OneShotResult>;
