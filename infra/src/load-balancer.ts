import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { defaultService, HEALTH_PATH, routingRules, SERVICES, type ServiceName } from '@taskoverflow/routing';
import { albListenerRules } from './listener-rules.js';
import { CONTAINER_PORTS, LISTENER_PORT } from './ports.js';

/**
 * How long the ALB keeps an idle client or target connection, in seconds. It must stay below
 * the services' keep-alive (KEEP_ALIVE_TIMEOUT_MS, 65 s, in packages/routing): the
 * ALB then always closes an idle connection before the service does, and never sends a
 * request down a connection the service is closing (which clients would see as a 502).
 */
export const IDLE_TIMEOUT_SECONDS = 60;

/**
 * How long a deregistering task keeps its in-flight requests before the ALB drops them, in
 * seconds. Requests take milliseconds; this plus the services' 10 s shutdown grace covers even
 * one that runs into REQUEST_TIMEOUT_MS (30 s). The default, 300 s, would stall every deploy
 * for five minutes.
 */
export const DEREGISTRATION_DELAY_SECONDS = 20;

export interface LoadBalancerArgs {
  vpcId: pulumi.Input<string>;
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  securityGroupId: pulumi.Input<string>;
}

/**
 * The public entry point: an Application Load Balancer with one HTTP listener whose rules are
 * the shared routing table (@taskoverflow/routing), one target group per service, and the
 * table's default service as the default action.
 */
export class LoadBalancer extends pulumi.ComponentResource {
  readonly url: pulumi.Output<string>;
  /** For CloudWatch metrics: the `LoadBalancer` dimension. */
  readonly arnSuffix: pulumi.Output<string>;
  readonly targetGroups: Record<ServiceName, aws.lb.TargetGroup>;
  /**
   * The listener and its rules. ECS services depend on them: tasks can only register in a
   * target group that the load balancer already routes to.
   */
  readonly routing: pulumi.Resource[];

  constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('taskoverflow:infra:LoadBalancer', name, {}, opts);

    const alb = new aws.lb.LoadBalancer(
      name,
      {
        loadBalancerType: 'application',
        internal: false,
        subnets: args.subnetIds,
        securityGroups: [args.securityGroupId],
        idleTimeout: IDLE_TIMEOUT_SECONDS,
        dropInvalidHeaderFields: true,
      },
      { parent: this },
    );

    this.targetGroups = Object.fromEntries(
      SERVICES.map((service) => [
        service,
        new aws.lb.TargetGroup(
          `${name}-${service}`,
          {
            vpcId: args.vpcId,
            targetType: 'ip',
            protocol: 'HTTP',
            port: CONTAINER_PORTS[service],
            deregistrationDelay: DEREGISTRATION_DELAY_SECONDS,
            healthCheck: {
              path: HEALTH_PATH,
              matcher: '200',
              interval: 10,
              timeout: 5,
              healthyThreshold: 2,
              unhealthyThreshold: 3,
            },
            tags: { Service: service },
          },
          { parent: this },
        ),
      ]),
    ) as Record<ServiceName, aws.lb.TargetGroup>;

    const listener = new aws.lb.Listener(
      `${name}-http`,
      {
        loadBalancerArn: alb.arn,
        port: LISTENER_PORT,
        protocol: 'HTTP',
        defaultActions: [{ type: 'forward', targetGroupArn: this.targetGroups[defaultService].arn }],
      },
      { parent: this },
    );

    const rules = albListenerRules(routingRules).map(
      (rule) =>
        new aws.lb.ListenerRule(
          `${name}-${rule.name}`,
          {
            listenerArn: listener.arn,
            priority: rule.priority,
            conditions: [{ httpRequestMethod: { values: rule.methods } }, { pathPattern: { values: rule.pathPatterns } }],
            actions: [{ type: 'forward', targetGroupArn: this.targetGroups[rule.service].arn }],
            tags: { Service: rule.service },
          },
          { parent: this },
        ),
    );

    this.routing = [listener, ...rules];
    this.url = pulumi.interpolate`http://${alb.dnsName}`;
    this.arnSuffix = alb.arnSuffix;
    this.registerOutputs({ url: this.url });
  }
}
