import * as aws from '@pulumi/aws';
import * as awsx from '@pulumi/awsx';
import * as pulumi from '@pulumi/pulumi';
import { SERVICES, type ServiceName } from '@taskoverflow/routing';
import type { NetworkConfig } from './config.js';
import { AWS_API_PORT, CONTAINER_PORTS, LISTENER_PORT, POSTGRES_PORT, REDIS_PORT } from './ports.js';

export interface SecurityGroups {
  loadBalancer: aws.ec2.SecurityGroup;
  services: Record<ServiceName, aws.ec2.SecurityGroup>;
  database: aws.ec2.SecurityGroup;
  cache: aws.ec2.SecurityGroup;
}

const ANYWHERE = '0.0.0.0/0';

/**
 * The VPC (public subnets for the load balancer, private ones for tasks, RDS and ElastiCache)
 * and the security groups that say who may talk to whom. Each group starts closed, in and out
 * (the AWS provider removes the allow-all egress rule AWS adds to a new group); every opening
 * is one rule below:
 *
 *   internet ─80─▶ load balancer ─3000/3001─▶ todo-read / todo-write ─5432─▶ database
 *                                                                   └─6379─▶ cache
 *   todo-read / todo-write ─443─▶ AWS APIs (ECR, Secrets Manager, CloudWatch Logs) via NAT
 */
export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly publicSubnetIds: pulumi.Output<string[]>;
  readonly privateSubnetIds: pulumi.Output<string[]>;
  readonly securityGroups: SecurityGroups;

  constructor(name: string, args: NetworkConfig, opts?: pulumi.ComponentResourceOptions) {
    super('taskoverflow:infra:Network', name, {}, opts);

    const vpc = new awsx.ec2.Vpc(
      name,
      {
        numberOfAvailabilityZones: 2,
        subnetStrategy: 'Auto',
        subnetSpecs: [{ type: 'Public' }, { type: 'Private' }],
        natGateways: { strategy: args.natGateways },
        enableDnsHostnames: true,
      },
      { parent: this },
    );
    this.vpcId = vpc.vpcId;
    this.publicSubnetIds = vpc.publicSubnetIds;
    this.privateSubnetIds = vpc.privateSubnetIds;

    const group = (role: string, description: string) =>
      new aws.ec2.SecurityGroup(`${name}-${role}`, { vpcId: vpc.vpcId, description, tags: { Name: `${name}-${role}` } }, { parent: this });
    this.securityGroups = {
      loadBalancer: group('load-balancer', 'TaskOverflow ALB: HTTP from the internet, to the services'),
      services: Object.fromEntries(
        SERVICES.map((service) => [service, group(service, `TaskOverflow ${service} tasks: from the ALB only`)]),
      ) as Record<ServiceName, aws.ec2.SecurityGroup>,
      database: group('database', 'TaskOverflow PostgreSQL: from the services only'),
      cache: group('cache', 'TaskOverflow Redis: from the services only'),
    };
    const { loadBalancer, services, database, cache } = this.securityGroups;

    /** Opens TCP `port` from one group to another: egress on the source, ingress on the target. */
    const allow = (rule: string, source: aws.ec2.SecurityGroup, target: aws.ec2.SecurityGroup, port: number, description: string) => {
      const common = { ipProtocol: 'tcp', fromPort: port, toPort: port, description };
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-${rule}-in`,
        { ...common, securityGroupId: target.id, referencedSecurityGroupId: source.id },
        { parent: this },
      );
      new aws.vpc.SecurityGroupEgressRule(
        `${name}-${rule}-out`,
        { ...common, securityGroupId: source.id, referencedSecurityGroupId: target.id },
        { parent: this },
      );
    };

    new aws.vpc.SecurityGroupIngressRule(
      `${name}-internet-to-load-balancer`,
      {
        securityGroupId: loadBalancer.id,
        ipProtocol: 'tcp',
        fromPort: LISTENER_PORT,
        toPort: LISTENER_PORT,
        cidrIpv4: ANYWHERE,
        description: 'HTTP from anywhere: the API',
      },
      { parent: this },
    );
    for (const service of SERVICES) {
      allow(`load-balancer-to-${service}`, loadBalancer, services[service], CONTAINER_PORTS[service], `ALB to ${service}`);
      allow(`${service}-to-database`, services[service], database, POSTGRES_PORT, `${service} to PostgreSQL`);
      allow(`${service}-to-cache`, services[service], cache, REDIS_PORT, `${service} to Redis`);
      new aws.vpc.SecurityGroupEgressRule(
        `${name}-${service}-to-aws-apis`,
        {
          securityGroupId: services[service].id,
          ipProtocol: 'tcp',
          fromPort: AWS_API_PORT,
          toPort: AWS_API_PORT,
          cidrIpv4: ANYWHERE,
          description: 'HTTPS to AWS APIs through the NAT gateway: image pulls, secrets, logs',
        },
        { parent: this },
      );
    }

    this.registerOutputs({ vpcId: this.vpcId, publicSubnetIds: this.publicSubnetIds, privateSubnetIds: this.privateSubnetIds });
  }
}
