import { HEALTH_CHECK_INTERVAL_MS } from '@taskoverflow/edge';
import { HEALTH_PATH, type ServiceName } from '@taskoverflow/routing';
import { serviceDatabaseUrl } from './database.js';
import { UnknownInstanceError } from './errors.js';
import { findFreePorts } from './free-port.js';
import { serviceEntry } from './paths.js';
import { startServiceProcess, type ServiceProcess } from './processes.js';
import { since, type StackOutput } from './stack-output.js';

export interface ServiceInstance {
  service: ServiceName;
  /** e.g. `todo-read-2`; the services log it as SERVICE_INSTANCE. */
  instance: string;
  url: string;
}

export interface ServiceFleetSettings {
  /** The address the services listen on, each on a free port. */
  host: string;
  /** The app's database, as a role that may connect as the services' roles' owner. */
  databaseUrl: string;
  /** The cache's Redis; undefined: the services run without it. */
  redisUrl: string | undefined;
  /** Extra environment for every service process (overrides the fleet's own). */
  extraEnv: Record<string, string>;
}

/**
 * How long a stopping service keeps serving while failing its health check: three of the
 * edge's health-check intervals (one would do on an idle machine), so that the edge has taken
 * it out of rotation before it closes. This is what makes a SIGTERM lose no request.
 */
const SHUTDOWN_DRAIN_MS = 3 * HEALTH_CHECK_INTERVAL_MS;

/** The running service processes, each by its instance name (todo-read-2). */
export class ServiceFleet {
  readonly #running = new Map<string, { instance: ServiceInstance; process: ServiceProcess }>();
  readonly #started: Record<ServiceName, number> = { 'todo-read': 0, 'todo-write': 0 };

  constructor(
    private readonly settings: ServiceFleetSettings,
    private readonly output: StackOutput,
  ) {}

  /** todo-write first, then the todo-read replicas, each by number. */
  instances(): ServiceInstance[] {
    return [...this.#running.values()]
      .map((entry) => entry.instance)
      .sort((a, b) =>
        a.service === b.service
          ? a.instance.localeCompare(b.instance, undefined, { numeric: true })
          : a.service === 'todo-write'
            ? -1
            : 1,
      );
  }

  /** The URLs of `service`'s instances. */
  urls(service: ServiceName): string[] {
    return this.instances()
      .filter((running) => running.service === service)
      .map((running) => running.url);
  }

  /** Starts one more instance of `service` on a free port; resolves once it is healthy. */
  async start(service: ServiceName): Promise<ServiceInstance> {
    const { host, databaseUrl, redisUrl, extraEnv } = this.settings;
    const instance = `${service}-${(this.#started[service] += 1)}`;
    const [port] = await findFreePorts(1, host);
    const url = `http://${host}:${port}`;
    const startedAt = Date.now();
    const serviceProcess = await startServiceProcess({
      instance,
      entry: serviceEntry(service),
      env: {
        HOST: host,
        PORT: String(port),
        // Its own least-privilege role, as on AWS: todo-read reads, todo-write changes rows.
        DATABASE_URL: serviceDatabaseUrl(databaseUrl, service),
        ...(redisUrl && { REDIS_URL: redisUrl }),
        LOG_LEVEL: process.env.LOG_LEVEL || 'info',
        SERVICE_INSTANCE: instance,
        SHUTDOWN_DRAIN_MS: String(SHUTDOWN_DRAIN_MS),
        ...this.output.logEnv(instance),
        ...extraEnv,
      },
      healthUrl: `${url}${HEALTH_PATH}`,
      onLine: (line) => this.output.printed(instance, line),
    });
    const started = { service, instance, url };
    this.#running.set(instance, { instance: started, process: serviceProcess });
    this.output.progress(`${instance}: ${url} ✓ ${since(startedAt)}`);
    return started;
  }

  /** The running instance named `instance`; UnknownInstanceError if there is none. */
  get(instance: string): ServiceInstance {
    return this.#entry(instance).instance;
  }

  /** SIGTERM (the instance drains, then closes), resolving once it has exited. */
  async stop(instance: string): Promise<ServiceInstance> {
    const entry = this.#entry(instance);
    await entry.process.stop();
    this.#running.delete(instance);
    this.output.stopped(instance);
    return entry.instance;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#running.keys()].map((instance) => this.stop(instance)));
  }

  #entry(instance: string): { instance: ServiceInstance; process: ServiceProcess } {
    const entry = this.#running.get(instance);
    if (!entry) throw new UnknownInstanceError(instance, [...this.#running.keys()].join(', '));
    return entry;
  }
}
