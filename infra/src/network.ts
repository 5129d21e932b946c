import * as aws from '@pulumi/aws';
import * as awsx from '@pulumi/awsx';
import * as pulumi from '@pulumi/pulumi';
import { SERVICES, type ServiceName } from '@taskoverflow/routing';
import type { NetworkConfig } from './config.js';
import { AWS_API_PORT, CONTAINER_PORTS, HTTP_PORT, HTTPS_PORT, POSTGRES_PORT, REDIS_PORT } from './ports.js';

export interface NetworkArgs extends NetworkConfig {
  /** The load balancer's listener ports, the only ones open to the internet (publicPorts in load-balancer.ts). */
  publicPorts: number[];
}

/** Each public port's rule: its resource name (port 80's predates HTTPS, so it keeps its name) and why it is open. */
const PUBLIC_PORT_RULES: Readonly<Record<number, { rule: string; description: string }>> = {
  [HTTPS_PORT]: { rule: 'internet-to-load-balancer-https', description: 'HTTPS from anywhere: the API' },
  [HTTP_PORT]: {
    rule: 'internet-to-load-balancer',
    description: 'HTTP from anywhere: the API without TLS (lab), else the redirect to HTTPS',
  },
};

export interface SecurityGroups {
  loadBalancer: aws.ec2.SecurityGroup;
  services: Record<ServiceName, aws.ec2.SecurityGroup>;
  /** The one-shot migration task (src/migration-task.ts). */
  migration: aws.ec2.SecurityGroup;
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
 *   internet ─443 (and 80, redirected; or 80 alone without TLS)─▶ load balancer
 *   load balancer ─3000/3001─▶ todo-read / todo-write ─5432─▶ database
 *                                                     └─6379─▶ cache
 *   migration task ─5432─▶ database
 *   todo-read / todo-write / migration task ─443─▶ AWS APIs (ECR, Secrets Manager, logs) via NAT
 */
export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly publicSubnetIds: pulumi.Output<string[]>;
  readonly privateSubnetIds: pulumi.Output<string[]>;
  readonly securityGroups: SecurityGroups;
  /** The rules the migration task needs (PostgreSQL, AWS APIs): it runs only once they exist. */
  readonly migrationRules: pulumi.Resource[];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
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
      new aws.ec2.SecurityGroup(
        `${name}-${role}`,
        { vpcId: vpc.vpcId, description, tags: { Name: `${name}-${role}` } },
        { parent: this },
      );
    this.securityGroups = {
      loadBalancer: group('load-balancer', 'TaskOverflow ALB: HTTP(S) from the internet, to the services'),
      services: Object.fromEntries(
        SERVICES.map((service) => [service, group(service, `TaskOverflow ${service} tasks: from the ALB only`)]),
      ) as Record<ServiceName, aws.ec2.SecurityGroup>,
      migration: group('migration', 'TaskOverflow one-shot migration task: to PostgreSQL only'),
      database: group('database', 'TaskOverflow PostgreSQL: from the services and the migration task only'),
      cache: group('cache', 'TaskOverflow Redis: from the services only'),
    };
    const { loadBalancer, services, migration, database, cache } = this.securityGroups;

    /** Opens TCP `port` from one group to another: egress on the source, ingress on the target. */
    const allow = (
      rule: string,
      source: aws.ec2.SecurityGroup,
      target: aws.ec2.SecurityGroup,
      port: number,
      description: string,
    ) => {
      const common = { ipProtocol: 'tcp', fromPort: port, toPort: port, description };
      const ingress = new aws.vpc.SecurityGroupIngressRule(
        `${name}-${rule}-in`,
        { ...common, securityGroupId: target.id, referencedSecurityGroupId: source.id },
        { parent: this },
      );
      const egress = new aws.vpc.SecurityGroupEgressRule(
        `${name}-${rule}-out`,
        { ...common, securityGroupId: source.id, referencedSecurityGroupId: target.id },
        { parent: this },
      );
      return [ingress, egress];
    };
    const allowAwsApis = (role: string, source: aws.ec2.SecurityGroup) =>
      new aws.vpc.SecurityGroupEgressRule(
        `${name}-${role}-to-aws-apis`,
        {
          securityGroupId: source.id,
          ipProtocol: 'tcp',
          fromPort: AWS_API_PORT,
          toPort: AWS_API_PORT,
          cidrIpv4: ANYWHERE,
          description: 'HTTPS to AWS APIs through the NAT gateway: image pulls, secrets, logs',
        },
        { parent: this },
      );

    for (const port of args.publicPorts) {
      const { rule, description } = PUBLIC_PORT_RULES[port] ?? {
        rule: `internet-to-load-balancer-${port}`,
        description: `port ${port}`,
      };
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-${rule}`,
        {
          securityGroupId: loadBalancer.id,
          ipProtocol: 'tcp',
          fromPort: port,
          toPort: port,
          cidrIpv4: ANYWHERE,
          description,
        },
        { parent: this },
      );
    }
    for (const service of SERVICES) {
      allow(
        `load-balancer-to-${service}`,
        loadBalancer,
        services[service],
        CONTAINER_PORTS[service],
        `ALB to ${service}`,
      );
      allow(`${service}-to-database`, services[service], database, POSTGRES_PORT, `${service} to PostgreSQL`);
      allow(`${service}-to-cache`, services[service], cache, REDIS_PORT, `${service} to Redis`);
      allowAwsApis(service, services[service]);
    }
    this.migrationRules = [
      ...allow('migration-to-database', migration, database, POSTGRES_PORT, 'migration task to PostgreSQL'),
      allowAwsApis('migration', migration),
    ];

    this.registerOutputs({
      vpcId: this.vpcId,
      publicSubnetIds: this.publicSubnetIds,
      privateSubnetIds: this.privateSubnetIds,
    });
  }
}
